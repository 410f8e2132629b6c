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
from torch_impl import layers as T


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
    from reference.optimizer import Adam, BookAdam

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
    from reference.optimizer import BookMomentum, Momentum

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


CATALOG: list[Difference] = [
    Difference("pool_padding", "Max-pool padding",
               "pads with 0 (a padded window of negatives returns 0); backward crashes for pad > 0",
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
]
