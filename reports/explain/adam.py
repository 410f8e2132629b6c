"""``cnn-parity explain adam``: one Adam step, the book's and torch.optim.Adam's, every number.

Both keep the same moving averages, m of the gradient and v of its square. They differ in one
place: torch adds eps = 1e-8 to the bias-corrected √v̂ = √(v / (1 − β2ᵗ)), the book adds 1e-7 to
the uncorrected √v (and folds the corrections into its learning rate lr_t). The book's step is
therefore torch's step with a larger eps, eps_t = 1e-7 / √(1 − β2ᵗ) — 3.2e-6 at t = 1 — which
matters when |g| is not much larger than that: a gradient of 1e-6 moves a parameter by about
a quarter of lr in the book's first step, and by almost all of lr in torch's.

The topic computes one step (t = 1) for three parameters whose gradients span five orders of
magnitude, by the formulas, and checks it against ``torch.optim.Adam`` (``foreach=False``,
float64), the reference's ``Adam`` (torch's arithmetic, to the bit in float64) and ``BookAdam``,
and the book's step against ``torch.optim.Adam`` run with eps = eps_t.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from reference.optimizer import Adam, BookAdam

from .text import check_items, check_lines, heading, table

__all__ = ["PARAMS", "GRADS", "AdamSteps", "compute", "ulps", "book_gap", "to_text", "to_context"]

#: Three parameters and their gradients, from a large gradient to one near the book's eps.
PARAMS = (1.0, -0.5, 0.25)
GRADS = (0.1, -1e-3, 1e-6)


@dataclass(frozen=True)
class AdamSteps:
    """One step at t = 1 of each rule, each array (P,): m, v (the same for both), torch's m̂, v̂,
    denominator and step; the book's lr_t, denominator and step; the parameters after the step by
    torch.optim.Adam, reference Adam, reference BookAdam, and torch.optim.Adam with eps = eps_t."""

    p: np.ndarray
    g: np.ndarray
    lr: float
    beta1: float
    beta2: float
    eps: float
    book_eps: float
    t: int
    m: np.ndarray
    v: np.ndarray
    m_hat: np.ndarray
    v_hat: np.ndarray
    denom: np.ndarray
    step: np.ndarray
    lr_t: float
    book_denom: np.ndarray
    book_step: np.ndarray
    eps_t: float
    torch_p: np.ndarray
    ref_p: np.ndarray
    book_p: np.ndarray
    torch_eps_t_p: np.ndarray
    eps_t_later: tuple
    checks: tuple


def ulps(a, b) -> int:
    """The largest distance between a and b in units in the last place (float64; 0 = the same bits)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    ia, ib = a.view(np.int64), b.view(np.int64)
    ia = np.where(ia < 0, np.int64(-2 ** 63) - ia, ia)      # order the negative floats too
    ib = np.where(ib < 0, np.int64(-2 ** 63) - ib, ib)
    return int(np.abs(ia - ib).max())


def torch_adam(p, g, lr, betas, eps) -> np.ndarray:
    """The parameters after one step of torch.optim.Adam (single-tensor, float64)."""
    w = torch.nn.Parameter(torch.tensor(p))
    opt = torch.optim.Adam([w], lr=lr, betas=betas, eps=eps, foreach=False)
    w.grad = torch.tensor(g)
    opt.step()
    return w.detach().numpy().copy()


def compute(p=PARAMS, g=GRADS, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
            eps: float = 1e-8) -> AdamSteps:
    p = np.asarray(p, dtype=np.float64)
    g = np.asarray(g, dtype=np.float64)
    t = 1
    book_eps = BookAdam.eps
    m = (1 - beta1) * g                                      # m ← β1·m + (1 − β1)·g, from m = 0
    v = (1 - beta2) * g * g                                  # v ← β2·v + (1 − β2)·g², from v = 0
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    denom = np.sqrt(v_hat) + eps
    step = lr * m_hat / denom
    lr_t = lr * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    book_denom = np.sqrt(v) + book_eps
    book_step = lr_t * m / book_denom
    eps_t = book_eps / math.sqrt(1 - beta2 ** t)

    torch_p = torch_adam(p, g, lr, (beta1, beta2), eps)
    torch_eps_t_p = torch_adam(p, g, lr, (beta1, beta2), eps_t)
    ref_p, book_p = p.copy(), p.copy()
    Adam(lr=lr, beta1=beta1, beta2=beta2, eps=eps).update({"p": ref_p}, {"p": g})
    BookAdam(lr=lr, beta1=beta1, beta2=beta2).update({"p": book_p}, {"p": g})
    later = tuple((n, book_eps / math.sqrt(1 - beta2 ** n)) for n in (1, 10, 100, 1000, 10000))
    checks = (
        ("reference.optimizer.Adam's step equals torch.optim.Adam's to the bit (float64)", ulps(ref_p, torch_p) == 0),
        ("torch's formula (p − lr·m̂/(√v̂ + eps)) is torch.optim.Adam's step, within 4 ulps",
         ulps(p - step, torch_p) <= 4),
        ("the book's formula (p − lr_t·m/(√v + 1e-7)) is reference.optimizer.BookAdam's step, within 4 ulps",
         ulps(p - book_step, book_p) <= 4),
        (f"the book's step is torch.optim.Adam's with eps = eps_t = {eps_t:.3g}, within 4 ulps",
         ulps(book_p, torch_eps_t_p) <= 4),
    )
    return AdamSteps(p, g, lr, beta1, beta2, eps, book_eps, t, m, v, m_hat, v_hat, denom, step, lr_t, book_denom,
                     book_step, eps_t, torch_p, ref_p, book_p, torch_eps_t_p, later, checks)


def value_rows(s: AdamSteps) -> list[list[str]]:
    """The table of one step: a row per quantity, a column per parameter."""
    f = lambda a: [f"{v:.6g}" for v in a]               # noqa: E731
    return [
        ["parameter p", *f(s.p)], ["gradient g", *f(s.g)],
        ["m = (1 − β1)·g", *f(s.m)], ["v = (1 − β2)·g²", *f(s.v)],
        ["torch  m̂ = m / (1 − β1ᵗ)", *f(s.m_hat)], ["torch  v̂ = v / (1 − β2ᵗ)", *f(s.v_hat)],
        ["torch  √v̂ + eps", *f(s.denom)], ["torch  step = lr·m̂ / (√v̂ + eps)", *f(s.step)],
        ["book   √v + 1e-7", *f(s.book_denom)], ["book   step = lr_t·m / (√v + 1e-7)", *f(s.book_step)],
        ["torch  step / lr", *[f"{v:.4f}" for v in s.step / s.lr]],
        ["book   step / lr", *[f"{v:.4f}" for v in s.book_step / s.lr]],
    ]


def result_rows(s: AdamSteps) -> list[list[str]]:
    """The parameters after the step, each way, to all 17 digits."""
    f = lambda a: [repr(float(v)) for v in a]          # noqa: E731
    return [["torch.optim.Adam", *f(s.torch_p)], ["reference Adam", *f(s.ref_p)],
            ["reference BookAdam", *f(s.book_p)], [f"torch.optim.Adam, eps = {s.eps_t:.3g}", *f(s.torch_eps_t_p)]]


def book_gap(s: AdamSteps) -> str:
    """How far the book's step lands from torch's: the largest difference and the parameter."""
    gap = np.abs(s.book_p - s.torch_p)
    return f"{gap.max():.3g} (p{int(gap.argmax())}, {gap.max() / s.lr:.0%} of lr)"


# ------------------------------------------------------------------------------------------
# Text
# ------------------------------------------------------------------------------------------

def to_text(s: AdamSteps) -> str:
    cols = [f"p{i}" for i in range(len(s.p))]
    out = heading("One Adam step: the book's Adam and torch.optim.Adam")
    out += [f"lr = {s.lr:g}, β1 = {s.beta1:g}, β2 = {s.beta2:g}; torch's eps = {s.eps:g}, the book's {s.book_eps:g}; "
            f"step t = {s.t}, m and v start at 0.", ""]
    out += ["1. The moving averages, the same in both:  m ← β1·m + (1 − β1)·g,  v ← β2·v + (1 − β2)·g².",
            "   At t = 1 they are biased towards 0 (they started there), so torch divides by 1 − βᵗ:",
            "   m̂ = m / (1 − β1ᵗ), v̂ = v / (1 − β2ᵗ), and steps by lr·m̂ / (√v̂ + eps).",
            f"   The book folds the corrections into lr_t = lr·√(1 − β2ᵗ) / (1 − β1ᵗ) = {s.lr_t:.6g} and steps by",
            "   lr_t·m / (√v + 1e-7): its 1e-7 is added BEFORE the correction.", ""]
    out += table(["", *cols], value_rows(s)) + [""]
    out += ["2. What the difference amounts to. Dividing the book's numerator and denominator by √(1 − β2ᵗ),",
            "   the book's step is torch's with eps_t = 1e-7 / √(1 − β2ᵗ):", ""]
    out += table(["step t", "eps_t"], [[str(n), f"{e:.3g}"] for n, e in s.eps_t_later]) + [""]
    out += ["   At t = 1 torch's step is lr·g/(|g| + 1e-8): about lr whatever the gradient's size; the book's",
            f"   is lr·g/(|g| + {s.eps_t:.3g}): shorter where |g| is near that (step / lr above).", ""]
    out += ["3. The parameters after the step, computed by the optimizers themselves:", ""]
    out += table(["", *cols], result_rows(s)) + [""]
    out += [f"   reference Adam against torch.optim.Adam: {ulps(s.ref_p, s.torch_p)} ulp apart at most;",
            f"   the book's Adam against torch.optim.Adam (eps = 1e-8): apart by up to {book_gap(s)};",
            f"   the book's Adam against torch.optim.Adam (eps = eps_t): {ulps(s.book_p, s.torch_eps_t_p)} ulp apart.", ""]
    out += check_lines(s.checks)
    return "\n".join(out)


# ------------------------------------------------------------------------------------------
# Page
# ------------------------------------------------------------------------------------------

def to_context(s: AdamSteps) -> dict:
    return {
        "lr": f"{s.lr:g}", "beta1": f"{s.beta1:g}", "beta2": f"{s.beta2:g}", "eps": f"{s.eps:g}",
        "book_eps": f"{s.book_eps:g}", "t": s.t, "lr_t": f"{s.lr_t:.6g}", "eps_t": f"{s.eps_t:.3g}",
        "cols": [f"p{i}" for i in range(len(s.p))],
        "values": value_rows(s), "results": result_rows(s),
        "eps_t_later": [[str(n), f"{e:.3g}"] for n, e in s.eps_t_later],
        "ulps": {"reference": ulps(s.ref_p, s.torch_p), "book_gap": book_gap(s),
                 "book_eps_t": ulps(s.book_p, s.torch_eps_t_p)},
        "checks": check_items(s.checks),
    }
