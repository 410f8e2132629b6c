"""Torch twins of the reference layers: stock ``torch.nn`` modules, configured like the book.

Nothing here is re-implemented. Each factory takes the same configuration as the reference
layer's constructor (shapes instead of weight arrays), returns an ordinary ``torch.nn``
module, and sets one extra attribute, ``book_params``: book parameter name -> dotted torch
parameter path. ``torch_impl.transfer.load_params(layer, {"W": W, "b": b})`` then fills it with
the reference layer's weights.

==========================  =================================  =====================================
reference layer             twin                               book_params
==========================  =================================  =====================================
Convolution(W, b, s, p)     convolution(FN, C, FH, FW, s, p)   {"W": "weight", "b": "bias"}
                            -> nn.Conv2d                       ({"W": "weight"} without bias)
Pooling(ph, pw, s, p)       pooling(ph, pw, s, p)              {}
                            -> nn.MaxPool2d
AvgPooling(ph, pw, s, p)    avg_pooling(ph, pw, s, p)          {}
                            -> nn.AvgPool2d
AdaptiveAvgPooling(size)    adaptive_avg_pooling(size)         {}
                            -> nn.AdaptiveAvgPool2d
Affine(W, b)                affine(in, out)                    {"W": "linear.weight",
                            -> Sequential(flatten, linear)      "b": "linear.bias"}
Linear(W, b)                linear(in, out, bias)              {"W": "weight", "b": "bias"}
                            -> nn.Linear
Relu, Sigmoid               relu(), sigmoid()                  {}
Dropout(ratio)              dropout(p) -> nn.Dropout           {}
LRN(...)                    lrn(size, alpha, beta, k)          {}
                            -> nn.LocalResponseNorm
SoftmaxWithLoss             softmax_with_loss()                {}
                            -> nn.CrossEntropyLoss
==========================  =================================  =====================================

Where torch's convention differs from the book (the parity tests and the report's catalog of
semantic differences cover each one):

* Max pooling with ``pad > 0``: torch pads with -inf (a padded cell never wins); the book's
  im2col pads with 0, so an all-negative window at the border returns 0 in the book. torch
  also requires ``pad <= pool_size / 2``.
* Dropout: ``nn.Dropout`` is *inverted* dropout: in training it scales the kept units by
  1 / (1 - p), and in eval mode it is the identity. The book scales at test time instead
  (multiplies by 1 - ratio). The random masks of the two never match, so only eval mode and
  statistics can be compared.
* LocalResponseNorm: torch computes ``x / (k + alpha / size * sum(x_j ** 2)) ** beta``, i.e.
  it divides ``alpha`` by ``size`` (AlexNet's paper does not). Its channel window is
  ``size // 2`` channels before and ``(size - 1) // 2`` after.
* Cross-entropy: ``nn.CrossEntropyLoss`` uses log-softmax (no ``+ 1e-7`` inside the log, as
  the book's ``cross_entropy_error`` has), takes *logits* (scores before softmax), and
  averages over the batch. Targets may be class indices (int64) or, like the book, one-hot
  float rows (treated as class probabilities, which gives the same value).
* Affine: the book's Affine flattens any input to (N, -1) and keeps ``W`` as (in, out);
  ``nn.Linear`` keeps ``weight`` as (out, in). The twin is ``Flatten`` + ``Linear``; the
  transpose is handled by ``torch_impl.transfer``.
* dtype: the book's layers compute in whatever dtype their arrays have; torch modules have
  one dtype for their parameters and refuse inputs of another dtype.
"""

from collections import OrderedDict

import torch
from torch import nn

from .dtypes import as_torch_dtype

__all__ = [
    "convolution",
    "pooling",
    "avg_pooling",
    "adaptive_avg_pooling",
    "affine",
    "linear",
    "relu",
    "sigmoid",
    "dropout",
    "lrn",
    "softmax_with_loss",
]


def _positive_int(name, value):
    # bool is a subclass of int in Python; True as a filter size is a bug, not a 1.
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _non_negative_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")


def _int_or_pair(check, name, value):
    """Check an int or an (h, w) pair of ints with ``check`` (torch takes both forms)."""
    for v in (value if isinstance(value, (tuple, list)) and len(value) == 2 else (value,)):
        check(name, v)


def _with_book_params(module, book_params):
    """Attach the book-name -> torch-path mapping and return the module."""
    module.book_params = dict(book_params)
    return module


def convolution(filter_num, channels, filter_h, filter_w, stride=1, pad=0, dtype=torch.float64, *,
                groups=1, dilation=1, bias=True):
    """Twin of ``Convolution(W, b, stride, pad, groups=..., dilation=...)`` with W shaped
    (filter_num, channels / groups, filter_h, filter_w) — ``channels`` is the input's C.

    Returns ``nn.Conv2d(channels, filter_num, (filter_h, filter_w), stride, pad, dilation, groups,
    bias)``. ``stride``, ``pad``, ``dilation``: an int or an (h, w) pair; ``pad`` also "same" or
    "valid". ``bias=False``: no bias (the reference's ``b=None``), book_params {"W": "weight"}.

    Shapes: input (N, C, H, W) -> output (N, FN, OH, OW), OH = (H + 2*pad - FH) // stride + 1
    (with dilation D: FH -> D*(FH - 1) + 1).
    Parameters: weight (FN, C / groups, FH, FW) (same layout as the book), bias (FN,).
    Note: the weights are torch's default init; load the reference's with ``load_params``.
    """
    for name, value in [("filter_num", filter_num), ("channels", channels),
                        ("filter_h", filter_h), ("filter_w", filter_w), ("groups", groups)]:
        _positive_int(name, value)
    _int_or_pair(_positive_int, "stride", stride)
    _int_or_pair(_positive_int, "dilation", dilation)
    if not isinstance(pad, str):
        _int_or_pair(_non_negative_int, "pad", pad)
    conv = nn.Conv2d(channels, filter_num, (filter_h, filter_w), stride=stride, padding=pad,
                     dilation=dilation, groups=groups, bias=bias, dtype=as_torch_dtype(dtype))
    return _with_book_params(conv, {"W": "weight", "b": "bias"} if bias else {"W": "weight"})


def pooling(pool_h, pool_w, stride=1, pad=0, *, dilation=1, ceil_mode=False):
    """Twin of the book's max ``Pooling(pool_h, pool_w, stride, pad, dilation=..., ceil_mode=...)``.

    Returns ``nn.MaxPool2d((pool_h, pool_w), stride, pad, dilation, ceil_mode=ceil_mode)`` (floor
    mode by default, like the book). ``stride``, ``pad``, ``dilation``: an int or an (h, w) pair.
    Shapes: (N, C, H, W) -> (N, C, OH, OW), OH = (H + 2*pad - pool_h) // stride + 1.
    Differences: torch pads with -inf (the book with 0) and needs pad <= pool_size / 2.
    """
    for name, value in [("pool_h", pool_h), ("pool_w", pool_w)]:
        _positive_int(name, value)
    _int_or_pair(_positive_int, "stride", stride)
    _int_or_pair(_positive_int, "dilation", dilation)
    _int_or_pair(_non_negative_int, "pad", pad)
    return _with_book_params(nn.MaxPool2d((pool_h, pool_w), stride=stride, padding=pad,
                                          dilation=dilation, ceil_mode=ceil_mode), {})


def avg_pooling(pool_h, pool_w, stride=1, pad=0, count_include_pad=True, *, ceil_mode=False,
                divisor_override=None):
    """Twin of ``AvgPooling(pool_h, pool_w, stride, pad)``: ``nn.AvgPool2d``, floor mode by default.

    ``count_include_pad=True`` (torch's default) divides by pool_h * pool_w everywhere, i.e.
    padded zeros count, like averaging the rows of the book's zero-padded im2col matrix.
    ``False`` divides by the number of real (non-padded) cells in each window.
    ``ceil_mode``, ``divisor_override``: as ``nn.AvgPool2d``; ``stride``, ``pad``: an int or a pair.
    """
    for name, value in [("pool_h", pool_h), ("pool_w", pool_w)]:
        _positive_int(name, value)
    _int_or_pair(_positive_int, "stride", stride)
    _int_or_pair(_non_negative_int, "pad", pad)
    pool = nn.AvgPool2d((pool_h, pool_w), stride=stride, padding=pad, ceil_mode=ceil_mode,
                        count_include_pad=count_include_pad, divisor_override=divisor_override)
    return _with_book_params(pool, {})


def adaptive_avg_pooling(output_size):
    """Twin of ``AdaptiveAvgPooling(output_size)``: ``nn.AdaptiveAvgPool2d(output_size)``.

    ``output_size``: an int or an (OH, OW) pair (None keeps that input size). Window of output
    row i: rows floor(i*H/OH) to ceil((i+1)*H/OH) (exclusive), columns alike.
    """
    return _with_book_params(nn.AdaptiveAvgPool2d(output_size), {})


def affine(in_features, out_features, dtype=torch.float64):
    """Twin of ``Affine(W, b)`` with W shaped (in_features, out_features).

    Returns ``nn.Sequential(flatten=nn.Flatten(), linear=nn.Linear(in_features, out_features))``:
    like the book's Affine, a 4-D input (N, C, H, W) is flattened to (N, C*H*W) first.

    Shapes: input (N, ...) with prod(...) == in_features -> output (N, out_features).
    Parameters: linear.weight (out, in) in torch = W.T of the book; linear.bias (out,).
    """
    _positive_int("in_features", in_features)
    _positive_int("out_features", out_features)
    module = nn.Sequential(OrderedDict([
        ("flatten", nn.Flatten()),  # (N, C, H, W) -> (N, C*H*W); a 2-D input is left as is
        ("linear", nn.Linear(in_features, out_features, dtype=as_torch_dtype(dtype))),
    ]))
    return _with_book_params(module, {"W": "linear.weight", "b": "linear.bias"})


def linear(in_features, out_features, bias=True, dtype=torch.float64):
    """Twin of ``Linear(W, b)`` (W shaped (in, out), the book's layout): ``nn.Linear``.

    Acts on the last axis of any input (..., in) -> (..., out); no flattening (that is Affine).
    Parameters: weight (out, in) = W.T of the book (``torch_impl.transfer`` transposes), bias.
    """
    _non_negative_int("in_features", in_features)
    _positive_int("out_features", out_features)
    module = nn.Linear(in_features, out_features, bias=bias, dtype=as_torch_dtype(dtype))
    return _with_book_params(module, {"W": "weight", "b": "bias"} if bias else {"W": "weight"})


def relu():
    """Twin of ``Relu``: ``nn.ReLU()``. Same gradient convention at 0 (zero)."""
    return _with_book_params(nn.ReLU(), {})


def sigmoid():
    """Twin of ``Sigmoid``: ``nn.Sigmoid()``."""
    return _with_book_params(nn.Sigmoid(), {})


def dropout(p=0.5):
    """Twin of ``Dropout(dropout_ratio=p)``: ``nn.Dropout(p)`` — *inverted* dropout.

    Training: keeps each unit with probability 1 - p and scales kept units by 1 / (1 - p).
    Eval (``module.eval()``): identity. The book instead multiplies by (1 - p) at test time.
    """
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
    return _with_book_params(nn.Dropout(p), {})


def lrn(size, alpha=1e-4, beta=0.75, k=1.0):
    """Twin of ``LRN``: ``nn.LocalResponseNorm(size, alpha, beta, k)``.

    torch: ``b_c = a_c / (k + alpha / size * sum_{c'} a_{c'}^2) ** beta`` over a window of
    ``size`` channels — note ``alpha / size``. Shapes: (N, C, H, W) -> same.
    """
    _positive_int("size", size)
    return _with_book_params(nn.LocalResponseNorm(size, alpha=alpha, beta=beta, k=k), {})


def softmax_with_loss(*, reduction="mean", weight=None, ignore_index=-100):
    """Twin of ``SoftmaxWithLoss``: ``nn.CrossEntropyLoss(weight, ignore_index=..., reduction=...)``.

    Call as ``loss_fn(scores, t)`` with ``scores`` (N, classes) *before* softmax and ``t``
    either class indices (N,) int64 or one-hot / probability rows (N, classes) of the scores'
    dtype. No ``1e-7`` inside the log (the book's ``cross_entropy_error`` adds one).
    ``weight``: one weight per class (an array or tensor; converted to a tensor). The weighted
    "mean" divides by the total weight of the targets for class indices, by N for probabilities.
    """
    if weight is not None:
        weight = torch.as_tensor(weight)
    return _with_book_params(nn.CrossEntropyLoss(weight=weight, ignore_index=ignore_index,
                                                 reduction=reduction), {})
