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
from torch_impl.alexnet import TORCHVISION_BOOK_PARAMS
from torch_impl.transfer import export_params, load_params

from .records import compare

__all__ = ["LayerCase", "NetCase", "LAYER_CASES", "NET_CASES", "conv_case", "pool_case",
           "avgpool_case", "make_input", "case_by_id", "lenet5_case", "alexnet_case",
           "torchvision_alexnet_case", "torchvision_alexnet", "reference_from_torchvision",
           "alexnet_plan"]


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
             that NaN must propagate (max pooling: NaN is the maximum of its windows). One per
             plane: with two NaNs in one max-pool window torch sends the gradient to the last
             of them and the reference to the first, a known difference not tested here;
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

    @property
    def id(self) -> str:
        """A short, stable, unique name, e.g. ``Convolution[N2 C3 9x7 FN4 3x3 s1 p1]``."""
        return f"{self.layer}[{' '.join(f'{k}={v}' for k, v in self.config.items())}]"


def _twin(module, params: dict, dtype) -> torch.nn.Module:
    module = module.to(torch_impl.as_torch_dtype(dtype))
    return load_params(module, params) if params else module


def _with_method(config: dict, method: str) -> dict:
    """The case's configuration; ``method`` is named only when it is not the default "fast"
    (so the ids of the fast-path cases stay what they were)."""
    return config if method == "fast" else {**config, "method": method}


def conv_case(N=2, C=3, H=9, W=7, FN=4, FH=3, FW=3, stride=1, pad=1, kind="normal", strict=False,
              method="fast"):
    """Convolution(W (FN, C, FH, FW), b (FN,), stride, pad) vs nn.Conv2d; ``method="book"``
    runs the reference's im2col/col2im path instead of the fast path."""
    config = _with_method(dict(N=N, C=C, H=H, W=W, FN=FN, FH=FH, FW=FW, stride=stride, pad=pad,
                               kind=kind), method)

    def build(rng, dtype):
        params = {"W": _normal(rng, (FN, C, FH, FW), dtype, 1 / np.sqrt(C * FH * FW)),
                  "b": _normal(rng, (FN,), dtype)}
        ref = R.Convolution(params["W"], params["b"], stride, pad, strict=strict, method=method)
        twin = T.convolution(FN, C, FH, FW, stride=stride, pad=pad, dtype=dtype)
        return ref, _twin(twin, params, dtype)

    oh = (H + 2 * pad - FH) // stride + 1
    ow = (W + 2 * pad - FW) // stride + 1
    reduction = max(C * FH * FW, N * max(oh, 1) * max(ow, 1), FN * FH * FW)
    return LayerCase("Convolution", config, build,
                     lambda rng, dtype: {"x": make_input(rng, (N, C, H, W), dtype, kind)}, reduction)


def pool_case(N=2, C=3, H=8, W=8, ph=2, pw=2, stride=2, pad=0, kind="normal", method="fast"):
    """Pooling (max) vs nn.MaxPool2d; padding is −inf in both."""
    config = _with_method(dict(N=N, C=C, H=H, W=W, ph=ph, pw=pw, stride=stride, pad=pad, kind=kind),
                          method)

    def build(rng, dtype):
        return R.Pooling(ph, pw, stride, pad, method=method), T.pooling(ph, pw, stride=stride, pad=pad)

    # max is exact; the only sums are overlapping windows adding gradients in col2im
    reduction = -(-ph // stride) * -(-pw // stride)
    return LayerCase("Pooling", config, build,
                     lambda rng, dtype: {"x": make_input(rng, (N, C, H, W), dtype, kind)}, reduction)


def avgpool_case(N=2, C=3, H=8, W=8, ph=2, pw=2, stride=2, pad=0, count_include_pad=True,
                 kind="normal", method="fast"):
    """AvgPooling vs nn.AvgPool2d, in either count_include_pad convention."""
    config = _with_method(dict(N=N, C=C, H=H, W=W, ph=ph, pw=pw, stride=stride, pad=pad,
                               count_include_pad=count_include_pad, kind=kind), method)

    def build(rng, dtype):
        return (R.AvgPooling(ph, pw, stride, pad, count_include_pad=count_include_pad, method=method),
                T.avg_pooling(ph, pw, stride=stride, pad=pad, count_include_pad=count_include_pad))

    return LayerCase("AvgPooling", config, build,
                     lambda rng, dtype: {"x": make_input(rng, (N, C, H, W), dtype, kind)}, ph * pw)


def affine_case(N=4, shape=(3, 5, 5), M=7):
    """Affine (W (in, out), input flattened) vs nn.Flatten + nn.Linear (weight (out, in))."""
    D = int(np.prod(shape))
    config = dict(N=N, x=("×".join(map(str, shape))), M=M)

    def build(rng, dtype):
        params = {"W": _normal(rng, (D, M), dtype, 1 / np.sqrt(D)), "b": _normal(rng, (M,), dtype)}
        return R.Affine(params["W"], params["b"]), _twin(T.affine(D, M, dtype=dtype), params, dtype)

    return LayerCase("Affine", config, build,
                     lambda rng, dtype: {"x": make_input(rng, (N, *shape), dtype)}, max(D, N, M))


def elementwise_case(layer: str, shape=(2, 3, 4, 5), scale=3.0, kind="normal"):
    """Relu / Sigmoid vs nn.ReLU / nn.Sigmoid (kind="ties" puts exact zeros on the ReLU kink)."""
    ref_cls = {"Relu": R.Relu, "Sigmoid": R.Sigmoid}[layer]
    twin = {"Relu": T.relu, "Sigmoid": T.sigmoid}[layer]
    config = dict(shape="×".join(map(str, shape)), scale=scale, kind=kind)
    return LayerCase(layer, config, lambda rng, dtype: (ref_cls(), twin()),
                     lambda rng, dtype: {"x": scale * make_input(rng, shape, dtype, kind)}, 1)


def softmax_loss_case(N=8, C=10, one_hot=False, scale=3.0, kind="normal"):
    """SoftmaxWithLoss vs nn.CrossEntropyLoss (mean over the batch). ``kind`` (see
    :func:`make_input`; named in the configuration when not "normal"): "extreme" gives scores
    whose exp() overflows."""
    config = dict(N=N, C=C, labels="one-hot" if one_hot else "indices", scale=scale)
    if kind != "normal":
        config["kind"] = kind

    def inputs(rng, dtype):
        if kind == "normal":
            x = _normal(rng, (N, C), dtype, scale)
        else:
            x = (scale * make_input(rng, (N, C), np.float64, kind)).astype(dtype)
        t = rng.integers(0, C, size=N)
        if one_hot:
            t = np.eye(C, dtype=dtype)[t]
        return {"x": x, "t": t}

    def forward(ref, module, inp, x_t):
        return ref.forward(inp["x"], inp["t"]), module(x_t, torch.from_numpy(inp["t"]).to(x_t.device))

    return LayerCase("SoftmaxWithLoss", config, lambda rng, dtype: (R.SoftmaxWithLoss(), T.softmax_with_loss()),
                     inputs, N * C, forward=forward)


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


def draw_conv_config(integer, choice) -> dict:
    """A valid Convolution configuration: batch 1–4, channels 1–4, H, W 1–12 (non-square),
    stride 1–3, pad 0–2, kernel up to the padded input (non-dividing sizes included).

    ``integer(lo, hi)`` draws an int in [lo, hi], ``choice(seq)`` one element of ``seq``.
    """
    N, C, FN = integer(1, 4), integer(1, 4), integer(1, 4)
    H, W, s, p = integer(1, 12), integer(1, 12), integer(1, 3), integer(0, 2)
    FH, FW = integer(1, H + 2 * p), integer(1, W + 2 * p)
    kind = choice(("normal", "ties"))
    return dict(N=N, C=C, H=H, W=W, FN=FN, FH=FH, FW=FW, stride=s, pad=p, kind=kind)


def draw_pool_config(integer, choice, kinds=POOL_INPUT_KINDS) -> dict:
    """A valid pooling configuration: pad ≤ half the window (PyTorch's rule), the window
    inside the padded input; input kinds include ties, all-equal and all-negative inputs."""
    N, C = integer(1, 4), integer(1, 4)
    H, W, s = integer(1, 12), integer(1, 12), integer(1, 3)
    ph, pw = integer(1, min(H + 4, 6)), integer(1, min(W + 4, 6))
    p = integer(0, min(2, ph // 2, pw // 2))
    ph, pw = min(ph, H + 2 * p), min(pw, W + 2 * p)      # keep the window inside the padded input
    p = min(p, ph // 2, pw // 2)
    kind = choice(kinds)
    return dict(N=N, C=C, H=H, W=W, ph=ph, pw=pw, stride=s, pad=p, kind=kind)


LAYER_CASES: list[LayerCase] = [
    conv_case(),                                                        # pad 1, non-square
    conv_case(N=2, C=2, H=11, W=10, FN=3, FH=5, FW=3, stride=2, pad=0),   # non-dividing, floor
    conv_case(N=4, C=1, H=28, W=28, FN=30, FH=5, FW=5, stride=1, pad=0),  # SimpleConvNet's conv
    conv_case(N=1, C=3, H=12, W=12, FN=2, FH=4, FW=4, stride=3, pad=2),
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


# ------------------------------------------------------------------------------------------
# Network cases
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NetCase:
    """A whole network: the reference net and its torch twin with the same weights.

    build(rng, dtype) -> (ref_net, torch_net); inputs(rng, dtype) -> {"x", "t"} and, for nets
    with dropout in training mode, "masks" ({"Dropout1": bool (N, D), ...}, given to both).
    The nets' layer names match (``ref.layers`` keys are torch child names).
    mode: "train" (dropout with the given masks) or "eval" (dropout off in both).
    gradcheck: coordinates per parameter array for a float64 central-difference spot check of
        the reference's backprop (0: none).
    extra(ref, net, inputs, dtype, tol) -> more records (e.g. torchvision's own forward).
    slow_dtypes: dtypes in which the case belongs to the slow test tier (``pytest -m slow``);
        ``cnn-parity parity`` runs every case in every dtype.
    """

    net: str
    config: dict
    build: Callable
    inputs: Callable
    reduction: int
    tol_factor: float = 16.0
    mode: str = "train"
    gradcheck: int = 0
    extra: Callable | None = None
    slow_dtypes: tuple = ()

    @property
    def id(self) -> str:
        return f"{self.net}[{' '.join(f'{k}={v}' for k, v in self.config.items())}]"


def simple_convnet_case(N=4, input_dim=(1, 28, 28), filter_num=30, filter_size=5, pad=0, stride=1,
                        hidden_size=100, weight_init_std=0.1):
    """SimpleConvNet (reference) vs torch_impl.SimpleConvNet, weights moved by load_params.

    A larger init std than the book's 0.01 (default 0.1) keeps the activations away from
    the ReLU kink at 0, so gradients are O(1) and errors are measured at a meaningful scale.
    """
    conv_param = dict(filter_num=filter_num, filter_size=filter_size, pad=pad, stride=stride)
    config = dict(N=N, input_dim="×".join(map(str, input_dim)), **conv_param, hidden=hidden_size)

    def build(rng, dtype):
        ref = R.SimpleConvNet(input_dim, conv_param, hidden_size, 10, weight_init_std, dtype=dtype, rng=rng)
        for key in ("b1", "b2", "b3"):   # non-zero biases, so the bias paths are exercised
            ref.params[key][...] = 0.1 * rng.standard_normal(ref.params[key].shape)
        twin = torch_impl.SimpleConvNet(input_dim, conv_param, hidden_size, 10, dtype=dtype)
        return ref, load_params(twin, ref.params)

    def inputs(rng, dtype):
        return {"x": rng.random((N, *input_dim)).astype(dtype), "t": rng.integers(0, 10, size=N)}

    C, H, W = input_dim
    oh = (H + 2 * pad - filter_size) // stride + 1
    ow = (W + 2 * pad - filter_size) // stride + 1
    reduction = max(N * oh * ow, C * filter_size ** 2, filter_num * (oh // 2) * (ow // 2), hidden_size)
    return NetCase("SimpleConvNet", config, build, inputs, reduction)


NET_CASES: list[NetCase] = [
    simple_convnet_case(),
    simple_convnet_case(N=3, filter_size=4, pad=1, stride=1, filter_num=8, hidden_size=20),  # odd conv output
    simple_convnet_case(N=2, input_dim=(3, 17, 13), filter_num=6, filter_size=3, pad=0, stride=2, hidden_size=16),
]


# ------------------------------------------------------------------------------------------
# LeNet-5 and AlexNet (the book's §7.7)
# ------------------------------------------------------------------------------------------

def _random_biases(ref, rng, scale=0.1):
    """Non-zero biases (the nets start with zero biases, as the book), so every bias path counts."""
    for key, value in ref.params.items():
        if key.startswith("b"):
            value[...] = scale * rng.standard_normal(value.shape)


def lenet5_case(N=4, c3_table=False, input_dim=(1, 28, 28), pad=2):
    """LeNet-5 (sigmoid, average pooling) vs torch_impl.LeNet5, weights moved by load_params.

    ``c3_table=True``: the paper's partial C3 connections, a PartialConvolution in the reference
    and a parametrized (masked) nn.Conv2d weight in torch (test_lenet_alexnet.py also checks that
    dW2 is exactly 0 off the table in both).
    """
    config = dict(N=N, input_dim="×".join(map(str, input_dim)), c3_table=c3_table)

    def build(rng, dtype):
        ref = R.LeNet5(input_dim, pad, 10, c3_table=c3_table, dtype=dtype, rng=rng)
        _random_biases(ref, rng)
        twin = torch_impl.LeNet5(input_dim, pad, 10, c3_table=c3_table, weight_init_std=0.0,
                                 dtype=dtype)
        return ref, load_params(twin, ref.params)

    def inputs(rng, dtype):
        return {"x": rng.random((N, *input_dim)).astype(dtype), "t": rng.integers(0, 10, size=N)}

    C, H, W = input_dim
    h1 = H + 2 * pad - 4                     # C1 output side; then S2, C3, S4, C5
    h3 = h1 // 2 - 4
    h5 = h3 // 2 - 4
    reduction = max(N * h1 * h1, C * 25, 6 * 25,            # C1: dW, forward, dx
                    N * h3 * h3, 6 * 25, 16 * 25,           # C3
                    N * h5 * h5, 16 * 25, 120 * 25,         # C5
                    120 * h5 * h5, 84, N, 4)                # F6, Output, dW of affines, S2/S4
    return NetCase("LeNet5", config, build, inputs, reduction)


def alexnet_plan(N, cfg):
    """(reduction length, dropout mask shape per sample) of an AlexNet configuration."""
    c, h, w = cfg["input_dim"]
    sums = [N]                                                   # dW of the affine layers
    pool, stride = cfg["pool"]
    for i, cp in enumerate(cfg["conv_params"], start=1):
        fn, fs, pad, st = cp["filter_num"], cp["filter_size"], cp["pad"], cp["stride"]
        h, w = (h + 2 * pad - fs) // st + 1, (w + 2 * pad - fs) // st + 1
        sums += [c * fs * fs, N * h * w, fn * fs * fs]           # forward, dW, dx
        c = fn
        if i <= 2 and cfg["lrn"] is not None:
            sums.append(2 * cfg["lrn"]["size"])
        if i in (1, 2, 5):
            h, w = (h - pool) // stride + 1, (w - pool) // stride + 1
            sums.append(-(-pool // stride) ** 2)
    if cfg["adaptive_pool"]:
        sums.append((h // cfg["adaptive_pool"]) ** 2)
        h = w = cfg["adaptive_pool"]
    widths = [c * h * w, *cfg["hidden_sizes"], cfg["output_size"]]
    sums += widths + [N * cfg["output_size"]]                    # affine forward/dx, softmax
    if cfg["dropout_ratio"] is None:
        shapes = {}
    elif cfg["dropout_position"] == "after":
        shapes = {"Dropout1": (widths[1],), "Dropout2": (widths[2],)}
    else:
        shapes = {"Dropout1": (widths[0],), "Dropout2": (widths[1],)}
    return max(sums), shapes


def _alexnet_inputs(N, cfg, mode):
    _, shapes = alexnet_plan(N, cfg)

    def inputs(rng, dtype):
        x = rng.standard_normal((N, *cfg["input_dim"])).astype(dtype)
        t = rng.integers(0, cfg["output_size"], size=N)
        if mode == "eval":
            return {"x": x, "t": t}
        # One training step's dropout masks, drawn once and given to both frameworks
        # (the rule of reference.AlexNet.dropout_masks: kept where uniform > p).
        masks = {name: rng.random((N, *shape)) > cfg["dropout_ratio"] for name, shape in shapes.items()}
        return {"x": x, "t": t, "masks": masks}

    return inputs


def alexnet_case(variant="mnist", N=4, mode="train", gradcheck=0, slow_dtypes=()):
    """reference.AlexNet vs torch_impl.AlexNet in one of the configurations of ``reference.alexnet``.

    ``variant``: "paper" (3×227×227, 62 M parameters), "mnist" (the small AlexNet-style net for
    1×28×28) or "torchvision" (torchvision's layer sizes, our own twin). He-initialised weights,
    random biases, x standard normal. ``mode="train"``: dropout with masks drawn once from the
    case's Generator and given to both; ``"eval"``: dropout off. ``gradcheck``: coordinates per
    parameter array for the float64 central-difference spot check.
    """
    cfg = {"paper": R.alexnet.PAPER, "mnist": R.alexnet.MNIST, "torchvision": R.alexnet.TORCHVISION}[variant]
    config = dict(variant=variant, N=N, input_dim="×".join(map(str, cfg["input_dim"])), mode=mode)

    def build(rng, dtype):
        ref = R.AlexNet(**cfg, weight_init_std="he", dtype=dtype, rng=rng)
        _random_biases(ref, rng)
        twin = torch_impl.AlexNet(**cfg, weight_init_std=0.0, dtype=dtype)
        return ref, load_params(twin, ref.params)

    reduction, _ = alexnet_plan(N, cfg)
    return NetCase("AlexNet", config, build, _alexnet_inputs(N, cfg, mode), reduction, mode=mode,
                   gradcheck=gradcheck, slow_dtypes=tuple(slow_dtypes))


def torchvision_alexnet(seed: int, dtype="float32"):
    """``torchvision.models.alexnet(weights=None)`` — its own init, drawn under ``seed`` without
    touching torch's global RNG; never downloaded — converted to ``dtype``."""
    import torchvision              # only the torchvision comparison needs it

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = torchvision.models.alexnet(weights=None)
    return model.to(torch_impl.as_torch_dtype(dtype))


def reference_from_torchvision(model):
    """A reference AlexNet (``TORCHVISION`` configuration, the model's dtype) holding the weights
    of a torchvision AlexNet: ``export_params(model, mapping=TORCHVISION_BOOK_PARAMS)`` maps
    ``features.0.weight`` … ``classifier.6.bias`` to W1 … b8, Linear weights transposed to the
    book's (in, out)."""
    dtype = next(model.parameters()).detach().numpy().dtype
    ref = R.AlexNet(**R.alexnet.TORCHVISION, weight_init_std=0.0, dtype=dtype)
    for key, value in export_params(model, mapping=TORCHVISION_BOOK_PARAMS).items():
        ref.params[key][...] = value                 # in place: the layers hold these arrays
    return ref


def torchvision_alexnet_case(N=1, mode="train", slow_dtypes=()):
    """torchvision.models.alexnet (weights=None: its own init) vs the reference.

    The weights go *from torchvision into the reference* (:func:`reference_from_torchvision`).
    The torch side of the trace is ``torch_impl.AlexNet.from_torchvision(model)``: the model's
    own modules under the reference's layer names. One extra record runs torchvision's own
    ``forward`` (eval mode) against ``ref.predict``. Dropout sits before Affine1 and Affine2, as
    in torchvision.
    """
    cfg = R.alexnet.TORCHVISION
    config = dict(N=N, input_dim="×".join(map(str, cfg["input_dim"])), mode=mode,
                  weights="None (torchvision init)")
    models = {}                      # the torchvision model of the latest build, for extra()

    def build(rng, dtype):
        model = torchvision_alexnet(int(rng.integers(2 ** 31)), dtype)
        models["model"] = model
        return reference_from_torchvision(model), torch_impl.AlexNet.from_torchvision(model)

    def extra(ref, net, inputs, dtype, tol):
        model = models.pop("model")
        model.eval()
        with torch.no_grad():
            scores_t = model(torch.from_numpy(inputs["x"]).to(next(model.parameters()).device))
        scores_r = ref.predict(inputs["x"], train_flg=False)
        return [compare("AlexNet-torchvision", "scores (torchvision forward, eval)", scores_r,
                        scores_t, tol, config=config, group="net")]

    reduction, _ = alexnet_plan(N, cfg)
    return NetCase("AlexNet-torchvision", config, build, _alexnet_inputs(N, cfg, mode), reduction,
                   mode=mode, extra=extra, slow_dtypes=tuple(slow_dtypes))


# The full-size nets (61-62 M parameters) cost 3-16 s per dtype on 2 cores, mostly
# parameter-sized memory traffic (init, copies, gradients, comparisons of 37 M-entry arrays), not
# arithmetic. The default test tier keeps the paper's AlexNet in float64 (the oracle, with the
# central-difference spot check); its float32 run and the torchvision case's full trace run in
# the slow tier (the float32 path of every layer type is covered by the MNIST AlexNet-style net;
# torchvision's own forward is checked in the default tier by
# ``reports.parity.harness.torchvision_forward_records``). ``cnn-parity parity`` runs them all.
NET_CASES += [
    lenet5_case(),
    lenet5_case(c3_table=True),
    alexnet_case("mnist", N=4),
    alexnet_case("mnist", N=2, mode="eval"),
    alexnet_case("paper", N=1, gradcheck=2, slow_dtypes=("float32",)),
    torchvision_alexnet_case(N=1, slow_dtypes=("float64", "float32")),
]


def case_by_id(case_id: str):
    """Look a case up by its id (as shown in reports and test names)."""
    for case in LAYER_CASES + NET_CASES:
        if case.id == case_id:
            return case
    raise KeyError(f"no parity case {case_id!r}; known: {[c.id for c in LAYER_CASES + NET_CASES]}")
