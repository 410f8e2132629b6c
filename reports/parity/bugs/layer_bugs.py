"""The plants of the bugs in ``reference``'s layers and im2col helpers (see ``catalog.py``).

Each function here is a replacement (``make(original)`` for :func:`patched`) or a wrapper
(``wrapper(original, *args)`` for :func:`around`). Most wrap the real function and perturb an
input, an output or an attribute; the two ``MODIFIED COPY`` functions (``col2im``/``fold``
assigning instead of adding) repeat the original with one line changed, marked ``# BUG``.
"""
from __future__ import annotations

import numpy as np

import reference.fast as F
import reference.layers as L
import reference.more_layers as ML
import reference.util as U
from reference.checks import check_pair

from .planting import all_of, around, patched, temporarily, with_argument


# ---------------------------------------------------------------------------------------------
# im2col / col2im / unfold / fold, the output size, padding
# ---------------------------------------------------------------------------------------------

def im2col_channels_last(original):
    def im2col(input_data, filter_h, filter_w, *args, **kwargs):
        col = original(input_data, filter_h, filter_w, *args, **kwargs)
        rows, C = col.shape[0], input_data.shape[1]
        # BUG: columns ordered (fh, fw, c), TensorFlow's patch layout, not the book's (c, fh, fw)
        return col.reshape(rows, C, filter_h, filter_w).transpose(0, 2, 3, 1).reshape(rows, -1)
    return im2col


def col2im_assigning(original):
    # MODIFIED COPY of reference.util.col2im: overlapping windows are assigned, not added.
    def col2im(col, input_shape, filter_h, filter_w, stride=1, pad=0, *, dilation=1):
        (sh, sw), (ph, pw) = check_pair(stride, "stride"), check_pair(pad, "pad", minimum=0)
        dh, dw = check_pair(dilation, "dilation")
        N, C, H, W = input_shape
        out_h, out_w = U.output_shape(input_shape, filter_h, filter_w, (sh, sw), (ph, pw), (dh, dw))
        col = col.reshape(N, out_h, out_w, C, filter_h, filter_w).transpose(0, 3, 4, 5, 1, 2)
        img = np.zeros((N, C, H + 2 * ph + sh - 1, W + 2 * pw + sw - 1), dtype=col.dtype)
        for y in range(filter_h):
            for x in range(filter_w):
                img[:, :, y * dh:y * dh + sh * out_h:sh, x * dw:x * dw + sw * out_w:sw] = col[:, :, y, x]  # BUG: was +=
        return img[:, :, ph:H + ph, pw:W + pw]
    return col2im


def unfold_window_transposed(original):
    def unfold(input_data, filter_h, filter_w, *args, **kwargs):
        col = original(input_data, filter_h, filter_w, *args, **kwargs)
        N, K, L_ = col.shape
        # BUG: each window read column by column (Fortran order, as in a MATLAB port)
        return col.reshape(N, K // (filter_h * filter_w), filter_h, filter_w, L_).transpose(
            0, 1, 3, 2, 4).reshape(N, K, L_)
    return unfold


def fold_assigning(original):
    # MODIFIED COPY of reference.fast.fold: overlapping windows are assigned, not added.
    def fold(col, input_shape, filter_h, filter_w, stride=1, pad=0, *, dilation=1):
        stride, (ph, pw) = check_pair(stride, "stride"), check_pair(pad, "pad", minimum=0)
        dilation = check_pair(dilation, "dilation")
        N, C, H, W = input_shape
        out_h, out_w = U.output_shape(input_shape, filter_h, filter_w, stride, (ph, pw), dilation)
        col = col.reshape(N, C, filter_h * filter_w, out_h, out_w)
        img = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=col.dtype)
        for k, s in enumerate(F.window_slices(filter_h, filter_w, stride, out_h, out_w, dilation)):
            img[s] = col[:, :, k]                                # BUG: was +=
        return img[:, :, ph:H + ph, pw:W + pw] if ph or pw else img
    return fold


def output_size_ceil(original):
    # BUG: the output size rounded up (ceil), as PyTorch's ceil_mode=True, for every layer
    return with_argument(original, "ceil_mode", lambda value: True)


def pad_bottom_right(original):
    def pad_images(input_data, *args, **kwargs):
        img = original(input_data, *args, **kwargs)
        top, left = (img.shape[2] - input_data.shape[2]) // 2, (img.shape[3] - input_data.shape[3]) // 2
        # BUG: all of the padding at the bottom and right (the image moved to the top-left corner)
        return np.roll(img, (-top, -left), axis=(2, 3)) if top or left else img
    return pad_images


# ---------------------------------------------------------------------------------------------
# Convolution
# ---------------------------------------------------------------------------------------------

def conv_no_bias(forward, self, x, *args, **kwargs):
    with temporarily(self, b=None):                                # BUG: the bias is never added
        return forward(self, x, *args, **kwargs)


def conv_flipped(forward, self, x, *args, **kwargs):
    with temporarily(self, W=self.W[:, :, ::-1, ::-1]):            # BUG: true convolution
        return forward(self, x, *args, **kwargs)


def conv_dw_mean(backward_params, self, dout):
    backward_params(self, dout)
    self.dW = self.dW / self.dW.dtype.type(max(dout.shape[0], 1))  # BUG: averaged over the batch


def conv_db_mean(backward_params, self, dout):
    backward_params(self, dout)
    n = dout.shape[0] * dout.shape[2] * dout.shape[3]
    if self.db is not None:
        self.db = self.db / self.db.dtype.type(max(n, 1))          # BUG: averaged over N·OH·OW


def conv_last_block_only():
    """dW of the large-input path from the last block of images only (``dW = …`` for ``dW += …``)."""
    blocks_seen = []

    def spy(original, *args, **kwargs):
        blocks = original(*args, **kwargs)
        blocks_seen.append(blocks)
        return blocks

    def backward_params(original, self, dout):
        blocks_seen.clear()
        original(self, dout)
        blocks = blocks_seen[-1] if blocks_seen else []
        if len(blocks) > 1:                         # the blocked path: keep the last block only
            db = self.db
            with temporarily(self, x=self.x[blocks[-1]]):
                original(self, dout[blocks[-1]])    # BUG: dW of the last block alone
            self.db = db
    return all_of(around(F, "_batch_blocks", spy), around(L.Convolution, "backward_params", backward_params))


def conv_float64(forward, self, x, *args, **kwargs):
    if x.dtype != np.float32:
        return forward(self, x, *args, **kwargs)
    # BUG: float32 computed and returned in float64 (the book's np.zeros upcasts)
    b = None if self.b is None else self.b.astype(np.float64)
    with temporarily(self, W=self.W.astype(np.float64), b=b):
        return forward(self, x.astype(np.float64), *args, **kwargs)


def scaled_dW(factor):
    def backward_params(original, self, dout):
        original(self, dout)
        self.dW = self.dW * self.dW.dtype.type(factor)             # BUG: off by a relative factor − 1
    return backward_params


# ---------------------------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------------------------

def pad_with_zero(original):
    return with_argument(original, "pad_value", lambda v: 0.0 if v == -np.inf else v)  # BUG


def ties_to_last(original, img, slices, nan_aware):
    out, arg_max = original(img, slices[::-1], nan_aware)          # BUG: windows scanned backwards,
    return out, (len(slices) - 1 - arg_max).astype(arg_max.dtype)   # so the last maximum wins


def nan_dropped(original, img, slices, nan_aware):
    # BUG: NaN ignored (like np.fmax / np.nanmax): a window with a NaN returns its largest number
    return original(np.where(np.isnan(img), -np.inf, img), slices, nan_aware)


def avg_divisor(count_include_pad):
    def forward(original, self, x, *args, **kwargs):
        with temporarily(self, count_include_pad=count_include_pad):   # BUG: the setting ignored
            return original(self, x, *args, **kwargs)
    return forward


def avg_backward_undivided(backward, self, dout):
    with temporarily(self, divisor=np.ones_like(self.divisor)):     # BUG: dout not divided
        return backward(self, dout)


# ---------------------------------------------------------------------------------------------
# Activations, Affine, loss, dropout, LRN
# ---------------------------------------------------------------------------------------------

def relu_passes_zero(forward, self, x):
    out = forward(self, x)
    self.mask = x < 0                 # BUG: the gradient passes where x == 0 exactly
    return out


def sigmoid_tanh_derivative(backward):
    return lambda self, dout: dout * (1.0 - self.out ** 2)          # BUG: tanh's derivative


def affine_nhwc(forward, self, x):
    if x.ndim != 4:
        return forward(self, x)
    out = forward(self, np.ascontiguousarray(x.transpose(0, 2, 3, 1)))   # BUG: flattened as NHWC
    self.original_x_shape = x.shape
    return out


def affine_dw_transposed(backward, self, dout):
    dx = backward(self, dout)
    self.dW = np.ascontiguousarray(self.dW.T)       # BUG: dout.T @ x, torch's (out, in) formula
    return dx


def softmax_book_eps(forward, self, x, t):
    with temporarily(self, eps=1e-7):                # BUG: log(y + 1e-7) as in the book
        return forward(self, x, t)


def softmax_grad_times_n(backward, self, dout=1):
    return backward(self, dout) * self.y.dtype.type(self.t.shape[0])   # BUG: not divided by N


def softmax_no_shift(forward, self, x, t):
    loss = forward(self, x, t)              # checks; keeps the weighted targets (tw), the scale
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        log_y = x - np.log(np.exp(x).sum(axis=1, keepdims=True))    # BUG: no max shift
        if np.isfinite(log_y).all():        # no overflow: the same numbers up to rounding
            return loss
        self.y, self._log_y = np.exp(log_y), log_y
        losses = -np.sum(self.tw * log_y, axis=1)
        self.loss = losses if self.reduction == "none" else x.dtype.type(losses.sum() * self.scale)
    return self.loss


def dropout_not_inverted(forward, self, x, *args, **kwargs):
    with temporarily(self, inverted=False):         # BUG: the book's dropout, no 1/(1 − p)
        return forward(self, x, *args, **kwargs)


def dropout_eval_scaled():
    def forward(original, self, x, train_flg=True, mask=None):
        out = original(self, x, train_flg, mask)
        return out if train_flg else out * x.dtype.type(1 - self.dropout_ratio)   # BUG

    def backward(original, self, dout):
        dx = original(self, dout)
        return dx if self.mask is not None else dx * dout.dtype.type(1 - self.dropout_ratio)  # BUG
    return all_of(around(L.Dropout, "forward", forward), around(L.Dropout, "backward", backward))


def lrn_forward_window_in_backward(backward, self, dout):
    # BUG: backward sums over the forward window (before, after) instead of the mirrored one
    swap = lambda window_sum: lambda a, before, after, size: window_sum(a, after, before, size)
    with patched(ML, "_channel_window_sum", swap):
        return backward(self, dout)


