"""PyTorch's options beyond the book, for the book's layers (``reference.layers``).

The book's ``Convolution``, ``Pooling`` and ``SoftmaxWithLoss`` know stride and pad, max
pooling and a mean cross-entropy. PyTorch's ``conv2d``, ``max_pool2d`` and ``cross_entropy``
take more; the layers accept the same keywords, with PyTorch's defaults, and hand the work
to the functions here, so that the book's lines in the classes stay the book's:

- Convolution: ``pad="same"``/``"valid"`` (:func:`conv_padding`), ``groups`` (the product
  taken block by block: :func:`group_blocks`, :func:`grouped_forward`, ...). ``dilation`` is
  ``im2col``'s (``reference.util``).
- Pooling: ``ceil_mode`` (:func:`pool_output`), windows whose maximum is NaN or −inf
  (:func:`first_inside_offsets`, :func:`nan_and_minus_inf_windows`), PyTorch's
  ``return_indices`` (:func:`flat_indices`).
- SoftmaxWithLoss: ``reduction``, class ``weight``, ``ignore_index`` and probability targets
  (:func:`cross_entropy_forward`, :func:`cross_entropy_backward`).

Every one reduces to the book's computation, to the bit, when the option is at its default.
"""
from __future__ import annotations

import numpy as np

from .checks import check_float_array, check_pair, check_positive_int, int_or_pair, layer_pairs
from .util import conv_output_size, first_inside

__all__ = ["conv_padding", "check_groups", "group_blocks", "grouped_forward", "grouped_weight_gradient",
           "grouped_input_gradient", "pool_output", "first_inside_offsets", "has_minus_inf",
           "nan_and_minus_inf_windows", "flat_indices", "REDUCTIONS", "check_reduction",
           "class_weight", "check_class_weight", "is_beyond_the_book", "cross_entropy_forward", "cross_entropy_backward"]


# ---------------------------------------------------------------------------------------------
# Convolution: "same" / "valid" padding, groups
# ---------------------------------------------------------------------------------------------

def conv_padding(pad, kernel, stride, dilation):
    """A Convolution's ``pad`` -> (symmetric pad, extra (h, w) pixels after the last row/column).

    "valid" is no padding. "same" keeps the output size equal to the input size (stride 1 only):
    a window spans D·(K − 1) + 1 pixels, so it needs D·(K − 1) pixels of padding in all; when
    that is odd, PyTorch puts the odd pixel after the last row/column — so do we (``pad_end``).
    """
    if not isinstance(pad, str):
        return int_or_pair(pad, "pad", minimum=0), (0, 0)
    if pad == "valid":
        return 0, (0, 0)
    if pad != "same":
        raise ValueError(f'pad must be an int, an (h, w) pair, "same" or "valid", got {pad!r}')
    if check_pair(stride, "stride") != (1, 1):
        raise ValueError(f'pad="same" needs stride 1 (as in PyTorch), got stride={stride!r}; '
                         f"give the padding as a number instead")
    totals = [d * (k - 1) for d, k in zip(check_pair(dilation, "dilation"), kernel)]
    return tuple(t // 2 for t in totals), tuple(t % 2 for t in totals)


def check_groups(groups, W) -> int:
    """``groups`` G: the C input channels and the FN filters split into G groups, and each filter
    sees only the C/G channels of its own group — so W is (FN, C/G, FH, FW). G = C is the
    "depthwise" convolution."""
    groups = check_positive_int(groups, "groups")
    if W.shape[0] % groups:
        raise ValueError(f"groups={groups} must divide the number of filters FN = {W.shape[0]} "
                         f"(W shape {W.shape})")
    return groups


def group_blocks(n_columns: int, n_filters: int, groups: int) -> list:
    """[(columns of group g, filters of group g)] as slices: the C·FH·FW columns of the im2col
    matrix and the FN filters, each cut into G equal consecutive blocks (``im2col``'s docstring
    draws them). With G = 1 that is the book's one product."""
    c, f = n_columns // groups, n_filters // groups
    return [(slice(g * c, (g + 1) * c), slice(g * f, (g + 1) * f)) for g in range(groups)]


def grouped_forward(col, col_W, groups):
    """``col @ col_W`` group by group: col (N·OH·OW, C·FH·FW), col_W (C/G·FH·FW, FN) -> (N·OH·OW, FN)."""
    FN = col_W.shape[1]
    out = np.empty((len(col), FN), dtype=col.dtype)
    for cols, filters in group_blocks(col.shape[1], FN, groups):
        out[:, filters] = col[:, cols] @ col_W[:, filters]
    return out


def grouped_weight_gradient(col, dout, groups):
    """``col.T @ dout`` group by group: dout (N·OH·OW, FN) -> dW (C/G·FH·FW, FN), in dout's dtype."""
    FN = dout.shape[1]
    dW = np.empty((col.shape[1] // groups, FN), dtype=dout.dtype)
    for cols, filters in group_blocks(col.shape[1], FN, groups):
        dW[:, filters] = col[:, cols].T @ dout[:, filters]
    return dW


def grouped_input_gradient(dout, col_W, groups):
    """``dout @ col_W.T`` group by group: dout (N·OH·OW, FN) -> dcol (N·OH·OW, C·FH·FW), in dout's dtype."""
    FN = dout.shape[1]
    dcol = np.empty((len(dout), col_W.shape[0] * groups), dtype=dout.dtype)
    for cols, filters in group_blocks(dcol.shape[1], FN, groups):
        dcol[:, cols] = dout[:, filters] @ col_W[:, filters].T
    return dcol


# ---------------------------------------------------------------------------------------------
# Pooling: ceil mode, windows whose maximum is NaN or −inf, PyTorch's flat indices
# ---------------------------------------------------------------------------------------------

def pool_output(layer, H, W):
    """(OH, OW) of a pooling layer for an H×W input, and the (h, w) pixels that its windows
    reach beyond the padded input — only in ``ceil_mode``, where the last window may hang over
    the end; the layers add them with ``pad_end`` (−inf or 0, so that they never count)."""
    (sh, sw), (ph, pw), (dh, dw) = layer_pairs(layer)
    out_h = conv_output_size(H, layer.pool_h, sh, ph, layer.strict, dilation=dh, ceil_mode=layer.ceil_mode)
    out_w = conv_output_size(W, layer.pool_w, sw, pw, layer.strict, dilation=dw, ceil_mode=layer.ceil_mode)
    extra_h = max(0, (out_h - 1) * sh + dh * (layer.pool_h - 1) + 1 - (H + 2 * ph))
    extra_w = max(0, (out_w - 1) * sw + dw * (layer.pool_w - 1) + 1 - (W + 2 * pw))
    return out_h, out_w, extra_h, extra_w


def first_inside_offsets(layer, H, W, out_h, out_w):
    """(OH, OW): the window offset k = y·FW + x of each window's first element that is not
    padding. PyTorch's max pooling starts every window's search there with the value −inf and
    takes only a *greater* element, so a window whose maximum is −inf reports (and sends its
    gradient to) that element — not to a padding cell, which an −inf padding would tie with.

    Raises ValueError for a window that has no element inside the input at all (possible with
    dilation): PyTorch returns −inf there with an index outside the input, and its backward
    writes outside the gradient (memory corruption) — see the report's catalog."""
    (sh, sw), (ph, pw), (dh, dw) = layer_pairs(layer)
    y = first_inside(H, out_h, layer.pool_h, sh, ph, dh)
    x = first_inside(W, out_w, layer.pool_w, sw, pw, dw)
    if (y < 0).any() or (x < 0).any():
        raise ValueError(f"Pooling: with dilation {layer.dilation} and pad {layer.pad}, some "
                         f"{layer.pool_h}×{layer.pool_w} window on the {H}×{W} input has no element "
                         f"inside the input (all its taps fall in the padding); reduce the dilation "
                         f"or the padding")
    return y[:, None] * layer.pool_w + x[None, :]


def has_minus_inf(a) -> bool:
    """True if ``a`` holds −inf (one reduction pass, no temporary, unless ``a`` holds NaN)."""
    if a.size == 0:
        return False
    low = np.min(a)
    return bool(low == -np.inf or (np.isnan(low) and np.isneginf(a).any()))


def nan_and_minus_inf_windows(col, out, arg_max, first, shape):
    """The book's ``arg_max`` (N·OH·OW·C,) made PyTorch's where a window's maximum is not a number:
    a NaN is the maximum, and the last NaN of a window wins; a window whose maximum is −inf
    picks its first element inside the input (``first`` (OH, OW), :func:`first_inside_offsets`).

    col (N·OH·OW·C, FH·FW) and out (N·OH·OW·C,), as ``Pooling.forward`` has them; shape (N, OH, OW, C).
    """
    nan = np.isnan(out)
    if nan.any():   # PyTorch: a NaN is the maximum, and the last NaN of a window wins
        last_nan = col.shape[1] - 1 - np.argmax(np.isnan(col[nan, ::-1]), axis=1)
        arg_max[nan] = last_nan
    if has_minus_inf(out):         # windows whose maximum is −inf (see first_inside_offsets)
        arg_max = np.where(out.reshape(shape) == -np.inf, first[None, :, :, None],
                           arg_max.reshape(shape)).reshape(-1)
    return arg_max


def flat_indices(layer, method):
    """PyTorch's ``return_indices=True`` output for the layer's last forward (computed by
    ``method``, "fast" or "book"): for each output
    (N, C, OH, OW), where its maximum sits in the flattened H×W plane of the input,
    ``h·W + w`` (int64). From ``arg_max`` (the offset k of the maximum inside its window,
    row-major): (y, x) = divmod(k, FW), then h = oh·S − P + y·D and w = ow·S − P + x·D."""
    N, C, H, W = layer.x.shape
    out_h, out_w, _, _ = pool_output(layer, H, W)
    arg_max = layer.arg_max.astype(np.int64)
    if method == "book":                     # (N·OH·OW·C,), order (n, oh, ow, c)
        arg_max = arg_max.reshape(N, out_h, out_w, C).transpose(0, 3, 1, 2)
    (sh, sw), (ph, pw), (dh, dw) = layer_pairs(layer)
    y, x = np.divmod(arg_max, layer.pool_w)                # (N, C, OH, OW) each
    h = np.arange(out_h)[:, None] * sh - ph + y * dh
    w = np.arange(out_w)[None, :] * sw - pw + x * dw
    return h * W + w


# ---------------------------------------------------------------------------------------------
# SoftmaxWithLoss: reduction, class weights, ignore_index, probability targets
# ---------------------------------------------------------------------------------------------

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return reduction


def class_weight(weight):
    """A SoftmaxWithLoss's ``weight`` (C,) checked, or None."""
    return None if weight is None else check_float_array(weight, "weight", ndim=1)


def check_class_weight(weight, num_classes: int) -> None:
    if weight is not None and weight.shape != (num_classes,):
        raise ValueError(f"weight must have one entry per class, shape ({num_classes},), got {weight.shape}")


def is_beyond_the_book(layer, t) -> bool:
    """Does this call need more than the book's mean cross-entropy over class indices?"""
    return (t.ndim == 2 or layer.reduction != "mean" or layer.weight is not None
            or bool((t == layer.ignore_index).any()))


def cross_entropy_forward(layer, x, t, log_y):
    """``SoftmaxWithLoss.forward`` with PyTorch's options, from ``log_y`` = log softmax(x) (N, C).

    Every sample's loss is −Σ_c tw_nc log y_nc with tw = t · w: the targets (one-hot rows for
    class indices, a zero row where ignored; or the given probabilities) times the class
    weights. "mean" divides by the total weight of the targets, Σ_n w_{t_n} over the samples
    not ignored, for class-index targets (N without weights), and by N for probability targets,
    whatever the weights — as PyTorch does; 0/0 is NaN as in PyTorch.
    Sets layer.t, layer.tw, layer.loss, layer.scale (each sample's gradient factor).
    """
    N, C = x.shape
    if t.ndim == 2:                                        # one-hot or probabilities
        target = t.astype(x.dtype, copy=False)
    else:                                                  # class indices -> one-hot rows
        target = np.zeros_like(x)
        kept = t != layer.ignore_index                     # an ignored sample: a zero row
        target[np.arange(N)[kept], t[kept]] = 1
    tw = target if layer.weight is None else target * layer.weight.astype(x.dtype, copy=False)
    losses = -np.sum(tw * log_y, axis=1)                   # (N,)

    count = x.dtype.type(tw.sum() if t.ndim == 1 else N)
    with np.errstate(invalid="ignore", divide="ignore"):
        if layer.reduction == "none":
            layer.loss, layer.scale = losses, np.ones(N, dtype=x.dtype)
        elif layer.reduction == "sum":
            layer.loss, layer.scale = x.dtype.type(losses.sum()), x.dtype.type(1)
        else:
            layer.loss = x.dtype.type(losses.sum() / count)
            # Every target ignored: no sample contributes, and PyTorch's gradient is 0 while its
            # loss 0/0 is NaN (found by cnn-parity fuzz). Targets weighted 0 give NaN in both.
            all_ignored = t.ndim == 1 and not (t != layer.ignore_index).any()
            layer.scale = x.dtype.type(0) if all_ignored else x.dtype.type(1 / count)
    layer.t, layer.tw, layer._log_y, layer._soft = target, tw, log_y, t.ndim == 2
    return layer.loss


def cross_entropy_backward(layer, dout):
    """dx (N, C): each sample's gradient y_n · Σ_c tw_nc − tw_n (which is y − t when the weights are
    1 and t's rows sum to 1), times the reduction's scale · dout. With probability targets it
    also sets ``layer.dt`` (N, C) = −w_c log y_nc times the same scale."""
    dtype = layer.y.dtype.type
    scale = (np.asarray(dout, dtype=layer.y.dtype) * layer.scale).reshape(-1, 1) \
        if layer.reduction == "none" else dtype(dout) * layer.scale
    dx = (layer.y * layer.tw.sum(axis=1, keepdims=True) - layer.tw) * scale
    if layer._soft:             # d loss / d t_nc = −w_c log y_nc, times the same scale
        w = 1 if layer.weight is None else layer.weight.astype(layer.y.dtype, copy=False)
        layer.dt = -layer._log_y * w * scale
    return dx.astype(layer.y.dtype, copy=False)
