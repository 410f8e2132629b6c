"""``cnn-parity explain softmax-loss``: softmax with cross-entropy, and why its gradient is (y − t)/N.

The layer's loss for a batch of N samples is the mean, over the samples, of −log of the
probability softmax gives the right class. Its gradient with respect to the scores is the
famously short (y − t)/N: y the probabilities, t the one-hot labels. The topic derives it, then
shows it with numbers: softmax step by step, the loss, (y − t)/N, and the same gradient three
more ways — the reference's ``SoftmaxWithLoss.backward``, torch's autograd through
``F.cross_entropy`` and central differences of the loss (the numerical gradient of the book's
§4.4), all computed here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

import reference as R

from ..html.sections.about import grid_cells, matrix_cells
from .text import check_items, check_lines, grid, heading, labelled, num

__all__ = ["SCORES", "LABELS", "SoftmaxLossSteps", "compute", "to_text", "to_context"]

#: Two samples, three classes. The first row is the book's softmax example (§3.5): a = [0.3, 2.9, 4.0].
SCORES = ((0.3, 2.9, 4.0), (0.1, 0.2, 0.7))
#: The right class of each sample.
LABELS = (2, 0)
#: The step of the central differences.
H = 1e-5


@dataclass(frozen=True)
class SoftmaxLossSteps:
    """x (N, C) scores, labels (N,), t (N, C) one-hot; shifted = x − max per row; e = exp(shifted);
    sums (N,); y = e / sums; losses (N,) = −log y[n, label]; loss = mean; grad = (y − t)/N;
    numerical (N, C): central differences of the loss; ref_grad, torch_grad (N, C);
    diffs: (name, max |grad − it|) for the reference, torch and the numerical gradient."""

    x: np.ndarray
    labels: np.ndarray
    t: np.ndarray
    shifted: np.ndarray
    e: np.ndarray
    sums: np.ndarray
    y: np.ndarray
    losses: np.ndarray
    loss: float
    grad: np.ndarray
    numerical: np.ndarray
    ref_grad: np.ndarray
    torch_grad: np.ndarray
    torch_loss: float
    checks: tuple


def mean_loss(x, labels) -> float:
    """The mean cross-entropy of softmax(x), written out (used for the numerical gradient)."""
    shifted = x - x.max(axis=1, keepdims=True)
    log_y = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_y[np.arange(len(x)), labels].mean())


def compute(x=SCORES, labels=LABELS) -> SoftmaxLossSteps:
    x = np.asarray(x, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    N, C = x.shape
    t = np.zeros_like(x)
    t[np.arange(N), labels] = 1
    shifted = x - x.max(axis=1, keepdims=True)                # the same softmax, with no overflow
    e = np.exp(shifted)
    sums = e.sum(axis=1)
    y = e / sums[:, None]
    losses = -np.log(y[np.arange(N), labels])
    grad = (y - t) / N

    numerical = np.zeros_like(x)                              # ∂L/∂x by central differences
    for idx in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[idx] += H
        down[idx] -= H
        numerical[idx] = (mean_loss(up, labels) - mean_loss(down, labels)) / (2 * H)

    layer = R.SoftmaxWithLoss()
    ref_loss = layer.forward(x, labels)
    ref_grad = layer.backward()
    xt = torch.tensor(x, requires_grad=True)
    torch_loss = F.cross_entropy(xt, torch.tensor(labels))
    torch_loss.backward()
    torch_grad = xt.grad.numpy()
    eps = np.finfo(np.float64).eps
    few_ulps = 8 * eps * np.abs(grad).max()
    checks = (
        ("(y − t)/N equals reference.SoftmaxWithLoss().backward() (within a few ulps)",
         bool(np.abs(grad - ref_grad).max() <= few_ulps)),
        ("(y − t)/N equals torch's x.grad through F.cross_entropy (within a few ulps)",
         bool(np.abs(grad - torch_grad).max() <= few_ulps)),
        ("(y − t)/N equals the numerical gradient (central differences, h = 1e-05, to 1e-8)",
         bool(np.abs(grad - numerical).max() <= 1e-8)),
        ("the mean loss equals the reference's and F.cross_entropy's (within a few ulps)",
         bool(abs(losses.mean() - ref_loss) <= 8 * eps * losses.mean()
              and abs(losses.mean() - torch_loss.item()) <= 8 * eps * losses.mean())),
    )
    return SoftmaxLossSteps(x, labels, t, shifted, e, sums, y, losses, float(losses.mean()), grad, numerical,
                            ref_grad, torch_grad, float(torch_loss.item()), checks)


def differences(s: SoftmaxLossSteps) -> list[tuple[str, str]]:
    """(what, the largest |difference| from (y − t)/N), formatted."""
    return [(what, f"{np.abs(s.grad - other).max():.2g}")
            for what, other in (("reference.SoftmaxWithLoss", s.ref_grad), ("torch (F.cross_entropy)", s.torch_grad),
                                ("numerical (central differences)", s.numerical))]


# ------------------------------------------------------------------------------------------
# Text
# ------------------------------------------------------------------------------------------

def to_text(s: SoftmaxLossSteps) -> str:
    N, C = s.x.shape
    samples = [f"sample {n}" for n in range(N)]
    classes = [f"class {c}" for c in range(C)]
    out = heading("Softmax with cross-entropy: why the gradient is (y − t) / N")
    out += [f"1. Scores x for N = {N} samples and C = {C} classes, and the right class of each: "
            f"{', '.join(str(int(v)) for v in s.labels)}, as one-hot rows t.", ""]
    out += labelled(s.x, samples, classes) + [""] + labelled(s.t, samples, classes) + [""]
    out += ["2. Softmax, row by row: y_k = exp(x_k) / Σ_j exp(x_j). Subtracting each row's maximum first",
            "   changes nothing (it cancels in the ratio) and keeps exp from overflowing.", ""]
    for n in range(N):
        terms = " + ".join(num(v) for v in s.e[n])
        out.append(f"   sample {n}: exp(x − {num(s.x[n].max())}) = {', '.join(num(v) for v in s.e[n])};"
                   f"  Σ = {terms} = {num(s.sums[n])}")
    out += ["", "   y = exp(...) / Σ (each row adds up to 1):", ""] + labelled(s.y, samples, classes) + [""]
    out += ["3. The loss of a sample is −log of the probability of its right class; the layer's loss is the mean:", ""]
    for n in range(N):
        out.append(f"   sample {n}: −log y[{n},{int(s.labels[n])}] = −log {num(s.y[n, s.labels[n]])} = {num(s.losses[n])}")
    out += [f"   L = ({' + '.join(num(v) for v in s.losses)}) / {N} = {num(s.loss)}", ""]
    out += ["4. Why the gradient is so short. For one sample with right class c:",
            "     −log y_c = −x_c + log Σ_j exp(x_j)",
            "   so its derivative with respect to x_k is",
            "     −[k = c] + exp(x_k) / Σ_j exp(x_j) = y_k − t_k.",
            f"   L is the MEAN over the N = {N} samples, so each sample's share is divided by N:",
            "     ∂L/∂x = (y − t) / N.", ""]
    out += [f"5. The numbers: (y − t) / {N}", ""] + labelled(s.grad, samples, classes, digits=6) + [""]
    out += ["   The right class's entry is negative (raising its score lowers the loss), every other entry",
            "   positive, and each row adds up to 0.", ""]
    out += [f"6. The same gradient by central differences, (L(x + h) − L(x − h)) / 2h with h = {H:g}:", ""]
    out += labelled(s.numerical, samples, classes, digits=6) + [""]
    out += ["   Largest difference from (y − t)/N:"]
    out += [f"     {what:<32} {d}" for what, d in differences(s)]
    out += [""] + check_lines(s.checks)
    return "\n".join(out)


# ------------------------------------------------------------------------------------------
# Page
# ------------------------------------------------------------------------------------------

def to_context(s: SoftmaxLossSteps) -> dict:
    N, C = s.x.shape
    samples = [f"sample {n}" for n in range(N)]
    classes = [f"class {c}" for c in range(C)]
    four, six = (lambda v: num(v, 4)), (lambda v: num(v, 6))   # noqa: E731  (digits shown)
    return {
        "N": N, "C": C, "labels": ", ".join(str(int(v)) for v in s.labels),
        "x": matrix_cells(s.x, samples, classes, cls="grid wide"),
        "t": matrix_cells(s.t, samples, classes, cls="grid wide"),
        "softmax": [{"n": n, "max": num(s.x[n].max()), "e": ", ".join(num(v) for v in s.e[n]),
                     "sum": num(s.sums[n])} for n in range(N)],
        "y": matrix_cells(s.y, samples, classes, cls="grid wide", fmt=four),
        "losses": [{"n": n, "c": int(s.labels[n]), "y": num(s.y[n, s.labels[n]]), "loss": num(s.losses[n])}
                   for n in range(N)],
        "loss_sum": " + ".join(num(v) for v in s.losses), "loss": num(s.loss),
        "grad": matrix_cells(s.grad, samples, classes, cls="grid wide out", fmt=six),
        "numerical": matrix_cells(s.numerical, samples, classes, cls="grid wide", fmt=six),
        "h": f"{H:g}",
        "differences": differences(s),
        "checks": check_items(s.checks),
    }
