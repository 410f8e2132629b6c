"""im2col / col2im and the output-size formula, as in the book's ``common/util.py``.

im2col turns every (filter_h × filter_w) window of the input into one row of a 2-D matrix,
so that a convolution becomes a single matrix product:

    input (N, C, H, W)  --im2col-->  col (N·OH·OW, C·FH·FW)
    rows are ordered (n, oh, ow), columns (c, fh, fw) — exactly the book's layout.

Differences from the book (both deliberate, see the report's catalog):
- dtype is preserved (the book creates ``np.zeros`` in float64 and so upcasts float32).
- ``pad_value`` lets max pooling pad with −inf, so padding never wins a max (PyTorch's rule).
"""
from __future__ import annotations

import numpy as np

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
