"""im2col / col2im and the output-size formula, as in the book's ``common/util.py``.

im2col turns every (filter_h × filter_w) window of the input into one row of a 2-D matrix,
so that a convolution becomes a single matrix product:

    input (N, C, H, W)  --im2col-->  col (N·OH·OW, C·FH·FW)
    rows are ordered (n, oh, ow), columns (c, fh, fw) — exactly the book's layout.

Differences from the book (both deliberate, see the report's catalog):
- dtype is preserved (the book creates ``np.zeros`` in float64 and so upcasts float32).
- ``pad_value`` lets max pooling pad with −inf, so padding never wins a max (PyTorch's rule).

Beyond the book (PyTorch's options, all defaulting to the book's behaviour): ``stride``, ``pad``
and ``dilation`` take an int or an (h, w) pair; ``dilation`` spreads the window (see
:func:`im2col`). Groups, "same" padding and ceil mode are the layers' business
(``reference.extensions``); :func:`pad_end` and :func:`crop_end` are their helpers here.

These are the book's functions, the teaching path (``method="book"`` of the layers). The fast
path that the layers use by default — the same windows without the copies — is
``reference.fast`` (``unfold``, ``fold``, ``window_slices``, ...).
"""
from __future__ import annotations

import numpy as np

from .checks import check_nonnegative_int, check_pair, check_positive_int


def conv_output_size(input_size: int, filter_size: int, stride: int = 1, pad: int = 0,
                     strict: bool = False, *, dilation: int = 1, ceil_mode: bool = False) -> int:
    """OH = (H + 2P − FH) / S + 1, rounded down like PyTorch — along one axis.

    With a dilation D the window spans D·(FH − 1) + 1 pixels, which replaces FH:
    OH = (H + 2P − D·(FH − 1) − 1) / S + 1.

    With ``strict=True`` a non-dividing configuration raises instead of silently dropping
    the last rows/columns of the input (the book assumes it divides).

    ``ceil_mode=True`` (PyTorch's pooling option) rounds up instead: the last window may hang
    over the end of the padded input — but, as in PyTorch, a last window that would start in
    the right-hand padding (or beyond) is dropped.
    """
    check_positive_int(stride, "stride")
    check_nonnegative_int(pad, "pad")
    check_positive_int(dilation, "dilation")
    padded = input_size + 2 * pad
    span_of_window = dilation * (filter_size - 1) + 1
    if span_of_window > padded:
        what = f"kernel size {filter_size}" + (f" (spanning {span_of_window} with dilation {dilation})"
                                                if dilation > 1 else "")
        raise ValueError(f"{what} is larger than the padded input {input_size} + 2·{pad} = {padded}; "
                         f"use a smaller kernel or more padding")
    span = padded - span_of_window
    if strict and span % stride != 0:
        raise ValueError(f"strict output size: (H + 2P − FH) / S = ({input_size} + 2·{pad} − "
                         f"{span_of_window}) / {stride} is not an integer; change stride or pad, or "
                         f"use strict=False to round down like PyTorch")
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1                      # rounded up
    if (out - 1) * stride >= input_size + pad:        # the last window starts in the right padding
        out -= 1
    return out


def output_shape(shape, filter_h, filter_w, stride, pad, dilation):
    """(OH, OW) of an (N, C, H, W) input, each axis with its own stride, pad and dilation."""
    (sh, sw), (ph, pw), (dh, dw) = stride, pad, dilation
    return (conv_output_size(shape[2], filter_h, sh, ph, dilation=dh),
            conv_output_size(shape[3], filter_w, sw, pw, dilation=dw))


def im2col(input_data: np.ndarray, filter_h: int, filter_w: int, stride=1, pad=0,
           pad_value: float = 0.0, *, dilation=1) -> np.ndarray:
    """Unfold windows into rows.

    Parameters
    ----------
    input_data : (N, C, H, W)
    filter_h, filter_w : window size
    stride, pad : as in the convolution (an int, or an (h, w) pair); ``pad_value`` fills the
        border (0, or −inf for max pooling)
    dilation : spacing between the pixels of a window (an int or an (h, w) pair; 1: the book)

    Returns
    -------
    col : (N·OH·OW, C·FH·FW), same dtype as ``input_data``

    How dilation and groups change the matrix
    -----------------------------------------
    Entry (row (n, oh, ow), column (c, y, x)) is ``padded[n, c, oh·S + y·D, ow·S + x·D]``. The
    book has D = 1: a window is FH×FW neighbouring pixels. With D = 2 it takes every second
    pixel; the matrix keeps its shape (C·FH·FW columns), only the pixels that fill it change.
    A 1-channel 5×5 input holding 0 … 24, a 2×2 filter, stride 1::

        D = 1:  OH = OW = 4, first row  0  1  5  6      (a 2×2 block)
        D = 2:  OH = OW = 3, first row  0  2 10 12      (a 3×3 block's corners)

    Groups do not change im2col at all, only the product after it. With G groups, the columns
    (c runs slowest) split into G blocks of (C/G)·FH·FW, one per group of input channels, and
    the FN filters into G blocks of FN/G; group g's outputs are ``col[:, block g] @ W_gᵀ`` with
    ``W_g`` its filters reshaped to (FN/G, (C/G)·FH·FW). C = 4 channels, G = 2::

        col:  | c=0  c=1 | c=2  c=3 |     group 0's filters see only the left block,
              | block 0  | block 1  |     group 1's only the right one.

    G = C ("depthwise") gives each channel its own block of FH·FW columns and its own filters.
    """
    stride, pad = check_pair(stride, "stride"), check_pair(pad, "pad", minimum=0)
    dilation = check_pair(dilation, "dilation")
    N, C, H, W = input_data.shape
    out_h, out_w = output_shape(input_data.shape, filter_h, filter_w, stride, pad, dilation)
    (stride_h, stride_w), (pad_h, pad_w), (dil_h, dil_w) = stride, pad, dilation

    img = np.pad(input_data, [(0, 0), (0, 0), (pad_h, pad_h), (pad_w, pad_w)], "constant",
                 constant_values=pad_value)
    col = np.zeros((N, C, filter_h, filter_w, out_h, out_w), dtype=input_data.dtype)

    # For each position (y, x) inside the filter, take every stride-th pixel: this copies
    # the (y, x) entry of all OH·OW windows at once (FH·FW slices instead of OH·OW loops).
    # With dilation, filter position y sits y·D pixels below the window's top (the book: y).
    for y in range(filter_h):
        y_min = y * dil_h
        y_max = y_min + stride_h * out_h
        for x in range(filter_w):
            x_min = x * dil_w
            x_max = x_min + stride_w * out_w
            col[:, :, y, x, :, :] = img[:, :, y_min:y_max:stride_h, x_min:x_max:stride_w]

    # (the column count is spelled out, not -1: an empty batch has no rows to infer it from)
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(N * out_h * out_w, C * filter_h * filter_w)


def col2im(col: np.ndarray, input_shape, filter_h: int, filter_w: int, stride=1, pad=0, *,
           dilation=1) -> np.ndarray:
    """Fold rows back into an image, *adding* where windows overlap (the adjoint of im2col).

    Parameters
    ----------
    col : (N·OH·OW, C·FH·FW)
    input_shape : (N, C, H, W) of the original input
    stride, pad, dilation : as given to :func:`im2col`

    Returns
    -------
    img : (N, C, H, W), same dtype as ``col``
    """
    stride, pad = check_pair(stride, "stride"), check_pair(pad, "pad", minimum=0)
    dilation = check_pair(dilation, "dilation")
    N, C, H, W = input_shape
    out_h, out_w = output_shape(input_shape, filter_h, filter_w, stride, pad, dilation)
    (stride_h, stride_w), (pad_h, pad_w), (dil_h, dil_w) = stride, pad, dilation
    col = col.reshape(N, out_h, out_w, C, filter_h, filter_w).transpose(0, 3, 4, 5, 1, 2)

    # stride − 1 spare pixels so the last strided slice never runs past the end.
    img = np.zeros((N, C, H + 2 * pad_h + stride_h - 1, W + 2 * pad_w + stride_w - 1), dtype=col.dtype)
    for y in range(filter_h):
        y_min = y * dil_h
        y_max = y_min + stride_h * out_h
        for x in range(filter_w):
            x_min = x * dil_w
            x_max = x_min + stride_w * out_w
            img[:, :, y_min:y_max:stride_h, x_min:x_max:stride_w] += col[:, :, y, x, :, :]

    return img[:, :, pad_h:H + pad_h, pad_w:W + pad_w]





# ---------------------------------------------------------------------------------------------
# Beyond the book: helpers of PyTorch's options (ceil mode, "same" padding, dilation)
# ---------------------------------------------------------------------------------------------

def pad_end(input_data: np.ndarray, extra_h: int, extra_w: int, value: float = 0.0) -> np.ndarray:
    """(N, C, H, W) -> (N, C, H + extra_h, W + extra_w): ``extra`` rows/columns of ``value``
    after the last row/column; the input itself when both are 0.

    The layers use it where the padding is not the same on both sides: a last pooling window
    that hangs over the end in ``ceil_mode``, and ``pad="same"`` with an even window span
    (PyTorch puts the odd pixel at the end). The symmetric part stays ``pad``.
    """
    if extra_h == 0 and extra_w == 0:
        return input_data
    return np.pad(input_data, [(0, 0), (0, 0), (0, extra_h), (0, extra_w)], "constant",
                  constant_values=value)


def crop_end(grad: np.ndarray, extra_h: int, extra_w: int) -> np.ndarray:
    """The gradient's side of :func:`pad_end`: (N, C, H + extra_h, W + extra_w) -> (N, C, H, W),
    dropping the rows/columns ``pad_end`` added (they are not part of the input); the array
    itself when both are 0."""
    if extra_h == 0 and extra_w == 0:
        return grad
    return grad[:, :, :grad.shape[2] - extra_h, :grad.shape[3] - extra_w]


def first_inside(input_size: int, out_size: int, filter_size: int, stride: int = 1, pad: int = 0,
                 dilation: int = 1) -> np.ndarray:
    """Along one axis, for each of the ``out_size`` windows: the index y of its first tap that
    falls inside the input (0 ≤ o·S − P + y·D < H), or −1 if every tap is padding.

    Without dilation every window touches the input (PyTorch's rule P ≤ FH/2 sees to it); with
    dilation the taps can step over a small input: H = 1, FH = 2, P = 1, D = 2 has taps at −1
    and 1, both outside.
    """
    start = np.arange(out_size) * stride - pad                 # the first tap's position
    y = np.maximum(0, -(start // dilation))                    # ⌈−start / D⌉, at least 0
    inside = (y < filter_size) & (start + y * dilation < input_size)
    return np.where(inside, y, -1)
