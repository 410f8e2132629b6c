"""The layers of the book's CNN chapter (its ``common/layers.py``), one small class each, in the book's order.

Shapes use the book's letters: N batch, C channels, H×W image, FN filters, FH×FW filter,
OH×OW output. Parameter layers keep ``W``, ``b`` and, after ``backward``, ``dW``, ``db``.
Every layer keeps the dtype it is given (float32 in, float32 out) and checks its input
before computing (``reference.checks``).

Read a class from the top: its docstring gives the shapes, then come the book's lines. Two
kinds of code are kept out of their way, each one call from the class:

- The fast path. ``method="fast"`` (the default, used by the networks and training) hands the
  work of ``Convolution`` and ``Pooling`` to ``reference.fast`` (zero-copy windows, one
  batched matrix product); ``method="book"`` runs the im2col/col2im lines written here. Both
  compute the same function with the same conventions; they may differ in the last bits where
  sums are taken in another order (both are parity-tested against torch and against each
  other). ``method`` can also be changed on an existing layer; it takes effect at the next
  ``forward``.
- PyTorch's options beyond the book (groups, dilation, "same" padding, ceil mode, NaN and −inf
  windows, reduction, class weights, ignore_index, probability targets): marked *beyond the
  book* and computed in ``reference.extensions``. At their defaults the classes run the book's
  lines.

Where this reference deliberately differs from the book, the docstring says so; each such
difference is listed, with the PyTorch convention, in the report's catalog, and
``docs/book-and-reference.md`` maps the book's lines to these. The layers the book's file does
not have (``AvgPooling``, ``AdaptiveAvgPooling``, ``Linear``, ``LRN``) are in
``reference.more_layers``.
"""
from __future__ import annotations

import numpy as np

from . import extensions, fast
from .checks import (check_bias, check_conv_input, check_float_array, check_labels, check_method,
                     check_pool_args, check_same_dtype, int_or_pair, layer_pairs)
from .util import col2im, conv_output_size, crop_end, im2col, pad_end

__all__ = ["Relu", "Sigmoid", "Affine", "SoftmaxWithLoss", "Dropout", "Convolution", "Pooling"]


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
        self.b = check_bias(check_float_array(b, "b", ndim=1), W, 1, "Affine",      # b is required
                             f"output column of W {W.shape} (the book's (in, out) layout)")
        self.x = self.original_x_shape = None
        self.dW = self.db = None

    def forward(self, x):
        check_float_array(x, "x")
        if x.ndim < 2:
            raise ValueError(f"Affine: x must be (N, D) or (N, C, H, W), got shape {x.shape}")
        check_same_dtype(x, self.W, "Affine")
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


class SoftmaxWithLoss:
    """Softmax followed by the cross-entropy loss, averaged over the batch.

    forward(x, t): x (N, C) scores, t (N,) class indices (int) -> loss (a scalar)
    backward(dout=1) -> dx (N, C) = (softmax(x) − onehot(t)) · dout / N
    cache: y = softmax(x) (N, C), t as one-hot rows (N, C), scale = 1/N

    The loss uses log-sum-exp (log softmax = x − max − log Σ e^(x − max)), so it never takes
    log(0). The book computes ``log(y + 1e-7)``; pass ``eps=1e-7`` to get the book's value
    (a documented difference: it caps the loss of a confident wrong answer at −log 1e-7 ≈ 16.1).
    The gradient is multiplied by 1/N (``scale``) rather than divided by N.

    Beyond the book (keywords, PyTorch's ``cross_entropy`` defaults; ``reference.extensions``):
    ``reduction``: "mean" (the book), "sum", or "none" (one loss per sample, (N,)).
    ``weight`` (C,): a weight per class; sample n's loss is −Σ_c w_c t_nc log y_nc.
    ``ignore_index``: class-index targets equal to it add nothing, not even to the mean's count.
    ``t`` may also be (N, C) — one-hot (the book allows it too) or class probabilities; then
    backward also sets ``dt`` (N, C), the gradient of the targets.
    PyTorch's weighted mean — which this follows — divides by the total weight of the targets,
    Σ_n w_{t_n} over the samples not ignored, for class-index targets; for probability targets
    it divides by N, whatever the weights (see the report's catalog).
    """

    def __init__(self, eps=0.0, *, reduction="mean", weight=None, ignore_index=-100):
        self.eps = float(eps)
        self.loss = self.y = self.t = self.scale = None
        # beyond the book: PyTorch's options, and the weighted targets tw = t · weight
        self.reduction = extensions.check_reduction(reduction)
        self.weight = extensions.class_weight(weight)
        self.ignore_index = int(ignore_index)
        self.tw = self.dt = None
        self.beyond_the_book = False

    def forward(self, x, t):
        check_float_array(x, "x", ndim=2)
        N, C = x.shape
        check_labels(t, N, C, ignore_index=self.ignore_index)
        extensions.check_class_weight(self.weight, C)
        shifted = x - x.max(axis=1, keepdims=True)
        log_y = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))   # log softmax(x)
        self.y = np.exp(log_y)                                 # softmax(x)
        if self.eps:                                           # the book's form: log(y + 1e-7)
            log_y = np.log(self.y + x.dtype.type(self.eps))
        self.beyond_the_book = extensions.is_beyond_the_book(self, t)
        if self.beyond_the_book:   # reduction, weights, ignored samples, (N, C) targets
            return extensions.cross_entropy_forward(self, x, t, log_y)

        self.t = np.zeros_like(x)                              # the class indices as one-hot rows
        self.t[np.arange(N), t] = 1
        losses = -np.sum(self.t * log_y, axis=1)               # each sample's cross-entropy (N,)
        with np.errstate(invalid="ignore", divide="ignore"):   # N = 0: NaN, as in PyTorch
            self.loss = x.dtype.type(losses.sum() / x.dtype.type(N))   # the mean over the batch
            self.scale = x.dtype.type(1 / x.dtype.type(N))
        self.tw = self.t                                       # (no weights: tw is t)
        return self.loss

    def backward(self, dout=1):
        if self.beyond_the_book:
            return extensions.cross_entropy_backward(self, dout)
        dx = (self.y - self.t) * (self.y.dtype.type(dout) * self.scale)   # the book: (y - t) / batch_size
        return dx


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


class Convolution:
    """2-D convolution (cross-correlation, as in every framework) via im2col.

    W : (FN, C, FH, FW), b : (FN,), or None for no bias
    forward  x (N, C, H, W) -> out (N, FN, OH, OW)
    backward dout (N, FN, OH, OW) -> dx (N, C, H, W); sets dW (FN, C, FH, FW), db (FN,)
    cache: x, col (N·OH·OW, C·FH·FW), col_W (C·FH·FW, FN)

    ``backward`` is ``backward_params`` (dW, db) followed by ``input_gradient`` (dx): a network's
    first layer runs only the first. ``stride``, ``pad``: an int or an (h, w) pair.
    ``strict=True`` raises when (H + 2P − FH) is not divisible by the stride; by default the
    output size is rounded down, like PyTorch. ``method="fast"`` (the default):
    ``reference.fast.conv_forward`` and its backward, with the cache col (N, C·FH·FW, OH·OW)
    (None for a large input), col_W (FN, C·FH·FW).

    Beyond the book (keywords, PyTorch's defaults; ``reference.extensions``):
    ``pad`` may also be "valid" (no padding) or "same" (output size = input size, stride 1 only).
    ``dilation`` D, an int or a pair: the filter's taps are D pixels apart (see ``im2col``).
    ``groups`` G: each filter sees only the C/G channels of its group, so W is (FN, C/G, FH, FW)
    and the product is taken group by group on blocks of the im2col matrix.
    """

    def __init__(self, W, b, stride=1, pad=0, strict=False, method="fast", *, groups=1, dilation=1):
        self.W = check_float_array(W, "W", ndim=4)
        self.b = check_bias(b, W, 0, "Convolution", f"filter of W {W.shape}")
        self.stride = int_or_pair(stride, "stride")
        self.pad, self.pad_extra = extensions.conv_padding(pad, W.shape[2:], stride, dilation)
        self.strict = strict
        self.method = check_method(method)
        self.x = self.col = self.col_W = None
        self.dW = self.db = None
        # beyond the book: groups, dilation; pad "same"/"valid" gave pad_extra above (the uneven part)
        self.groups = extensions.check_groups(groups, W)
        self.dilation = int_or_pair(dilation, "dilation")
        self._cached_method = None

    def forward(self, x):
        check_conv_input(x, self.W, self.groups)
        x = pad_end(x, *self.pad_extra)            # only pad="same" with an even window span
        FN, C, FH, FW = self.W.shape
        N, C, H, W = x.shape
        (sh, sw), (ph, pw), (dh, dw) = layer_pairs(self)
        out_h = conv_output_size(H, FH, sh, ph, self.strict, dilation=dh)
        out_w = conv_output_size(W, FW, sw, pw, self.strict, dilation=dw)
        method = check_method(self.method)
        if method == "fast":
            out, col, col_W = fast.conv_forward(self, x, out_h, out_w)
            self.x, self.col, self.col_W, self._cached_method = x, col, col_W, method
            return out

        col = im2col(x, FH, FW, self.stride, self.pad, dilation=self.dilation)   # (N·OH·OW, C·FH·FW)
        col_W = self.W.reshape(FN, -1).T                                         # (C·FH·FW, FN)
        out = col @ col_W if self.groups == 1 else extensions.grouped_forward(col, col_W, self.groups)
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
        if self._cached_method == "fast":
            self.dW, self.db = fast.conv_backward_params(self, dout)
            return
        FN, C, FH, FW = self.W.shape
        dout = dout.transpose(0, 2, 3, 1).reshape(-1, FN)     # (N·OH·OW, FN)
        self.db = None if self.b is None else np.sum(dout, axis=0)
        dW = self.col.T @ dout if self.groups == 1 else \
            extensions.grouped_weight_gradient(self.col, dout, self.groups)
        # (.astype: dW in dout's dtype, also where the cache is in another)
        self.dW = dW.transpose(1, 0).reshape(FN, C, FH, FW).astype(dout.dtype, copy=False)

    def input_gradient(self, dout):
        """dx (N, C, H, W) from dout (N, FN, OH, OW), with the weights of the last forward."""
        if self._cached_method == "fast":
            return crop_end(fast.conv_input_gradient(self, dout), *self.pad_extra)
        FN, C, FH, FW = self.W.shape
        dout = dout.transpose(0, 2, 3, 1).reshape(-1, FN)     # (N·OH·OW, FN)
        dcol = dout @ self.col_W.T if self.groups == 1 else \
            extensions.grouped_input_gradient(dout, self.col_W, self.groups)
        dx = col2im(dcol.astype(dout.dtype, copy=False), self.x.shape, FH, FW, self.stride, self.pad,
                    dilation=self.dilation)
        return crop_end(dx, *self.pad_extra)   # pad="same" with an even span: drop pad_end's pixels


class Pooling:
    """Max pooling.

    forward  x (N, C, H, W) -> out (N, C, OH, OW)
    backward dout (N, C, OH, OW) -> dx (N, C, H, W)
    cache: x, arg_max (N·OH·OW·C,) — the offset of the maximum inside each window (row-major)

    Padding behaves like −inf, as in PyTorch: a padded window of negative numbers returns
    their (negative) maximum. The book pads with 0 (so such a window returns 0) and its
    backward crashes for pad > 0. Ties (e.g. an all-zero window after ReLU) send the
    gradient to the first maximum in row-major window order, as PyTorch does.
    ``stride``, ``pad``: an int or an (h, w) pair. ``method="fast"`` (the default):
    ``reference.fast.max_pool_forward`` and its backward, with arg_max (N, C, OH, OW), a small
    unsigned int.

    Beyond the book (keywords, PyTorch's defaults; ``reference.extensions``): ``dilation`` (an
    int or a pair) spaces the window's elements apart, as in the convolution; ``ceil_mode=True``
    rounds the output size up (see ``conv_output_size``): the last window may hang over the end
    of the padded input (``pad_extra`` pixels, dropped again from dx), and the part outside never
    wins. A NaN is the maximum of its window (the last NaN, if there are several, as in
    PyTorch), and a window whose maximum is −inf picks its first element inside the input.
    :meth:`flat_indices` gives PyTorch's ``return_indices=True`` output from ``arg_max``.
    """

    def __init__(self, pool_h, pool_w, stride=1, pad=0, strict=False, method="fast", *,
                 dilation=1, ceil_mode=False):
        self.pool_h, self.pool_w, self.stride, self.pad = check_pool_args(pool_h, pool_w, stride, pad)
        self.strict = strict
        self.method = check_method(method)
        self.x = self.arg_max = None
        # beyond the book
        self.dilation = int_or_pair(dilation, "dilation")
        self.ceil_mode = bool(ceil_mode)
        self.pad_extra = self._cached_method = None

    def forward(self, x):
        check_float_array(x, "x", ndim=4)
        N, C, H, W = x.shape
        # beyond the book: ceil mode's extra pixels, and each window's first element inside x
        out_h, out_w, extra_h, extra_w = extensions.pool_output(self, H, W)
        first = extensions.first_inside_offsets(self, H, W, out_h, out_w)   # (raises if a window misses x)
        method = check_method(self.method)
        x_ext = pad_end(x, extra_h, extra_w, -np.inf)          # ceil mode only
        self.pad_extra = (extra_h, extra_w)
        if method == "fast":
            out, arg_max = fast.max_pool_forward(self, x_ext, out_h, out_w, first)
            self.x, self.arg_max, self._cached_method = x, arg_max, method
            return out

        col = im2col(x_ext, self.pool_h, self.pool_w, self.stride, self.pad, pad_value=-np.inf,
                     dilation=self.dilation)
        col = col.reshape(-1, self.pool_h * self.pool_w)       # (N·OH·OW·C, FH·FW)
        arg_max = np.argmax(col, axis=1)                       # the first maximum
        out = np.max(col, axis=1)
        arg_max = extensions.nan_and_minus_inf_windows(col, out, arg_max, first, (N, out_h, out_w, C))
        out = out.reshape(N, out_h, out_w, C).transpose(0, 3, 1, 2)

        self.x, self.arg_max, self._cached_method = x, arg_max, method
        return out

    def backward(self, dout):
        N, C, H, W = self.x.shape
        extra_h, extra_w = self.pad_extra
        ext_shape = (N, C, H + extra_h, W + extra_w)           # ceil mode: with the overhang
        if self._cached_method == "fast":
            return crop_end(fast.max_pool_backward(self, dout, ext_shape), extra_h, extra_w)

        dout = dout.transpose(0, 2, 3, 1)                      # (N, OH, OW, C)
        pool_size = self.pool_h * self.pool_w
        dmax = np.zeros((dout.size, pool_size), dtype=dout.dtype)
        dmax[np.arange(self.arg_max.size), self.arg_max.flatten()] = dout.flatten()
        dcol = dmax.reshape(dout.shape[0] * dout.shape[1] * dout.shape[2], C * pool_size)
        dx = col2im(dcol, ext_shape, self.pool_h, self.pool_w, self.stride, self.pad, dilation=self.dilation)
        return crop_end(dx, extra_h, extra_w)

    def flat_indices(self):
        """Beyond the book: PyTorch's ``return_indices=True`` output for the last forward, (N, C,
        OH, OW) int64 indices into each flattened H×W input plane (``extensions.flat_indices``)."""
        return extensions.flat_indices(self, self._cached_method)
