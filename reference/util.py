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
(``reference.layers``); :func:`pad_end` is their one helper here.

Two paths
---------
``im2col`` / ``col2im`` are the book's functions, kept as the teaching path. Below them is the
*fast path* that the layers use by default (``method="fast"``; ``method="book"`` selects the
book's path). It computes the same thing with fewer copies:

- ``window_view`` — every window of the (padded) input as a zero-copy view
  (N, C, OH, OW, FH, FW), made with ``numpy.lib.stride_tricks.sliding_window_view``.
- ``unfold`` — one contiguous copy of those windows in the layout (N, C·FH·FW, OH·OW), the
  layout of ``torch.nn.functional.unfold``. A convolution is then one batched matrix product
  ``W (FN, C·FH·FW) @ col (N, C·FH·FW, OH·OW) -> (N, FN, OH·OW)``, which is already the
  (N, FN, OH, OW) output: no transpose of the result, no (N·OH·OW, FN) intermediate.
  The book's ``im2col`` is the same matrix with the batch merged into the rows and transposed:
  ``im2col(x) == unfold(x).transpose(0, 2, 1).reshape(N·OH·OW, C·FH·FW)``.
- ``fold`` — the adjoint of ``unfold`` (``torch.nn.functional.fold``): like ``col2im`` it
  loops only over the FH·FW kernel offsets, each a strided add of a whole (N, C, OH, OW) block.
- ``window_slices`` / ``fold_offsets`` — the windows offset by offset (row-major order):
  ``padded[window_slices(...)[k]]`` is a strided view (N, C, OH, OW) holding the element at
  kernel offset k of every window, and ``fold_offsets`` is the adjoint. Pooling reduces over
  the FH·FW views with element-wise operations instead of reducing along a short axis of the
  im2col matrix (which NumPy does row by row, slowly), and copies no windows.
"""
from __future__ import annotations

import itertools

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

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


def _output_shape(shape, filter_h, filter_w, stride, pad, dilation):
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
    out_h, out_w = _output_shape(input_data.shape, filter_h, filter_w, stride, pad, dilation)
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
    out_h, out_w = _output_shape(input_shape, filter_h, filter_w, stride, pad, dilation)
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


# ---------------------------------------------------------------------------------------------
# The fast path (the layers' default): zero-copy windows, the (N, C·FH·FW, OH·OW) layout
# ---------------------------------------------------------------------------------------------

def pad_images(input_data: np.ndarray, pad, pad_value: float = 0.0) -> np.ndarray:
    """(N, C, H, W) -> (N, C, H + 2Ph, W + 2Pw) filled with ``pad_value``; the input itself if P = 0.
    ``pad``: an int or an (h, w) pair."""
    pad_h, pad_w = check_pair(pad, "pad", minimum=0)
    if pad_h == 0 and pad_w == 0:
        return input_data
    N, C, H, W = input_data.shape
    img = np.full((N, C, H + 2 * pad_h, W + 2 * pad_w), pad_value, dtype=input_data.dtype)
    img[:, :, pad_h:H + pad_h, pad_w:W + pad_w] = input_data
    return img


def window_view(input_data: np.ndarray, filter_h: int, filter_w: int, stride=1,
                pad=0, pad_value: float = 0.0, *, dilation=1) -> np.ndarray:
    """Every window of the input, without copying it (a read-only view).

    Returns
    -------
    windows : (N, C, OH, OW, FH, FW) with ``windows[n, c, i, j, y, x] == padded[n, c, i·S + y·D, j·S + x·D]``.
        Only the padding (if P > 0) is a copy; the windows share the padded input's memory.
    """
    stride, pad = check_pair(stride, "stride"), check_pair(pad, "pad", minimum=0)
    (dil_h, dil_w) = dilation = check_pair(dilation, "dilation")
    out_h, out_w = _output_shape(input_data.shape, filter_h, filter_w, stride, pad, dilation)
    img = pad_images(input_data, pad, pad_value)
    # a dilated window is every D-th pixel of a window spanning D·(FH − 1) + 1 pixels
    span = (dil_h * (filter_h - 1) + 1, dil_w * (filter_w - 1) + 1)
    windows = sliding_window_view(img, span, axis=(2, 3))[..., ::dil_h, ::dil_w]
    return windows[:, :, :(out_h - 1) * stride[0] + 1:stride[0], :(out_w - 1) * stride[1] + 1:stride[1]]


def unfold(input_data: np.ndarray, filter_h: int, filter_w: int, stride=1, pad=0,
           pad_value: float = 0.0, *, dilation=1) -> np.ndarray:
    """The windows as columns, one matrix per image (``torch.nn.functional.unfold``'s layout).

    Parameters
    ----------
    input_data : (N, C, H, W)
    stride, pad, dilation : an int or an (h, w) pair each

    Returns
    -------
    col : (N, C·FH·FW, OH·OW), contiguous, same dtype; rows (c, fh, fw), columns (oh, ow).
    """
    windows = window_view(input_data, filter_h, filter_w, stride, pad, pad_value, dilation=dilation)
    N, C, out_h, out_w = windows.shape[:4]
    col = np.ascontiguousarray(windows.transpose(0, 1, 4, 5, 2, 3))   # the one copy
    return col.reshape(N, C * filter_h * filter_w, out_h * out_w)


def fold(col: np.ndarray, input_shape, filter_h: int, filter_w: int, stride=1,
         pad=0, *, dilation=1) -> np.ndarray:
    """The adjoint of :func:`unfold`: sum each column back into its window, adding where
    windows overlap (``torch.nn.functional.fold``).

    Parameters
    ----------
    col : (N, C·FH·FW, OH·OW)
    input_shape : (N, C, H, W) of the original input

    Returns
    -------
    img : (N, C, H, W), same dtype as ``col`` (a view into a padded buffer when P > 0)
    """
    stride, (pad_h, pad_w) = check_pair(stride, "stride"), check_pair(pad, "pad", minimum=0)
    dilation = check_pair(dilation, "dilation")
    N, C, H, W = input_shape
    out_h, out_w = _output_shape(input_shape, filter_h, filter_w, stride, (pad_h, pad_w), dilation)
    col = col.reshape(N, C, filter_h * filter_w, out_h, out_w)
    img = np.zeros((N, C, H + 2 * pad_h, W + 2 * pad_w), dtype=col.dtype)
    # One strided add per kernel offset, each over all N·C·OH·OW positions at once.
    for k, s in enumerate(window_slices(filter_h, filter_w, stride, out_h, out_w, dilation)):
        img[s] += col[:, :, k]
    return img[:, :, pad_h:H + pad_h, pad_w:W + pad_w] if pad_h or pad_w else img


def window_slices(filter_h: int, filter_w: int, stride, out_h: int, out_w: int, dilation=1):
    """The FH·FW index tuples that pick, from a padded (N, C, ·, ·) array, the element at
    kernel offset (y, x) of every window: ``padded[s]`` is (N, C, OH, OW). Row-major order
    (y, then x), the order of the book's im2col columns — so "the first maximum" means the same.
    ``stride`` and ``dilation``: an int or an (h, w) pair."""
    (stride_h, stride_w), (dil_h, dil_w) = check_pair(stride, "stride"), check_pair(dilation, "dilation")
    return [(slice(None), slice(None),
             slice(y * dil_h, y * dil_h + stride_h * (out_h - 1) + 1, stride_h),
             slice(x * dil_w, x * dil_w + stride_w * (out_w - 1) + 1, stride_w))
            for y in range(filter_h) for x in range(filter_w)]


def fold_offsets(cols, input_shape, filter_h: int, filter_w: int, stride=1,
                 pad=0, dtype=None, *, dilation=1) -> np.ndarray:
    """Add ``cols[k]`` (N, C, OH, OW) back at kernel offset k of every window, adding where
    windows overlap: the adjoint of taking ``padded[window_slices(...)[k]]`` for every k.

    Parameters
    ----------
    cols : (FH·FW, N, C, OH, OW) array (a broadcast view is fine); or any iterable of FH·FW
        arrays (N, C, OH, OW) in offset order — e.g. a generator, so that only one block is
        held in memory at a time; or a function ``cols(k, out)`` that returns block k, and
        writes it into ``out`` when ``out`` is given (then no block is made separately)
    input_shape : (N, C, H, W) of the original input
    stride, pad, dilation : an int or an (h, w) pair each
    dtype : the result's dtype when ``cols`` is a function (else that of the blocks)

    Returns
    -------
    img : (N, C, H, W)

    When the windows tile the input exactly (stride = FH = FW, no padding, no dilation, nothing
    left over, as in a 2×2 stride-2 pool) every pixel belongs to exactly one window: each block
    is then written in place instead of added to zeros.
    """
    stride, (pad_h, pad_w) = check_pair(stride, "stride"), check_pair(pad, "pad", minimum=0)
    dilation = check_pair(dilation, "dilation")
    N, C, H, W = input_shape
    out_h, out_w = _output_shape(input_shape, filter_h, filter_w, stride, (pad_h, pad_w), dilation)
    tiled = (pad_h == pad_w == 0 and dilation == (1, 1) and stride == (filter_h, filter_w)
             and H == out_h * filter_h and W == out_w * filter_w)
    if not callable(cols):                       # an array or iterable: blocks in offset order
        blocks = iter(cols)
        first = next(blocks)
        dtype, blocks = first.dtype, itertools.chain([first], blocks)

        def cols(k, out=None):
            block = next(blocks)
            if out is not None:
                out[...] = block
            return block

    img = (np.empty if tiled else np.zeros)((N, C, H + 2 * pad_h, W + 2 * pad_w), dtype=dtype)
    for k, s in enumerate(window_slices(filter_h, filter_w, stride, out_h, out_w, dilation)):
        if tiled:
            cols(k, out=img[s])
        else:
            img[s] += cols(k)
    return img[:, :, pad_h:H + pad_h, pad_w:W + pad_w] if pad_h or pad_w else img
