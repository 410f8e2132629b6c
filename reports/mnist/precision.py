"""Half precision, really: the book's DeepConvNet under float16 and bfloat16.

The book's ``ch08/half_float_network.py`` claims that float16 keeps the accuracy. It rounds the
weights to float16 but writes them back into the float64 arrays (``param[...] =
param.astype(np.float16)``), and casts the images to float16, which NumPy promotes back to
float64 as soon as they meet a float64 weight. So it measures *float16 storage of the weights and
inputs*, with every product, sum and activation computed in float64. It never computes in float16.

This module measures both, with the book's trained weights (:mod:`reports.mnist.book`), against
the float64 reference as the oracle. The variants (:data:`VARIANTS`):

``float64``         the reference in float64: the oracle itself (accuracy only)
``float32``         the twin in float32
``book-float16``    the book's experiment: weights and images rounded to float16, computed in float64
``book-bfloat16``   the same with bfloat16 rounding
``autocast-fp16``   the float32 twin under ``torch.autocast("cpu", dtype=torch.float16)``
``autocast-bf16``   the same with bfloat16 (the configurations of ``reports.parity.configs``)
``float16``         the twin converted to float16, float16 images: no autocast
``bfloat16``        the same in bfloat16

For each: accuracy, agreement of the predicted classes with the oracle's, the images that flip,
the largest score error, and the widest float64 margin (top score minus runner-up) among the
flipped images — a flip at a margin much smaller than the score error is a near-tie, expected.
:func:`layer_dtypes` shows what autocast computes, layer by layer.
"""
from __future__ import annotations

import copy
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import torch

from ..parity import configs
from .book import book_deep_convnet, scores

__all__ = ["VARIANTS", "PrecisionResult", "precision_study", "layer_dtypes", "format_precision"]

#: name -> (what it is, what the weights and images are stored as, what it computes in)
VARIANTS = {
    "float64": ("the reference in float64 (the oracle)", "float64", "float64"),
    "float32": ("the twin in float32", "float32", "float32"),
    "book-float16": ("the book's half_float_network.py: weights and images rounded to float16, "
                     "kept in float64 arrays", "float16 values in float64", "float64"),
    "book-bfloat16": ("as the book's experiment, with bfloat16 rounding", "bfloat16 values in float64",
                      "float64"),
    "autocast-fp16": ("the float32 twin under torch.autocast('cpu', dtype=torch.float16)", "float32",
                      "float16"),
    "autocast-bf16": ("the float32 twin under torch.autocast('cpu', dtype=torch.bfloat16)", "float32",
                      "bfloat16"),
    "float16": ("the twin and the images converted to float16 (no autocast)", "float16", "float16"),
    "bfloat16": ("the twin and the images converted to bfloat16 (no autocast)", "bfloat16", "bfloat16"),
}


@dataclass(frozen=True)
class PrecisionResult:
    """One variant on ``n`` images, judged against the float64 reference's scores."""

    variant: str
    what: str
    stores: str
    computes_in: str
    n: int
    accuracy: float | None = None
    agreement: float | None = None      # fraction of images whose predicted class is the oracle's
    flips: int | None = None            # images whose predicted class differs from the oracle's
    max_abs_err: float | None = None    # max |score − oracle score| over all images and classes
    scale: float | None = None          # max |oracle score|: the size the errors are measured against
    widest_flip_margin: float | None = None   # largest oracle top-1 − top-2 among the flips (0: none)
    unavailable: str | None = None      # why it could not run here


def _rounded(module, dtype):
    """A float64 copy of ``module`` whose parameters are rounded to ``dtype`` (and kept in float64)."""
    out = copy.deepcopy(module)
    with torch.no_grad():
        for p in out.parameters():
            p.copy_(p.to(dtype).to(torch.float64))
    return out


def _variant_scores(name, twin64, twin32, x, batch_size):
    """Scores of one torch variant as float64, or raise RuntimeError with the reason it cannot run."""
    x_t = torch.from_numpy(x)
    if name == "float32":
        return scores(twin32, x_t.float(), batch_size).astype(np.float64)
    if name.startswith("book-"):
        dtype = getattr(torch, name.removeprefix("book-"))
        return scores(_rounded(twin64, dtype), x_t.to(dtype).double(), batch_size)
    if name.startswith("autocast-"):
        cfg = configs.by_name(name)
        reason = configs.unavailable(cfg)
        if reason:
            raise RuntimeError(reason)
        out = []
        with configs.configured(cfg, twin32) as run, torch.no_grad():
            for start in range(0, len(x), batch_size):
                with run.autocast():
                    out.append(run.call(run.input(x[start:start + batch_size].astype(np.float32))).double().numpy())
        return np.concatenate(out)
    dtype = getattr(torch, name)
    try:
        low = copy.deepcopy(twin32).to(dtype)
        return scores(low, x_t.to(dtype), batch_size).astype(np.float64)
    except (RuntimeError, NotImplementedError) as exc:       # a kernel missing for this dtype
        raise RuntimeError(f"no {name} CPU kernel in torch {torch.__version__}: {exc}") from None


def precision_study(x, t, variants=tuple(VARIANTS), folder=None, batch_size=100,
                    oracle=None) -> list[PrecisionResult]:
    """Each variant of :data:`VARIANTS` on images ``x`` (float64, as :func:`reports.mnist.book.book_test_set`
    gives them) with labels ``t``, judged against the float64 reference. A variant that cannot
    run here comes back with ``unavailable`` set. ``oracle``: the float64 reference's scores of
    ``x`` when they are already computed (``deep_convnet_answer(x, t).scores``)."""
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        raise ValueError(f"unknown variants {unknown}; choose from {list(VARIANTS)}")
    ref64, twin64 = book_deep_convnet(folder, np.float64)
    _, twin32 = book_deep_convnet(folder, np.float32)
    if oracle is None:
        oracle = scores(ref64, x, batch_size)
    p64 = oracle.argmax(axis=1)
    top2 = np.sort(oracle, axis=1)[:, -2:]
    margin = top2[:, 1] - top2[:, 0]
    scale = float(np.max(np.abs(oracle)))
    results = []
    for name in variants:
        what, stores, computes = VARIANTS[name]
        if name == "float64":
            results.append(PrecisionResult(name, what, stores, computes, len(x), float(np.mean(p64 == t)),
                                           1.0, 0, 0.0, scale, 0.0))
            continue
        try:
            s = _variant_scores(name, twin64, twin32, x, batch_size)
        except RuntimeError as exc:
            results.append(PrecisionResult(name, what, stores, computes, len(x), unavailable=str(exc)))
            continue
        p = s.argmax(axis=1)
        flipped = p != p64
        results.append(PrecisionResult(
            name, what, stores, computes, len(x), float(np.mean(p == t)), float(np.mean(~flipped)),
            int(flipped.sum()), float(np.max(np.abs(s - oracle))), scale,
            float(margin[flipped].max()) if flipped.any() else 0.0))
    return results


def layer_dtypes(net, x, autocast=None) -> list[tuple[str, str, str]]:
    """(child, input dtype, output dtype) of each child of a torch twin for one forward pass of
    ``x``, under ``torch.autocast("cpu", dtype=torch.<autocast>)`` when given: what autocast
    really computes in, layer by layer."""
    seen = []
    hooks = [child.register_forward_hook(
        lambda module, inputs, output, name=name: seen.append(
            (name, str(inputs[0].dtype).removeprefix("torch."), str(output.dtype).removeprefix("torch."))))
        for name, child in net.named_children()]
    try:
        context = torch.autocast("cpu", dtype=getattr(torch, autocast)) if autocast else nullcontext()
        with torch.no_grad(), context:
            net(torch.as_tensor(x))
    finally:
        for hook in hooks:
            hook.remove()
    return seen


def format_precision(results) -> str:
    """The results as a plain-text table (one variant a line), under a line giving the number of
    images and the size of the oracle's scores (when a variant ran)."""
    head = f"{'variant':<14} {'stores':<27} {'computes':<9} {'accuracy':>8} {'agrees':>8} {'flips':>5} " \
           f"{'max |err|':>9} {'widest flip margin':>18}"
    scale = next((r.scale for r in results if r.scale is not None), None)
    lines = [f"{results[0].n} images" + (f"; float64 scores up to {scale:.3g} in magnitude; errors and margins "
                                         f"in score units" if scale is not None else ""), head, "-" * len(head)]
    for r in results:
        if r.unavailable:
            lines.append(f"{r.variant:<14} {r.stores:<27} {r.computes_in:<9} unavailable: {r.unavailable}")
            continue
        lines.append(f"{r.variant:<14} {r.stores:<27} {r.computes_in:<9} {r.accuracy:>8.4f} {r.agreement:>8.4f} "
                     f"{r.flips:>5d} {r.max_abs_err:>9.2e} {r.widest_flip_margin:>18.2e}")
    return "\n".join(lines)
