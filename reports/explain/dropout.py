"""``cnn-parity explain dropout``: the book's dropout and PyTorch's — where the scaling goes.

In training both zero each unit with probability p and keep the rest. They differ in where they
make up for the missing units so that training and inference see the same scale on average:

- the book (not inverted): training keeps the kept units as they are, and inference multiplies
  every unit by (1 − p);
- PyTorch's ``nn.Dropout`` (inverted): training divides the kept units by (1 − p), and inference
  is the identity.

Both have the same expected training output as their inference output, and the two differ by the
factor (1 − p) in both modes. The topic computes one mask (a seeded ``numpy.random.Generator``,
as the reference draws it), both conventions' outputs, the averages over many masks, torch's own
mask and output (``F.dropout``), and checks torch against ``reference.Dropout`` given that mask.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

import reference as R

from ..html.sections.about import grid_cells
from .text import check_items, check_lines, grid, heading, num

__all__ = ["DROPOUT_INPUT", "DropoutSteps", "compute", "to_text", "to_context"]

#: Eight units of a layer's output, as 2×4.
DROPOUT_INPUT = ((1, 2, 3, 4), (5, 6, 7, 8))
#: How many masks the averages are taken over.
DRAWS = 20000


@dataclass(frozen=True)
class DropoutSteps:
    """x (2, 4), p, seed; mask (True = kept); book_train = x·mask, book_test = x·(1 − p);
    torch_train = x·mask/(1 − p), torch_test = x; book_mean, torch_mean: the training outputs
    averaged over DRAWS masks; torch_mask, torch_out, torch_grad: F.dropout's own mask, output and
    x.grad (with dout = 1); checks."""

    x: np.ndarray
    p: float
    seed: int
    mask: np.ndarray
    book_train: np.ndarray
    book_test: np.ndarray
    torch_train: np.ndarray
    torch_test: np.ndarray
    book_mean: np.ndarray
    torch_mean: np.ndarray
    torch_mask: np.ndarray
    torch_out: np.ndarray
    torch_grad: np.ndarray
    checks: tuple


def compute(seed: int = 0, x=DROPOUT_INPUT, p: float = 0.5) -> DropoutSteps:
    x = np.asarray(x, dtype=np.float64)
    rng = np.random.default_rng(seed)
    mask = rng.random(x.shape) > p                    # the reference's draw: kept where the number is above p
    book_train, book_test = x * mask, x * (1 - p)
    torch_train, torch_test = x * mask / (1 - p), x.copy()
    masks = rng.random((DRAWS,) + x.shape) > p        # many more masks, for the averages
    book_mean = (x * masks).mean(axis=0)
    torch_mean = (x * masks / (1 - p)).mean(axis=0)

    book = R.Dropout(p, inverted=False)
    inverted = R.Dropout(p, inverted=True)
    torch.manual_seed(seed)
    xt = torch.tensor(x, requires_grad=True)
    out = F.dropout(xt, p, training=True)
    out.backward(torch.ones_like(out))
    torch_out = out.detach().numpy()
    torch_mask = torch_out != 0                       # x has no zeros: a zero is a dropped unit
    spread = np.abs(book_mean - book_test).max() / np.abs(book_test).max()
    checks = (
        ("reference.Dropout(inverted=False) gives the book's outputs (training, this mask; inference)",
         np.array_equal(book.forward(x, mask=mask), book_train)
         and np.array_equal(book.forward(x, train_flg=False), book_test)),
        ("reference.Dropout(inverted=True) gives PyTorch's outputs (training, this mask; inference)",
         np.array_equal(inverted.forward(x, mask=mask), torch_train)
         and np.array_equal(inverted.forward(x, train_flg=False), torch_test)),
        ("F.dropout's output is x·mask/(1 − p) for its own mask, to the bit",
         np.array_equal(torch_out, x * torch_mask / (1 - p))),
        ("reference.Dropout(inverted=True) given torch's mask gives torch's output and x.grad, to the bit",
         np.array_equal(inverted.forward(x, mask=torch_mask), torch_out)
         and np.array_equal(inverted.backward(np.ones_like(x)), xt.grad.numpy())),
        (f"over {DRAWS} masks, each convention's mean training output is its inference output (within 3 %)",
         bool(spread < 0.03 and np.abs(torch_mean - torch_test).max() / np.abs(torch_test).max() < 0.03)),
    )
    return DropoutSteps(x, p, seed, mask, book_train, book_test, torch_train, torch_test, book_mean, torch_mean,
                        torch_mask, torch_out, xt.grad.numpy(), checks)


# ------------------------------------------------------------------------------------------
# Text
# ------------------------------------------------------------------------------------------

def to_text(s: DropoutSteps) -> str:
    p, keep = s.p, 1 - s.p
    out = heading(f"Dropout: the book's convention and PyTorch's (p = {num(p)})")
    out += ["1. A layer's output x, and a mask that keeps each unit with probability 1 − p",
            f"   (drawn by numpy.random.default_rng({s.seed}), as the reference draws it; 1 = kept):", ""]
    out += grid(s.x) + [""] + grid(s.mask.astype(int)) + [""]
    out += ["2. The book (not inverted). Training: x · mask, kept units unchanged.",
            f"   Inference: every unit times (1 − p) = {num(keep)}.", ""]
    out += ["   training:"] + grid(s.book_train) + ["   inference:"] + grid(s.book_test) + [""]
    out += [f"3. PyTorch (inverted). Training: x · mask / (1 − p), kept units times {num(1 / keep)}.",
            "   Inference: x unchanged — nothing to remember at test time.", ""]
    out += ["   training:"] + grid(s.torch_train) + ["   inference:"] + grid(s.torch_test) + [""]
    out += [f"4. Why both work: averaged over {DRAWS} masks, each convention's training output is its own",
            "   inference output (the next layer sees the same scale in both modes):", ""]
    out += ["   the book, mean training output:"] + grid(s.book_mean, digits=3)
    out += ["   PyTorch, mean training output:"] + grid(s.torch_mean, digits=3) + [""]
    out += [f"   The two conventions differ by the factor 1 − p = {num(keep)} in both modes. Weights trained with",
            "   one and run with the other's inference feed the next layer values "
            f"{num(1 / keep)}× too large (book → PyTorch)", f"   or {num(keep)}× too small (PyTorch → book).", ""]
    out += ["5. PyTorch's own mask: torch.manual_seed(seed); F.dropout(x, p, training=True):", ""]
    out += grid(s.torch_out) + [""]
    out += ["   and its gradient (dout = 1): 1/(1 − p) where kept, 0 where dropped — the same mask, scaled:", ""]
    out += grid(s.torch_grad) + [""]
    out += check_lines(s.checks)
    return "\n".join(out)


# ------------------------------------------------------------------------------------------
# Page
# ------------------------------------------------------------------------------------------

def to_context(s: DropoutSteps) -> dict:
    three = lambda v: num(v, 3)                                      # noqa: E731
    return {
        "p": num(s.p), "keep": num(1 - s.p), "scale": num(1 / (1 - s.p)), "seed": s.seed, "draws": DRAWS,
        "x": grid_cells(s.x, caption="x"),
        "mask": grid_cells(s.mask.astype(int), cls="grid filt", caption="mask (1 = kept)"),
        "book_train": grid_cells(s.book_train, cls="grid out", caption="training: x · mask"),
        "book_test": grid_cells(s.book_test, cls="grid out", caption=f"inference: x · {num(1 - s.p)}"),
        "torch_train": grid_cells(s.torch_train, cls="grid out", caption=f"training: x · mask / {num(1 - s.p)}"),
        "torch_test": grid_cells(s.torch_test, cls="grid out", caption="inference: x"),
        "book_mean": grid_cells(s.book_mean, cls="grid wide", caption="the book: mean training output", fmt=three),
        "torch_mean": grid_cells(s.torch_mean, cls="grid wide", caption="PyTorch: mean training output", fmt=three),
        "torch_out": grid_cells(s.torch_out, cls="grid out", caption="F.dropout(x, p)"),
        "torch_grad": grid_cells(s.torch_grad, caption="x.grad (dout = 1)"),
        "checks": check_items(s.checks),
    }
