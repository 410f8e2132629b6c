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

import numpy as np

from .checks import (check_float_array, check_labels, check_nonnegative_int,
                     check_positive_int)
from .util import (col2im, conv_output_size, fold, fold_offsets, im2col, pad_images, unfold,
                   window_slices)

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


class Convolution:
    """2-D convolution (cross-correlation, as in every framework) via im2col.

    W : (FN, C, FH, FW), b : (FN,)
    forward  x (N, C, H, W) -> out (N, FN, OH, OW)
    backward dout (N, FN, OH, OW) -> dx (N, C, H, W); sets dW (FN, C, FH, FW), db (FN,)
             = backward_params(dout) (dW, db) + input_gradient(dout) (dx)
    cache: x, col (N·OH·OW, C·FH·FW), col_W (C·FH·FW, FN)

    ``strict=True`` raises when (H + 2P − FH) is not divisible by the stride; by default the
    output size is rounded down, like PyTorch.

    ``method="fast"`` (default): ``col = unfold(x)`` (N, C·FH·FW, OH·OW) and one batched product
    ``W (FN, C·FH·FW) @ col`` gives (N, FN, OH·OW) — the output layout, no transpose;
    backward: ``dW = Σ_n dout_n @ col_nᵀ``, ``dx = fold(Wᵀ @ dout)``.
    cache: x, col (N, C·FH·FW, OH·OW), col_W (FN, C·FH·FW). An input whose windows take more
    than ``CHUNK_BYTES`` goes through a few images at a time and keeps ``col = None``: backward
    unfolds x again, block by block (so x must not be changed in place before backward).
    ``method="book"``: the book's im2col/col2im code, with the cache above.
    """

    def __init__(self, W, b, stride=1, pad=0, strict=False, method="fast"):
        self.W = check_float_array(W, "W", ndim=4)
        self.b = check_float_array(b, "b", ndim=1)
        if b.shape != (W.shape[0],):
            raise ValueError(f"b must have shape ({W.shape[0]},) — one bias per filter of W "
                             f"{W.shape} — got {b.shape}")
        _check_same_dtype(b, W, "Convolution")
        self.stride = check_positive_int(stride, "stride")
        self.pad = check_nonnegative_int(pad, "pad")
        self.strict = strict
        self.method = _check_method(method)
        self.x = self.col = self.col_W = None
        self._cached_method = None
        self.dW = self.db = None

    def forward(self, x):
        check_float_array(x, "x", ndim=4)
        FN, C, FH, FW = self.W.shape
        N, xc, H, W = x.shape
        if xc != C:
            raise ValueError(f"Convolution: x has {xc} channels (shape {x.shape}) but W expects "
                             f"{C} (W shape {self.W.shape}); the layout is (N, C, H, W)")
        _check_same_dtype(x, self.W, "Convolution")
        out_h = conv_output_size(H, FH, self.stride, self.pad, self.strict)
        out_w = conv_output_size(W, FW, self.stride, self.pad, self.strict)
        method = _check_method(self.method)

        if method == "fast":
            col_W = self.W.reshape(FN, -1)                    # (FN, C·FH·FW)
            out = np.empty((N, FN, out_h * out_w), dtype=x.dtype)
            blocks = _batch_blocks(N, C * FH * FW * out_h * out_w * x.itemsize)
            for blk in blocks:
                col = unfold(x[blk], FH, FW, self.stride, self.pad)   # (n, C·FH·FW, OH·OW)
                np.matmul(col_W, col, out=out[blk])           # (n, FN, OH·OW)
            out += self.b[:, None]
            out = out.reshape(N, FN, out_h, out_w)
            if len(blocks) > 1:     # a large input: backward unfolds x again, block by block
                col = None
        else:
            col = im2col(x, FH, FW, self.stride, self.pad)    # (N·OH·OW, C·FH·FW)
            col_W = self.W.reshape(FN, -1).T                  # (C·FH·FW, FN)
            out = col @ col_W + self.b                        # (N·OH·OW, FN)
            out = out.reshape(N, out_h, out_w, -1).transpose(0, 3, 1, 2)

        self.x, self.col, self.col_W, self._cached_method = x, col, col_W, method
        return out

    def backward(self, dout):
        self.backward_params(dout)
        return self.input_gradient(dout)

    def backward_params(self, dout):
        """Only dW and db. A network's first layer needs nothing more: its input, the images,
        needs no gradient (PyTorch's autograd skips it too, as the images don't require grad)."""
        FN, C, FH, FW = self.W.shape
        if self._cached_method == "fast":
            N, _, out_h, out_w = dout.shape
            dout = dout.reshape(N, FN, out_h * out_w)         # (N, FN, OH·OW)
            self.db = dout.sum(axis=(0, 2))
            dW = np.zeros((FN, C * FH * FW), dtype=dout.dtype)
            for blk in _batch_blocks(N, C * FH * FW * out_h * out_w * dout.itemsize):
                col = self.col if self.col is not None else unfold(
                    self.x[blk], FH, FW, self.stride, self.pad)
                dW += np.matmul(dout[blk], col.transpose(0, 2, 1)).sum(axis=0)  # Σ_n dout_n colₙᵀ
            self.dW = dW.reshape(FN, C, FH, FW)
            return

        dout = dout.transpose(0, 2, 3, 1).reshape(-1, FN)     # (N·OH·OW, FN)
        self.db = np.sum(dout, axis=0)
        self.dW = (self.col.T @ dout).transpose(1, 0).reshape(FN, C, FH, FW)

    def input_gradient(self, dout):
        """dx (N, C, H, W) from dout (N, FN, OH, OW), with the weights of the last forward."""
        FN, C, FH, FW = self.W.shape
        if self._cached_method == "fast":
            N, _, out_h, out_w = dout.shape
            dout = dout.reshape(N, FN, out_h * out_w)         # (N, FN, OH·OW)
            blocks = _batch_blocks(N, C * FH * FW * out_h * out_w * dout.itemsize)
            dx = np.empty(self.x.shape, dtype=dout.dtype) if len(blocks) > 1 else None
            for blk in blocks:
                dcol = np.matmul(self.col_W.T, dout[blk])     # (n, C·FH·FW, OH·OW)
                dx_blk = fold(dcol, (len(dcol), C) + self.x.shape[2:], FH, FW, self.stride, self.pad)
                if dx is None:          # one block: the whole batch
                    return dx_blk
                dx[blk] = dx_blk
            return dx

        dout = dout.transpose(0, 2, 3, 1).reshape(-1, FN)     # (N·OH·OW, FN)
        dcol = dout @ self.col_W.T                            # (N·OH·OW, C·FH·FW)
        return col2im(dcol, self.x.shape, FH, FW, self.stride, self.pad)


def _check_pool_args(pool_h, pool_w, stride, pad):
    pool_h = check_positive_int(pool_h, "pool_h")
    pool_w = check_positive_int(pool_w, "pool_w")
    stride = check_positive_int(stride, "stride")
    pad = check_nonnegative_int(pad, "pad")
    # PyTorch's rule: otherwise a window could lie entirely in the padding.
    if 2 * pad > min(pool_h, pool_w):
        raise ValueError(f"pad must be at most half the pool size (PyTorch's rule), got pad={pad} "
                         f"for a {pool_h}×{pool_w} pool; use pad ≤ {min(pool_h, pool_w) // 2}")
    return pool_h, pool_w, stride, pad


def _running_max(img, slices, nan_aware):
    """Walk the window offsets in row-major order, keeping the running maximum of every window
    and the offset where it was first reached.

    img : padded input (N, C, H', W'); slices : ``window_slices`` (img[s] is (N, C, OH, OW))
    Returns out (N, C, OH, OW) and arg_max (N, C, OH, OW), a small unsigned int.
    With ``nan_aware`` a NaN counts as the maximum (the first NaN wins), as in torch.
    """
    out = img[slices[0]].copy()
    arg_max = np.zeros(out.shape, dtype=np.min_scalar_type(len(slices) - 1))
    for k, s in enumerate(slices[1:], start=1):
        if nan_aware:   # better: greater, or NaN, unless the maximum so far is already NaN
            better = ~(img[s] <= out) & ~np.isnan(out)
        else:           # strictly greater: the first maximum wins ties
            better = img[s] > out
        np.maximum(out, img[s], out=out)                       # NaN propagates, as in max
        # arg_max = where(better, k, arg_max): as k is larger than every offset before it, this
        # is a maximum — and masked assignment is ~30× slower than that in NumPy
        np.maximum(arg_max, better * arg_max.dtype.type(k), out=arg_max)
    return out, arg_max


class Pooling:
    """Max pooling.

    forward  x (N, C, H, W) -> out (N, C, OH, OW)
    backward dout (N, C, OH, OW) -> dx (N, C, H, W)
    cache: x, arg_max (N·OH·OW·C,) — index of the maximum inside each window

    Padding behaves like −inf, as in PyTorch: a padded window of negative numbers returns
    their (negative) maximum. The book pads with 0 (so such a window returns 0) and its
    backward crashes for pad > 0. Ties (e.g. an all-zero window after ReLU) send the
    gradient to the first maximum in row-major window order, as PyTorch does.

    ``method="fast"`` (default) never reduces along the short rows of the im2col matrix and
    copies no windows: for each window offset in row-major order it takes a strided view of the
    input holding that offset's element of every window (``window_slices``), keeping the running
    maximum and the offset where it was first reached; backward sends each gradient to that
    offset (``fold_offsets``).
    cache: x, arg_max (N, C, OH, OW) — the same index inside each window, a small unsigned int.
    ``method="book"``: im2col + argmax, with the cache above.
    """

    def __init__(self, pool_h, pool_w, stride=1, pad=0, strict=False, method="fast"):
        self.pool_h, self.pool_w, self.stride, self.pad = _check_pool_args(pool_h, pool_w, stride, pad)
        self.strict = strict
        self.method = _check_method(method)
        self.x = self.arg_max = None
        self._cached_method = None

    def forward(self, x):
        check_float_array(x, "x", ndim=4)
        N, C, H, W = x.shape
        out_h = conv_output_size(H, self.pool_h, self.stride, self.pad, self.strict)
        out_w = conv_output_size(W, self.pool_w, self.stride, self.pad, self.strict)
        method = _check_method(self.method)

        if method == "fast":
            # img[slices[k]] is the element at window offset k (row-major) of every window, a
            # strided view (N, C, OH, OW) of the (−inf-padded) input: no copy of the windows.
            img = pad_images(x, self.pad, -np.inf)
            slices = window_slices(self.pool_h, self.pool_w, self.stride, out_h, out_w)
            out, arg_max = _running_max(img, slices, nan_aware=False)
            if np.isnan(out).any():     # some window holds a NaN: redo with NaN as the maximum
                out, arg_max = _running_max(img, slices, nan_aware=True)
            self.x, self.arg_max, self._cached_method = x, arg_max, method
            return out

        col = im2col(x, self.pool_h, self.pool_w, self.stride, self.pad, pad_value=-np.inf)
        col = col.reshape(-1, self.pool_h * self.pool_w)     # (N·OH·OW·C, FH·FW)

        self.arg_max = np.argmax(col, axis=1)                  # first maximum (NaN counts as max)
        out = np.max(col, axis=1)
        out = out.reshape(N, out_h, out_w, C).transpose(0, 3, 1, 2)

        self.x, self._cached_method = x, method
        return out

    def backward(self, dout):
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

            return fold_offsets(dcol, self.x.shape, self.pool_h, self.pool_w, self.stride, self.pad,
                                dtype=dout.dtype)

        dout = dout.transpose(0, 2, 3, 1)                      # (N, OH, OW, C)
        pool_size = self.pool_h * self.pool_w
        dmax = np.zeros((dout.size, pool_size), dtype=dout.dtype)
        dmax[np.arange(self.arg_max.size), self.arg_max.flatten()] = dout.flatten()
        dcol = dmax.reshape(dout.shape[0] * dout.shape[1] * dout.shape[2], -1)
        return col2im(dcol, self.x.shape, self.pool_h, self.pool_w, self.stride, self.pad)


class AvgPooling:
    """Average pooling (the "subsampling" of LeNet).

    forward  x (N, C, H, W) -> out (N, C, OH, OW)
    backward dout (N, C, OH, OW) -> dx (N, C, H, W)
    cache: x shape, divisor (OH, OW)

    Two legitimate conventions for windows that overlap the zero padding:
    ``count_include_pad=True`` (PyTorch's default) divides by FH·FW always;
    ``count_include_pad=False`` divides by the number of real (non-padding) pixels.

    ``method="fast"`` (default) sums the pool_h·pool_w strided slices of the zero-padded input
    (one per window offset) instead of building the im2col matrix; backward adds the shared
    gradient back slice by slice, as col2im does. ``method="book"``: im2col/col2im.
    The cache is the same for both.
    """

    def __init__(self, pool_h, pool_w, stride=1, pad=0, count_include_pad=True, strict=False,
                 method="fast"):
        self.pool_h, self.pool_w, self.stride, self.pad = _check_pool_args(pool_h, pool_w, stride, pad)
        self.count_include_pad = bool(count_include_pad)
        self.strict = strict
        self.method = _check_method(method)
        self.x_shape = self.divisor = None
        self._cached_method = None

    def forward(self, x):
        check_float_array(x, "x", ndim=4)
        N, C, H, W = x.shape
        out_h = conv_output_size(H, self.pool_h, self.stride, self.pad, self.strict)
        out_w = conv_output_size(W, self.pool_w, self.stride, self.pad, self.strict)
        method = _check_method(self.method)

        if method == "fast":
            slices = window_slices(self.pool_h, self.pool_w, self.stride, out_h, out_w)
            if self.count_include_pad:
                divisor = np.full((out_h, out_w), self.pool_h * self.pool_w, dtype=x.dtype)
            else:  # count the real pixels of each window: window sums of an all-ones image
                ones = pad_images(np.ones((1, 1, H, W), dtype=x.dtype), self.pad)
                divisor = sum(ones[s] for s in slices)[0, 0]
            img = pad_images(x, self.pad)
            out = img[slices[0]].copy()                        # (N, C, OH, OW)
            for s in slices[1:]:
                out += img[s]
            out /= divisor

            self.x_shape, self.divisor, self._cached_method = x.shape, divisor, method
            return out

        if self.count_include_pad:
            divisor = np.full((out_h, out_w), self.pool_h * self.pool_w, dtype=x.dtype)
        else:  # count the real pixels of each window: im2col of an all-ones image
            ones = np.ones((1, 1, H, W), dtype=x.dtype)
            divisor = im2col(ones, self.pool_h, self.pool_w, self.stride, self.pad).sum(axis=1)
            divisor = divisor.reshape(out_h, out_w)

        col = im2col(x, self.pool_h, self.pool_w, self.stride, self.pad)
        col = col.reshape(N, out_h, out_w, C, self.pool_h * self.pool_w)
        out = col.sum(axis=4) / divisor[None, :, :, None]      # (N, OH, OW, C)

        self.x_shape, self.divisor, self._cached_method = x.shape, divisor, method
        return out.transpose(0, 3, 1, 2)

    def backward(self, dout):
        N, C, out_h, out_w = dout.shape
        if self._cached_method == "fast":
            share = dout / self.divisor                        # (N, C, OH, OW)
            dcol = np.broadcast_to(share, (self.pool_h * self.pool_w,) + share.shape)
            return fold_offsets(dcol, self.x_shape, self.pool_h, self.pool_w, self.stride, self.pad)

        share = dout.transpose(0, 2, 3, 1) / self.divisor[None, :, :, None]   # (N, OH, OW, C)
        dcol = np.broadcast_to(share[..., None], share.shape + (self.pool_h * self.pool_w,))
        dcol = dcol.reshape(N * out_h * out_w, -1)
        return col2im(dcol, self.x_shape, self.pool_h, self.pool_w, self.stride, self.pad)


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
            dx = dout * ~self.mask
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
        self.b = check_float_array(b, "b", ndim=1)
        if b.shape != (W.shape[1],):
            raise ValueError(f"b must have shape ({W.shape[1]},) — one bias per output column of "
                             f"W {W.shape} (the book's (in, out) layout) — got {b.shape}")
        _check_same_dtype(b, W, "Affine")
        self.x = self.original_x_shape = None
        self.dW = self.db = None

    def forward(self, x):
        check_float_array(x, "x")
        if x.ndim < 2:
            raise ValueError(f"Affine: x must be (N, D) or (N, C, H, W), got shape {x.shape}")
        _check_same_dtype(x, self.W, "Affine")
        self.original_x_shape = x.shape
        x = x.reshape(x.shape[0], -1)
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


class SoftmaxWithLoss:
    """Softmax followed by the cross-entropy loss, averaged over the batch.

    forward(x, t): x (N, C) scores; t class indices (N,) int or one-hot (N, C) -> scalar loss
    backward(dout=1) -> dx (N, C) = (softmax(x) − onehot(t)) · dout / N
    cache: y = softmax(x) (N, C), t as one-hot (N, C)

    The loss uses log-sum-exp (log softmax = x − max − log Σ e^(x − max)), so it never takes
    log(0). The book computes ``log(y + 1e-7)``; pass ``eps=1e-7`` to get the book's value
    (a documented difference: it caps the loss of a confident wrong answer at −log 1e-7 ≈ 16.1).
    """

    def __init__(self, eps=0.0):
        self.eps = float(eps)
        self.loss = self.y = self.t = None

    def forward(self, x, t):
        check_float_array(x, "x", ndim=2)
        N, C = x.shape
        labels = check_labels(t, N, C)
        if t.ndim == 2:
            onehot = t.astype(x.dtype, copy=False)
        else:
            onehot = np.zeros_like(x)
            onehot[np.arange(N), labels] = 1

        shifted = x - x.max(axis=1, keepdims=True)
        log_sum = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        log_y = shifted - log_sum                              # log softmax, (N, C)
        self.y = np.exp(log_y)
        if self.eps:  # the book's form
            log_y = np.log(self.y + x.dtype.type(self.eps))
        self.t = onehot
        self.loss = x.dtype.type(-np.sum(onehot * log_y) / N)
        return self.loss

    def backward(self, dout=1):
        N = self.t.shape[0]
        return (self.y - self.t) * (self.y.dtype.type(dout) / N)


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
