"""Layers beyond the book's ``common/layers.py``: LeNet's average pooling, AlexNet's local
response normalisation and adaptive pooling, and PyTorch's ``Linear``.

They follow the book's conventions (``forward(x)`` / ``backward(dout)``, ``W``, ``b``, ``dW``,
``db``, dtype preserved, inputs checked first) and the style of ``reference.layers``; each
docstring states its shapes (inputs, outputs, cache).
"""
from __future__ import annotations

import numbers

import numpy as np

from . import extensions, fast
from .checks import (check_bias, check_float_array, check_method, check_pair, check_pool_args,
                     check_positive_int, check_same_dtype)
from .util import col2im, crop_end, im2col, pad_end

__all__ = ["AvgPooling", "AdaptiveAvgPooling", "Linear", "LRN"]


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

    ``method="fast"`` (default): ``reference.fast.avg_pool_forward`` and its backward, the sum of
    the pool_h·pool_w strided slices of the zero-padded input (one per window offset) instead
    of the im2col matrix. ``method="book"``: im2col/col2im. The cache is the same for both.
    """

    def __init__(self, pool_h, pool_w, stride=1, pad=0, count_include_pad=True, strict=False,
                 method="fast", *, ceil_mode=False, divisor_override=None):
        self.pool_h, self.pool_w, self.stride, self.pad = check_pool_args(pool_h, pool_w, stride, pad)
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
        self.method = check_method(method)
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
            return fast.window_sums(counts, self, out_h, out_w)
        return im2col(counts, self.pool_h, self.pool_w, self.stride).sum(axis=1).reshape(out_h, out_w)

    def forward(self, x):
        check_float_array(x, "x", ndim=4)
        N, C, H, W = x.shape
        out_h, out_w, extra_h, extra_w = extensions.pool_output(self, H, W)
        method = check_method(self.method)
        divisor = self._divisor(H, W, out_h, out_w, extra_h, extra_w, x.dtype)
        x_ext = pad_end(x, extra_h, extra_w)                  # ceil mode only
        self.pad_extra = (extra_h, extra_w)

        if method == "fast":
            out = fast.avg_pool_forward(self, x_ext, out_h, out_w, divisor)
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
            return crop_end(fast.avg_pool_backward(self, dout, ext_shape), extra_h, extra_w)

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
        self.b = check_bias(b, W, 1, "Linear", f"output column of W {W.shape} (the book's (in, out) layout)")
        self.x = None
        self.dW = self.db = None

    def forward(self, x):
        check_float_array(x, "x")
        if x.ndim < 1 or x.shape[-1] != self.W.shape[0]:
            raise ValueError(f"Linear: the last axis of x must have {self.W.shape[0]} features "
                             f"(W shape {self.W.shape}, the book's (in, out) layout), got shape {x.shape}")
        check_same_dtype(x, self.W, "Linear")
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
