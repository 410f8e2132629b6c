"""The parity-case registry: every comparison of a reference layer with its torch twin is
declared here once, as data, and expanded into tests and report rows.

A :class:`LayerCase` says how to build the reference layer and its stock-torch twin with the
same weights, how to make inputs, and how long the longest reduction inside the layer is (which
sets the tolerance, see ``reports.parity.records.reduction_tolerance``). Case *factories*
(``conv_case``, ``pool_case``, ...) turn a configuration into a case; ``LAYER_CASES`` is the
fixed list the default tests and the report run, and the hypothesis sweeps call the same
factories with configurations they draw.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

import reference as R
import torch_impl
from torch_impl import layers as T
from torch_impl.transfer import load_params

from .net_cases import (NET_CASES, NetCase, alexnet_case, alexnet_plan, deep_convnet_case, deep_convnet_plan,
                        full_size, full_size_cases,
                        lenet5_case, reference_from_torchvision, reference_views_of, simple_convnet_case,
                        torchvision_alexnet, torchvision_alexnet_case)
from .records import compare

__all__ = ["LayerCase", "NetCase", "LAYER_CASES", "NET_CASES", "conv_case", "pool_case",
           "avgpool_case", "adaptive_avgpool_case", "linear_case", "softmax_loss_case", "simple_convnet_case",
           "conv_reduction", "overlap_reduction", "adaptive_window", "linear_reduction",
           "draw_conv_config", "draw_pool_config", "draw_avgpool_config", "make_input", "case_by_id", "lenet5_case", "alexnet_case",
           "torchvision_alexnet_case", "torchvision_alexnet", "reference_from_torchvision",
           "alexnet_plan", "reference_views_of", "full_size", "full_size_cases", "deep_convnet_case", "deep_convnet_plan"]


# ------------------------------------------------------------------------------------------
# Inputs
# ------------------------------------------------------------------------------------------

INPUT_KINDS = ("normal", "ties", "equal", "negative", "relu", "nan", "extreme")


def make_input(rng: np.random.Generator, shape, dtype, kind: str = "normal") -> np.ndarray:
    """Test inputs. ``kind``:
    normal   standard normal;
    ties     values in {−1, 0, 1}: many equal maxima inside pooling windows;
    equal    every value the same (each window is one big tie);
    negative all < 0 (a max-pool padded with 0 instead of −inf would return 0);
    relu     ReLU of normal: about half exact zeros, ties at 0 as after a ReLU layer;
    nan      standard normal with one NaN in each (n, c) plane of a 4-D input (its centre), so
             that NaN must propagate (max pooling: NaN is the maximum of its windows);
    extreme  standard normal × 1000: exp() of such values overflows in float64 (> 709) and
             float32 (> 88), so a log-sum-exp without the max shift turns into inf/NaN.
    """
    if kind == "nan":
        x = rng.standard_normal(shape)
        x[(..., shape[-2] // 2, shape[-1] // 2) if len(shape) >= 2 else (shape[-1] // 2,)] = np.nan
        return np.ascontiguousarray(x, dtype=dtype)
    if kind == "extreme":
        return np.ascontiguousarray(1000.0 * rng.standard_normal(shape), dtype=dtype)
    if kind == "normal":
        x = rng.standard_normal(shape)
    elif kind == "ties":
        x = rng.integers(-1, 2, size=shape).astype(np.float64)
    elif kind == "equal":
        x = np.full(shape, 0.5)
    elif kind == "negative":
        x = -1.0 - np.abs(rng.standard_normal(shape))
    elif kind == "relu":
        x = np.maximum(rng.standard_normal(shape), 0.0)
    else:
        raise ValueError(f"input kind must be one of {INPUT_KINDS}, got {kind!r}")
    return np.ascontiguousarray(x, dtype=dtype)


def _normal(rng, shape, dtype, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(dtype)


# ------------------------------------------------------------------------------------------
# Layer cases
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LayerCase:
    """One parity case: a reference layer and its torch twin, sharing weights.

    build(rng, dtype) -> (ref_layer, torch_module); the module's ``book_params`` names the
        reference attributes (``W`` -> ``ref.W`` and ``ref.dW``) that are compared.
    inputs(rng, dtype) -> dict with ``x`` (differentiated) and optional ``t`` (labels).
    forward(ref, module, inputs, x_torch) -> (ref output, torch output); the default calls
        ``ref.forward(x)`` and ``module(x_torch)``.
    reduction: the longest sum inside forward or backward (sets the tolerance).
    extra(ref, module, inputs, x_torch, tol) -> more records, after backward (e.g. max pooling's
        indices, the gradient of probability targets).
    """

    layer: str
    config: dict
    build: Callable
    inputs: Callable
    reduction: int = 1
    forward: Callable | None = None
    tol_factor: float = 16.0
    notes: str = ""
    tags: tuple = field(default_factory=tuple)
    extra: Callable | None = None

    @property
    def id(self) -> str:
        """A short, stable, unique name, e.g. ``Convolution[N2 C3 9x7 FN4 3x3 s1 p1]``."""
        return f"{self.layer}[{' '.join(f'{k}={v}' for k, v in self.config.items())}]"


def _twin(module, params: dict, dtype) -> torch.nn.Module:
    module = module.to(torch_impl.as_torch_dtype(dtype))
    return load_params(module, params) if params else module


def _options(**given) -> dict:
    """The options (name: (value, default)) that differ from their default: they join a case's
    config, so the ids of cases without them stay what they were."""
    return {k: v for k, (v, default) in given.items() if v != default}


# The longest sum inside a layer (the k of ``reduction_tolerance``), one rule per layer kind, shared
# by the cases below and the OpInfo corpus (``reports.parity.opinfo``).

def conv_reduction(c_per_group, FH, FW, n_positions, fn_per_group) -> int:
    """A convolution: forward C/G·FH·FW, dW over the N·OH·OW positions, dx FN/G·FH·FW."""
    return max(c_per_group * FH * FW, n_positions, fn_per_group * FH * FW)


def overlap_reduction(kh, kw, sh, sw) -> int:
    """Pooling and fold: how many windows overlap one pixel (the gradients col2im adds there)."""
    return -(-kh // sh) * -(-kw // sw)


def adaptive_window(H, W, oh, ow) -> int:
    """Adaptive average pooling: a bound on its largest window (torch's start/end rule)."""
    return (-(-H // oh) + 1) * (-(-W // ow) + 1)


def linear_reduction(D, rows, M) -> int:
    """A Linear/Affine layer: forward over D inputs, dW over the rows, dx over the M outputs."""
    return max(D, rows, M)


def _pair(v) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def conv_case(N=2, C=3, H=9, W=7, FN=4, FH=3, FW=3, stride=1, pad=1, kind="normal", strict=False, *,
              groups=1, dilation=1, bias=True, method="fast"):
    """Convolution(W (FN, C/groups, FH, FW), b (FN,) or None, stride, pad, groups, dilation) vs
    nn.Conv2d. stride, pad, dilation: an int or an (h, w) pair; pad also "same" or "valid".
    ``method="book"`` runs the reference's im2col/col2im path instead of the fast path."""
    config = dict(N=N, C=C, H=H, W=W, FN=FN, FH=FH, FW=FW, stride=stride, pad=pad, kind=kind,
                  **_options(groups=(groups, 1), dilation=(dilation, 1), bias=(bias, True),
                             method=(method, "fast")))

    def build(rng, dtype):
        params = {"W": _normal(rng, (FN, C // groups, FH, FW), dtype, 1 / np.sqrt(C // groups * FH * FW))}
        if bias:
            params["b"] = _normal(rng, (FN,), dtype)
        ref = R.Convolution(params["W"], params.get("b"), stride, pad, strict=strict, method=method,
                            groups=groups, dilation=dilation)
        twin = T.convolution(FN, C, FH, FW, stride=stride, pad=pad, dtype=dtype, groups=groups,
                             dilation=dilation, bias=bias)
        return ref, _twin(twin, params, dtype)

    if pad == "same":
        oh, ow = H, W
    else:
        (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(0 if pad == "valid" else pad), _pair(dilation)
        oh, ow = R.conv_output_size(H, FH, sh, ph, dilation=dh), R.conv_output_size(W, FW, sw, pw, dilation=dw)
    reduction = conv_reduction(C // groups, FH, FW, N * oh * ow, FN // groups)
    return LayerCase("Convolution", config, build,
                     lambda rng, dtype: {"x": make_input(rng, (N, C, H, W), dtype, kind)}, reduction)


def pool_case(N=2, C=3, H=8, W=8, ph=2, pw=2, stride=2, pad=0, kind="normal", *, dilation=1,
              ceil_mode=False, method="fast"):
    """Pooling (max) vs nn.MaxPool2d; padding is −inf in both. Also compares ``flat_indices()``
    with torch's ``return_indices=True`` (exactly)."""
    config = dict(N=N, C=C, H=H, W=W, ph=ph, pw=pw, stride=stride, pad=pad, kind=kind,
                  **_options(dilation=(dilation, 1), ceil_mode=(ceil_mode, False), method=(method, "fast")))

    def build(rng, dtype):
        return (R.Pooling(ph, pw, stride, pad, method=method, dilation=dilation, ceil_mode=ceil_mode),
                T.pooling(ph, pw, stride=stride, pad=pad, dilation=dilation, ceil_mode=ceil_mode))

    def extra(ref, module, inputs, x_t, tol):
        with torch.no_grad():
            _, indices = F.max_pool2d(x_t, (ph, pw), stride, pad, dilation, ceil_mode, return_indices=True)
        # exact (integers, equal or not), recorded under the case's dtype
        return [compare("Pooling", "indices", ref.flat_indices(), indices, 0.0, config=config,
                        dtype=inputs["x"].dtype)]

    # max is exact; the only sums are overlapping windows adding gradients in col2im
    (sh, sw) = _pair(stride)
    reduction = overlap_reduction(ph, pw, sh, sw)
    return LayerCase("Pooling", config, build,
                     lambda rng, dtype: {"x": make_input(rng, (N, C, H, W), dtype, kind)}, reduction,
                     extra=extra)


def avgpool_case(N=2, C=3, H=8, W=8, ph=2, pw=2, stride=2, pad=0, count_include_pad=True,
                 kind="normal", *, ceil_mode=False, divisor_override=None, method="fast"):
    """AvgPooling vs nn.AvgPool2d, in either count_include_pad convention."""
    config = dict(N=N, C=C, H=H, W=W, ph=ph, pw=pw, stride=stride, pad=pad,
                  count_include_pad=count_include_pad, kind=kind,
                  **_options(ceil_mode=(ceil_mode, False), divisor_override=(divisor_override, None),
                             method=(method, "fast")))

    def build(rng, dtype):
        return (R.AvgPooling(ph, pw, stride, pad, count_include_pad=count_include_pad, method=method,
                             ceil_mode=ceil_mode, divisor_override=divisor_override),
                T.avg_pooling(ph, pw, stride=stride, pad=pad, count_include_pad=count_include_pad,
                              ceil_mode=ceil_mode, divisor_override=divisor_override))

    return LayerCase("AvgPooling", config, build,
                     lambda rng, dtype: {"x": make_input(rng, (N, C, H, W), dtype, kind)}, ph * pw)


def adaptive_avgpool_case(N=2, C=3, H=8, W=8, output_size=(5, 7), kind="normal"):
    """AdaptiveAvgPooling(output_size) vs nn.AdaptiveAvgPool2d (torch's start/end windows)."""
    config = dict(N=N, C=C, H=H, W=W, output_size=output_size, kind=kind)
    oh, ow = (H if s is None else s for s in _pair(output_size))
    window = adaptive_window(H, W, oh, ow)
    return LayerCase("AdaptiveAvgPooling", config,
                     lambda rng, dtype: (R.AdaptiveAvgPooling(output_size), T.adaptive_avg_pooling(output_size)),
                     lambda rng, dtype: {"x": make_input(rng, (N, C, H, W), dtype, kind)}, window)


def affine_case(N=4, shape=(3, 5, 5), M=7):
    """Affine (W (in, out), input flattened) vs nn.Flatten + nn.Linear (weight (out, in))."""
    D = int(np.prod(shape))
    config = dict(N=N, x=("×".join(map(str, shape))), M=M)

    def build(rng, dtype):
        params = {"W": _normal(rng, (D, M), dtype, 1 / np.sqrt(D)), "b": _normal(rng, (M,), dtype)}
        return R.Affine(params["W"], params["b"]), _twin(T.affine(D, M, dtype=dtype), params, dtype)

    return LayerCase("Affine", config, build,
                     lambda rng, dtype: {"x": make_input(rng, (N, *shape), dtype)}, max(D, N, M))


def linear_case(shape=(2, 3, 4), M=5, bias=True):
    """Linear (W (in, out), on the last axis of x shaped ``shape``) vs nn.Linear."""
    D, rows = shape[-1], int(np.prod(shape[:-1]))
    config = dict(x="×".join(map(str, shape)), M=M, **_options(bias=(bias, True)))

    def build(rng, dtype):
        params = {"W": _normal(rng, (D, M), dtype, 1 / np.sqrt(max(D, 1)))}
        if bias:
            params["b"] = _normal(rng, (M,), dtype)
        return R.Linear(params["W"], params.get("b")), _twin(T.linear(D, M, bias, dtype=dtype), params, dtype)

    return LayerCase("Linear", config, build,
                     lambda rng, dtype: {"x": make_input(rng, shape, dtype)}, linear_reduction(D, rows, M))


def elementwise_case(layer: str, shape=(2, 3, 4, 5), scale=3.0, kind="normal"):
    """Relu / Sigmoid vs nn.ReLU / nn.Sigmoid (kind="ties" puts exact zeros on the ReLU kink)."""
    ref_cls = {"Relu": R.Relu, "Sigmoid": R.Sigmoid}[layer]
    twin = {"Relu": T.relu, "Sigmoid": T.sigmoid}[layer]
    config = dict(shape="×".join(map(str, shape)), scale=scale, kind=kind)
    return LayerCase(layer, config, lambda rng, dtype: (ref_cls(), twin()),
                     lambda rng, dtype: {"x": scale * make_input(rng, shape, dtype, kind)}, 1)


def softmax_loss_case(N=8, C=10, one_hot=False, scale=3.0, *, reduction="mean", weight=False,
                      ignore_index=None, probabilities=False, kind="normal"):
    """SoftmaxWithLoss vs nn.CrossEntropyLoss (by default the mean over the batch).

    ``weight=True``: random class weights in [0.5, 2); ``ignore_index``: that class is left out
    (some labels are set to it); ``probabilities=True``: targets are random probability rows,
    whose gradient (``dt``) is compared too; ``reduction``: "mean", "sum" or "none"; ``kind``
    (see :func:`make_input`): "extreme" gives scores whose exp() overflows.
    """
    labels = "probabilities" if probabilities else "one-hot" if one_hot else "indices"
    config = dict(N=N, C=C, labels=labels, scale=scale,
                  **_options(reduction=(reduction, "mean"), weight=(weight, False),
                             ignore_index=(ignore_index, None), kind=(kind, "normal")))
    targets = {}                                   # the torch target of the last forward

    def build(rng, dtype):
        w = rng.uniform(0.5, 2.0, size=C).astype(dtype) if weight else None
        options = dict(reduction=reduction, weight=w)
        if ignore_index is not None:
            options["ignore_index"] = ignore_index
        return R.SoftmaxWithLoss(**options), T.softmax_with_loss(**options)

    def inputs(rng, dtype):
        if kind == "normal":
            x = _normal(rng, (N, C), dtype, scale)
        else:
            x = (scale * make_input(rng, (N, C), np.float64, kind)).astype(dtype)
        t = rng.integers(0, C, size=N)
        if ignore_index is not None:
            t[::3] = ignore_index                  # every third sample is left out
        if one_hot:
            t = np.eye(C, dtype=dtype)[t]
        if probabilities:
            t = rng.dirichlet(np.ones(C), size=N).astype(dtype)
        return {"x": x, "t": t}

    def forward(ref, module, inp, x_t):
        t_t = torch.from_numpy(inp["t"]).to(x_t.device)
        if probabilities:
            t_t.requires_grad_(True)
        targets["t"] = t_t
        return ref.forward(inp["x"], inp["t"]), module(x_t, t_t)

    def extra(ref, module, inputs, x_t, tol):
        if not probabilities:
            return []
        return [compare("SoftmaxWithLoss", "dt", ref.dt, targets.pop("t").grad, tol, config=config)]

    return LayerCase("SoftmaxWithLoss", config, build, inputs, N * C, forward=forward, extra=extra)


def dropout_case(shape=(4, 6, 5, 5), p=0.5, train=True, seed=1234):
    """Dropout (inverted) vs nn.Dropout, with torch's own mask given to the reference.

    The mask is read from stock nn.Dropout itself: with the torch RNG seeded, dropout of an
    all-ones tensor shows which units survive; re-seeding makes the real call draw the same mask.
    """
    config = dict(shape="×".join(map(str, shape)), p=p, mode="train" if train else "eval")

    def build(rng, dtype):
        module = T.dropout(p)
        module.train(train)
        return R.Dropout(p, inverted=True), module

    def forward(ref, module, inp, x_t):
        if not train:
            return ref.forward(inp["x"], train_flg=False), module(x_t)
        torch.manual_seed(seed)
        mask = (module(torch.ones_like(x_t)) != 0).cpu().numpy()
        torch.manual_seed(seed)
        return ref.forward(inp["x"], train_flg=True, mask=mask), module(x_t)

    return LayerCase("Dropout", config, build, lambda rng, dtype: {"x": _normal(rng, shape, dtype)},
                     1, forward=forward)


def lrn_case(shape=(2, 7, 4, 4), size=5, alpha=1e-4, beta=0.75, k=1.0, scale=1.0):
    """LRN (torch convention: alpha divided by size) vs nn.LocalResponseNorm."""
    config = dict(shape="×".join(map(str, shape)), size=size, alpha=alpha, beta=beta, k=k, scale=scale)
    return LayerCase("LRN", config,
                     lambda rng, dtype: (R.LRN(size, alpha, beta, k), T.lrn(size, alpha, beta, k)),
                     lambda rng, dtype: {"x": _normal(rng, shape, dtype, scale)}, 2 * size)


# ------------------------------------------------------------------------------------------
# Random configurations for the property sweeps (declared once: hypothesis draws them in
# parity_tests/strategies.py, the report draws them with numpy)
# ------------------------------------------------------------------------------------------

POOL_INPUT_KINDS = ("normal", "ties", "equal", "negative", "relu")


def _per_axis(integer, choice, lo, hi):
    """An int in [lo, hi], or — one time in three — an (h, w) pair of them (PyTorch takes both)."""
    h, w = integer(lo, hi), integer(lo, hi)
    return (h, w) if choice((False, False, True)) and h != w else h


def draw_conv_config(integer, choice) -> dict:
    """A valid Convolution configuration: batch 1–4, channels 1–4, H, W 1–12 (non-square),
    stride 1–3, pad 0–2, kernel up to the padded input (non-dividing sizes included); and
    PyTorch's options, each now and then: stride, pad and dilation (1–2) per axis, pad "same"
    or "valid", groups 2 or 3 (then the channels and filters are multiples of it), no bias.

    ``integer(lo, hi)`` draws an int in [lo, hi], ``choice(seq)`` one element of ``seq``.
    """
    groups = choice((1, 1, 1, 2, 3))
    N, C, FN = integer(1, 4), groups * integer(1, max(1, 4 // groups)), groups * integer(1, max(1, 4 // groups))
    H, W = integer(1, 12), integer(1, 12)
    s, p, d = _per_axis(integer, choice, 1, 3), _per_axis(integer, choice, 0, 2), _per_axis(integer, choice, 1, 2)
    (ph, pw), (dh, dw) = _pair(p), _pair(d)
    # the (dilated) kernel fits the padded input: D·(K − 1) + 1 ≤ H + 2P
    FH, FW = integer(1, (H + 2 * ph - 1) // dh + 1), integer(1, (W + 2 * pw - 1) // dw + 1)
    mode = choice(("numbers",) * 6 + ("same", "valid"))
    if mode == "same":
        s = 1
    if mode == "valid":
        FH, FW = min(FH, (H - 1) // dh + 1), min(FW, (W - 1) // dw + 1)
    kind = choice(("normal", "ties"))
    config = dict(N=N, C=C, H=H, W=W, FN=FN, FH=FH, FW=FW, stride=s, pad=p if mode == "numbers" else mode,
                  kind=kind)
    return {**config, **_options(groups=(groups, 1), dilation=(d, 1), bias=(choice((True, True, False)), True))}


def _pool_window(integer, size, pad, dilation):
    """(window, pad) along one axis: the (dilated) window fits the padded input, and the pad is
    at most half the window (PyTorch's rule) — the pad shrinks when both cannot hold."""
    while pad and 2 * pad > (size + 2 * pad - 1) // dilation + 1:
        pad -= 1
    return integer(max(1, 2 * pad), min(6, (size + 2 * pad - 1) // dilation + 1)), pad


def draw_pool_config(integer, choice, kinds=POOL_INPUT_KINDS, dilation=True) -> dict:
    """A valid pooling configuration: pad ≤ half the window (PyTorch's rule), the window
    inside the padded input; input kinds include ties, all-equal and all-negative inputs; and
    PyTorch's options now and then: stride and pad per axis, ``ceil_mode``, and (max pooling,
    ``dilation=True``) a dilation of 1–2 per axis."""
    N, C = integer(1, 4), integer(1, 4)
    H, W = integer(1, 12), integer(1, 12)
    s, d = _per_axis(integer, choice, 1, 3), _per_axis(integer, choice, 1, 2) if dilation else 1
    (sh, sw), (dh, dw) = _pair(s), _pair(d)
    ph, pad_h = _pool_window(integer, H, integer(0, 2), dh)
    pw, pad_w = _pool_window(integer, W, integer(0, 2), dw)
    p = (pad_h, pad_w) if pad_h != pad_w else pad_h
    kind, ceil_mode = choice(kinds), choice((False, False, True))
    # a dilated window can step over a small input entirely: torch's max pooling then corrupts
    # memory in backward (see the catalog) — such an axis is drawn without dilation
    dh, dw = (dil if (R.util.first_inside(size, R.conv_output_size(size, k, st, pd, dilation=dil, ceil_mode=ceil_mode),
                                          k, st, pd, dil) >= 0).all() else 1
              for size, k, st, pd, dil in ((H, ph, sh, pad_h, dh), (W, pw, sw, pad_w, dw)))
    d = (dh, dw) if dh != dw else dh
    config = dict(N=N, C=C, H=H, W=W, ph=ph, pw=pw, stride=s, pad=p, kind=kind)
    return {**config, **_options(dilation=(d, 1), ceil_mode=(ceil_mode, False))}


def draw_avgpool_config(integer, choice) -> dict:
    """An average-pooling configuration: :func:`draw_pool_config` without dilation (average
    pooling has none), normal inputs, either ``count_include_pad``, and now and then a
    ``divisor_override`` (PyTorch allows any nonzero int, negative ones too)."""
    config = draw_pool_config(integer, choice, kinds=("normal",), dilation=False)
    config["count_include_pad"] = choice((True, False))
    divisor = choice((None, None, None, 3, -2))
    return {**config, **_options(divisor_override=(divisor, None))}


LAYER_CASES: list[LayerCase] = [
    conv_case(),                                                        # pad 1, non-square
    conv_case(N=2, C=2, H=11, W=10, FN=3, FH=5, FW=3, stride=2, pad=0),   # non-dividing, floor
    conv_case(N=4, C=1, H=28, W=28, FN=30, FH=5, FW=5, stride=1, pad=0),  # SimpleConvNet's conv
    conv_case(N=1, C=3, H=12, W=12, FN=2, FH=4, FW=4, stride=3, pad=2),
    conv_case(N=2, C=3, H=35, W=31, FN=4, FH=11, FW=11, stride=4, pad=0),  # AlexNet's Conv1: 11×11, stride 4
    pool_case(),                                                        # 2×2 stride 2
    pool_case(H=9, W=7, ph=3, pw=3, stride=2, pad=1),                   # overlapping, padded
    pool_case(H=6, W=6, ph=3, pw=3, stride=2, pad=1, kind="negative"),  # padding must act as −inf
    pool_case(H=6, W=6, ph=2, pw=2, stride=1, pad=0, kind="ties"),      # ties: first maximum
    pool_case(H=4, W=4, ph=2, pw=2, stride=2, pad=1, kind="relu"),      # ReLU zeros, padded
    avgpool_case(),
    avgpool_case(H=7, W=7, ph=3, pw=3, stride=2, pad=1, count_include_pad=True),
    avgpool_case(H=7, W=7, ph=3, pw=3, stride=2, pad=1, count_include_pad=False),
    elementwise_case("Relu"),
    elementwise_case("Relu", kind="ties"),                              # gradient at exactly 0 is 0
    elementwise_case("Sigmoid", scale=8.0),
    affine_case(),
    affine_case(N=5, shape=(20,), M=3),
    softmax_loss_case(),
    softmax_loss_case(one_hot=True),
    softmax_loss_case(N=4, C=5, scale=40.0),                            # extreme scores: log-sum-exp
    dropout_case(),
    dropout_case(p=0.2, train=False),
    lrn_case(),
    lrn_case(shape=(2, 6, 3, 3), size=4, alpha=2.0, beta=0.75, k=2.0),   # even size: asymmetric window
]

# PyTorch's options beyond the book (issue 12; the OpInfo corpus, reports.parity.opinfo, runs
# PyTorch's own samples of the same options). Empty batches (N = 0) work everywhere, as in torch.
LAYER_CASES += [
    conv_case(N=2, C=4, H=8, W=8, FN=2, FH=3, FW=3, stride=(3, 2), pad=(2, 1), groups=2, dilation=(4, 4)),
    conv_case(N=2, C=4, H=6, W=6, FN=8, FH=3, FW=3, stride=1, pad=1, groups=4),   # depthwise, 2 per channel
    conv_case(N=2, C=3, H=6, W=5, FN=3, FH=3, FW=2, stride=(2, 1), pad=(1, 0), groups=3, bias=False),
    conv_case(N=1, C=4, H=5, W=5, FN=2, FH=2, FW=3, stride=1, pad="same", dilation=3),  # odd pad: extra at the end
    conv_case(N=2, C=2, H=7, W=6, FN=3, FH=2, FW=3, stride=2, pad="valid", dilation=(2, 1)),
    conv_case(N=0, C=3, H=5, W=5, FN=2, FH=3, FW=3, stride=1, pad=1),
    pool_case(N=2, C=2, H=6, W=6, ph=3, pw=2, stride=(2, 1), pad=1, dilation=(1, 2), ceil_mode=True),
    pool_case(N=1, C=2, H=3, W=6, ph=3, pw=3, stride=2, pad=(1, 1), ceil_mode=True),
    pool_case(N=2, C=2, H=3, W=5, ph=2, pw=2, stride=2, pad=1, ceil_mode=True, kind="negative"),  # last window dropped
    pool_case(N=0, C=2, H=6, W=6, ph=2, pw=2, stride=2, pad=0),
    avgpool_case(N=1, C=3, H=9, W=9, ph=6, pw=6, stride=3, pad=(2, 3), ceil_mode=True, divisor_override=2),
    avgpool_case(H=7, W=7, ph=3, pw=3, stride=2, pad=1, ceil_mode=True),       # the overhang does not count
    avgpool_case(H=7, W=7, ph=3, pw=3, stride=2, pad=1, count_include_pad=False, ceil_mode=True),
    avgpool_case(N=1, C=1, H=4, W=4, ph=2, pw=2, stride=2, count_include_pad=False, divisor_override=-2),
    adaptive_avgpool_case(),
    adaptive_avgpool_case(H=13, W=13, output_size=6),                    # torchvision's AlexNet: overlapping
    adaptive_avgpool_case(N=2, C=2, H=4, W=3, output_size=5),            # larger than the input
    adaptive_avgpool_case(N=0, output_size=(None, 3)),
    affine_case(N=0, shape=(3, 2, 2), M=4),
    linear_case(),
    linear_case(shape=(7,), M=3, bias=False),                            # no batch axis
    linear_case(shape=(0, 3), M=4),
    linear_case(shape=(3, 4, 0), M=5),                                   # no input features: out = b
    softmax_loss_case(N=6, C=4, reduction="sum"),
    softmax_loss_case(N=6, C=4, reduction="none"),
    softmax_loss_case(N=6, C=4, weight=True, ignore_index=1),            # weighted mean over kept targets
    softmax_loss_case(N=6, C=4, probabilities=True, weight=True),        # mean over N, not Σw
    softmax_loss_case(N=6, C=4, probabilities=True, reduction="none"),
    softmax_loss_case(N=0, C=4),                                         # 0/0: NaN in both
    lrn_case(shape=(0, 1, 2), size=1),
    elementwise_case("Sigmoid", shape=(1, 0, 3)),
]


# Cases added so that every bug of the bug zoo (``reports.parity.bugs``) is caught: each reaches
# a code path, or an input, that the cases above do not.
LAYER_CASES += [
    # the book's im2col/col2im path, with overlapping windows (col2im must add) and padding
    conv_case(method="book"),
    pool_case(H=9, W=7, ph=3, pw=3, stride=2, pad=1, method="book"),
    avgpool_case(H=7, W=7, ph=3, pw=3, stride=2, pad=1, count_include_pad=False, method="book"),
    # a large input: the fast convolution goes through it a few images at a time (more than
    # CHUNK_BYTES = 16 MiB of windows: 2 blocks in float32, 3 in float64). Tagged "large":
    # the fast-vs-book tests leave it out (the book's path on it costs seconds)
    replace(conv_case(N=6, C=8, H=64, W=64, FN=2, FH=5, FW=5, stride=1, pad=2), tags=("large",)),
    # NaN must propagate through max pooling (one NaN per channel image)
    pool_case(H=6, W=6, ph=2, pw=2, stride=2, pad=0, kind="nan"),
    # scores whose exp() overflows: a log-sum-exp without the max shift gives inf/NaN
    softmax_loss_case(N=4, C=5, scale=1.0, kind="extreme"),
]


def case_by_id(case_id: str):
    """Look a case up by its id (as shown in reports and test names)."""
    for case in LAYER_CASES + NET_CASES:
        if case.id == case_id:
            return case
    raise KeyError(f"no parity case {case_id!r}; known: {[c.id for c in LAYER_CASES + NET_CASES]}")
