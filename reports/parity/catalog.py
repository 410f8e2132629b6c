"""The catalog of semantic differences between the book's conventions and PyTorch's.

Each entry states both conventions, what this reference does, and *measures* the effect on a
small concrete input, so the report shows a number and the tests assert on the same number.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

import reference as R
from reference.optimizer import Adam, BookAdam, BookMomentum, Momentum
from torch_impl import layers as T

from .harness import quiet_torch_notes


@dataclass(frozen=True)
class Difference:
    key: str
    title: str
    book: str
    torch: str
    reference: str
    measure: Callable[[], dict]     # -> {"book": value, "torch": value, "reference": value, "effect": str}


def _pool_padding():
    x = -np.arange(1.0, 17.0).reshape(1, 1, 4, 4)          # all negative
    book_col = R.im2col(x, 2, 2, stride=2, pad=1, pad_value=0.0)   # the book pads with 0
    book = book_col.reshape(-1, 4).max(axis=1).reshape(1, 3, 3, 1).transpose(0, 3, 1, 2)
    ours = R.Pooling(2, 2, stride=2, pad=1).forward(x)
    theirs = T.pooling(2, 2, stride=2, pad=1)(torch.from_numpy(x)).numpy()
    return {"book": float(book[0, 0, 0, 0]), "torch": float(theirs[0, 0, 0, 0]),
            "reference": float(ours[0, 0, 0, 0]), "max_abs_book_vs_torch": float(np.abs(book - theirs).max()),
            "effect": "corner window of an all-negative 4×4 input, 2×2 pool, stride 2, pad 1"}


def _dropout_scaling():
    p = 0.5
    x = np.linspace(1.0, 2.0, 8).reshape(2, 4)
    mask = np.array([[1, 0, 1, 1], [0, 1, 1, 0]], dtype=bool)
    inverted = R.Dropout(p, inverted=True).forward(x, mask=mask)
    book = R.Dropout(p, inverted=False).forward(x, mask=mask)
    book_eval = R.Dropout(p, inverted=False).forward(x, train_flg=False)
    torch_eval = T.dropout(p).eval()(torch.from_numpy(x)).numpy()
    return {"book": float(book[0, 0]), "torch": float(inverted[0, 0]), "reference": float(inverted[0, 0]),
            "book_eval": float(book_eval[0, 0]), "torch_eval": float(torch_eval[0, 0]),
            "ratio_train": float(inverted[0, 0] / book[0, 0]),
            "effect": f"x = 1.0 kept by the mask, p = {p}: training output and eval output"}


def _loss_epsilon():
    x = np.array([[50.0, 0.0]])
    t = np.array([1])
    book = R.SoftmaxWithLoss(eps=1e-7).forward(x, t)
    ours = R.SoftmaxWithLoss().forward(x, t)
    theirs = F.cross_entropy(torch.from_numpy(x), torch.from_numpy(t)).item()
    return {"book": float(book), "torch": float(theirs), "reference": float(ours),
            "effect": "scores [50, 0], true class 1: the book's log(y + 1e-7) caps the loss near 16.1"}


def _lrn_alpha():
    rng = np.random.default_rng(0)
    x = 3.0 * rng.standard_normal((1, 6, 2, 2))
    size, alpha, beta, k = 5, 0.1, 0.75, 2.0
    paper = R.LRN(size, alpha, beta, k, convention="paper").forward(x)
    ours = R.LRN(size, alpha, beta, k).forward(x)
    theirs = T.lrn(size, alpha, beta, k)(torch.from_numpy(x)).numpy()
    theirs_scaled = T.lrn(size, alpha * size, beta, k)(torch.from_numpy(x)).numpy()
    return {"book": float(np.abs(paper - theirs).max()), "torch": 0.0,
            "reference": float(np.abs(ours - theirs).max()),
            "paper_vs_torch_alpha_times_size": float(np.abs(paper - theirs_scaled).max()),
            "effect": "max |difference| to nn.LocalResponseNorm(5, α=0.1): the paper's form equals torch's with α·size"}


def _output_rounding():
    x = np.ones((1, 1, 8, 8))
    W = np.ones((1, 1, 3, 3))
    floor = R.Convolution(W, np.zeros(1), stride=2).forward(x).shape[-1]
    theirs = T.convolution(1, 1, 3, 3, stride=2, dtype=torch.float64)(torch.from_numpy(x)).shape[-1]
    try:
        R.Convolution(W, np.zeros(1), stride=2, strict=True).forward(x)
        strict = "no error"
    except ValueError:
        strict = "ValueError"
    return {"book": "(8 − 3)/2 + 1 = 3.5 (assumed to divide)", "torch": int(theirs), "reference": int(floor),
            "strict": strict, "effect": "8×8 input, 3×3 kernel, stride 2"}


def _avgpool_padding():
    x = np.ones((1, 1, 4, 4))
    incl = R.AvgPooling(3, 3, stride=1, pad=1, count_include_pad=True).forward(x)
    excl = R.AvgPooling(3, 3, stride=1, pad=1, count_include_pad=False).forward(x)
    theirs = T.avg_pooling(3, 3, stride=1, pad=1)(torch.from_numpy(x)).numpy()
    return {"book": "—", "torch": float(theirs[0, 0, 0, 0]), "reference": float(incl[0, 0, 0, 0]),
            "exclude_pad": float(excl[0, 0, 0, 0]), "effect": "corner of a 4×4 all-ones input, 3×3 window, pad 1"}


def _dtype_upcast():
    x = np.ones((1, 1, 4, 4), dtype=np.float32)
    book = np.zeros((1, 1, 3, 3, 2, 2))          # the book's im2col allocates float64
    book[...] = 1
    ours = R.im2col(x, 3, 3)
    return {"book": str(book.dtype), "torch": "float32", "reference": str(ours.dtype),
            "effect": "dtype of im2col(float32 input)"}


def _adam_eps():
    g = np.array([1e-6, 1e-3])            # a tiny and an ordinary gradient
    steps = {}
    for label, opt in (("book", BookAdam(lr=1e-3)), ("reference", Adam(lr=1e-3))):
        p = np.zeros(2)
        opt.update({"p": p}, {"p": g.copy()})
        steps[label] = -p
    w = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    w.grad = torch.from_numpy(g.copy())
    torch.optim.Adam([w], lr=1e-3).step()
    theirs = -w.detach().numpy()
    return {"book": float(steps["book"][0]), "torch": float(theirs[0]), "reference": float(steps["reference"][0]),
            "book_ordinary_gradient": float(steps["book"][1]), "torch_ordinary_gradient": float(theirs[1]),
            "effect": "size of the first step (lr 0.001) for a gradient of 1e−6; the last two rows: gradient 1e−3"}


def _momentum_form():
    g = np.array([1.0])
    book_p, torch_p = np.zeros(1), np.zeros(1)
    book, ours = BookMomentum(lr=0.1, momentum=0.9), Momentum(lr=0.1, momentum=0.9)
    for step in range(4):
        if step == 2:                      # a learning-rate schedule halves lr after two steps
            book.lr = ours.lr = 0.05
        book.update({"p": book_p}, {"p": g.copy()})
        ours.update({"p": torch_p}, {"p": g.copy()})
    return {"book": float(book_p[0]), "torch": float(torch_p[0]), "reference": float(torch_p[0]),
            "effect": "parameter after 4 steps of gradient 1, lr 0.1 halved to 0.05 after step 2 "
                      "(with a constant lr the two forms give the same trajectory)"}


def _pool_ceil_mode():
    # 5 wide, 2×2 window, stride 2: floor drops the last column, ceil keeps a half window
    x5 = np.arange(25.0).reshape(1, 1, 5, 5)
    floor = R.Pooling(2, 2, stride=2).forward(x5).shape[-1]
    ours = R.Pooling(2, 2, stride=2, ceil_mode=True).forward(x5).shape[-1]
    theirs = F.max_pool2d(torch.from_numpy(x5), 2, 2, ceil_mode=True).shape[-1]
    # 3 wide, pad 1: rounding up would give a third window starting in the right padding
    x3 = np.arange(9.0).reshape(1, 1, 3, 3)
    naive = -(-(3 + 2 - 2) // 2) + 1
    ours3 = R.Pooling(2, 2, stride=2, pad=1, ceil_mode=True).forward(x3).shape[-1]
    theirs3 = F.max_pool2d(torch.from_numpy(x3), 2, 2, 1, ceil_mode=True).shape[-1]
    return {"book": int(floor), "torch": int(theirs), "reference": int(ours),
            "rounded_up_pad_1": int(naive), "torch_pad_1": int(theirs3), "reference_pad_1": int(ours3),
            "effect": "output width, 2×2 max pool, stride 2, on a 5-wide input (and on a 3-wide "
                      "input with pad 1, where PyTorch drops the window that would start in the padding)"}


def _avgpool_ceil_divisor():
    ones = np.ones((1, 1, 3, 3))
    ours = R.AvgPooling(2, 2, stride=2, ceil_mode=True).forward(ones)
    theirs = F.avg_pool2d(torch.from_numpy(ones), 2, 2, ceil_mode=True).numpy()
    whole = R.AvgPooling(2, 2, stride=2, ceil_mode=True, divisor_override=4).forward(ones)
    return {"book": "— (no ceil mode)", "torch": float(theirs[0, 0, 1, 1]), "reference": float(ours[0, 0, 1, 1]),
            "divide_by_window": float(whole[0, 0, 1, 1]),
            "effect": "last window of a 2×2, stride 2, ceil-mode average of a 3×3 all-ones input "
                      "(count_include_pad=True): it holds one pixel"}


def _weighted_mean():
    scores, w = np.zeros((3, 2)), np.array([1.0, 3.0])
    labels = np.array([0, 1, 1])
    one_hot = np.eye(2)[labels]
    ours = R.SoftmaxWithLoss(weight=w).forward(scores, labels)
    ours_p = R.SoftmaxWithLoss(weight=w).forward(scores, one_hot)
    theirs = F.cross_entropy(torch.from_numpy(scores), torch.from_numpy(labels), weight=torch.from_numpy(w))
    theirs_p = F.cross_entropy(torch.from_numpy(scores), torch.from_numpy(one_hot), weight=torch.from_numpy(w))
    return {"book": "— (no class weights)", "torch": float(theirs), "reference": float(ours),
            "torch_one_hot": float(theirs_p), "reference_one_hot": float(ours_p),
            "effect": "zero scores (each sample's loss is log 2 times its class weight), weights "
                      "(1, 3), targets 0, 1, 1 as class indices and as one-hot rows"}


def _same_padding():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    W = np.ones((1, 1, 2, 2))
    ours = R.Convolution(W, None, pad="same").forward(x)
    with quiet_torch_notes():           # torch: "may require a zero-padded copy of the input"
        theirs = F.conv2d(torch.from_numpy(x), torch.from_numpy(W), padding="same").numpy()
    at_start = F.conv2d(F.pad(torch.from_numpy(x), (1, 0, 1, 0)), torch.from_numpy(W)).numpy()
    return {"book": "— (numbers only)", "torch": float(theirs[0, 0, 0, 0]), "reference": float(ours[0, 0, 0, 0]),
            "odd_pixel_first": float(at_start[0, 0, 0, 0]),
            "effect": 'top-left output of a 2×2 all-ones filter with pad="same" on a 4×4 input holding '
                      "0 … 15: one pixel of padding in all, put after the last row/column"}


def _maxpool_nan():
    x = np.array([[np.nan, 1.0], [np.nan, 2.0]])[None, None]
    book = int(np.argmax(R.im2col(x, 2, 2, stride=2), axis=1)[0])   # the book: argmax of im2col
    ours = R.Pooling(2, 2, stride=2)
    ours.forward(x)
    _, theirs = F.max_pool2d(torch.from_numpy(x), 2, 2, return_indices=True)
    return {"book": book, "torch": int(theirs.flatten()[0]), "reference": int(ours.flat_indices().flatten()[0]),
            "effect": "index of the maximum of a 2×2 window holding NaN, 1, NaN, 2 (the gradient goes there)"}


def _maxpool_dilation_outside():
    x = np.arange(1.0, 6.0).reshape(1, 1, 1, 5)
    args = dict(kernel_size=(2, 1), stride=1, padding=(1, 0), dilation=(2, 1))
    try:
        out, index = F.max_pool2d(torch.from_numpy(x), return_indices=True, **args)
        torch_side = f"output {float(out.flatten()[0])}, index {int(index.flatten()[0])} of {x.size}"
        index_inside = bool(0 <= int(index.min()) and int(index.max()) < x.size)
    except RuntimeError as exc:               # a future torch may refuse the configuration
        torch_side, index_inside = f"RuntimeError: {exc}", False
    try:
        R.Pooling(2, 1, stride=1, pad=(1, 0), dilation=(2, 1)).forward(x)
        ours = "no error"
    except ValueError:
        ours = "ValueError"
    return {"book": "— (no dilation)", "torch": torch_side, "reference": ours, "torch_index_inside": index_inside,
            "effect": "1×5 input, 2×1 window, pad 1, dilation 2 (taps at rows −1 and 1: none inside). "
                      "torch's backward then writes outside the gradient buffer (a crash, not run here)"}


CATALOG: list[Difference] = [
    Difference("pool_padding", "Max-pool padding",
               "pads with 0 (a padded window of negatives returns 0); its forward sizes the output without "
               "the padding, so pad > 0 crashes",
               "padding never wins the max (acts as −inf)", "−inf padding, like torch", _pool_padding),
    Difference("dropout_scaling", "Dropout scaling",
               "training: x·mask; inference: x·(1 − p)", "inverted: training x·mask/(1 − p); inference x",
               "both, inverted=True by default", _dropout_scaling),
    Difference("loss_epsilon", "Cross-entropy epsilon",
               "−log(y + 1e−7)", "log-softmax, no epsilon", "log-sum-exp; eps=1e-7 gives the book's", _loss_epsilon),
    Difference("lrn_alpha", "LRN alpha",
               "(AlexNet paper) k + α·Σx²", "k + (α/size)·Σx²", "both, convention='torch' by default", _lrn_alpha),
    Difference("output_rounding", "Output-size rounding",
               "(H + 2P − FH)/S + 1 assumed integer", "floor", "floor; strict=True raises", _output_rounding),
    Difference("avgpool_padding", "Average-pool divisor at the border",
               "— (the book has no average pooling)", "count_include_pad=True: divide by FH·FW",
               "both conventions (count_include_pad)", _avgpool_padding),
    Difference("adam_eps", "Adam epsilon",
               "eps = 1e−7 added to the uncorrected √v (bias correction folded into lr)",
               "eps = 1e−8 added to the bias-corrected √v̂", "both: Adam (torch) and BookAdam",
               _adam_eps),
    Difference("momentum_form", "Momentum form",
               "v ← αv − ηg, p ← p + v (lr inside the velocity)", "v ← μv + g, p ← p − lr·v",
               "both: Momentum (torch) and BookMomentum", _momentum_form),
    Difference("dtype", "dtype", "upcasts float32 to float64 (np.zeros default)", "preserves dtype",
               "preserves dtype", _dtype_upcast),
    # Conventions that PyTorch's own test samples (the OpInfo corpus, reports.parity.opinfo) ask for
    Difference("pool_ceil_mode", "Pooling output size: ceil_mode",
               "floor: (H + 2P − FH)/S + 1 rounded down", "ceil_mode=True rounds up, but drops a last "
               "window that would start in the right padding", "both (ceil_mode=False by default)",
               _pool_ceil_mode),
    Difference("avgpool_ceil_divisor", "Average-pool divisor of a ceil-mode window",
               "— (no ceil mode)", "the part hanging over the padded input does not count, even with "
               "count_include_pad=True", "as torch; divisor_override=FH·FW gives the whole window",
               _avgpool_ceil_divisor),
    Difference("weighted_mean", "Cross-entropy mean with class weights",
               "— (unweighted mean over N)", "class indices: Σ w_t·loss / Σ w_t; probabilities (one-hot "
               "too): Σ loss / N", "as torch (weight=, reduction=, ignore_index=)", _weighted_mean),
    Difference("same_padding", 'pad="same" with an even window span',
               "— (padding is a number)", "the odd pixel of padding goes after the last row/column",
               "as torch (pad_end)", _same_padding),
    Difference("maxpool_nan", "Max pool: which NaN gets the gradient",
               "np.argmax of the im2col row: the first NaN", "value > max or isnan(value): the last NaN",
               "the last NaN, in both paths (earlier versions: the first)", _maxpool_nan),
    Difference("maxpool_dilation_outside", "Max pool: a dilated window with no element inside the input",
               "— (no dilation)", "−inf, an index outside the input, backward writes out of bounds "
               "(torch 2.14 CPU)", "ValueError before any computation", _maxpool_dilation_outside),
]
