"""Generated networks as plain data: drawn at random from the reference's own layers and options,
and turned into a parity case that the configuration matrix runs like a registered network.

A :class:`NetSpec` is the whole network — the input (batch, channels, size, the kind of numbers,
their scale, the memory layout), its layers (:class:`Layer`: a reference class name and its
options, PyTorch's keywords) and the loss (SoftmaxWithLoss with its options). It holds no arrays:
every tensor is made by :func:`values` from the network's seed and the layer's own ``key``, so the
same spec gives the same numbers in every dtype (they are float32 numbers: the float64 oracle
sees exactly what a float32 run sees), and a layer keeps its numbers when the shrinker removes
another one.

``draw_spec(seed, index)``  network ``index`` of the run with ``seed`` (its own Generator)
``shapes(spec)``            each layer's input shape and the scores' shape, by PyTorch's rules
                            (:class:`Invalid` when a layer cannot take its input)
``net_case(spec)``          the :class:`~reports.parity.net_cases.NetCase`: the reference net and
                            its torch twin (``torch_impl.layers``) with the same weights
``describe(spec)``          one line: ``N=2 3×5×5 ties channels_last | Conv(...) → Relu → ... | loss``
"""
from __future__ import annotations

import functools
import math
from collections import OrderedDict
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import reference as R
from torch_impl import layers as T
from torch_impl.transfer import load_params

from ..cases import adaptive_window, conv_reduction, linear_reduction, overlap_reduction
from ..net_cases import NetCase

__all__ = ["Layer", "NetSpec", "Invalid", "values", "draw_spec", "shapes", "build", "inputs", "loss_weight", "net_case", "describe",
           "layer_names", "param_layers", "empty_pool_windows", "KINDS", "SHORT", "INPUT_KINDS", "LAYOUTS", "LOSS_DEFAULTS", "LABELS", "WEIGHT_KEY", "pair"]

#: The reference layers a network is drawn from, and the prefix of their names in a network.
SHORT = {"Convolution": "Conv", "Pooling": "Pool", "AvgPooling": "AvgPool", "AdaptiveAvgPooling": "Adaptive",
         "Relu": "Relu", "Sigmoid": "Sigmoid", "LRN": "LRN", "Linear": "Linear", "Affine": "Affine",
         "Dropout": "Dropout"}
KINDS = tuple(SHORT)
INPUT_KINDS = ("normal", "ties", "signed-zeros")
LAYOUTS = ("contiguous", "channels_last", "transposed")
LOSS_DEFAULTS = (("ignore_index", None), ("labels", "indices"), ("reduction", "mean"), ("weight", False))
#: The keys of the labels and of the class weights among a network's tensors (layers count from 1).
LABELS, WEIGHT_KEY = 10_000, 10_001


class Invalid(ValueError):
    """A layer cannot take its input (by PyTorch's rules): the spec is not a network."""


def values(key, shape, kind="normal", scale=1.0):
    """The numbers of tensor ``key`` (a list of ints), float32 numbers whatever dtype they are
    used in. kind: "normal" (standard normal); "ties" (integers -2..2: exact ties and exact
    zeros); "signed-zeros" (-0.0, 0.0, -1.0 and 1.0). Times ``scale``."""
    rng = np.random.default_rng(key)
    if kind == "ties":
        v = rng.integers(-2, 3, size=shape).astype(np.float64)
    elif kind == "signed-zeros":
        v = rng.choice(np.array([-0.0, 0.0, -1.0, 1.0]), size=shape)
    else:
        v = rng.standard_normal(shape)
    return (v * scale).astype(np.float32)


@dataclass(frozen=True)
class Layer:
    """One layer: ``kind`` a reference class name, ``opts`` its options as sorted (name, value)
    pairs (an int or an (h, w) pair per axis, as PyTorch takes them), ``key`` its tensors' key."""

    kind: str
    key: int
    opts: tuple = ()

    @property
    def o(self) -> dict:
        return dict(self.opts)

    def but(self, **changes) -> "Layer":
        """The same layer with some options changed."""
        return replace(self, opts=tuple(sorted({**self.o, **changes}.items())))


@dataclass(frozen=True)
class NetSpec:
    """A generated network (see the module docstring). ``shape``: (N, C, H, W) of the input;
    ``train``: dropout in training mode, with masks given to both frameworks (else eval mode)."""

    seed: int
    shape: tuple
    layers: tuple
    kind: str = "normal"
    scale: float = 1.0
    layout: str = "contiguous"
    loss: tuple = LOSS_DEFAULTS
    train: bool = True

    @property
    def loss_opts(self) -> dict:
        return dict(self.loss)

    def but(self, **changes) -> "NetSpec":
        if "loss" in changes and isinstance(changes["loss"], dict):
            changes["loss"] = tuple(sorted({**self.loss_opts, **changes["loss"]}.items()))
        return replace(self, **changes)


def pair(v) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _one(h, w):
    """An (h, w) pair as PyTorch's short form: an int when both are equal."""
    return h if h == w else (h, w)


# ------------------------------------------------------------------------------------------
# Shapes, by PyTorch's rules
# ------------------------------------------------------------------------------------------

def _window_out(n, k, s, p, d=1, ceil=False) -> int:
    """Output length along one axis (PyTorch's pooling/convolution formula, ceil mode included)."""
    span = n + 2 * p - d * (k - 1) - 1
    if span < 0:
        raise Invalid(f"a window of {k} (dilation {d}) is longer than the padded input {n} + 2·{p}")
    out = (span + (s - 1 if ceil else 0)) // s + 1
    if ceil and (out - 1) * s >= n + p:
        out -= 1
    return out


def _conv_shape(o, s):
    C, H, W = s
    g = o["groups"]
    if C % g or o["FN"] % g:
        raise Invalid(f"groups={g} must divide C={C} and FN={o['FN']}")
    (fh, fw), (dh, dw) = pair(o["kernel"]), pair(o["dilation"])
    if o["pad"] == "same":
        if pair(o["stride"]) != (1, 1):
            raise Invalid('pad="same" needs stride 1')
        return (o["FN"], H, W)
    (sh, sw), (ph, pw) = pair(o["stride"]), pair(0 if o["pad"] == "valid" else o["pad"])
    return (o["FN"], _window_out(H, fh, sh, ph, dh), _window_out(W, fw, sw, pw, dw))


def _pool_shape(o, s, dilation=True):
    C, H, W = s
    (kh, kw), (sh, sw), (ph, pw) = pair(o["kernel"]), pair(o["stride"]), pair(o["pad"])
    (dh, dw) = pair(o.get("dilation", 1))
    if 2 * ph > kh or 2 * pw > kw:
        raise Invalid("pad must be at most half the window (PyTorch's rule)")
    return (C, _window_out(H, kh, sh, ph, dh, o["ceil_mode"]), _window_out(W, kw, sw, pw, dw, o["ceil_mode"]))


def _layer_shape(layer: Layer, s: tuple) -> tuple:
    o, k = layer.o, layer.kind
    if k in ("Convolution", "Pooling", "AvgPooling", "AdaptiveAvgPooling") and len(s) != 3:
        raise Invalid(f"{k} needs (N, C, H, W), gets (N, {', '.join(map(str, s))})")
    if k == "Convolution":
        return _conv_shape(o, s)
    if k in ("Pooling", "AvgPooling"):
        return _pool_shape(o, s)
    if k == "AdaptiveAvgPooling":
        oh, ow = pair(o["output_size"])
        return (s[0], s[1] if oh is None else oh, s[2] if ow is None else ow)
    if k == "LRN" and len(s) < 2:
        raise Invalid("LRN needs (N, C, ...) with at least 3 dims")
    if k == "Linear":
        if not s:
            raise Invalid("Linear needs a feature axis")
        return s[:-1] + (o["M"],)
    if k == "Affine":
        if not s:
            raise Invalid("Affine needs (N, D) or more")
        return (o["M"],)
    return s


def shapes(spec: NetSpec) -> list:
    """The input shape (without N) of every layer, then the scores' shape; :class:`Invalid`
    when a layer cannot take its input or the scores are not (N, classes)."""
    s, out = tuple(spec.shape[1:]), []
    for layer in spec.layers:
        out.append(s)
        s = _layer_shape(layer, s)
    if len(s) != 1 or s[0] < 1:
        raise Invalid(f"the scores must be (N, classes), the last layer gives (N, {', '.join(map(str, s))})")
    return out + [s]


def empty_pool_windows(spec: NetSpec) -> list:
    """The max-pooling layers with a window that has no element inside its input (all its taps in
    the padding: possible with dilation). torch accepts them, and its backward then writes outside
    the gradient buffer (the known finding ``maxpool-dilated-window-in-padding``): the fuzzer never
    runs torch on such a network."""
    out, ins = [], shapes(spec)
    for name, layer, s, o in zip(layer_names(spec), spec.layers, ins, ins[1:]):
        if layer.kind != "Pooling":
            continue
        for n, m, k, st, p, d in zip(s[1:], o[1:], *(pair(layer.o[x]) for x in ("kernel", "stride", "pad", "dilation"))):
            if any(not any(0 <= i * st - p + y * d < n for y in range(k)) for i in range(m)):
                out.append(name)
                break
    return out


# ------------------------------------------------------------------------------------------
# Drawing a network
# ------------------------------------------------------------------------------------------

class _Draw:
    """numpy's Generator with the two draws the layer drawers need."""

    def __init__(self, rng):
        self.rng = rng

    def pick(self, seq):
        return seq[int(self.rng.integers(len(seq)))]

    def int(self, lo, hi):
        return int(self.rng.integers(lo, hi + 1))

    def axes(self, lo, hi, pair_odds=4):
        """An (h, w) pair of ints in [lo, hi]: the same on both axes except one time in ``pair_odds``."""
        h = self.int(lo, hi)
        return (h, self.int(lo, hi)) if self.int(1, pair_odds) == 1 else (h, h)


def _fit_window(n, k, p, d):
    """Shrink (dilation first, then the window) until it fits the padded input; the pad follows
    the window (at most half of it)."""
    while d * (k - 1) + 1 > n + 2 * p:
        if d > 1:
            d = 1
        else:
            k -= 1
            p = min(p, k // 2)
    return k, p, d


def _draw_conv(r: _Draw, s):
    C, H, W = s
    groups = r.pick([g for g in (1, 1, 1, 2, 3, C) if C % g == 0])
    dil = r.axes(1, 2) if r.int(1, 4) == 1 else (1, 1)
    mode = r.pick(("int",) * 5 + ("same", "valid"))
    pads = r.axes(0, 2) if mode == "int" else (0, 0)
    ks = []
    for n, p, d in zip((H, W), pads, dil):
        limit = 5 if mode == "same" else (n + 2 * p - 1) // d + 1
        ks.append(r.int(1, max(1, min(5, limit))))
    opts = dict(FN=groups * r.int(1, 3), kernel=_one(*ks), stride=_one(*r.axes(1, 3)) if mode != "same" else 1,
                pad=_one(*pads) if mode == "int" else mode, dilation=_one(*dil), groups=groups,
                bias=r.pick((True, True, False)))
    return opts


def _draw_pool(r: _Draw, s, dilation: bool):
    _, H, W = s
    dil = r.axes(1, 2) if dilation and r.int(1, 4) == 1 else (1, 1)
    fitted = []
    for n, d in zip((H, W), dil):
        k = r.int(1, 4)
        fitted.append(_fit_window(n, k, r.int(0, k // 2), d))
    (kh, ph, dh), (kw, pw, dw) = fitted
    opts = dict(kernel=_one(kh, kw), stride=_one(*r.axes(1, 3)), pad=_one(ph, pw), ceil_mode=r.int(1, 3) == 1)
    if dilation:
        opts["dilation"] = _one(dh, dw)
    return opts


def _draw_options(kind: str, r: _Draw, s: tuple) -> dict:
    if kind == "Convolution":
        return _draw_conv(r, s)
    if kind == "Pooling":
        return _draw_pool(r, s, dilation=True)
    if kind == "AvgPooling":
        return {**_draw_pool(r, s, dilation=False), "count_include_pad": r.pick((True, False)),
                "divisor_override": r.pick((None, None, None, None, 1, 3, -2))}
    if kind == "AdaptiveAvgPooling":
        return {"output_size": r.pick((r.int(1, 3), (r.int(1, 4), r.int(1, 4)), (r.int(1, 3), None), (None, r.int(1, 3))))}
    if kind == "LRN":
        return dict(size=r.int(1, 5), alpha=r.pick((1e-4, 0.1, 1.0)), beta=r.pick((0.75, 0.5, 1.0)), k=r.pick((1.0, 2.0, 0.5)))
    if kind == "Linear":
        return dict(M=r.int(1, 4), bias=r.pick((True, True, False)))
    if kind == "Affine":
        return dict(M=r.int(1, 5))
    if kind == "Dropout":
        return dict(p=r.pick((0.0, 0.2, 0.5, 0.9)))
    return {}


#: How often each layer kind is drawn, for an (N, C, H, W) input and for any other.
_WEIGHTS_4D = {"Convolution": 4, "Pooling": 3, "AvgPooling": 2, "AdaptiveAvgPooling": 1, "Relu": 3,
               "Sigmoid": 1, "LRN": 1, "Linear": 1, "Dropout": 1}
_WEIGHTS_OTHER = {"Relu": 3, "Sigmoid": 1, "LRN": 1, "Linear": 2, "Dropout": 1}


def draw_spec(seed: int, index: int) -> NetSpec:
    """Network ``index`` of the run with ``seed``: 0–4 feature layers, an Affine head, now and then
    a tail after it, a SoftmaxWithLoss with its options; inputs with the corners (batch 0 and 1,
    1×1 images, ties, signed zeros, large and small magnitudes, channels_last and transposed
    memory). Every option is drawn valid for its input; PyTorch still has the last word."""
    r = _Draw(np.random.default_rng([seed, index]))
    N = r.pick((0, 1, 1, 2, 2, 3, 4))
    C = r.int(1, 4)
    H, W = (1, 1) if r.int(1, 8) == 1 else (r.int(1, 9), r.int(1, 9))
    s, layers = (C, H, W), []
    for _ in range(r.pick((0, 1, 1, 2, 2, 3, 4))):
        weights = _WEIGHTS_4D if len(s) == 3 else _WEIGHTS_OTHER
        kinds = [k for k, w in weights.items() for _ in range(w) if k != "LRN" or len(s) >= 2]
        layer = Layer(r.pick(kinds), len(layers) + 1)
        layer = layer.but(**_draw_options(layer.kind, r, s))
        try:
            s = _layer_shape(layer, s)
        except Invalid:                     # drawn valid by construction; skip what is not
            continue
        layers.append(layer)
    layers.append(Layer("Affine", len(layers) + 1).but(M=r.pick((1, 2, 2, 3, 3, 4, 5))))
    tail = r.pick(((),) * 6 + (("Relu",), ("Sigmoid",), ("Dropout",), ("Linear",), ("Relu", "Linear")))
    for kind in tail:
        layers.append(Layer(kind, len(layers) + 1).but(**_draw_options(kind, r, (1,))))
    K = (layers[-1].o.get("M") or [x.o["M"] for x in layers if "M" in x.o][-1])
    labels = r.pick(("indices", "indices", "indices", "one-hot", "probabilities"))
    loss = dict(reduction=r.pick(("mean", "mean", "mean", "sum", "none")), weight=r.int(1, 4) == 1, labels=labels,
                ignore_index=r.int(0, K - 1) if labels == "indices" and K > 1 and r.int(1, 4) == 1 else None)
    return NetSpec(seed=_net_seed(seed, index), shape=(N, C, H, W), layers=tuple(layers),
                   kind=r.pick(("normal",) * 4 + ("ties", "signed-zeros")),
                   scale=r.pick((1.0,) * 6 + (1e3, 1e-3, 1e5)), layout=r.pick(("contiguous",) * 3 + LAYOUTS[1:]),
                   loss=tuple(sorted(loss.items())), train=r.int(1, 4) != 1)


def _net_seed(seed: int, index: int) -> int:
    """The seed of network ``index``'s numbers (a number that fits a repro's one line)."""
    return int(np.random.default_rng([seed, index, 7]).integers(2 ** 31))


# ------------------------------------------------------------------------------------------
# The parity case: the reference net and its torch twin
# ------------------------------------------------------------------------------------------

class GeneratedNet(R.Network):
    """A reference network holding generated layers: ``layers``, ``last_layer``, ``params`` and
    ``PARAM_LAYERS`` as the book's networks have them."""

    def __init__(self, layers, last_layer, params, param_layers, input_dim, dtype):
        self.layers, self.last_layer, self.params = layers, last_layer, params
        self.PARAM_LAYERS = param_layers
        self.input_dim, self.dtype = tuple(input_dim), np.dtype(dtype)


def layer_names(spec: NetSpec) -> list:
    """The layers' names in the network (``Conv1``, ``Relu2``, ...), as both frameworks call them."""
    return [f"{SHORT[layer.kind]}{i}" for i, layer in enumerate(spec.layers, start=1)]


def param_layers(spec: NetSpec) -> dict:
    """The reference net's ``PARAM_LAYERS`` ({"W1": ("Conv1", "W"), ...}) without building it."""
    out = {}
    for i, (layer, name) in enumerate(zip(spec.layers, layer_names(spec)), start=1):
        if layer.kind in ("Convolution", "Linear", "Affine"):
            out[f"W{i}"] = (name, "W")
            if layer.kind == "Affine" or layer.o["bias"]:
                out[f"b{i}"] = (name, "b")
    return out


def _tensor(spec, layer, j, shape, dtype, scale=1.0, kind="normal"):
    return values([spec.seed, layer.key, j], shape, kind, scale).astype(dtype)


def _make_layer(spec: NetSpec, layer: Layer, s: tuple, dtype):
    """({"W": array, "b": array}, the reference layer's factory, the torch twin's factory) for
    ``layer`` on input shape ``s`` (factories: so that either side can be built alone)."""
    o, k = layer.o, layer.kind
    if k == "Convolution":
        (fh, fw), g = pair(o["kernel"]), o["groups"]
        fan_in = s[0] // g * fh * fw
        p = {"W": _tensor(spec, layer, 0, (o["FN"], s[0] // g, fh, fw), dtype, 1 / math.sqrt(fan_in))}
        if o["bias"]:
            p["b"] = _tensor(spec, layer, 1, (o["FN"],), dtype, 0.5)
        return (p, lambda: R.Convolution(p["W"], p.get("b"), o["stride"], o["pad"], groups=g, dilation=o["dilation"]),
                lambda: T.convolution(o["FN"], s[0], fh, fw, o["stride"], o["pad"], dtype, groups=g,
                                      dilation=o["dilation"], bias=o["bias"]))
    if k == "Pooling":
        (kh, kw), extra = pair(o["kernel"]), dict(dilation=o["dilation"], ceil_mode=o["ceil_mode"])
        return ({}, lambda: R.Pooling(kh, kw, o["stride"], o["pad"], **extra),
                lambda: T.pooling(kh, kw, o["stride"], o["pad"], **extra))
    if k == "AvgPooling":
        (kh, kw), extra = pair(o["kernel"]), dict(ceil_mode=o["ceil_mode"], divisor_override=o["divisor_override"])
        return ({}, lambda: R.AvgPooling(kh, kw, o["stride"], o["pad"], o["count_include_pad"], **extra),
                lambda: T.avg_pooling(kh, kw, o["stride"], o["pad"], o["count_include_pad"], **extra))
    if k in ("Linear", "Affine"):
        D = s[-1] if k == "Linear" else math.prod(s)
        p = {"W": _tensor(spec, layer, 0, (D, o["M"]), dtype, 1 / math.sqrt(max(D, 1)))}
        if k == "Affine" or o["bias"]:
            p["b"] = _tensor(spec, layer, 1, (o["M"],), dtype, 0.5)
        if k == "Affine":
            return p, lambda: R.Affine(p["W"], p["b"]), lambda: T.affine(D, o["M"], dtype)
        return p, lambda: R.Linear(p["W"], p.get("b")), lambda: T.linear(D, o["M"], o["bias"], dtype)
    ref, twin = {"AdaptiveAvgPooling": (lambda: R.AdaptiveAvgPooling(o["output_size"]),
                                        lambda: T.adaptive_avg_pooling(o["output_size"])),
                 "LRN": (lambda: R.LRN(o["size"], o["alpha"], o["beta"], o["k"]),
                         lambda: T.lrn(o["size"], o["alpha"], o["beta"], o["k"])),
                 "Dropout": (lambda: R.Dropout(o["p"], inverted=True), lambda: T.dropout(o["p"])),
                 "Relu": (R.Relu, T.relu), "Sigmoid": (R.Sigmoid, T.sigmoid)}[k]
    return {}, ref, twin


def _cross_entropy(scores, t, *, weight, **options):
    """The twin's loss: ``F.cross_entropy`` with the class weights on the scores' device."""
    return F.cross_entropy(scores, t, weight=None if weight is None else weight.to(scores.device), **options)


def loss_weight(spec, K, dtype):
    """The cross-entropy's class weights of a spec whose loss has ``weight``: K of them, in ``dtype``."""
    return (np.abs(values([spec.seed, WEIGHT_KEY], (K,))) + np.float32(0.5)).astype(dtype)


def build(spec: NetSpec, dtype, sides=("reference", "torch")) -> tuple:
    """(reference net, torch twin) with the same weights; a side not in ``sides`` is None (so that
    either framework's refusal can be told apart)."""
    dtype = np.dtype(dtype)
    sizes = shapes(spec)
    layers, children, params, param_layers, book = OrderedDict(), OrderedDict(), {}, {}, {}
    for i, (layer, s, name) in enumerate(zip(spec.layers, sizes, layer_names(spec)), start=1):
        p, make_ref, make_twin = _make_layer(spec, layer, s, dtype)
        if "reference" in sides:
            layers[name] = make_ref()
        if "torch" in sides:
            children[name] = make_twin()
        for attr in p:
            params[f"{attr}{i}"] = getattr(layers[name], attr) if layers else p[attr]   # the array the layer holds
            param_layers[f"{attr}{i}"] = (name, attr)
            if children:
                book[f"{attr}{i}"] = f"{name}.{children[name].book_params[attr]}"
    lo = spec.loss_opts
    weight = loss_weight(spec, sizes[-1][0], dtype) if lo["weight"] else None
    options = dict(reduction=lo["reduction"], ignore_index=-100 if lo["ignore_index"] is None else lo["ignore_index"])
    ref = net = None
    if "reference" in sides:
        ref = GeneratedNet(layers, R.SoftmaxWithLoss(weight=weight, **options), params, param_layers,
                           spec.shape[1:], dtype)
    if "torch" in sides:
        net = nn.Sequential(children)
        net.book_params = book
        load_params(net, params)
        net.loss_fn = functools.partial(_cross_entropy, weight=None if weight is None else torch.from_numpy(weight),
                                        **options)
    return ref, net


def inputs(spec: NetSpec, dtype) -> dict:
    """{"x", "t"} and, in training mode with Dropout layers, "masks" (see ``NetCase``)."""
    dtype = np.dtype(dtype)
    sizes = shapes(spec)
    N, K = spec.shape[0], sizes[-1][0]
    x = values([spec.seed, 0], spec.shape, spec.kind, spec.scale).astype(dtype)
    if spec.layout == "channels_last":                   # NHWC in memory (np.array(copy=True) keeps it)
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    elif spec.layout == "transposed":                    # each image stored column by column
        x = np.ascontiguousarray(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)
    rng = np.random.default_rng([spec.seed, LABELS])
    lo = spec.loss_opts
    t = rng.integers(0, K, size=N)
    if lo["ignore_index"] is not None:
        t[::2] = lo["ignore_index"]
    if lo["labels"] == "one-hot":
        t = np.eye(K, dtype=dtype)[t].reshape(N, K)
    elif lo["labels"] == "probabilities":
        t = rng.dirichlet(np.ones(K), size=N).astype(np.float32).astype(dtype).reshape(N, K)
    out = {"x": x, "t": t}
    dropouts = [(name, layer, s) for name, layer, s in zip(layer_names(spec), spec.layers, sizes)
                if layer.kind == "Dropout"]
    if dropouts and spec.train:
        out["masks"] = {name: np.random.default_rng([spec.seed, layer.key, 2]).random((N, *s)) > layer.o["p"]
                        for name, layer, s in dropouts}
    return out


def _reduction(spec: NetSpec) -> int:
    """The longest sum in the network (sets the tolerance), by the registry's rules per layer."""
    N, sizes = spec.shape[0], shapes(spec)
    k = [1, N * sizes[-1][0]]
    for layer, s, out in zip(spec.layers, sizes, sizes[1:]):
        o = layer.o
        if layer.kind == "Convolution":
            fh, fw = pair(o["kernel"])
            k.append(conv_reduction(s[0] // o["groups"], fh, fw, N * out[1] * out[2], o["FN"] // o["groups"]))
        elif layer.kind in ("Pooling", "AvgPooling"):
            (kh, kw), (sh, sw) = pair(o["kernel"]), pair(o["stride"])
            k.append(max(overlap_reduction(kh, kw, sh, sw), kh * kw if layer.kind == "AvgPooling" else 1))
        elif layer.kind == "AdaptiveAvgPooling":
            k.append(adaptive_window(s[1], s[2], out[1], out[2]))
        elif layer.kind == "LRN":
            k.append(2 * o["size"])
        elif layer.kind == "Linear":
            k.append(linear_reduction(s[-1], N * math.prod(s[:-1]), o["M"]))
        elif layer.kind == "Affine":
            k.append(max(math.prod(s), N, o["M"]))
    return max(k)


def net_case(spec: NetSpec) -> NetCase:
    """The parity case of a generated network (``build`` and ``inputs`` ignore the Generator they
    are given: the spec's seed and keys make every number)."""
    mode = "train" if spec.train and any(layer.kind == "Dropout" for layer in spec.layers) else "eval"
    return NetCase("Fuzz", {"net": describe(spec)}, lambda rng, dtype: build(spec, dtype),
                   lambda rng, dtype: inputs(spec, dtype), _reduction(spec), mode=mode)


# ------------------------------------------------------------------------------------------
# In words
# ------------------------------------------------------------------------------------------

def _value(v) -> str:
    if isinstance(v, tuple):
        return "×".join("*" if x is None else str(x) for x in v)
    return str(v)


#: Options left out of a layer's description when they have this value (PyTorch's defaults).
_DEFAULTS = {"stride": 1, "pad": 0, "dilation": 1, "groups": 1, "bias": True, "ceil_mode": False,
             "count_include_pad": True, "divisor_override": None}


def describe_layer(layer: Layer) -> str:
    """``Conv(FN=4 kernel=3 pad=1)``: the layer's options that are not PyTorch's defaults."""
    opts = " ".join(f"{k}={_value(v)}" for k, v in layer.opts if _DEFAULTS.get(k, object()) != v)
    return f"{SHORT[layer.kind]}({opts})" if opts else SHORT[layer.kind]


def describe(spec: NetSpec) -> str:
    """One line: the input, the layers, the loss (its options that are not the default)."""
    N, C, H, W = spec.shape
    inp = f"N={N} {C}×{H}×{W} {spec.kind}" + (f" ×{spec.scale:g}" if spec.scale != 1 else "") + \
        (f" {spec.layout}" if spec.layout != "contiguous" else "")
    loss = " ".join(f"{k}={v}" for k, v in spec.loss if (k, v) not in LOSS_DEFAULTS)
    mode = "" if spec.train or not any(x.kind == "Dropout" for x in spec.layers) else " (eval)"
    return f"{inp} | {' → '.join(describe_layer(x) for x in spec.layers)}{mode} | loss{(' ' + loss) if loss else ''}"
