"""The fast path of the layers (``method="fast"``, the default): the book's algorithm without its copies.

The layers of ``reference.layers`` show the book's im2col/col2im code; with ``method="fast"``
they call the functions at the end of this module instead. Both compute the same function
with the same conventions; they may differ in the last bits where sums are taken in another
order (both are parity-tested against torch and against each other).

The windows
-----------
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

The layers' fast passes
-----------------------
``conv_forward``, ``conv_backward_params``, ``conv_input_gradient`` (``Convolution``),
``max_pool_forward``, ``max_pool_backward`` (``Pooling``), ``avg_pool_forward``,
``avg_pool_backward`` (``AvgPooling``): each takes the layer (its weights and options) and
returns what the layer caches or returns; the layer keeps the bookkeeping.
"""
from __future__ import annotations

import itertools

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .checks import check_pair
from .extensions import has_minus_inf
from .util import output_shape

__all__ = ["pad_images", "window_view", "unfold", "fold", "window_slices", "fold_offsets", "CHUNK_BYTES",
           "conv_forward", "conv_backward_params", "conv_input_gradient", "max_pool_forward",
           "max_pool_backward", "avg_pool_forward", "avg_pool_backward", "window_sums"]


# ---------------------------------------------------------------------------------------------
# The windows: zero-copy views, the (N, C·FH·FW, OH·OW) layout, offset by offset
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
    out_h, out_w = output_shape(input_data.shape, filter_h, filter_w, stride, pad, dilation)
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
    out_h, out_w = output_shape(input_shape, filter_h, filter_w, stride, (pad_h, pad_w), dilation)
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
    out_h, out_w = output_shape(input_shape, filter_h, filter_w, stride, (pad_h, pad_w), dilation)
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


# ---------------------------------------------------------------------------------------------
# Convolution: one batched matrix product per block of images
# ---------------------------------------------------------------------------------------------

# The fast convolution works on blocks of images whose unfolded windows (the im2col matrix)
# take at most this many bytes: a whole small batch at once (SimpleConvNet: 5.5 MB), a few
# images of a large input at a time, so that its im2col matrix never exists whole.
CHUNK_BYTES = 16 * 2**20


def _batch_blocks(n: int, bytes_per_image: int) -> list:
    step = max(1, CHUNK_BYTES // max(bytes_per_image, 1))
    return [slice(i, min(i + step, n)) for i in range(0, max(n, 1), step)]   # ≥ 1 block


def conv_forward(layer, x, out_h, out_w):
    """``Convolution.forward``'s fast pass: ``col = unfold(x)`` (N, C·FH·FW, OH·OW) and one batched
    product ``W (FN, C·FH·FW) @ col`` gives (N, FN, OH·OW) — the output layout, no transpose
    (with G groups: W as (G, FN/G, C/G·FH·FW) times col as (N, G, C/G·FH·FW, OH·OW)).

    x (N, C, H, W) (after ``pad_end``) -> out (N, FN, OH, OW), col (N, C·FH·FW, OH·OW),
    col_W (FN, C/G·FH·FW). An input whose windows take more than ``CHUNK_BYTES`` goes through a
    few images at a time and returns ``col = None``: backward unfolds x again, block by block
    (so x must not be changed in place before backward).
    """
    FN, C_group, FH, FW = layer.W.shape
    G = layer.groups
    N, C, H, W = x.shape
    col_W = layer.W.reshape(FN, -1)                   # (FN, C/G·FH·FW)
    W_groups = col_W.reshape(G, FN // G, -1)          # (G, FN/G, C/G·FH·FW)
    out = np.empty((N, FN, out_h * out_w), dtype=x.dtype)
    blocks = _batch_blocks(N, C * FH * FW * out_h * out_w * x.itemsize)
    for blk in blocks:
        col = unfold(x[blk], FH, FW, layer.stride, layer.pad, dilation=layer.dilation)
        n = len(col)                                  # col: (n, C·FH·FW, OH·OW)
        np.matmul(W_groups, col.reshape(n, G, C_group * FH * FW, out_h * out_w),  # (n, G, FN/G, OH·OW)
                  out=out[blk].reshape(n, G, FN // G, out_h * out_w))
    if layer.b is not None:
        out += layer.b[:, None]
    out = out.reshape(N, FN, out_h, out_w)
    if len(blocks) > 1:     # a large input: backward unfolds x again, block by block
        col = None
    return out, col, col_W


def conv_backward_params(layer, dout):
    """dW = Σ_n dout_n @ col_nᵀ, db = Σ dout, group by group: dout (N, FN, OH, OW) -> dW, db."""
    FN, C_group, FH, FW = layer.W.shape
    G = layer.groups
    N, _, out_h, out_w = dout.shape
    L = out_h * out_w
    dout = dout.reshape(N, G, FN // G, L)             # (N, G, FN/G, OH·OW)
    db = None if layer.b is None else dout.sum(axis=(0, 3)).reshape(FN)
    dW = np.zeros((G, FN // G, C_group * FH * FW), dtype=dout.dtype)
    for blk in _batch_blocks(N, C_group * G * FH * FW * L * dout.itemsize):
        col = layer.col if layer.col is not None else unfold(
            layer.x[blk], FH, FW, layer.stride, layer.pad, dilation=layer.dilation)
        col = col.reshape(len(col), G, C_group * FH * FW, L)   # (n, G, C/G·FH·FW, OH·OW)
        dW += np.matmul(dout[blk], col.transpose(0, 1, 3, 2)).sum(axis=0)  # Σ_n dout_n colₙᵀ
    return dW.reshape(FN, C_group, FH, FW), db


def conv_input_gradient(layer, dout):
    """dx = fold(Wᵀ @ dout), group by group: dout (N, FN, OH, OW) -> dx (the shape of the cached x,
    before ``crop_end``)."""
    FN, C_group, FH, FW = layer.W.shape
    G = layer.groups
    x_shape = layer.x.shape
    N, _, out_h, out_w = dout.shape
    L = out_h * out_w
    dout = dout.reshape(N, G, FN // G, L)             # (N, G, FN/G, OH·OW)
    W_groups_T = layer.col_W.reshape(G, FN // G, -1).transpose(0, 2, 1)   # (G, C/G·FH·FW, FN/G)
    blocks = _batch_blocks(N, C_group * G * FH * FW * L * dout.itemsize)
    dx = np.empty(x_shape, dtype=dout.dtype) if len(blocks) > 1 else None
    for blk in blocks:
        dcol = np.matmul(W_groups_T, dout[blk])       # (n, G, C/G·FH·FW, OH·OW)
        n = len(dcol)
        dx_blk = fold(dcol.reshape(n, G * C_group * FH * FW, L), (n,) + x_shape[1:], FH, FW, layer.stride,
                      layer.pad, dilation=layer.dilation)
        if dx is None:          # one block: the whole batch
            return dx_blk
        dx[blk] = dx_blk
    return dx


# ---------------------------------------------------------------------------------------------
# Max pooling: a running maximum over the window offsets
# ---------------------------------------------------------------------------------------------

def _all_finite(x: np.ndarray) -> bool:
    # min and max propagate NaN: two vectorised passes, no boolean temporary of x's size
    return x.size == 0 or bool(np.isfinite(np.min(x)) and np.isfinite(np.max(x)))


def _running_max(img, slices, nan_aware):
    """Walk the window offsets in row-major order, keeping the running maximum of every window
    and the offset where it was first reached.

    img : padded input (N, C, H', W'); slices : ``window_slices`` (img[s] is (N, C, OH, OW))
    Returns out (N, C, OH, OW) and arg_max (N, C, OH, OW), a small unsigned int.
    With ``nan_aware`` a NaN counts as the maximum, and a later NaN beats an earlier one: PyTorch
    takes an element when ``value > max or isnan(value)``, so the *last* NaN of a window wins.
    """
    out = img[slices[0]].copy()
    arg_max = np.zeros(out.shape, dtype=np.min_scalar_type(len(slices) - 1))
    for k, s in enumerate(slices[1:], start=1):
        if nan_aware:   # better: greater, or NaN (then it replaces an earlier NaN too)
            better = (img[s] > out) | np.isnan(img[s])
        else:           # strictly greater: the first maximum wins ties
            better = img[s] > out
        np.maximum(out, img[s], out=out)                       # NaN propagates, as in max
        # arg_max = where(better, k, arg_max): as k is larger than every offset before it, this
        # is a maximum — and masked assignment is ~30× slower than that in NumPy
        np.maximum(arg_max, better * arg_max.dtype.type(k), out=arg_max)
    return out, arg_max


def max_pool_forward(layer, x_ext, out_h, out_w, first):
    """``Pooling.forward``'s fast pass. It never reduces along the short rows of the im2col matrix
    and copies no windows: for each window offset in row-major order it takes a strided view of
    the input holding that offset's element of every window (``window_slices``), keeping the
    running maximum and the offset where it was first reached.

    x_ext (N, C, H, W) (after ``pad_end``), first (OH, OW) (``extensions.first_inside_offsets``)
    -> out (N, C, OH, OW), arg_max (N, C, OH, OW): the offset of the maximum in its window, a
    small unsigned int.
    """
    # img[slices[k]] is the element at window offset k (row-major) of every window, a
    # strided view (N, C, OH, OW) of the (−inf-padded) input: no copy of the windows.
    img = pad_images(x_ext, layer.pad, -np.inf)
    slices = window_slices(layer.pool_h, layer.pool_w, layer.stride, out_h, out_w, layer.dilation)
    out, arg_max = _running_max(img, slices, nan_aware=False)
    if np.isnan(out).any():     # some window holds a NaN: redo with NaN as the maximum
        out, arg_max = _running_max(img, slices, nan_aware=True)
    if has_minus_inf(out):      # rare: windows whose maximum is −inf (see first_inside_offsets)
        arg_max = np.where(out == -np.inf, first, arg_max).astype(arg_max.dtype)
    return out, arg_max


def max_pool_backward(layer, dout, ext_shape):
    """Each output's gradient goes to the offset k of its window's (first) maximum:
    dcol(k) = dout where arg_max == k, else 0 — (N, C, OH, OW) for each offset k, folded back
    (``fold_offsets``): dout · mask, written straight into the result when the windows tile the
    input. -> dx of shape ``ext_shape`` (before ``crop_end``)."""
    finite = _all_finite(dout)

    def dcol(k, out=None):
        hit = layer.arg_max == k
        if finite:
            return np.multiply(dout, hit, out=out)
        with np.errstate(invalid="ignore"):
            block = np.multiply(dout, hit, out=out)
        block[~hit] = 0     # inf · 0 is NaN: there, set the zeros exactly (as Relu does)
        return block

    return fold_offsets(dcol, ext_shape, layer.pool_h, layer.pool_w, layer.stride, layer.pad,
                        dtype=dout.dtype, dilation=layer.dilation)


# ---------------------------------------------------------------------------------------------
# Average pooling: the sum of the window offsets' views
# ---------------------------------------------------------------------------------------------

def window_sums(counts, layer, out_h, out_w):
    """(1, 1, H', W') -> (OH, OW): the sum of each window (``AvgPooling``'s divisor counts)."""
    slices = window_slices(layer.pool_h, layer.pool_w, layer.stride, out_h, out_w)
    return sum(counts[s] for s in slices)[0, 0]


def avg_pool_forward(layer, x_ext, out_h, out_w, divisor):
    """``AvgPooling.forward``'s fast pass: the sum of the pool_h·pool_w strided slices of the
    zero-padded input (one per window offset) instead of the im2col matrix, divided by
    ``divisor`` (OH, OW). x_ext (N, C, H, W) -> out (N, C, OH, OW)."""
    slices = window_slices(layer.pool_h, layer.pool_w, layer.stride, out_h, out_w)
    img = pad_images(x_ext, layer.pad)
    out = img[slices[0]].copy()                        # (N, C, OH, OW)
    for s in slices[1:]:
        out += img[s]
    out /= divisor
    return out


def avg_pool_backward(layer, dout, ext_shape):
    """The shared gradient dout / divisor added back slice by slice, as col2im does.
    -> dx of shape ``ext_shape`` (before ``crop_end``)."""
    share = dout / layer.divisor                        # (N, C, OH, OW)
    dcol = np.broadcast_to(share, (layer.pool_h * layer.pool_w,) + share.shape)
    return fold_offsets(dcol, ext_shape, layer.pool_h, layer.pool_w, layer.stride, layer.pad)
