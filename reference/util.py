"""im2col / col2im and the output-size formula, as in the book's ``common/util.py``.

im2col turns every (filter_h × filter_w) window of the input into one row of a 2-D matrix,
so that a convolution becomes a single matrix product:

    input (N, C, H, W)  --im2col-->  col (N·OH·OW, C·FH·FW)
    rows are ordered (n, oh, ow), columns (c, fh, fw) — exactly the book's layout.

Differences from the book (both deliberate, see the report's catalog):
- dtype is preserved (the book creates ``np.zeros`` in float64 and so upcasts float32).
- ``pad_value`` lets max pooling pad with −inf, so padding never wins a max (PyTorch's rule).

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

from .checks import check_nonnegative_int, check_positive_int


def conv_output_size(input_size: int, filter_size: int, stride: int = 1, pad: int = 0,
                     strict: bool = False) -> int:
    """OH = (H + 2P − FH) / S + 1, rounded down like PyTorch.

    With ``strict=True`` a non-dividing configuration raises instead of silently dropping
    the last rows/columns of the input (the book assumes it divides).
    """
    check_positive_int(stride, "stride")
    check_nonnegative_int(pad, "pad")
    padded = input_size + 2 * pad
    if filter_size > padded:
        raise ValueError(f"kernel size {filter_size} is larger than the padded input "
                         f"{input_size} + 2·{pad} = {padded}; use a smaller kernel or more padding")
    span = padded - filter_size
    if strict and span % stride != 0:
        raise ValueError(f"strict output size: (H + 2P − FH) / S = ({input_size} + 2·{pad} − "
                         f"{filter_size}) / {stride} is not an integer; change stride or pad, or "
                         f"use strict=False to round down like PyTorch")
    return span // stride + 1


def im2col(input_data: np.ndarray, filter_h: int, filter_w: int, stride: int = 1, pad: int = 0,
           pad_value: float = 0.0) -> np.ndarray:
    """Unfold windows into rows.

    Parameters
    ----------
    input_data : (N, C, H, W)
    filter_h, filter_w : window size
    stride, pad : as in the convolution; ``pad_value`` fills the border (0, or −inf for max pooling)

    Returns
    -------
    col : (N·OH·OW, C·FH·FW), same dtype as ``input_data``
    """
    N, C, H, W = input_data.shape
    out_h = conv_output_size(H, filter_h, stride, pad)
    out_w = conv_output_size(W, filter_w, stride, pad)

    img = np.pad(input_data, [(0, 0), (0, 0), (pad, pad), (pad, pad)], "constant",
                 constant_values=pad_value)
    col = np.zeros((N, C, filter_h, filter_w, out_h, out_w), dtype=input_data.dtype)

    # For each position (y, x) inside the filter, take every stride-th pixel: this copies
    # the (y, x) entry of all OH·OW windows at once (FH·FW slices instead of OH·OW loops).
    for y in range(filter_h):
        y_max = y + stride * out_h
        for x in range(filter_w):
            x_max = x + stride * out_w
            col[:, :, y, x, :, :] = img[:, :, y:y_max:stride, x:x_max:stride]

    return col.transpose(0, 4, 5, 1, 2, 3).reshape(N * out_h * out_w, -1)


def col2im(col: np.ndarray, input_shape, filter_h: int, filter_w: int, stride: int = 1,
           pad: int = 0) -> np.ndarray:
    """Fold rows back into an image, *adding* where windows overlap (the adjoint of im2col).

    Parameters
    ----------
    col : (N·OH·OW, C·FH·FW)
    input_shape : (N, C, H, W) of the original input

    Returns
    -------
    img : (N, C, H, W), same dtype as ``col``
    """
    N, C, H, W = input_shape
    out_h = conv_output_size(H, filter_h, stride, pad)
    out_w = conv_output_size(W, filter_w, stride, pad)
    col = col.reshape(N, out_h, out_w, C, filter_h, filter_w).transpose(0, 3, 4, 5, 1, 2)

    # stride − 1 spare pixels so the last strided slice never runs past the end.
    img = np.zeros((N, C, H + 2 * pad + stride - 1, W + 2 * pad + stride - 1), dtype=col.dtype)
    for y in range(filter_h):
        y_max = y + stride * out_h
        for x in range(filter_w):
            x_max = x + stride * out_w
            img[:, :, y:y_max:stride, x:x_max:stride] += col[:, :, y, x, :, :]

    return img[:, :, pad:H + pad, pad:W + pad]


# ---------------------------------------------------------------------------------------------
# The fast path (the layers' default): zero-copy windows, the (N, C·FH·FW, OH·OW) layout
# ---------------------------------------------------------------------------------------------

def pad_images(input_data: np.ndarray, pad: int, pad_value: float = 0.0) -> np.ndarray:
    """(N, C, H, W) -> (N, C, H + 2P, W + 2P) filled with ``pad_value``; the input itself if P = 0."""
    if pad == 0:
        return input_data
    N, C, H, W = input_data.shape
    img = np.full((N, C, H + 2 * pad, W + 2 * pad), pad_value, dtype=input_data.dtype)
    img[:, :, pad:H + pad, pad:W + pad] = input_data
    return img


def window_view(input_data: np.ndarray, filter_h: int, filter_w: int, stride: int = 1,
                pad: int = 0, pad_value: float = 0.0) -> np.ndarray:
    """Every window of the input, without copying it (a read-only view).

    Returns
    -------
    windows : (N, C, OH, OW, FH, FW) with ``windows[n, c, i, j] == padded[n, c, i·S:i·S+FH, j·S:j·S+FW]``.
        Only the padding (if P > 0) is a copy; the windows share the padded input's memory.
    """
    N, C, H, W = input_data.shape
    out_h = conv_output_size(H, filter_h, stride, pad)
    out_w = conv_output_size(W, filter_w, stride, pad)
    img = pad_images(input_data, pad, pad_value)
    windows = sliding_window_view(img, (filter_h, filter_w), axis=(2, 3))
    return windows[:, :, :(out_h - 1) * stride + 1:stride, :(out_w - 1) * stride + 1:stride]


def unfold(input_data: np.ndarray, filter_h: int, filter_w: int, stride: int = 1, pad: int = 0,
           pad_value: float = 0.0) -> np.ndarray:
    """The windows as columns, one matrix per image (``torch.nn.functional.unfold``'s layout).

    Parameters
    ----------
    input_data : (N, C, H, W)

    Returns
    -------
    col : (N, C·FH·FW, OH·OW), contiguous, same dtype; rows (c, fh, fw), columns (oh, ow).
    """
    windows = window_view(input_data, filter_h, filter_w, stride, pad, pad_value)
    N, C, out_h, out_w = windows.shape[:4]
    col = np.ascontiguousarray(windows.transpose(0, 1, 4, 5, 2, 3))   # the one copy
    return col.reshape(N, C * filter_h * filter_w, out_h * out_w)


def fold(col: np.ndarray, input_shape, filter_h: int, filter_w: int, stride: int = 1,
         pad: int = 0) -> np.ndarray:
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
    N, C, H, W = input_shape
    out_h = conv_output_size(H, filter_h, stride, pad)
    out_w = conv_output_size(W, filter_w, stride, pad)
    col = col.reshape(N, C, filter_h * filter_w, out_h, out_w)
    img = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=col.dtype)
    # One strided add per kernel offset, each over all N·C·OH·OW positions at once.
    for k, s in enumerate(window_slices(filter_h, filter_w, stride, out_h, out_w)):
        img[s] += col[:, :, k]
    return img[:, :, pad:H + pad, pad:W + pad] if pad else img


def window_slices(filter_h: int, filter_w: int, stride: int, out_h: int, out_w: int):
    """The FH·FW index tuples that pick, from a padded (N, C, ·, ·) array, the element at
    kernel offset (y, x) of every window: ``padded[s]`` is (N, C, OH, OW). Row-major order
    (y, then x), the order of the book's im2col columns — so "the first maximum" means the same."""
    return [(slice(None), slice(None),
             slice(y, y + stride * (out_h - 1) + 1, stride),
             slice(x, x + stride * (out_w - 1) + 1, stride))
            for y in range(filter_h) for x in range(filter_w)]


def fold_offsets(cols, input_shape, filter_h: int, filter_w: int, stride: int = 1,
                 pad: int = 0, dtype=None) -> np.ndarray:
    """Add ``cols[k]`` (N, C, OH, OW) back at kernel offset k of every window, adding where
    windows overlap: the adjoint of taking ``padded[window_slices(...)[k]]`` for every k.

    Parameters
    ----------
    cols : (FH·FW, N, C, OH, OW) array (a broadcast view is fine); or any iterable of FH·FW
        arrays (N, C, OH, OW) in offset order — e.g. a generator, so that only one block is
        held in memory at a time; or a function ``cols(k, out)`` that returns block k, and
        writes it into ``out`` when ``out`` is given (then no block is made separately)
    input_shape : (N, C, H, W) of the original input
    dtype : the result's dtype when ``cols`` is a function (else that of the blocks)

    Returns
    -------
    img : (N, C, H, W)

    When the windows tile the input exactly (stride = FH = FW, no padding, nothing left over,
    as in a 2×2 stride-2 pool) every pixel belongs to exactly one window: each block is then
    written in place instead of added to zeros.
    """
    N, C, H, W = input_shape
    out_h = conv_output_size(H, filter_h, stride, pad)
    out_w = conv_output_size(W, filter_w, stride, pad)
    tiled = pad == 0 and stride == filter_h == filter_w and H == out_h * stride and W == out_w * stride
    if not callable(cols):                       # an array or iterable: blocks in offset order
        blocks = iter(cols)
        first = next(blocks)
        dtype, blocks = first.dtype, itertools.chain([first], blocks)

        def cols(k, out=None):
            block = next(blocks)
            if out is not None:
                out[...] = block
            return block

    img = (np.empty if tiled else np.zeros)((N, C, H + 2 * pad, W + 2 * pad), dtype=dtype)
    for k, s in enumerate(window_slices(filter_h, filter_w, stride, out_h, out_w)):
        if tiled:
            cols(k, out=img[s])
        else:
            img[s] += cols(k)
    return img[:, :, pad:H + pad, pad:W + pad] if pad else img
