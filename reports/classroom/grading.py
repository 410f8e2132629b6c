"""Grading one of the book's names: the parity cases its signature can express, against torch.

For a name (``im2col``, ``Convolution``, ``SGD``, ...) :func:`plan` lists what the suite runs for it,
taken from the registry: the layer cases of ``reports.parity.cases`` (their inputs, torch twins,
weights and tolerances), the book's worked examples (``reports.parity.harness.BOOK_*``), the
SimpleConvNet cases of ``NET_CASES`` (run by ``run_net_case``, with its per-layer trace) and the
optimizer trajectories of ``reports.parity.optim``. :func:`grade_name` runs each item with the
student's class or function in place of the reference's, in float64 and float32, and returns the
records (``reports.parity.records.compare``, the suite's tolerances) and the items it skipped, with
the reason:

- a case that needs an option beyond the book's signature (``groups``, ``dilation``, ``ceil_mode``,
  ``reduction``, ``weight``, ``ignore_index``) runs when the student's class takes that keyword
  (its signature says so) and is skipped when it does not — or when passing it raises TypeError;
- a case beyond the book's interface whatever the signature (an (h, w) pair for stride or pad,
  pad="same", no bias, an empty batch, probability targets) is skipped;
- the reference's own extras (max pooling's ``flat_indices``, the gradient of probability targets,
  the "fast" path) are not the book's interface: not compared.

How the student's code is called: every array it is given is a copy (the book's ``Relu.backward``
writes into its ``dout``); ``SoftmaxWithLoss.backward()`` is called as the book calls it, without
``dout`` (torch's backward then starts from 1 too); Dropout's mask is the student's own (read from
its output: x has no zeros), and torch applies that mask. An exception becomes one failing record
per quantity it prevented (group "error", its message in the note), ``NotImplementedError`` one
marked "todo"; ``sys.exit`` ends the name (:class:`StudentExit`).

Optimizers: the student's trajectory against torch.optim's over ``reports.parity.optim``'s problem,
with the book's default hyperparameters. The suite holds the reference to 0 for SGD and Momentum,
because the reference emulates torch's fused multiply-add; a student's update is held to
``steps · eps`` (at most 1 ulp of p per step), the suite's tolerance of AdaGrad and Adam.
"""
from __future__ import annotations

import inspect
import json
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from reference.optimizer import OPTIMIZERS
from torch_impl import apply_dropout_mask
from torch_impl.transfer import export_grads

from ..parity.cases import LAYER_CASES, NET_CASES
from ..parity.harness import (BOOK_CONV_EXAMPLES, BOOK_CONV_W, BOOK_CONV_X, BOOK_EXACT, BOOK_POOL_EXAMPLE,
                              BOOK_POOL_X, case_tolerance, run_net_case)
from ..parity.optim import GRAD_SCALES, PARITY_KEY_SCALES, SHAPES, STEPS, make_problem, torch_trajectory, \
    trajectory_records
from ..parity.records import DTYPES, Tolerance, float_eps, reduction_tolerance
from . import NAMES
from .calls import (Failure, Guarded, Records, Skip, StudentExit, as_array, call, error_record, method, obj_name,
                    one_line)

__all__ = ["Item", "Grading", "plan", "grade_name", "takes", "beyond_reason", "student_tolerance",
           "BOOK_HYPERPARAMETERS", "Failure", "StudentExit", "one_line"]


# ------------------------------------------------------------------------------------------
# The plan: what runs for each name
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Item:
    """One thing run for a name: ``run(obj, dtype, seed) -> records`` with the student's ``obj``.

    options: the keywords beyond the book's signature the case needs; beyond: why the case is
    beyond the book's interface whatever the signature ("" when it is not)."""

    name: str
    label: str
    run: Callable
    options: dict = field(default_factory=dict)
    beyond: str = ""


#: The suite's keyword options per layer (PyTorch's, beyond the book), with their config keys.
OPTIONS = {"Convolution": ("groups", "dilation"), "Pooling": ("dilation", "ceil_mode"),
           "SoftmaxWithLoss": ("reduction", "weight", "ignore_index")}


def beyond_reason(config: dict) -> str:
    """Why a case's configuration is beyond the book's interface ("" when it is not)."""
    if config.get("N") == 0 or str(config.get("x", "")).startswith("0") or "×0" in str(config.get("shape", "")):
        return "an empty batch or axis (size 0)"
    for key in ("stride", "pad"):
        value = config.get(key)
        if isinstance(value, (tuple, list)):
            return f"{key} {tuple(value)} per axis"
        if isinstance(value, str):
            return f'{key}="{value}"'
    if config.get("bias") is False:
        return "no bias (b=None)"
    if config.get("labels") == "probabilities":
        return "probability targets"
    return ""


def _case_config(case) -> dict:
    return {k: v for k, v in case.config.items() if k != "method"}


def _options(layer, config, ref) -> dict:
    """The keyword options of a case (beyond the book), with the values its reference layer has."""
    out = {}
    for key in OPTIONS.get(layer, ()):
        if key == "weight" and config.get("weight"):
            out["weight"] = ref.weight.copy()
        elif key in config:
            out[key] = config[key]
    return out


def _option_names(layer, config) -> dict:
    return {k: config[k] for k in OPTIONS.get(layer, ()) if k in config}


_ARGS = {
    "Convolution": lambda c, ref: (ref.W.copy(), ref.b.copy(), c["stride"], c["pad"]),
    "Pooling": lambda c, ref: (c["ph"], c["pw"], c["stride"], c["pad"]),
    "Affine": lambda c, ref: (ref.W.copy(), ref.b.copy()),
    "Relu": lambda c, ref: (), "Sigmoid": lambda c, ref: (), "SoftmaxWithLoss": lambda c, ref: (),
    "Dropout": lambda c, ref: (c["p"],),
}


def _layer_run(case, config):
    """``run(obj, dtype, seed)`` of a layer case with the student's class ``obj``."""
    name = case.layer

    def run(obj, dtype, seed):
        rng = np.random.default_rng(seed)
        ref, module = case.build(rng, np.dtype(dtype))
        inputs = case.inputs(rng, np.dtype(dtype))
        out = Records(name, config, dtype, ["output", "dx", *("d" + k for k in module.book_params)])
        tol = case_tolerance(case, dtype)
        args, options = _ARGS[name](config, ref), _options(name, config, ref)
        try:
            try:
                layer = call(f"{name}.__init__", obj, *args, **options)
            except Failure as exc:
                if options and "TypeError" in str(exc):
                    raise Skip(f"needs {', '.join(options)}: {name}(..., {', '.join(f'{k}=…' for k in options)}) "
                               "raises TypeError, taken as not supported") from None
                raise
            _run_layer(layer, module, inputs, rng, out, tol, config)
        except Failure as exc:
            return out.fail_rest(exc)
        return out.records

    return run


def _run_layer(layer, module, inputs, rng, out: Records, tol, config):
    """Forward and backward of the student's layer and the torch twin on the same inputs."""
    name, dtype = out.case, out.dtype
    x = inputs["x"]
    x_t = torch.from_numpy(x.copy()).requires_grad_(True)
    if name == "SoftmaxWithLoss":
        y_s = call(f"{name}.forward", method(layer, "forward"), x.copy(), inputs["t"].copy())
        y_t = module(x_t, torch.from_numpy(inputs["t"].copy()))
    elif name == "Dropout" and config["mode"] == "train":
        y_s = as_array(call(f"{name}.forward", method(layer, "forward"), x.copy()), f"{name}.forward", dtype)
        mask = (y_s != 0) if y_s.shape == x.shape else np.ones(x.shape, dtype=bool)   # the student's mask
        y_t = apply_dropout_mask(x_t, mask, config["p"])
    elif name == "Dropout":
        y_s = call(f"{name}.forward", method(layer, "forward"), x.copy(), train_flg=False)
        y_t = module(x_t)
    else:
        y_s = call(f"{name}.forward", method(layer, "forward"), x.copy())
        y_t = module(x_t)
    out.compare("output", as_array(y_s, f"{name}.forward", dtype), y_t, tol)
    dout = np.asarray(rng.standard_normal(tuple(y_t.shape)), dtype=dtype)    # the suite's draw
    if name == "SoftmaxWithLoss":                 # the book's interface: backward(dout=1)
        dx_s = call(f"{name}.backward", method(layer, "backward"))
        y_t.backward()
    else:
        dx_s = call(f"{name}.backward", method(layer, "backward"), dout.copy())
        y_t.backward(torch.from_numpy(dout.copy()))
    out.compare("dx", as_array(dx_s, f"{name}.backward", dtype), x_t.grad, tol)
    for key, grad in (export_grads(module) if module.book_params else {}).items():
        mine = call(f"{name}.d{key} (after backward)", getattr, layer, "d" + key)
        out.compare("d" + key, as_array(mine, f"{name}.d{key}", dtype), grad, tol)


def _layer_items(layer) -> list[Item]:
    items, seen = [], set()
    for case in LAYER_CASES:
        config = _case_config(case)
        key = json.dumps(config, default=str)
        if case.layer != layer or key in seen:
            continue
        seen.add(key)
        items.append(Item(layer, f"{layer}[{' '.join(f'{k}={v}' for k, v in config.items())}]",
                          _layer_run(case, config), _option_names(layer, config), beyond_reason(config)))
    return items


# im2col / col2im, on the window geometry of every convolution and max-pooling case

_GEOMETRY = ("N", "C", "H", "W", "FH", "FW", "stride", "pad", "kind")


def _geometries():
    """(case, geometry config) for each distinct window geometry of the conv and pool cases."""
    out, seen = [], set()
    for case in LAYER_CASES:
        c = dict(case.config)
        if case.layer == "Pooling":
            c["FH"], c["FW"] = c["ph"], c["pw"]
        elif case.layer != "Convolution":
            continue
        if "ceil_mode" in c or "groups" in c:            # pooling's and convolution's own options
            continue
        geometry = {k: c[k] for k in _GEOMETRY}
        if "dilation" in c:
            geometry["dilation"] = c["dilation"]
        key = json.dumps(geometry, default=str)
        if key not in seen:
            seen.add(key)
            out.append((case, geometry))
    return out


def _im2col_run(case, g, adjoint):
    name = "col2im" if adjoint else "im2col"
    kw = {"dilation": g["dilation"]} if "dilation" in g else {}

    def run(obj, dtype, seed):
        rng = np.random.default_rng(seed)
        case.build(rng, np.dtype(dtype))                      # the layer case's draws, then its x
        x = case.inputs(rng, np.dtype(dtype))["x"]
        N, C, H, W, FH, FW = (g[k] for k in ("N", "C", "H", "W", "FH", "FW"))
        out = Records(name, g, dtype, ["output"])
        geometry = dict(kernel_size=(FH, FW), stride=g["stride"], padding=g["pad"], **kw)
        try:
            if not adjoint:
                cols = F.unfold(torch.from_numpy(x.copy()), **geometry)          # (N, C·FH·FW, L)
                theirs = cols.transpose(1, 2).reshape(-1, C * FH * FW)
                mine = call(name, obj, x.copy(), FH, FW, g["stride"], g["pad"], **kw)
                out.compare("output", as_array(mine, name, dtype), theirs, Tolerance(0.0, "a copy: exact"))
            else:
                L = F.unfold(torch.zeros((1, 1, H, W), dtype=torch.float64), **geometry).shape[-1]
                col = np.random.default_rng(seed + 1).standard_normal((N * L, C * FH * FW)).astype(dtype)
                theirs = F.fold(torch.from_numpy(col.copy()).reshape(N, L, -1).transpose(1, 2), (H, W), **geometry)
                mine = call(name, obj, col.copy(), (N, C, H, W), FH, FW, g["stride"], g["pad"], **kw)
                s = g["stride"]
                tol = reduction_tolerance(dtype, -(-FH // s) * -(-FW // s))
                out.compare("output", as_array(mine, name, dtype), theirs, tol)
        except Failure as exc:
            return out.fail_rest(exc)
        return out.records

    return run


def _im2col_items(name) -> list[Item]:
    return [Item(name, f"{name}[{' '.join(f'{k}={v}' for k, v in g.items())}]", _im2col_run(case, g, name == "col2im"),
                 {"dilation": g["dilation"]} if "dilation" in g else {}, beyond_reason(g))
            for case, g in _geometries()]


# the book's worked examples

def _example_run(label, make, data, expected):
    def run(obj, dtype, seed):
        x = np.array(data, dtype=dtype)[None, None]
        out = Records("book example", {}, dtype, [label])
        try:
            layer = call(f"{obj_name(obj)}.__init__", make, obj, dtype)
            mine = call(f"{obj_name(obj)}.forward", method(layer, "forward"), x)
            out.compare(label, as_array(mine, "forward", dtype), np.array(expected, dtype=dtype)[None, None],
                        BOOK_EXACT, group="known")
        except Failure as exc:
            return out.fail_rest(exc, group="error")
        return out.records
    return run


def _example_items(name) -> list[Item]:
    if name == "Convolution":
        return [Item(name, f"book example: {label}",
                     _example_run(label, lambda obj, dt, bias=bias, pad=pad: obj(
                         np.array(BOOK_CONV_W, dtype=dt)[None, None], np.array([bias], dtype=dt), 1, pad),
                         BOOK_CONV_X, expected))
                for label, bias, pad, expected in BOOK_CONV_EXAMPLES]
    if name == "Pooling":
        label, expected = BOOK_POOL_EXAMPLE
        return [Item(name, f"book example: {label}", _example_run(label, lambda obj, dt: obj(2, 2, 2, 0),
                                                                  BOOK_POOL_X, expected))]
    return []


# SimpleConvNet: the registered network cases, with the per-layer trace of run_net_case

class _NetView:
    """The student's network as ``run_net_case`` reads a reference net."""

    def __init__(self, net, ref, dtype):
        layers = call("SimpleConvNet.layers", getattr, net, "layers")
        names = list(call("SimpleConvNet.layers", lambda: list(layers)))
        if names != list(ref.layers):
            raise Failure(f"SimpleConvNet's layers are {names}; the book's are {list(ref.layers)}")
        self.layers = OrderedDict((n, Guarded(f"layers[{n!r}]", layers[n], dtype)) for n in names)
        self.last_layer = Guarded("last_layer", call("SimpleConvNet.last_layer", getattr, net, "last_layer"), dtype)
        self.params, self.PARAM_LAYERS = net.params, ref.PARAM_LAYERS


def _net_args(config):
    input_dim = tuple(int(d) for d in str(config["input_dim"]).split("×"))
    conv = {k: config[k] for k in ("filter_num", "filter_size", "pad", "stride")}
    return input_dim, conv, config["hidden"]


def _student_net(obj, ref, config, dtype, out: Records):
    """The student's SimpleConvNet with the case's weights: its params' shapes are compared with the
    reference's first (records "params W1 shape", ...), then the case's arrays put in its params and
    in the layers that hold them (``PARAM_LAYERS``), as the book's ``load_params`` does."""
    input_dim, conv, hidden = _net_args(config)
    net = call("SimpleConvNet.__init__", obj, input_dim, conv, hidden, 10, 0.1)
    params = call("SimpleConvNet.params", getattr, net, "params")
    if not isinstance(params, dict):
        raise Failure(f"SimpleConvNet.params is a {type(params).__name__}, not a dict of arrays (W1, b1, ...)")
    for key, value in ref.params.items():
        mine = params.get(key)
        shape = mine.shape if isinstance(mine, np.ndarray) else (0,)      # missing: a shape mismatch
        out.compare(f"params {key} shape", np.zeros(shape), np.zeros(value.shape), 0.0, group="net")
    layers = call("SimpleConvNet.layers", getattr, net, "layers")
    for key, (layer, attr) in ref.PARAM_LAYERS.items():
        params[key] = ref.params[key].copy()
        if layer not in layers:
            raise Failure(f"SimpleConvNet has no layer {layer!r} (the book's: {', '.join(ref.layers)})")
        setattr(layers[layer], attr, params[key])
    return net


def _net_run(case):
    config = dict(case.config)

    def run(obj, dtype, seed):
        dtype = np.dtype(dtype)
        out = Records(case.net, config, dtype, ["loss", "scores", "dx", *(f"d{k}{i}" for i in (1, 2, 3) for k in "Wb")])
        seen = {}

        def build(rng, dt):
            ref, twin = case.build(rng, dt)
            seen["net"], seen["twin"] = _student_net(obj, ref, config, dt, out), twin
            return _NetView(seen["net"], ref, dt), twin

        def inputs(rng, dt):
            seen["inputs"] = case.inputs(rng, dt)
            return seen["inputs"]

        try:
            for record in run_net_case(replace(case, build=build, inputs=inputs), dtype, seed):
                out.records.append(replace(record, dtype=dtype.name))
                if record.quantity in out.left:
                    out.left.remove(record.quantity)
            _net_interface_records(seen, out, case_tolerance(case, dtype))
        except Failure as exc:
            return out.fail_rest(exc, group="error")
        return out.records

    return run


def _net_interface_records(seen, out: Records, tol):
    """The student's ``loss(x, t)`` and ``gradient(x, t)`` against the twin's loss and its gradients."""
    net, twin, inputs = seen["net"], seen["twin"], seen["inputs"]
    x, t = inputs["x"], inputs["t"]
    twin.zero_grad()
    loss_t = twin.loss(torch.from_numpy(x.copy()), torch.from_numpy(t.copy()))
    loss_t.backward()
    grads_t = export_grads(twin)
    loss = call("SimpleConvNet.loss", method(net, "loss"), x.copy(), t.copy())
    out.compare("loss()", as_array(loss, "loss", out.dtype), loss_t, tol, group="net")
    grads = call("SimpleConvNet.gradient", method(net, "gradient"), x.copy(), t.copy())
    for key, grad in grads_t.items():
        mine = grads.get(key) if isinstance(grads, dict) else None
        if mine is None:
            raise Failure(f"SimpleConvNet.gradient() returned no {key!r}")
        out.compare(f"gradient() {key}", as_array(mine, f"gradient()[{key!r}]", out.dtype), grad, tol, group="net")


# optimizers

#: The book's default hyperparameters, by keyword (the torch form gets the same values).
BOOK_HYPERPARAMETERS = {"SGD": {"lr": 0.01}, "Momentum": {"lr": 0.01, "momentum": 0.9},
                        "AdaGrad": {"lr": 0.01}, "Adam": {"lr": 0.001, "beta1": 0.9, "beta2": 0.999}}
_TORCH_FORM = {"SGD": "sgd", "Momentum": "momentum", "AdaGrad": "adagrad", "Adam": "adam"}


def student_tolerance(dtype, steps=STEPS) -> Tolerance:
    """A student's optimizer: ``steps · eps`` (normwise), at most 1 ulp of p per step."""
    eps = float_eps(dtype)
    return Tolerance(steps * eps, f"{np.dtype(dtype).name}: steps*eps = {steps}*{eps:.2e}, at most 1 ulp of p "
                                  "per step (the reference, which emulates torch's fused multiply-add, is held to 0)")


def _optimizer_run(name):
    form, hyper = _TORCH_FORM[name], BOOK_HYPERPARAMETERS[name]

    def run(obj, dtype, seed):
        params, grads = make_problem(dtype, seed, SHAPES, STEPS, GRAD_SCALES, PARITY_KEY_SCALES)
        config = {"optimizer": form, **hyper, "steps": STEPS, "seed": seed}
        out = Records(f"optim.{form}", config, dtype, [f"{k} trajectory" for k in params])
        try:
            opt = call(f"{name}.__init__", obj, **hyper)
            mine = {k: v.copy() for k, v in params.items()}
            steps = {k: [] for k in params}
            for g in grads:
                call(f"{name}.update", method(opt, "update"), mine, {k: v.copy() for k, v in g.items()})
                for k in params:
                    steps[k].append(as_array(mine[k], f"params[{k!r}] after update", dtype).copy())
            theirs, _ = torch_trajectory(form, OPTIMIZERS[form](**hyper).torch_kwargs(), params, grads)
            records = trajectory_records(out.case, {k: np.stack(v) for k, v in steps.items()}, theirs,
                                         student_tolerance(dtype), config)
            out.records += [replace(r, dtype=np.dtype(dtype).name) for r in records]
            out.left = []
        except Failure as exc:
            return out.fail_rest(exc, group="error")
        return out.records

    return run


# ------------------------------------------------------------------------------------------
# The plan, and grading a name
# ------------------------------------------------------------------------------------------

def plan(name: str) -> list[Item]:
    """What the suite runs for ``name``, in order (each item in every dtype)."""
    if name in ("im2col", "col2im"):
        return _im2col_items(name)
    if name in _ARGS:
        return _example_items(name) + _layer_items(name)
    if name == "SimpleConvNet":
        return [Item(name, case.id, _net_run(case)) for case in NET_CASES if case.net == "SimpleConvNet"]
    if name in BOOK_HYPERPARAMETERS:
        return [Item(name, f"optim.{_TORCH_FORM[name]} trajectory", _optimizer_run(name))]
    raise KeyError(f"the grader knows {', '.join(NAMES)}; not {name!r}")


def takes(obj, options) -> list[str]:
    """The options (keywords) that ``obj``'s signature does not take (none when it has **kwargs or no
    signature can be read: then construction tells)."""
    try:
        params = inspect.signature(obj).parameters
    except (TypeError, ValueError):
        return []
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return []
    return [k for k in options if k not in params]


@dataclass
class Grading:
    """What grading one name gave: its records (every item, both dtypes) and the skipped items."""

    name: str
    records: list = field(default_factory=list)
    skipped: list = field(default_factory=list)          # [(label, reason)]
    ran: list = field(default_factory=list)              # labels of the items run


def grade_name(obj, name: str, seed: int = 0, dtypes=DTYPES, crash_records=False, select=None) -> Grading:
    """Every item of :func:`plan` that ``obj``'s signature can express, in every dtype.

    An exception of the harness itself propagates, unless ``crash_records``: then it becomes one
    failing record (quantity "run", group "error") — a bug planted in the reference that makes a
    case's own set-up fail is caught by that case, as in ``cnn-parity bugs``. ``select(item)``: only
    the items it accepts (tests)."""
    result = Grading(name)
    try:
        shown = f"{name}{inspect.signature(obj)}"
    except (TypeError, ValueError):
        shown = name
    runnable = []
    for item in plan(name):
        if select is not None and not select(item):
            continue
        missing = takes(obj, item.options)
        if item.beyond:
            result.skipped.append((item.label, f"beyond the book's interface: {item.beyond}"))
        elif missing:
            result.skipped.append((item.label, f"needs {', '.join(missing)}: {shown} does not take "
                                               + ", ".join(f"{k}={item.options[k]!r}" for k in missing)))
        else:
            runnable.append(item)
    for dtype in dtypes:
        for item in list(runnable):
            np.random.seed(seed)                     # a student's np.random (dropout masks, init)
            try:
                result.records += item.run(obj, dtype, seed)
            except Skip as exc:                      # its option raised TypeError: not supported
                result.skipped.append((item.label, str(exc)))
                runnable.remove(item)
                result.records = [r for r in result.records if _label_of(r) != item.label]
            except Exception as exc:
                if not crash_records:
                    raise
                result.records.append(error_record(item.label, "run", dtype, {}, f"the case raises {one_line(exc)}"))
    result.ran = [item.label for item in runnable]
    return result


def _label_of(record) -> str:
    return f"{record.case}[{' '.join(f'{k}={v}' for k, v in json.loads(record.config or '{}').items())}]"
