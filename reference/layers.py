"""The layers of the book's CNN chapter, one small class each, ``forward`` / ``backward``.

Shapes use the book's letters: N batch, C channels, H×W image, FN filters, FH×FW filter,
OH×OW output. Parameter layers keep ``W``, ``b`` and, after ``backward``, ``dW``, ``db``.
Every layer keeps the dtype it is given (float32 in, float32 out) and checks its input
before computing (see ``reference.checks``).

Where this reference deliberately differs from the book, the docstring says so; each such
difference is listed, with the PyTorch convention, in the report's catalog.

Two computational paths (``Convolution``, ``Pooling``, ``AvgPooling``)
---------------------------------------------------------------------
``method="fast"`` (the default, used by the networks and training) computes with the fast path
of ``reference.util`` (zero-copy windows, ``unfold``/``fold``, one batched matrix product per
convolution, pooling reduced window offset by window offset). ``method="book"`` is the book's
im2col/col2im code, kept to teach and to check the fast path against. Both compute the same
function with the same conventions; they may differ in the last bits where sums are taken in
another order (both are parity-tested against torch and against each other). The ``method``
attribute can also be changed on an existing layer; it takes effect at the next ``forward``.
"""
from __future__ import annotations

import numbers

import numpy as np

from .checks import check_float_array, check_labels, check_pair, check_positive_int
from .util import (col2im, conv_output_size, crop_end, first_inside, fold, fold_offsets, im2col,
                   pad_end, pad_images, unfold, window_slices)

METHODS = ("fast", "book")


def _check_method(method) -> str:
    if method not in METHODS:
        raise ValueError(f'method must be "fast" (the default: the fast path of reference.util) '
                         f'or "book" (the book\'s im2col/col2im), got {method!r}')
    return method


# The fast convolution works on blocks of images whose unfolded windows (the im2col matrix)
# take at most this many bytes: a whole small batch at once (SimpleConvNet: 5.5 MB), a few
# images of a large input at a time, so that its im2col matrix never exists whole.
CHUNK_BYTES = 16 * 2**20


def _batch_blocks(n: int, bytes_per_image: int) -> list:
    step = max(1, CHUNK_BYTES // max(bytes_per_image, 1))
    return [slice(i, min(i + step, n)) for i in range(0, max(n, 1), step)]   # ≥ 1 block


def _all_finite(x: np.ndarray) -> bool:
    # min and max propagate NaN: two vectorised passes, no boolean temporary of x's size
    return x.size == 0 or bool(np.isfinite(np.min(x)) and np.isfinite(np.max(x)))


def _check_same_dtype(x: np.ndarray, W: np.ndarray, layer: str) -> None:
    # NumPy would silently promote float32 @ float64 to float64; PyTorch refuses. We refuse too.
    if x.dtype != W.dtype:
        raise TypeError(f"{layer}: x is {x.dtype} but the layer's W is {W.dtype}; "
                        f"cast x with x.astype(np.{W.dtype}) or build the layer in {x.dtype}")


def _check_bias(b, W, axis: int, layer: str, per: str):
    """``b`` checked against the layer's ``W``: 1-D, one value per ``W.shape[axis]`` (``per`` says
    what it is one bias per), in W's dtype. ``None`` (a layer without bias) passes through."""
    if b is None:
        return None
    check_float_array(b, "b", ndim=1)
    if b.shape != (W.shape[axis],):
        raise ValueError(f"b must have shape ({W.shape[axis]},) — one bias per {per} — got {b.shape}")
    _check_same_dtype(b, W, layer)
    return b


def _int_or_pair(value, name, minimum=1):
    """Check an int-or-(h, w) argument; an int stays an int (the book's form), a pair becomes a tuple."""
    pair = check_pair(value, name, minimum)
    return pair if isinstance(value, (tuple, list)) else pair[0]


def _conv_padding(pad, kernel, stride, dilation):
    """A Convolution's ``pad`` -> (symmetric pad, extra (h, w) pixels after the last row/column).

    "valid" is no padding. "same" keeps the output size equal to the input size (stride 1 only):
    a window spans D·(K − 1) + 1 pixels, so it needs D·(K − 1) pixels of padding in all; when
    that is odd, PyTorch puts the odd pixel after the last row/column — so do we (``pad_end``).
    """
    if not isinstance(pad, str):
        return _int_or_pair(pad, "pad", minimum=0), (0, 0)
    if pad == "valid":
        return 0, (0, 0)
    if pad != "same":
        raise ValueError(f'pad must be an int, an (h, w) pair, "same" or "valid", got {pad!r}')
    if check_pair(stride, "stride") != (1, 1):
        raise ValueError(f'pad="same" needs stride 1 (as in PyTorch), got stride={stride!r}; '
                         f"give the padding as a number instead")
    totals = [d * (k - 1) for d, k in zip(check_pair(dilation, "dilation"), kernel)]
    return tuple(t // 2 for t in totals), tuple(t % 2 for t in totals)


def _pairs(layer):
    """A layer's stride, pad and dilation, each as an (h, w) pair."""
    return (check_pair(layer.stride, "stride"), check_pair(layer.pad, "pad", minimum=0),
            check_pair(getattr(layer, "dilation", 1), "dilation"))


class Convolution:
    """2-D convolution (cross-correlation, as in every framework) via im2col.

    W : (FN, C, FH, FW), b : (FN,), or None for no bias
    forward  x (N, C, H, W) -> out (N, FN, OH, OW)
    backward dout (N, FN, OH, OW) -> dx (N, C, H, W); sets dW (FN, C, FH, FW), db (FN,) (None
             without a bias) = backward_params(dout) (dW, db) + input_gradient(dout) (dx)
    cache: x, col (N·OH·OW, C·FH·FW), col_W (C·FH·FW, FN)

    ``stride``, ``pad``: an int or an (h, w) pair; ``pad`` may also be "valid" (no padding) or
    "same" (output size = input size, stride 1 only). ``strict=True`` raises when
    (H + 2P − FH) is not divisible by the stride; by default the output size is rounded down,
    like PyTorch.

    Beyond the book (keywords, with PyTorch's defaults):
    ``dilation`` D, an int or a pair: the filter's taps are D pixels apart (see ``im2col``).
    ``groups`` G: the C input channels and the FN filters split into G groups, and each filter
    sees only the C/G channels of its own group — so W is (FN, C/G, FH, FW). G = C is the
    "depthwise" convolution (every channel filtered on its own). The im2col matrix does not
    change; the product is taken group by group on its blocks of columns (``im2col``'s
    docstring draws it). With G = 1 that is the book's one product.

    ``method="fast"`` (default): ``col = unfold(x)`` (N, C·FH·FW, OH·OW) and one batched product
    ``W (FN, C·FH·FW) @ col`` gives (N, FN, OH·OW) — the output layout, no transpose (with G
    groups: W as (G, FN/G, C/G·FH·FW) times col as (N, G, C/G·FH·FW, OH·OW));
    backward: ``dW = Σ_n dout_n @ col_nᵀ``, ``dx = fold(Wᵀ @ dout)``, group by group alike.
    cache: x, col (N, C·FH·FW, OH·OW), col_W (FN, C/G·FH·FW). An input whose windows take more
    than ``CHUNK_BYTES`` goes through a few images at a time and keeps ``col = None``: backward
    unfolds x again, block by block (so x must not be changed in place before backward).
    ``method="book"``: the book's im2col/col2im code, with the cache above (one product per group).
    """

    def __init__(self, W, b, stride=1, pad=0, strict=False, method="fast", *, groups=1, dilation=1):
        self.W = check_float_array(W, "W", ndim=4)
        self.b = _check_bias(b, W, 0, "Convolution", f"filter of W {W.shape}")
        self.groups = check_positive_int(groups, "groups")
        if W.shape[0] % self.groups:
            raise ValueError(f"groups={groups} must divide the number of filters FN = {W.shape[0]} "
                             f"(W shape {W.shape})")
        self.stride = _int_or_pair(stride, "stride")
        self.dilation = _int_or_pair(dilation, "dilation")
        self.pad, self.pad_extra = _conv_padding(pad, W.shape[2:], stride, dilation)
        self.strict = strict
        self.method = _check_method(method)
        self.x = self.col = self.col_W = None
        self._cached_method = None
        self.dW = self.db = None

    def forward(self, x):
        check_float_array(x, "x", ndim=4)
        FN, C_group, FH, FW = self.W.shape
        G = self.groups
        if x.shape[1] != C_group * G:
            raise ValueError(f"Convolution: x has {x.shape[1]} channels (shape {x.shape}) but W expects "
                             f"{C_group * G} (W shape {self.W.shape}" + (f", groups={G}" if G > 1 else "")
                             + "); the layout is (N, C, H, W)")
        _check_same_dtype(x, self.W, "Convolution")
        x = pad_end(x, *self.pad_extra)            # only pad="same" with an even window span
        N, C, H, W = x.shape
        (sh, sw), (ph, pw), (dh, dw) = _pairs(self)
        out_h = conv_output_size(H, FH, sh, ph, self.strict, dilation=dh)
        out_w = conv_output_size(W, FW, sw, pw, self.strict, dilation=dw)
        method = _check_method(self.method)

        if method == "fast":
            col_W = self.W.reshape(FN, -1)                    # (FN, C/G·FH·FW)
            W_groups = col_W.reshape(G, FN // G, -1)          # (G, FN/G, C/G·FH·FW)
            out = np.empty((N, FN, out_h * out_w), dtype=x.dtype)
            blocks = _batch_blocks(N, C * FH * FW * out_h * out_w * x.itemsize)
            for blk in blocks:
                col = unfold(x[blk], FH, FW, self.stride, self.pad, dilation=self.dilation)
                n = len(col)                                  # col: (n, C·FH·FW, OH·OW)
                np.matmul(W_groups, col.reshape(n, G, C_group * FH * FW, out_h * out_w),  # (n, G, FN/G, OH·OW)
                          out=out[blk].reshape(n, G, FN // G, out_h * out_w))
            if self.b is not None:
                out += self.b[:, None]
            out = out.reshape(N, FN, out_h, out_w)
            if len(blocks) > 1:     # a large input: backward unfolds x again, block by block
                col = None
        else:
            col = im2col(x, FH, FW, self.stride, self.pad, dilation=self.dilation)  # (N·OH·OW, C·FH·FW)
            col_W = self.W.reshape(FN, -1).T                  # (C/G·FH·FW, FN)
            out = np.empty((len(col), FN), dtype=x.dtype)     # (N·OH·OW, FN)
            for cols, filters in _group_blocks(C * FH * FW, FN, G):
                out[:, filters] = col[:, cols] @ col_W[:, filters]     # the book (G = 1): col @ col_W
            if self.b is not None:
                out += self.b
            out = out.reshape(N, out_h, out_w, FN).transpose(0, 3, 1, 2)

        self.x, self.col, self.col_W, self._cached_method = x, col, col_W, method
        return out

    def backward(self, dout):
        self.backward_params(dout)
        return self.input_gradient(dout)

    def backward_params(self, dout):
        """Only dW and db. A network's first layer needs nothing more: its input, the images,
        needs no gradient (PyTorch's autograd skips it too, as the images don't require grad)."""
        FN, C_group, FH, FW = self.W.shape
        G = self.groups
        if self._cached_method == "fast":
            N, _, out_h, out_w = dout.shape
            L = out_h * out_w
            dout = dout.reshape(N, G, FN // G, L)             # (N, G, FN/G, OH·OW)
            self.db = None if self.b is None else dout.sum(axis=(0, 3)).reshape(FN)
            dW = np.zeros((G, FN // G, C_group * FH * FW), dtype=dout.dtype)
            for blk in _batch_blocks(N, C_group * G * FH * FW * L * dout.itemsize):
                col = self.col if self.col is not None else unfold(
                    self.x[blk], FH, FW, self.stride, self.pad, dilation=self.dilation)
                col = col.reshape(len(col), G, C_group * FH * FW, L)   # (n, G, C/G·FH·FW, OH·OW)
                dW += np.matmul(dout[blk], col.transpose(0, 1, 3, 2)).sum(axis=0)  # Σ_n dout_n colₙᵀ
            self.dW = dW.reshape(FN, C_group, FH, FW)
            return

        dout = dout.transpose(0, 2, 3, 1).reshape(-1, FN)     # (N·OH·OW, FN)
        self.db = None if self.b is None else np.sum(dout, axis=0)
        dW = np.empty((C_group * FH * FW, FN), dtype=dout.dtype)
        for cols, filters in _group_blocks(self.col.shape[1], FN, G):
            dW[:, filters] = self.col[:, cols].T @ dout[:, filters]   # the book: col.T @ dout
        self.dW = dW.transpose(1, 0).reshape(FN, C_group, FH, FW)

    def input_gradient(self, dout):
        """dx (N, C, H, W) from dout (N, FN, OH, OW), with the weights of the last forward."""
        FN, C_group, FH, FW = self.W.shape
        G = self.groups
        x_shape = self.x.shape                                # after pad_end (pad="same" only)
        if self._cached_method == "fast":
            N, _, out_h, out_w = dout.shape
            L = out_h * out_w
            dout = dout.reshape(N, G, FN // G, L)             # (N, G, FN/G, OH·OW)
            W_groups_T = self.col_W.reshape(G, FN // G, -1).transpose(0, 2, 1)   # (G, C/G·FH·FW, FN/G)
            blocks = _batch_blocks(N, C_group * G * FH * FW * L * dout.itemsize)
            dx = np.empty(x_shape, dtype=dout.dtype) if len(blocks) > 1 else None
            for blk in blocks:
                dcol = np.matmul(W_groups_T, dout[blk])       # (n, G, C/G·FH·FW, OH·OW)
                n = len(dcol)
                dx_blk = fold(dcol.reshape(n, G * C_group * FH * FW, L), (n,) + x_shape[1:], FH, FW, self.stride,
                              self.pad, dilation=self.dilation)
                if dx is None:          # one block: the whole batch
                    return crop_end(dx_blk, *self.pad_extra)
                dx[blk] = dx_blk
            return crop_end(dx, *self.pad_extra)

        dout = dout.transpose(0, 2, 3, 1).reshape(-1, FN)     # (N·OH·OW, FN)
        dcol = np.empty((len(dout), self.col_W.shape[0] * G), dtype=dout.dtype)
        for cols, filters in _group_blocks(dcol.shape[1], FN, G):
            dcol[:, cols] = dout[:, filters] @ self.col_W[:, filters].T   # the book: dout @ col_W.T
        return crop_end(col2im(dcol, x_shape, FH, FW, self.stride, self.pad, dilation=self.dilation),
                        *self.pad_extra)   # pad="same" with an even span: drop pad_end's pixels


def _group_blocks(n_columns: int, n_filters: int, groups: int) -> list:
    """[(columns of group g, filters of group g)] as slices: the C·FH·FW columns of the im2col
    matrix and the FN filters, each cut into G equal consecutive blocks."""
    c, f = n_columns // groups, n_filters // groups
    return [(slice(g * c, (g + 1) * c), slice(g * f, (g + 1) * f)) for g in range(groups)]


def _check_pool_args(pool_h, pool_w, stride, pad):
    pool_h = check_positive_int(pool_h, "pool_h")
    pool_w = check_positive_int(pool_w, "pool_w")
    stride = _int_or_pair(stride, "stride")
    pad = _int_or_pair(pad, "pad", minimum=0)
    pad_h, pad_w = check_pair(pad, "pad", minimum=0)
    # PyTorch's rule: otherwise a window could lie entirely in the padding.
    if 2 * pad_h > pool_h or 2 * pad_w > pool_w:
        raise ValueError(f"pad must be at most half the pool size (PyTorch's rule), got pad={pad} "
                         f"for a {pool_h}×{pool_w} pool; use pad ≤ {pool_h // 2} (rows), "
                         f"{pool_w // 2} (columns)")
    return pool_h, pool_w, stride, pad


def _pool_output(layer, H, W):
    """(OH, OW) of a pooling layer for an H×W input, and the (h, w) pixels that its windows
    reach beyond the padded input — only in ``ceil_mode``, where the last window may hang over
    the end; the layers add them with ``pad_end`` (−inf or 0, so that they never count)."""
    (sh, sw), (ph, pw), (dh, dw) = _pairs(layer)
    out_h = conv_output_size(H, layer.pool_h, sh, ph, layer.strict, dilation=dh, ceil_mode=layer.ceil_mode)
    out_w = conv_output_size(W, layer.pool_w, sw, pw, layer.strict, dilation=dw, ceil_mode=layer.ceil_mode)
    extra_h = max(0, (out_h - 1) * sh + dh * (layer.pool_h - 1) + 1 - (H + 2 * ph))
    extra_w = max(0, (out_w - 1) * sw + dw * (layer.pool_w - 1) + 1 - (W + 2 * pw))
    return out_h, out_w, extra_h, extra_w


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


def _has_minus_inf(a) -> bool:
    """True if ``a`` holds −inf (one reduction pass, no temporary, unless ``a`` holds NaN)."""
    if a.size == 0:
        return False
    low = np.min(a)
    return bool(low == -np.inf or (np.isnan(low) and np.isneginf(a).any()))


def _first_inside(layer, H, W, out_h, out_w):
    """(OH, OW): the window offset k = y·FW + x of each window's first element that is not
    padding. PyTorch's max pooling starts every window's search there with the value −inf and
    takes only a *greater* element, so a window whose maximum is −inf reports (and sends its
    gradient to) that element — not to a padding cell, which an −inf padding would tie with.

    Raises ValueError for a window that has no element inside the input at all (possible with
    dilation): PyTorch returns −inf there with an index outside the input, and its backward
    writes outside the gradient (memory corruption) — see the report's catalog."""
    (sh, sw), (ph, pw), (dh, dw) = _pairs(layer)
    y = first_inside(H, out_h, layer.pool_h, sh, ph, dh)
    x = first_inside(W, out_w, layer.pool_w, sw, pw, dw)
    if (y < 0).any() or (x < 0).any():
        raise ValueError(f"Pooling: with dilation {layer.dilation} and pad {layer.pad}, some "
                         f"{layer.pool_h}×{layer.pool_w} window on the {H}×{W} input has no element "
                         f"inside the input (all its taps fall in the padding); reduce the dilation "
                         f"or the padding")
    return y[:, None] * layer.pool_w + x[None, :]


class Pooling:
    """Max pooling.

    forward  x (N, C, H, W) -> out (N, C, OH, OW)
    backward dout (N, C, OH, OW) -> dx (N, C, H, W)
    cache: x, arg_max (N·OH·OW·C,) — index of the maximum inside each window

    Padding behaves like −inf, as in PyTorch: a padded window of negative numbers returns
    their (negative) maximum. The book pads with 0 (so such a window returns 0) and its
    backward crashes for pad > 0. Ties (e.g. an all-zero window after ReLU) send the
    gradient to the first maximum in row-major window order, as PyTorch does; a NaN is the
    maximum of its window (the last NaN, if there are several, as in PyTorch), and a window
    whose maximum is −inf picks its first element inside the input.

    ``stride``, ``pad``: an int or an (h, w) pair. Beyond the book (keywords, PyTorch's
    defaults): ``dilation`` (an int or a pair) spaces the window's elements apart, as in the
    convolution; ``ceil_mode=True`` rounds the output size up (see ``conv_output_size``): the
    last window may hang over the end of the padded input, and the part outside never wins.
    :meth:`flat_indices` gives PyTorch's ``return_indices=True`` output from ``arg_max``.

    ``method="fast"`` (default) never reduces along the short rows of the im2col matrix and
    copies no windows: for each window offset in row-major order it takes a strided view of the
    input holding that offset's element of every window (``window_slices``), keeping the running
    maximum and the offset where it was first reached; backward sends each gradient to that
    offset (``fold_offsets``).
    cache: x, arg_max (N, C, OH, OW) — the same index inside each window, a small unsigned int;
    pad_extra — the (h, w) pixels ``pad_end`` added in ceil mode, dropped again from dx.
    ``method="book"``: im2col + argmax, with the cache above.
    """

    def __init__(self, pool_h, pool_w, stride=1, pad=0, strict=False, method="fast", *,
                 dilation=1, ceil_mode=False):
        self.pool_h, self.pool_w, self.stride, self.pad = _check_pool_args(pool_h, pool_w, stride, pad)
        self.dilation = _int_or_pair(dilation, "dilation")
        self.ceil_mode = bool(ceil_mode)
        self.strict = strict
        self.method = _check_method(method)
        self.x = self.arg_max = self.pad_extra = None
        self._cached_method = None

    def forward(self, x):
        check_float_array(x, "x", ndim=4)
        N, C, H, W = x.shape
        out_h, out_w, extra_h, extra_w = _pool_output(self, H, W)
        first = _first_inside(self, H, W, out_h, out_w)        # (raises if a window misses x)
        method = _check_method(self.method)
        x_ext = pad_end(x, extra_h, extra_w, -np.inf)          # ceil mode only
        self.pad_extra = (extra_h, extra_w)

        if method == "fast":
            # img[slices[k]] is the element at window offset k (row-major) of every window, a
            # strided view (N, C, OH, OW) of the (−inf-padded) input: no copy of the windows.
            img = pad_images(x_ext, self.pad, -np.inf)
            slices = window_slices(self.pool_h, self.pool_w, self.stride, out_h, out_w, self.dilation)
            out, arg_max = _running_max(img, slices, nan_aware=False)
            if np.isnan(out).any():     # some window holds a NaN: redo with NaN as the maximum
                out, arg_max = _running_max(img, slices, nan_aware=True)
            if _has_minus_inf(out):     # rare: windows whose maximum is −inf (see _first_inside)
                arg_max = np.where(out == -np.inf, first, arg_max).astype(arg_max.dtype)
            self.x, self.arg_max, self._cached_method = x, arg_max, method
            return out

        col = im2col(x_ext, self.pool_h, self.pool_w, self.stride, self.pad, pad_value=-np.inf,
                     dilation=self.dilation)
        col = col.reshape(-1, self.pool_h * self.pool_w)     # (N·OH·OW·C, FH·FW)

        self.arg_max = np.argmax(col, axis=1)                  # the first maximum
        out = np.max(col, axis=1)
        nan = np.isnan(out)
        if nan.any():   # PyTorch: a NaN is the maximum, and the last NaN of a window wins
            last_nan = col.shape[1] - 1 - np.argmax(np.isnan(col[nan, ::-1]), axis=1)
            self.arg_max[nan] = last_nan
        out = out.reshape(N, out_h, out_w, C).transpose(0, 3, 1, 2)
        if _has_minus_inf(out):         # windows whose maximum is −inf (see _first_inside)
            arg_max = self.arg_max.reshape(N, out_h, out_w, C)
            self.arg_max = np.where(out.transpose(0, 2, 3, 1) == -np.inf, first[None, :, :, None],
                                    arg_max).reshape(-1)

        self.x, self._cached_method = x, method
        return out

    def backward(self, dout):
        N, C, H, W = self.x.shape
        extra_h, extra_w = self.pad_extra
        ext_shape = (N, C, H + extra_h, W + extra_w)
        if self._cached_method == "fast":
            # each output's gradient goes to the offset k of its window's (first) maximum:
            # dcol(k) = dout where arg_max == k, else 0 — (N, C, OH, OW) for each offset k:
            # dout · mask, written straight into the result when the windows tile the input.
            finite = _all_finite(dout)

            def dcol(k, out=None):
                hit = self.arg_max == k
                if finite:
                    return np.multiply(dout, hit, out=out)
                with np.errstate(invalid="ignore"):
                    block = np.multiply(dout, hit, out=out)
                block[~hit] = 0     # inf · 0 is NaN: there, set the zeros exactly (as Relu does)
                return block

            dx = fold_offsets(dcol, ext_shape, self.pool_h, self.pool_w, self.stride, self.pad,
                              dtype=dout.dtype, dilation=self.dilation)
            return crop_end(dx, extra_h, extra_w)

        dout = dout.transpose(0, 2, 3, 1)                      # (N, OH, OW, C)
        pool_size = self.pool_h * self.pool_w
        dmax = np.zeros((dout.size, pool_size), dtype=dout.dtype)
        dmax[np.arange(self.arg_max.size), self.arg_max.flatten()] = dout.flatten()
        dcol = dmax.reshape(dout.shape[0] * dout.shape[1] * dout.shape[2], C * pool_size)
        dx = col2im(dcol, ext_shape, self.pool_h, self.pool_w, self.stride, self.pad, dilation=self.dilation)
        return crop_end(dx, extra_h, extra_w)

    def flat_indices(self):
        """PyTorch's ``return_indices=True`` output for the last forward: for each output
        (N, C, OH, OW), where its maximum sits in the flattened H×W plane of the input,
        ``h·W + w`` (int64). From ``arg_max`` (the offset k of the maximum inside its window,
        row-major): (y, x) = divmod(k, FW), then h = oh·S − P + y·D and w = ow·S − P + x·D."""
        N, C, H, W = self.x.shape
        out_h, out_w, _, _ = _pool_output(self, H, W)
        arg_max = self.arg_max.astype(np.int64)
        if self._cached_method == "book":                      # (N·OH·OW·C,), order (n, oh, ow, c)
            arg_max = arg_max.reshape(N, out_h, out_w, C).transpose(0, 3, 1, 2)
        (sh, sw), (ph, pw), (dh, dw) = _pairs(self)
        y, x = np.divmod(arg_max, self.pool_w)                 # (N, C, OH, OW) each
        h = np.arange(out_h)[:, None] * sh - ph + y * dh
        w = np.arange(out_w)[None, :] * sw - pw + x * dw
        return h * W + w


class AvgPooling:
    """Average pooling (the "subsampling" of LeNet).

    forward  x (N, C, H, W) -> out (N, C, OH, OW)
    backward dout (N, C, OH, OW) -> dx (N, C, H, W)
    cache: x shape, divisor (OH, OW), pad_extra (as Pooling's)

    Two legitimate conventions for windows that overlap the zero padding:
    ``count_include_pad=True`` (PyTorch's default) divides by FH·FW always;
    ``count_include_pad=False`` divides by the number of real (non-padding) pixels.

    ``stride``, ``pad``: an int or an (h, w) pair. Beyond the book (keywords, PyTorch's
    defaults): ``ceil_mode=True`` rounds the output size up (see ``conv_output_size``); the part
    of a last window that hangs over the end of the padded input counts for nothing, not even
    in the divisor with ``count_include_pad=True`` (PyTorch's rule). ``divisor_override``: a
    nonzero int that replaces every divisor (PyTorch allows negative ones too).

    ``method="fast"`` (default) sums the pool_h·pool_w strided slices of the zero-padded input
    (one per window offset) instead of building the im2col matrix; backward adds the shared
    gradient back slice by slice, as col2im does. ``method="book"``: im2col/col2im.
    The cache is the same for both.
    """

    def __init__(self, pool_h, pool_w, stride=1, pad=0, count_include_pad=True, strict=False,
                 method="fast", *, ceil_mode=False, divisor_override=None):
        self.pool_h, self.pool_w, self.stride, self.pad = _check_pool_args(pool_h, pool_w, stride, pad)
        self.count_include_pad = bool(count_include_pad)
        self.ceil_mode = bool(ceil_mode)
        if divisor_override is not None:
            if isinstance(divisor_override, bool) or not isinstance(divisor_override, numbers.Integral) \
                    or divisor_override == 0:
                raise ValueError(f"divisor_override must be None or a nonzero int (as in PyTorch), "
                                 f"got {divisor_override!r}")
            divisor_override = int(divisor_override)
        self.divisor_override = divisor_override
        self.strict = strict
        self.method = _check_method(method)
        self.x_shape = self.divisor = self.pad_extra = None
        self._cached_method = None

    def _divisor(self, H, W, out_h, out_w, extra_h, extra_w, dtype):
        """(OH, OW): what each window's sum is divided by — ``divisor_override``, or the number of
        the window's cells that count: the cells of the padded input (``count_include_pad``) or
        the real pixels. Counted as window sums of a 0/1 image of the cells that count."""
        if self.divisor_override is not None:
            return np.full((out_h, out_w), self.divisor_override, dtype=dtype)
        if self.count_include_pad and extra_h == extra_w == 0:    # every window is whole
            return np.full((out_h, out_w), self.pool_h * self.pool_w, dtype=dtype)
        ph, pw = check_pair(self.pad, "pad", minimum=0)
        counts = np.zeros((1, 1, H + 2 * ph + extra_h, W + 2 * pw + extra_w), dtype=dtype)
        if self.count_include_pad:
            counts[:, :, :H + 2 * ph, :W + 2 * pw] = 1     # the padded input, not the overhang
        else:
            counts[:, :, ph:ph + H, pw:pw + W] = 1          # the real pixels only
        if self.method == "fast":
            slices = window_slices(self.pool_h, self.pool_w, self.stride, out_h, out_w)
            return sum(counts[s] for s in slices)[0, 0]
        return im2col(counts, self.pool_h, self.pool_w, self.stride).sum(axis=1).reshape(out_h, out_w)

    def forward(self, x):
        check_float_array(x, "x", ndim=4)
        N, C, H, W = x.shape
        out_h, out_w, extra_h, extra_w = _pool_output(self, H, W)
        method = _check_method(self.method)
        divisor = self._divisor(H, W, out_h, out_w, extra_h, extra_w, x.dtype)
        x_ext = pad_end(x, extra_h, extra_w)                  # ceil mode only
        self.pad_extra = (extra_h, extra_w)

        if method == "fast":
            slices = window_slices(self.pool_h, self.pool_w, self.stride, out_h, out_w)
            img = pad_images(x_ext, self.pad)
            out = img[slices[0]].copy()                        # (N, C, OH, OW)
            for s in slices[1:]:
                out += img[s]
            out /= divisor

            self.x_shape, self.divisor, self._cached_method = x.shape, divisor, method
            return out

        col = im2col(x_ext, self.pool_h, self.pool_w, self.stride, self.pad)
        col = col.reshape(N, out_h, out_w, C, self.pool_h * self.pool_w)
        out = col.sum(axis=4) / divisor[None, :, :, None]      # (N, OH, OW, C)

        self.x_shape, self.divisor, self._cached_method = x.shape, divisor, method
        return out.transpose(0, 3, 1, 2)

    def backward(self, dout):
        N, C, out_h, out_w = dout.shape
        _, _, H, W = self.x_shape
        extra_h, extra_w = self.pad_extra
        ext_shape = (N, C, H + extra_h, W + extra_w)
        if self._cached_method == "fast":
            share = dout / self.divisor                        # (N, C, OH, OW)
            dcol = np.broadcast_to(share, (self.pool_h * self.pool_w,) + share.shape)
            dx = fold_offsets(dcol, ext_shape, self.pool_h, self.pool_w, self.stride, self.pad)
            return crop_end(dx, extra_h, extra_w)

        share = dout.transpose(0, 2, 3, 1) / self.divisor[None, :, :, None]   # (N, OH, OW, C)
        dcol = np.broadcast_to(share[..., None], share.shape + (self.pool_h * self.pool_w,))
        dcol = dcol.reshape(N * out_h * out_w, C * self.pool_h * self.pool_w)
        dx = col2im(dcol, ext_shape, self.pool_h, self.pool_w, self.stride, self.pad)
        return crop_end(dx, extra_h, extra_w)


def _adaptive_windows(size: int, out_size: int) -> list:
    """PyTorch's adaptive-pooling windows along one axis: output i averages the input from
    ⌊i·size / out_size⌋ to ⌈(i + 1)·size / out_size⌉ (exclusive)."""
    return [slice(i * size // out_size, -(-(i + 1) * size // out_size)) for i in range(out_size)]


class AdaptiveAvgPooling:
    """Adaptive average pooling: the output size is fixed, the windows adapt to the input
    (torchvision's AlexNet pools to 6×6 before its classifier, whatever the image size).

    forward  x (N, C, H, W) -> out (N, C, OH, OW)
    backward dout (N, C, OH, OW) -> dx (N, C, H, W)
    cache: x shape

    ``output_size``: an int, or an (OH, OW) pair whose entries may be None ("keep the input's
    size"). Output row i averages input rows ⌊i·H/OH⌋ … ⌈(i + 1)·H/OH⌉ − 1 (PyTorch's rule;
    columns alike): the windows cover the input, and neighbours overlap by a row when OH does
    not divide H. When it does, this is ``AvgPooling(H/OH, W/OW, stride=(H/OH, W/OW))``.
    The OH·OW windows are averaged one by one: a short loop, plain to read.
    """

    def __init__(self, output_size):
        sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
        if len(sizes) != 2:
            raise ValueError(f"output_size must be an int or an (OH, OW) pair, got {output_size!r}")
        self.output_size = tuple(None if s is None else check_positive_int(s, "output_size") for s in sizes)
        self.x_shape = None

    def forward(self, x):
        check_float_array(x, "x", ndim=4)
        N, C, H, W = x.shape
        out_h, out_w = (H if self.output_size[0] is None else self.output_size[0],
                        W if self.output_size[1] is None else self.output_size[1])
        out = np.empty((N, C, out_h, out_w), dtype=x.dtype)
        for i, rows in enumerate(_adaptive_windows(H, out_h)):
            for j, cols in enumerate(_adaptive_windows(W, out_w)):
                out[:, :, i, j] = x[:, :, rows, cols].mean(axis=(2, 3))
        self.x_shape = x.shape
        return out

    def backward(self, dout):
        _, _, H, W = self.x_shape
        dx = np.zeros(self.x_shape, dtype=dout.dtype)
        for i, rows in enumerate(_adaptive_windows(H, dout.shape[2])):
            for j, cols in enumerate(_adaptive_windows(W, dout.shape[3])):
                area = (rows.stop - rows.start) * (cols.stop - cols.start)
                dx[:, :, rows, cols] += dout[:, :, i, j, None, None] / dout.dtype.type(area)
        return dx


class Relu:
    """ReLU. forward x (any shape) -> out (same); backward dout -> dx (same). cache: mask.

    ``backward`` returns a new array; the book's writes zeros into the caller's ``dout``.
    The gradient at exactly 0 is 0 (PyTorch's choice too). NaN stays NaN.
    """

    def __init__(self):
        self.mask = None

    def forward(self, x):
        check_float_array(x, "x")
        self.mask = (x <= 0)
        # The book writes out[mask] = 0; np.maximum gives the same values (NaN stays NaN)
        # about ten times faster, because boolean-mask assignment is slow in NumPy.
        return np.maximum(x, x.dtype.type(0))

    def backward(self, dout):
        # dout · (not mask) is the book's "dx[mask] = 0" as one fast multiplication ...
        with np.errstate(invalid="ignore"):   # inf · 0, repaired just below
            dx = np.asarray(dout * ~self.mask)   # an array even for 0-d inputs
        if not np.isfinite(dout).all():
            dx[self.mask] = 0   # ... except that inf · 0 is NaN: there, set the zeros exactly
        return dx


class Sigmoid:
    """Logistic sigmoid. forward x -> out (same shape); backward dout -> dx. cache: out.

    Computed in the numerically stable form (no overflow warning for large negative x):
    1 / (1 + e^−x) for x ≥ 0 and e^x / (1 + e^x) for x < 0.
    """

    def __init__(self):
        self.out = None

    def forward(self, x):
        check_float_array(x, "x")
        e = np.exp(-np.abs(x))                       # never overflows
        out = np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        self.out = out
        return out

    def backward(self, dout):
        return dout * (1.0 - self.out) * self.out


class Affine:
    """Fully connected layer, the book's layout: W is (in, out) — torch's Linear keeps (out, in).

    W : (D, M), b : (M,)
    forward  x (N, D) or (N, C, H, W) with C·H·W = D (flattened, as the book does) -> out (N, M)
    backward dout (N, M) -> dx (original shape of x); sets dW (D, M), db (M,)
    """

    def __init__(self, W, b):
        self.W = check_float_array(W, "W", ndim=2)
        self.b = _check_bias(check_float_array(b, "b", ndim=1), W, 1, "Affine",      # b is required
                             f"output column of W {W.shape} (the book's (in, out) layout)")
        self.x = self.original_x_shape = None
        self.dW = self.db = None

    def forward(self, x):
        check_float_array(x, "x")
        if x.ndim < 2:
            raise ValueError(f"Affine: x must be (N, D) or (N, C, H, W), got shape {x.shape}")
        _check_same_dtype(x, self.W, "Affine")
        self.original_x_shape = x.shape
        x = x.reshape(x.shape[0], int(np.prod(x.shape[1:])))   # (N, D); spelled out for N = 0
        if x.shape[1] != self.W.shape[0]:
            raise ValueError(f"Affine: x has {x.shape[1]} features per sample (shape "
                             f"{self.original_x_shape}) but W expects {self.W.shape[0]} (W shape "
                             f"{self.W.shape}, the book's (in, out) layout)")
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        dx = dout @ self.W.T
        self.dW = self.x.T @ dout
        self.db = np.sum(dout, axis=0)
        return dx.reshape(*self.original_x_shape)


class Linear:
    """Fully connected layer on the last axis: PyTorch's ``nn.Linear``, in the book's weight layout.

    W : (D, M) — (in, out), like the book's Affine (``nn.Linear.weight`` is its transpose);
    b : (M,), or None for no bias
    forward  x (..., D) -> out (..., M): any number of leading axes, none included (x (D,))
    backward dout (..., M) -> dx (..., D); sets dW (D, M), db (M,) (None without a bias),
             summed over all the leading axes
    cache: x

    The book's Affine flattens an (N, C, H, W) input to (N, C·H·W); Linear never reshapes: on
    (N, T, D) it maps each of the N·T vectors. Use Affine in the book's networks, Linear where
    PyTorch's semantics are wanted.
    """

    def __init__(self, W, b=None):
        self.W = check_float_array(W, "W", ndim=2)
        self.b = _check_bias(b, W, 1, "Linear", f"output column of W {W.shape} (the book's (in, out) layout)")
        self.x = None
        self.dW = self.db = None

    def forward(self, x):
        check_float_array(x, "x")
        if x.ndim < 1 or x.shape[-1] != self.W.shape[0]:
            raise ValueError(f"Linear: the last axis of x must have {self.W.shape[0]} features "
                             f"(W shape {self.W.shape}, the book's (in, out) layout), got shape {x.shape}")
        _check_same_dtype(x, self.W, "Linear")
        self.x = x
        out = x @ self.W
        return out if self.b is None else out + self.b

    def backward(self, dout):
        D, M = self.W.shape
        rows = int(np.prod(self.x.shape[:-1]))                    # every leading axis as rows
        x2, dout2 = self.x.reshape(rows, D), dout.reshape(rows, M)
        self.dW = x2.T @ dout2
        self.db = None if self.b is None else dout2.sum(axis=0)
        return dout @ self.W.T


REDUCTIONS = ("mean", "sum", "none")


class SoftmaxWithLoss:
    """Softmax followed by the cross-entropy loss, averaged over the batch.

    forward(x, t): x (N, C) scores; t class indices (N,) int, or one-hot / class probabilities
        (N, C) float -> scalar loss (``reduction="none"``: one loss per sample, (N,))
    backward(dout=1) -> dx (N, C) = (softmax(x) − onehot(t)) · dout / N (without weights);
        with probability targets it also sets ``dt`` (N, C), the gradient of the targets
    cache: y = softmax(x) (N, C), t as one-hot or probabilities (N, C), tw (the targets times the
        class weights, (N, C)), the scale of each sample's gradient

    The loss uses log-sum-exp (log softmax = x − max − log Σ e^(x − max)), so it never takes
    log(0). The book computes ``log(y + 1e-7)``; pass ``eps=1e-7`` to get the book's value
    (a documented difference: it caps the loss of a confident wrong answer at −log 1e-7 ≈ 16.1).

    Beyond the book (keywords, PyTorch's ``cross_entropy`` defaults):
    ``reduction``: "mean" (the book), "sum", or "none".
    ``weight`` (C,): a weight per class; sample n's loss is −Σ_c w_c t_nc log y_nc.
    ``ignore_index``: class-index targets equal to it add nothing, not even to the mean's count.
    PyTorch's weighted mean — which this follows — divides by the total weight of the targets,
    Σ_n w_{t_n} over the samples not ignored, for class-index targets; for probability targets
    it divides by N, whatever the weights (see the report's catalog).
    Every sample's loss is −Σ_c tw_nc log y_nc with tw = t · w (a zero row where ignored), and
    its gradient is y_n · Σ_c tw_nc − tw_n — which is y − t when the weights are 1.
    """

    def __init__(self, eps=0.0, *, reduction="mean", weight=None, ignore_index=-100):
        self.eps = float(eps)
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction
        self.weight = None if weight is None else check_float_array(weight, "weight", ndim=1)
        self.ignore_index = int(ignore_index)
        self.loss = self.y = self.t = self.tw = self.scale = None
        self.dt = None

    def forward(self, x, t):
        check_float_array(x, "x", ndim=2)
        N, C = x.shape
        check_labels(t, N, C, ignore_index=self.ignore_index)
        if self.weight is not None and self.weight.shape != (C,):
            raise ValueError(f"weight must have one entry per class, shape ({C},), got {self.weight.shape}")
        if t.ndim == 2:                                        # one-hot or probabilities
            target = t.astype(x.dtype, copy=False)
        else:                                                  # class indices -> one-hot rows
            target = np.zeros_like(x)
            kept = t != self.ignore_index                      # an ignored sample: a zero row
            target[np.arange(N)[kept], t[kept]] = 1
        tw = target if self.weight is None else target * self.weight.astype(x.dtype, copy=False)

        shifted = x - x.max(axis=1, keepdims=True)
        log_sum = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        log_y = shifted - log_sum                              # log softmax, (N, C)
        self.y = np.exp(log_y)
        if self.eps:  # the book's form
            log_y = np.log(self.y + x.dtype.type(self.eps))
        losses = -np.sum(tw * log_y, axis=1)                   # (N,)

        # "mean": over the total weight of the targets (index targets: Σ_n w_{t_n}, N without
        # weights) or over N (probability targets), as PyTorch does; 0/0 is NaN as in PyTorch
        count = x.dtype.type(tw.sum() if t.ndim == 1 else N)
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.reduction == "none":
                self.loss, self.scale = losses, np.ones(N, dtype=x.dtype)
            elif self.reduction == "sum":
                self.loss, self.scale = x.dtype.type(losses.sum()), x.dtype.type(1)
            else:
                self.loss = x.dtype.type(losses.sum() / count)
                self.scale = x.dtype.type(1 / count)
        self.t, self.tw, self._log_y, self._soft = target, tw, log_y, t.ndim == 2
        return self.loss

    def backward(self, dout=1):
        dtype = self.y.dtype.type
        # every sample's gradient is y_n · Σ_c tw_nc − tw_n, times the reduction's scale · dout
        scale = (np.asarray(dout, dtype=self.y.dtype) * self.scale).reshape(-1, 1) \
            if self.reduction == "none" else dtype(dout) * self.scale
        dx = (self.y * self.tw.sum(axis=1, keepdims=True) - self.tw) * scale
        if self._soft:              # d loss / d t_nc = −w_c log y_nc, times the same scale
            w = 1 if self.weight is None else self.weight.astype(self.y.dtype, copy=False)
            self.dt = -self._log_y * w * scale
        return dx.astype(self.y.dtype, copy=False)


class Dropout:
    """Dropout, with both scaling conventions.

    forward(x, train_flg=True, mask=None) -> out (same shape as x); backward dout -> dx
    cache: mask (bool, shape of x; True = kept)

    ``inverted=True`` (PyTorch's nn.Dropout): training scales kept units by 1/(1 − p), and
    inference is the identity. ``inverted=False`` (the book): training keeps units unscaled,
    inference multiplies by (1 − p). Both have the same expected output.
    ``mask`` may be given, so that two frameworks can apply the very same mask; otherwise it
    is drawn from ``rng`` (a ``numpy.random.Generator``).
    """

    def __init__(self, dropout_ratio=0.5, inverted=True, rng=None):
        if not 0 <= dropout_ratio < 1:
            raise ValueError(f"dropout_ratio must be in [0, 1), got {dropout_ratio}")
        self.dropout_ratio = float(dropout_ratio)
        self.inverted = bool(inverted)
        self.rng = rng if rng is not None else np.random.default_rng()
        self.mask = None
        self.scale = 1.0

    def forward(self, x, train_flg=True, mask=None):
        check_float_array(x, "x")
        p = self.dropout_ratio
        if not train_flg:
            self.mask = None
            return x.copy() if self.inverted else x * x.dtype.type(1.0 - p)
        if mask is None:
            mask = self.rng.random(x.shape) > p
        elif mask.shape != x.shape:
            raise ValueError(f"mask must have the shape of x {x.shape}, got {mask.shape}")
        self.mask = mask.astype(bool, copy=False)
        # Like PyTorch, the scaled mask (0 or 1/(1 − p), in x's dtype) is formed first.
        self.scale = x.dtype.type(1.0 / (1.0 - p)) if self.inverted else x.dtype.type(1.0)
        return x * (self.mask * self.scale).astype(x.dtype, copy=False)

    def backward(self, dout):
        if self.mask is None:  # inference mode
            return dout.copy() if self.inverted else dout * dout.dtype.type(1.0 - self.dropout_ratio)
        return dout * (self.mask * self.scale).astype(dout.dtype, copy=False)


def _channel_window_sum(a, before, after, size):
    """Σ over a window of ``size`` channels: out[:, c] = Σ_{j=c−before}^{c+after} a[:, j], zero outside."""
    padded = np.pad(a, [(0, 0), (before, after)] + [(0, 0)] * (a.ndim - 2))
    C = a.shape[1]
    out = np.zeros_like(a)
    for offset in range(size):          # size is small (5 in AlexNet): a readable loop
        out += padded[:, offset:offset + C]
    return out


class LRN:
    """Local response normalisation across channels (AlexNet).

    forward x (N, C, H, W) -> out (same); backward dout -> dx (same). cache: x, d

        out_c = x_c / d_c^β,   d_c = k + α' · Σ_{j ∈ window(c)} x_j²,
        window(c) = c − ⌊size/2⌋ … c + ⌊(size−1)/2⌋ (zero outside 0..C−1)

    ``convention="torch"`` (nn.LocalResponseNorm): α' = α / size, defaults k = 1.
    ``convention="paper"`` (Krizhevsky et al. 2012): α' = α, the paper uses k = 2, size 5,
    α = 1e−4, β = 0.75. The same α therefore means a size-times weaker normalisation in torch.
    """

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0, convention="torch"):
        self.size = check_positive_int(size, "size")
        if convention not in ("torch", "paper"):
            raise ValueError(f'convention must be "torch" or "paper", got {convention!r}')
        self.alpha, self.beta, self.k, self.convention = float(alpha), float(beta), float(k), convention
        self.x = self.d = None

    def _alpha_eff(self):
        return self.alpha / self.size if self.convention == "torch" else self.alpha

    def forward(self, x):
        check_float_array(x, "x")
        if x.ndim < 3:
            raise ValueError(f"LRN: x must be (N, C, ...) with at least 3 dims, got shape {x.shape}")
        s = _channel_window_sum(x * x, self.size // 2, (self.size - 1) // 2, self.size)
        d = (self.k + self._alpha_eff() * s).astype(x.dtype, copy=False)
        self.x, self.d = x, d
        return x / d ** x.dtype.type(self.beta)

    def backward(self, dout):
        x, d, beta = self.x, self.d, self.x.dtype.type(self.beta)
        # Channel c appears in the window of every j with c ∈ window(j), i.e. j from
        # c − ⌊(size−1)/2⌋ to c + ⌊size/2⌋ — the mirrored window.
        r = dout * x * d ** (-beta - 1)
        back = _channel_window_sum(r, (self.size - 1) // 2, self.size // 2, self.size)
        return dout / d ** beta - x.dtype.type(2 * self._alpha_eff()) * beta * x * back
