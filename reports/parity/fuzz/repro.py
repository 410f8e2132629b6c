"""A finding as a standalone repro: a script of under 100 lines that imports only torch and NumPy.

The script follows ``findings/README.md``: a header (what, found on which torch/CPU/date, the
upstream issues, how to run it, what its exit statuses mean), the float64 oracle computed
independently in a few lines of NumPy for the layers involved (copied from
``reports.parity.fuzz.oracle_np``, gradients by complex steps), torch run the way the
configuration matrix ran it (each layer's output plus a zero probe, whose gradient is the
gradient arriving there; the loss summed by its backward), exit 1 with ``PRESENT: ...`` while
the problem is there, 0 with ``FIXED: ...`` once it is not, 2 with ``COULD NOT RUN: ...``.

``python repro.py [CONFIG]`` runs the finding's configuration (the default) or another one the
script knows (always ``eager``): a repro of a planted spoiler fails under the spoiled
configuration and passes under eager. Compile findings also run PyTorch's backend ablation
(``eager``, ``aot_eager``, ``aot_eager_decomp_partition``, ``inductor``) and name the first
backend that differs.

``SETUPS`` says, per configuration, how a script sets it up (the same settings as
``reports.parity.configs``, written out for a reader); a configuration without an entry has no
repro (the finding says so).
"""
from __future__ import annotations

import ast
import inspect
import math
import platform
import re
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from ..configs import by_name, precision_of
from ..records import config_tolerance
from . import oracle_np as O
from .engine import Finding, cpu_name
from .netspec import pair, describe, inputs, layer_names, loss_weight, net_case, shapes, values

__all__ = ["SETUPS", "BACKENDS", "script", "write_repro", "file_name", "layer_call", "torch_module", "MAX_LINES"]

MAX_LINES = 99
BACKENDS = ("eager", "aot_eager", "aot_eager_decomp_partition", "inductor")

#: configuration -> lines inside run(config) (indented 4), with ``net``, ``x``, ``stack`` (an
#: ExitStack around forward and backward), ``fwd`` (the forward's context) and ``fn`` in scope.
SETUPS = {
    "eager": [],
    "channels_last": ["net = net.to(memory_format=torch.channels_last)",
                      "x = x.detach().to(memory_format=torch.channels_last).requires_grad_(True)"],
    "no-mkldnn": ["stack.enter_context(torch.backends.mkldnn.flags(enabled=False))"],
    "threads-1": ["stack.callback(torch.set_num_threads, torch.get_num_threads())", "torch.set_num_threads(1)"],
    "deterministic": ["stack.callback(torch.use_deterministic_algorithms, False)",
                      "torch.use_deterministic_algorithms(True)"],
    "autocast-bf16": ["fwd = lambda: torch.autocast(\"cpu\", dtype=torch.bfloat16)"],
    "autocast-fp16": ["fwd = lambda: torch.autocast(\"cpu\", dtype=torch.float16)"],
    "compile": ["torch._dynamo.reset()", "fn = torch.compile(forward, backend=backend)"],  # noqa
    "spoiled-conv-tf32": [
        "conv2d, F = torch.nn.functional.conv2d, torch.nn.functional   # test-only: TF32 inside conv2d",
        "tf32 = lambda t: t + ((((b := t.detach().view(torch.int32)) + 0x0FFF + ((b >> 13) & 1)) & ~0x1FFF)"
        ".view(torch.float32) - t).detach()",
        "stack.callback(setattr, F, \"conv2d\", conv2d)",
        "F.conv2d = lambda i, w, *a, **k: conv2d(tf32(i), tf32(w), *a, **k)"],
}


# ------------------------------------------------------------------------------------------
# The pieces of a script
# ------------------------------------------------------------------------------------------

def _short_source(fn, doc: bool = True) -> str:
    """A function's source with its docstring cut to its first line, or left out (``doc=False``):
    the repro's line budget."""
    doc_wanted, lines = doc, inspect.getsource(fn).splitlines()
    body = ast.parse("\n".join(lines)).body[0].body
    doc = body[0] if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) else None
    if doc is not None and doc.end_lineno > doc.lineno:
        first = doc.value.value.strip().splitlines()[0]
        indent = lines[doc.lineno - 1][:len(lines[doc.lineno - 1]) - len(lines[doc.lineno - 1].lstrip())]
        lines[doc.lineno - 1:doc.end_lineno] = [f'{indent}"""{first}"""']
    if doc is not None and not doc_wanted:
        del lines[doc.lineno - 1]
    return "\n".join(lines)


def _lit(v) -> str:
    """A Python literal of an option value (tuples stay tuples)."""
    return repr(v)


#: The layers whose NumPy function and torch module take the same options, in the same order:
#: kind -> (function, module, options passed by position, options passed by keyword).
_SAME_OPTIONS = {
    "Pooling": ("max_pool", "MaxPool2d", ("kernel", "stride", "pad", "dilation"), ("ceil_mode",)),
    "AvgPooling": ("avg_pool", "AvgPool2d", ("kernel", "stride", "pad", "ceil_mode", "count_include_pad",
                                             "divisor_override"), ()),
    "AdaptiveAvgPooling": ("adaptive_avg_pool", "AdaptiveAvgPool2d", ("output_size",), ()),
    "LRN": ("lrn", "LocalResponseNorm", ("size", "alpha", "beta", "k"), ()),
    "Relu": ("relu", "ReLU", (), ()), "Sigmoid": ("sigmoid", "Sigmoid", (), ()),
}


def _options_text(o: dict, positional, keywords) -> str:
    return ", ".join([_lit(o[k]) for k in positional] + [f"{k}={_lit(o[k])}" for k in keywords])


def layer_call(kind: str, o: dict, name: str, train: bool = True) -> str:
    """The NumPy oracle's call for one layer, on ``h`` with the parameters ``P`` (torch's names)."""
    if kind in _SAME_OPTIONS:
        function, _, positional, keywords = _SAME_OPTIONS[kind]
        return f"{function}({', '.join(['h'] + [_options_text(o, positional, keywords)] * bool(positional))})"
    prefix = f"{name}.linear" if kind == "Affine" else name
    w, b = f'P["{prefix}.weight"]', f'P.get("{prefix}.bias")'
    if kind == "Convolution":
        return f"conv(h, {w}, {b}, {_options_text(o, ('stride', 'pad', 'dilation', 'groups'), ())})"
    if kind in ("Linear", "Affine"):
        return f"{kind.lower()}(h, {w}, {b})"
    return f'dropout(h, MASKS["{name}"], {o["p"]!r})' if train else "h"          # Dropout


def torch_module(kind: str, o: dict, s: tuple) -> str:
    """The stock torch module of one layer on input shape ``s`` (without N)."""
    if kind in _SAME_OPTIONS:
        _, module, positional, keywords = _SAME_OPTIONS[kind]
        return f"torch.nn.{module}({_options_text(o, positional, keywords)})"
    if kind == "Convolution":
        return (f"torch.nn.Conv2d({s[0]}, {o['FN']}, {_lit(pair(o['kernel']))}, "
                f"{_options_text(o, ('stride', 'pad', 'dilation', 'groups'), ('bias',))})")
    if kind == "Linear":
        return f"torch.nn.Linear({s[-1]}, {o['M']}, bias={o['bias']})"
    if kind == "Affine":
        return (f"torch.nn.Sequential(OrderedDict(flatten=torch.nn.Flatten(), "
                f"linear=torch.nn.Linear({math.prod(s)}, {o['M']})))")
    return f"torch.nn.Dropout({o['p']!r})"


def _params(spec) -> list:
    """[(torch's parameter name, float32 array in torch's layout, the ``values(...)`` call making it)]."""
    out = []
    for i, (layer, s, name) in enumerate(zip(spec.layers, shapes(spec), layer_names(spec)), start=1):
        o = layer.o
        prefix = f"{name}.linear" if layer.kind == "Affine" else name
        if layer.kind == "Convolution":
            fh, fw = pair(o["kernel"])
            shape, scale, t = (o["FN"], s[0] // o["groups"], fh, fw), 1 / math.sqrt(s[0] // o["groups"] * fh * fw), ""
        elif layer.kind in ("Linear", "Affine"):
            D = s[-1] if layer.kind == "Linear" else math.prod(s)
            shape, scale, t = (D, o["M"]), 1 / math.sqrt(max(D, 1)), ".T"
        else:
            continue
        w = values([spec.seed, layer.key, 0], shape, "normal", scale)
        out.append((f"{prefix}.weight", w.T if t else w, f'values([SEED, {layer.key}, 0], {shape}, "normal", {scale!r}){t}'))
        if layer.kind == "Affine" or o["bias"]:
            n = o.get("M", o.get("FN"))
            out.append((f"{prefix}.bias", values([spec.seed, layer.key, 1], (n,), "normal", 0.5),
                        f'values([SEED, {layer.key}, 1], ({n},), "normal", 0.5)'))
    return out


def _quantity(where: str, spec) -> str:
    """The matrix's quantity as the script names it: ``Conv1.out``, ``Conv1.grad`` (arriving at its
    output), ``x.grad``, ``Conv1.weight.grad``, ``loss``."""
    names = layer_names(spec)
    if where == "scores":
        return f"{names[-1]}.out"
    if where == "dx":
        return "x.grad"
    m = re.fullmatch(r"d([Wb])(\d+)", where)
    if m:
        i = int(m.group(2))
        prefix = f"{names[i - 1]}.linear" if spec.layers[i - 1].kind == "Affine" else names[i - 1]
        return f"{prefix}.{'weight' if m.group(1) == 'W' else 'bias'}.grad"
    return where


def _floats(a: np.ndarray) -> str:
    """A float32 array as a literal: the shortest decimals that read back to the same float32 numbers."""
    a = np.asarray(a, dtype=np.float32)
    if a.size == 0:
        return f"np.zeros({a.shape}, dtype=np.float32)"
    text = "np.array(" + repr(np.vectorize(lambda v: _Decimal(str(np.float32(v))), otypes=[object])(a).tolist()) + \
        ", dtype=np.float32)"
    if not np.array_equal(eval(text, {"np": np}), a, equal_nan=True):      # noqa: S307 (our own literal)
        raise ValueError("a float32 literal does not read back")
    return text


class _Decimal(str):
    """A number that a list's repr prints without quotes."""

    def __repr__(self):
        return str(self)


def _array(a: np.ndarray, call: str) -> str:
    """A small float32 array as a literal, a larger one as the call that makes it (``values(...)``),
    as float64 (the oracle computes in float64; torch converts to the run's dtype)."""
    return (_floats(a) if a.size <= 12 else call) + ".astype(float)"


def _labels(data: dict) -> str:
    t = data["t"]
    return f"np.array({t.tolist()}, dtype=np.int64)" if t.ndim == 1 else _floats(t) + ".astype(float)"


_HEAD = '''"""{title}

Finding:  {finding}
Found on: torch {torch} (CPU), Python {python}, {cpu}; {date}, cnn-parity fuzz --seed {fuzz_seed},
          network {network}, shrunk from {n0} to {n1} layers.
Upstream: {upstream}
Run:      python findings/{file} [CONFIG]   (CONFIG: {config}, the default, or eager)
Exit:     1 and "PRESENT: ..." while CONFIG's {quantity} {present}, 0 and "FIXED: ..." once it does not,
          2 and "COULD NOT RUN: ..." when the script could not run (a traceback is a crash, too).
"""
import contextlib
import sys
from collections import OrderedDict

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view as windows

{functions}
{constants}
TOL, TOL_EAGER = {tol!r}, {tol_eager!r}  # 16*sqrt(k)*eps of {precision} and {dtype}, k = {k}
'''

#: The network's forward pass and loss, as the matrix runs a network (every layer, zero probes).
#: The float64 network and loss, for a gradient or the loss.
_ORACLE = '''
def oracle(P=P, x=X, at=None, z=0):
    """The float64 answer (NumPy; gradients by complex steps): the loss and each layer's output."""
    h, outs = x, {{}}
    for name, _, f in LAYERS:
        h = outs[name] = f(h, P) + (z if name == at else 0)
    return {loss_fn}(h, T, **LOSS), outs
'''

_RUN_NET = '''
def run(config, backend="inductor"):
    """torch's {quantity} under ``config``, run as the fuzzer ran it (raises what torch raises)."""
    net = torch.nn.Sequential(OrderedDict((n, m()) for n, m, _ in LAYERS)).to(torch.{dtype}).train({train})
    net.load_state_dict({{k: torch.from_numpy(v) for k, v in P.items()}})
    x, t = torch.from_numpy(np.array(X, copy=True)).to(torch.{dtype}).requires_grad_(True), {t_torch}
    stack, fwd, fn = contextlib.ExitStack(), contextlib.nullcontext, None

    def forward(x, probes):             # each output plus a zero probe: its gradient arrives there
        h, outs = x, []
        for (name, child), z in zip(net.named_children(), probes):
            outs.append(h := {child_call} + z)
        return torch.nn.functional.cross_entropy(h, t, **{torch_loss}), outs
{setup}    with stack:
        with torch.no_grad(), fwd():
            probes = [torch.zeros_like(o).requires_grad_(True) for o in forward(x, [0.0] * len(LAYERS))[1]]
        with fwd():
            loss, outs = (fn or forward)(x, probes)
        loss.backward(torch.ones_like(loss))
    return ({got}).detach().double().numpy()
'''

#: A forward value outside a compiled graph: only the layers up to it, forward.
_RUN_FORWARD = '''
def run(config):
    """torch's {quantity} under ``config``: the layers up to it, forward (raises what torch raises)."""
    net = torch.nn.Sequential(OrderedDict((n, m()) for n, m, _ in LAYERS)).to(torch.{dtype}).train({train})
    net.load_state_dict({{k: torch.from_numpy(v) for k, v in P.items()}})
    x = torch.from_numpy(np.array(X, copy=True)).to(torch.{dtype}).requires_grad_(True)
    stack, fwd = contextlib.ExitStack(), contextlib.nullcontext
{setup}    with stack, fwd():
        for name, child in net.named_children():
            x = {child_call}
    return x.detach().double().numpy()
'''

_TAIL = '''

def error(got, want):
    """max |got - want| / max |got|; inf for another shape, or NaN/inf elsewhere than the oracle's."""
    ok, f = got.shape == want.shape and np.array_equal(np.isfinite(got), np.isfinite(want)), np.isfinite(want)
    return np.max(abs(got - want), initial=0, where=f) / np.max(abs(got), initial=1e-300, where=f) if ok else np.inf

def main():
    print(f"torch {{torch.__version__}}, {dtype}: {net}")
    {want}
    eager = error(run("eager"), want)
    print(f"  {quantity}, max rel error against the float64 oracle: eager {{eager:.3g}} (tolerance {{TOL_EAGER:.2g}})")
    if CONFIG != "eager" and eager > TOL_EAGER:
        print("COULD NOT RUN: eager disagrees with this script's float64 oracle")
        return 2
{verdict}

if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as exc:                                             # the script, not the finding
        print(f"COULD NOT RUN: {{type(exc).__name__}}: {{exc}}")
        sys.exit(2)
'''

#: The verdict of main() per kind of finding.
_VERDICT = {
    "value": '''    err, limit = error(run(CONFIG), want), {limit}
    print(f"  {{CONFIG}}: {{err:.3g}} (limit {{limit:.2g}}: {limit_words})")
    if err > limit:
        print(f"PRESENT: {{CONFIG}} {what} in {quantity}: {{err:.3g}} > {{limit:.2g}} (eager {{eager:.3g}})")
        return 1
    print(f"FIXED: {{CONFIG}} {fixed} in {quantity}: {{err:.3g}} <= {{limit:.2g}}")
    return 0
''',
    "crash": '''    try:
        err = error(run(CONFIG), want)
    except Exception as exc:
        print(f"PRESENT: {{CONFIG}} raises {{type(exc).__name__}}: {{' '.join(str(exc).split())[:300]}}; eager runs it")
        return 1
    print(f"FIXED: {{CONFIG}} runs it; {quantity} max rel error {{err:.3g}}")
    return 0
''',
    "non-deterministic": '''    a, b = run(CONFIG), run(CONFIG)
    if a.tobytes() != b.tobytes():
        print(f"PRESENT: two runs of {{CONFIG}} differ in {quantity} by {{np.abs(a - b).max():.3g}}")
        return 1
    print(f"FIXED: two runs of {{CONFIG}} are bit-identical in {quantity}")
    return 0
''',
}

#: PyTorch's guide for compile bugs: the same program under each backend, the first that fails.
#: A compile finding's verdict: PyTorch's ablation (the same program under each backend, from the
#: least compiler to the most); the first backend that fails is named, inductor's result decides.
_ABLATION = '''    first = None
    for backend in (''' + ", ".join(f'"{b}"' for b in BACKENDS) + '''):
        try:
            err = error(run(CONFIG, backend), want)
            text, bad = f"max rel error {{err:.3g}} (limit {{{limit}:.2g}})", err > {limit}
        except Exception as exc:
            text, bad = f"raises {{type(exc).__name__}}: {{' '.join(str(exc).split())[:200]}}", True
        first = first or (backend if bad else None)
        print(f"  {{CONFIG}}, backend {{backend:27s}} {{text}}")
    if bad:
        print(f"PRESENT: {{CONFIG}} {what} in {quantity}; first backend that fails: {{first}}")
        return 1
    print(f"FIXED: {{CONFIG}} {fixed} in {quantity} under every backend" + (f" but {{first}}" if first else ""))
    return 0
'''


def _functions(layers, loss, gradient: bool, with_values: bool, doc: bool = True) -> str:
    """The NumPy oracle's functions that ``layers`` (kinds) need, their source copied from
    ``oracle_np`` (and ``netspec.values`` when a tensor is made by it rather than written out);
    ``loss``: the loss function needed, or None. Without ``doc``, no docstrings and no blank
    lines between them (the line budget)."""
    needed = [O.FUNCTIONS[kind] for kind in layers]
    wanted = set(needed) | ({loss} if loss else set()) | ({O.grad} if gradient else set())
    for f in needed:
        wanted |= set(O.NEEDS.get(f, ()))
    order = [O.pair, O.taps, *O.FUNCTIONS.values(), O.cross_entropy, O.cross_entropy_mean, O.grad]
    sources = [_short_source(values, doc)] * with_values + [_short_source(f, doc) for f in order if f in wanted]
    return ("\n\n" if doc else "\n").join(sources) + "\n"


def _want(quantity: str, names: list) -> str:
    """main()'s lines that compute the oracle's value of ``quantity`` into ``want``."""
    name = quantity.rsplit(".", 1)[0]
    if quantity.endswith(".out"):
        return (f"want = X\n    for _, _, f in LAYERS[:{names.index(name) + 1}]:    # the float64 answer\n"
                f"        want = f(want, P)")
    if quantity == "loss":
        return "want = oracle()[0]"
    if quantity == "x.grad":
        return "want = grad(lambda x: oracle(x=x)[0], X)"
    if quantity.endswith((".weight.grad", ".bias.grad")):
        return f'want = grad(lambda p: oracle(P={{**P, "{name}": p}})[0], P["{name}"])'
    return f'want = grad(lambda z: oracle(at="{name}", z=z)[0], 0 * oracle()[1]["{name}"].real)'


def _got(quantity: str, names: list) -> str:
    name = quantity.rsplit(".", 1)[0]
    if quantity == "loss":
        return "loss"
    if quantity.endswith(".out"):
        return f"outs[{names.index(name)}]"
    if quantity == "x.grad":
        return "x.grad"
    if quantity.endswith((".weight.grad", ".bias.grad")):
        return f'net.get_parameter("{name}").grad'
    return f"probes[{names.index(name)}].grad"


def file_name(finding: Finding) -> str:
    """``fuzz_<configuration>_<layer>_<quantity>_<kind>.py`` (its signature, in words)."""
    o = finding.observation
    words = [o.configuration, o.dtype, o.layer or "graph", o.quantity if o.kind != "crash" else "", o.kind]
    return "fuzz_" + re.sub(r"[^a-z0-9]+", "_", "_".join(w for w in words if w).lower()).strip("_")[:80] + ".py"


def _setup(cfg) -> str:
    lines = SETUPS[cfg.name]
    return f"    if config == {cfg.name!r}:\n" + "".join(f"        {line}\n" for line in lines) if lines else ""


def _title(o, dtype) -> str:
    words = {"crash": "raises where eager runs", "non-deterministic": "differs between two runs",
             "worse than eager": "is worse than eager against the float64 oracle",
             "nan/inf": "has NaN/inf where the float64 oracle has none"}
    what = f"{o.layer} {o.quantity}" if o.kind != "crash" else (f"{o.layer} network" if o.layer else "a network")
    return f"{o.configuration} ({dtype.name}, CPU): {what} {words.get(o.kind, 'disagrees with the float64 oracle')}"


def _verdict(o, cfg, prec, prec_eager, quantity) -> str:
    worse = o.kind == "worse than eager"
    limit = f"3 * {prec.eps / prec_eager.eps!r} * eager + {16 * prec.eps!r}" if worse else "TOL"
    what = {"worse than eager": "is worse than eager against the float64 oracle",
            "nan/inf": "has NaN/inf where the float64 oracle has none (or the reverse)"}.get(
        o.kind, "disagrees with the float64 oracle")
    fixed = "is no worse than eager" if worse else "agrees with the float64 oracle"
    verdict = _VERDICT.get(o.kind, _VERDICT["value"]).format(
        limit=limit, quantity=quantity, what=what, fixed=fixed,
        limit_words="3 × eager's error, scaled to the precision, + 16·eps" if worse else f"16·sqrt(k)·eps of {prec.name}")
    if cfg.compile and o.kind != "non-deterministic":
        return _ABLATION.format(limit=limit, quantity=quantity, what=what if o.kind != "crash" else "raises",
                                fixed=fixed if o.kind != "crash" else "runs it and agrees with the float64 oracle")
    return verdict


def _constants(spec, data, dtype, upto: int, whole: bool) -> str:
    """CONFIG, X, P, MASKS, LAYERS (the first ``upto`` + 1 layers; all of them and T and LOSS when
    the whole network runs): the network's numbers, written out when few, else by ``values``."""
    names, sizes = layer_names(spec), shapes(spec)
    keep = names if whole else names[:upto + 1]
    x = _array(values([spec.seed, 0], spec.shape, spec.kind, spec.scale),
               f"values([SEED, 0], {spec.shape}, {spec.kind!r}, {spec.scale!r})")
    x += {"channels_last": ".transpose(0, 2, 3, 1).copy().transpose(0, 3, 1, 2)  # NHWC in memory",
          "transposed": ".transpose(0, 1, 3, 2).copy().transpose(0, 1, 3, 2)  # column by column"}.get(spec.layout, "")
    params = [f'"{name}": {_array(a, call)}' for name, a, call in _params(spec) if name.split(".")[0] in keep]
    masks = [f'"{n}": np.random.default_rng([SEED, {layer.key}, 2]).random({(spec.shape[0], *s)}) > {layer.o["p"]!r}'
             for n, layer, s in zip(keep, spec.layers, sizes) if layer.kind == "Dropout" and "masks" in data]
    entries = []
    for i, (n, layer, s) in enumerate(zip(keep, spec.layers, sizes)):
        call = f"lambda h, P: {layer_call(layer.kind, layer.o, n, 'masks' in data)}" if i <= upto else "None"
        entry = f'("{n}", lambda: {torch_module(layer.kind, layer.o, s)}, {call})'
        entries.append(entry if len(entry) <= 108 else entry.replace(", lambda h, P", ",\n           lambda h, P"))
    layers = ",\n          ".join(entries)
    lines = [f'CONFIG = sys.argv[1] if len(sys.argv) > 1 else "{{config}}"', f"X = {x}"]
    if whole:
        lo = spec.loss_opts
        loss = [f"reduction={lo['reduction']!r}", f"ignore_index={-100 if lo['ignore_index'] is None else lo['ignore_index']}"]
        if lo["weight"]:
            w = loss_weight(spec, sizes[-1][0], np.float32)
            loss.append(f"weight={_floats(w)}.astype(float)")
        lines += [f"T = {_labels(data)}", f"LOSS = dict({', '.join(loss)})"]
    lines += ["P = {" + ",\n     ".join(params) + "}"] + ["MASKS = {" + ", ".join(masks) + "}"] * bool(masks)
    lines.append(f"LAYERS = [{layers}]")
    text = "\n".join(lines)
    return (f"SEED = {spec.seed}\n" if "SEED" in text else "") + text


def script(finding: Finding, *, upstream: str = "", date: str | None = None, cfg=None) -> str:
    """The repro of ``finding`` (its shrunk network and observation) as the text of a script; over
    :data:`MAX_LINES`, the oracle's functions lose their docstrings (the script may still be longer:
    a network too large to show in 100 lines — ``write_repro`` says so)."""
    text = _script(finding, upstream, date, True, cfg)
    return text if len(text.splitlines()) <= MAX_LINES else _script(finding, upstream, date, False, cfg)


def _script(finding: Finding, upstream: str, date: str | None, doc: bool, cfg) -> str:
    o, spec = finding.observation, finding.spec
    if o.configuration not in SETUPS:
        raise KeyError(f"no standalone setup for the configuration {o.configuration!r}; add one to SETUPS")
    cfg, dtype = cfg or by_name(o.configuration), np.dtype(o.dtype or "float32")
    data, names = inputs(spec, dtype), layer_names(spec)
    quantity = "loss" if o.kind == "crash" else _quantity(o.where, spec)
    forward = quantity.endswith(".out")
    whole = not forward or cfg.compile                      # a compiled graph: the whole network, as it ran
    upto = names.index(quantity[:-4]) if forward else len(names) - 1
    k = net_case(spec).reduction
    prec, prec_eager = precision_of(cfg, dtype), precision_of(by_name("eager"), dtype)
    constants = _constants(spec, data, dtype, upto, whole).replace("{config}", cfg.name)
    h = "h" if whole else "x"
    child = (f"({h} * (torch.from_numpy(MASKS[name]).to({h}.dtype) * (1.0 / (1.0 - child.p))) if name in MASKS "
             f"else child({h}))" if "MASKS = " in constants else f"child({h})")
    fields = dict(quantity=quantity, dtype=dtype.name, train="True" if "MASKS = " in constants else "False",
                  setup=_setup(cfg), child_call=child)
    lo = spec.loss_opts
    simple_loss = spec.shape[0] > 0 and all(lo[k] == v for k, v in dict(reduction="mean", ignore_index=None,
                                                                        weight=False, labels="indices").items())
    loss_fn = (O.cross_entropy_mean if simple_loss else O.cross_entropy) if whole and not forward else None
    if whole:
        run = _RUN_NET.format(t_torch="torch.from_numpy(T)" if data["t"].ndim == 1 else
                              f"torch.from_numpy(T).to(torch.{dtype.name})",
                              torch_loss=f'{{**LOSS, "weight": torch.from_numpy(LOSS["weight"]).to(torch.{dtype.name})}}'
                              if lo["weight"] else "LOSS", got=_got(quantity, names), **fields)
    else:
        run = _RUN_FORWARD.format(**fields)
    title = _title(o, dtype)
    saw = o.where if o.kind == "crash" else \
        f"{o.where}, max rel error {o.max_rel:.3g} against the float64 oracle, tolerance {o.tol:.3g}" + (
            f", {o.ratio:.3g} × eager's" if math.isfinite(o.ratio) else "")
    oracle = _ORACLE.format(loss_fn=loss_fn.__name__) if loss_fn else ""
    head = _HEAD.format(
        title=title, finding=_wrap(f"{describe(spec)}; the fuzzer saw {saw}.", 10, 112),
        torch=torch.__version__, python=platform.python_version(), cpu=cpu_name(),
        date=date or datetime.now(timezone.utc).strftime("%Y-%m-%d"), fuzz_seed=finding.seed,
        network=finding.network, n0=len(finding.original.layers), n1=len(spec.layers),
        upstream=upstream or "not searched yet (a generated repro: search pytorch/pytorch's issues before filing)",
        file=file_name(finding), config=cfg.name, quantity=quantity,
        present={"crash": "raises", "non-deterministic": "differs between runs"}.get(o.kind, "exceeds its limit"),
        functions=_functions([layer.kind for layer in spec.layers[:upto + 1]], loss_fn, whole and not forward
                             and quantity != "loss", "values(" in constants, doc),
        constants=constants, tol=config_tolerance(prec, k).rtol, tol_eager=config_tolerance(prec_eager, k).rtol,
        precision=prec.name, dtype=dtype.name, k=k)
    tail = _TAIL.format(dtype=dtype.name, net=describe(spec), want=_want(quantity, names), quantity=quantity,
                        verdict=_verdict(o, cfg, prec, prec_eager, quantity))
    text = head + oracle + run + tail
    return text if doc else text.replace("\n\n\n", "\n\n")


def _wrap(text: str, indent: int, width: int = 104) -> str:
    words, lines, line = text.split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width - indent:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    lines.append(line)
    return ("\n" + " " * indent).join(lines)


def write_repro(finding: Finding, folder, upstream: str = "", cfg=None) -> Path:
    """Write ``finding``'s repro into ``folder`` (created if needed); its path. ``cfg``: the
    configuration, when it is not a registered one (a test's spoiler)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_name(finding)
    path.write_text(script(finding, upstream=upstream, cfg=cfg), encoding="utf-8")
    return path
