"""PyTorch's own test samples as an outside corpus: the OpInfo database, run through the reference.

PyTorch keeps, for each operator, a generator of hand-picked sample inputs (shapes, strides,
paddings, flags its developers decided are worth testing): ``op_db`` in
``torch.testing._internal.common_methods_invocations``, each entry with
``sample_inputs(device, dtype, requires_grad=True)``. :data:`OPS` lists the entries whose
operation the reference implements, each with an *adapter* that turns one sample into a
reference call. For every sample (float64 and float32, on the CPU) the runner compares, through
:func:`reports.parity.records.compare` and the tolerance rule of every other record
(``reduction_tolerance``: 16·√k·eps for the longest sum k):

- the forward output (and max pooling's ``return_indices``, exactly);
- the gradient of every input and parameter that requires one (``grad input``, ``grad weight``,
  ``grad bias``, ``grad target``), for a seeded random cotangent — a vector-Jacobian product.

A sample the reference cannot express is counted with its reason (:class:`Unsupported`), never
dropped. A sample the reference fails on (it raises) is a failed record, not a skipped one.
Unbatched (C, H, W) inputs get a batch axis and lose it again; a K-dimensional cross-entropy
(N, C, d1, …) is computed on (N·d1·…, C) rows — both reshapes only, stated in the record's note.

Fragility: ``torch.testing._internal`` is private (it needs ``expecttest``). If its import or the
samples' API fails, :func:`load_op_db` raises :class:`CorpusUnavailable` with one line saying why;
the command prints it and the tests skip. Importing it also freezes ``torch.backends`` flags
(``disable_global_flags``, for PyTorch's own test suite): :func:`load_op_db` unfreezes them again,
so that the configurations that set flags keep working in the same process.
"""
from __future__ import annotations

import itertools
import json
import logging
import math
import time
import warnings
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

import numpy as np
import pandas as pd
import torch

import reference as R
from reference import fast as RF
from reference import util as U

from .cases import adaptive_window, conv_reduction, linear_reduction, overlap_reduction
from .configs import one_thread
from .records import DTYPES, Record, compare, reduction_tolerance

__all__ = ["OPS", "CorpusUnavailable", "Unsupported", "SampleResult", "CorpusRun",
           "load_op_db", "run_corpus", "summarize", "totals", "sample_rows", "opinfo_frame", "corpus_from_records",
           "OPINFO_COLUMNS", "SUBSET_SCAN"]

#: A subset is drawn from each entry's first SUBSET_SCAN samples (the max-pool generator makes
#: 1,440, seconds' worth; a subset should cost well under a second).
SUBSET_SCAN = 48


class CorpusUnavailable(RuntimeError):
    """The OpInfo corpus cannot be used with this torch (import or sample API failed)."""


class Unsupported(Exception):
    """A sample the reference cannot express; the message is the reason shown in the table."""


# ------------------------------------------------------------------------------------------
# Loading the corpus
# ------------------------------------------------------------------------------------------

def load_op_db():
    """``op_db`` of ``torch.testing._internal.common_methods_invocations``, or CorpusUnavailable."""
    frozen = torch.backends.flags_frozen()
    # Importing the test modules makes torch.utils.cpp_extension log "No CUDA runtime is found"
    # on a machine without CUDA: a line on the user's terminal that says nothing about the corpus.
    ext_log = logging.getLogger("torch.utils.cpp_extension")
    level = ext_log.level
    ext_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # Seconds to import, and a private module that may be missing: only when the corpus runs.
            from torch.testing._internal.common_methods_invocations import op_db
    except Exception as exc:         # ImportError (no expecttest), or anything a private module does
        raise CorpusUnavailable(
            f"cannot import torch.testing._internal.common_methods_invocations from torch "
            f"{torch.__version__} ({type(exc).__name__}: {exc}); install expecttest "
            f"(pip install expecttest) or use a torch build that ships its test modules") from None
    finally:
        ext_log.setLevel(level)
        if not frozen:   # importing common_utils calls torch.backends.disable_global_flags()
            torch.backends.flags_frozen.__globals__["__allow_nonbracketed_mutation_flag"] = True
    return op_db


def _find(op_db, name):
    for op in op_db:
        if op.name == name and not op.variant_test_name:
            return op
    return None


def _generate(op, dtype):
    """``op.sample_inputs("cpu", dtype, requires_grad=True)`` without its test-tracking wrapper:
    the generator behind it, ``op.sample_inputs_func``, gives the same samples. The wrapper
    inspects the call stack twice per call (a tenth of a second each under pytest) and, before
    every sample, reseeds torch's, ``random``'s and NumPy's global generators with PyTorch's test
    seed — which would make ``seed`` meaningless and disturb the caller's random state."""
    generator = getattr(op, "sample_inputs_func", None)
    if generator is None:                                   # another torch: the public form
        return op.sample_inputs("cpu", dtype, requires_grad=True, set_seed=False)
    return generator(op, "cpu", dtype, True)


@lru_cache(maxsize=None)
def _samples(name: str, dtype: str, seed: int, limit: int | None = None) -> tuple:
    """The samples of one entry in one dtype, drawn under ``seed`` (torch's generator is forked,
    so the caller's random state is untouched) — the first ``limit`` of them (default all: the
    generator is deterministic, so they are the same first samples). Cached: the 1,440 max-pool
    samples take seconds to make."""
    op = _find(load_op_db(), name)
    if op is None:
        raise CorpusUnavailable(f"torch {torch.__version__}'s op_db has no entry {name!r}")
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            samples = tuple(itertools.islice(_generate(op, getattr(torch, dtype)), limit))
        for s in samples[:1]:
            s.input, s.args, s.kwargs                       # the attributes the adapters read
    except Exception as exc:
        raise CorpusUnavailable(f"the OpInfo sample API of torch {torch.__version__} changed "
                                f"({name}: {type(exc).__name__}: {exc})") from None
    return op, samples


# ------------------------------------------------------------------------------------------
# Adapters: one sample -> one reference call
# ------------------------------------------------------------------------------------------

@dataclass
class RefCall:
    """One sample as a reference computation.

    forward() -> (output, reduction length k for the tolerance); backward(cotangent) ->
    {leaf name: gradient}; indices() -> max pooling's flat indices (after forward) or None.
    ``leaves``: {name: torch tensor} of the sample's tensors that require a gradient.
    """

    forward: Callable
    backward: Callable
    leaves: dict
    indices: Callable | None = None
    note: str = ""


def _np(t):
    return None if t is None else t.detach().numpy()


def _bind(sample, names, defaults) -> dict:
    """The sample's arguments by name (``names[0]`` is the input), with PyTorch's defaults."""
    values = dict(defaults)
    values[names[0]] = sample.input
    if len(sample.args) > len(names) - 1:
        raise Unsupported(f"{len(sample.args)} positional arguments")
    values.update(zip(names[1:], sample.args))
    unknown = set(sample.kwargs) - set(names)
    if unknown:
        raise Unsupported(f"argument {sorted(unknown)[0]}")
    values.update(sample.kwargs)
    return values


def _arg(value):
    """A size argument as the reference takes it: an int or an (h, w) pair (torch also takes
    a 1-tuple for both axes)."""
    if isinstance(value, (tuple, list)):
        return int(value[0]) if len(value) == 1 else tuple(int(v) for v in value)
    return value


def _pair(value):
    value = _arg(value)
    return value if isinstance(value, tuple) else (value, value)


def _leaves(**tensors) -> dict:
    return {k: t for k, t in tensors.items() if isinstance(t, torch.Tensor) and t.requires_grad}


def _batched(x, layer_forward, layer_backward):
    """(forward, backward, note) of a 4-D layer, adding the batch axis to a (C, H, W) input."""
    unbatched = x.ndim == 3
    xb = x[None] if unbatched else x

    def forward():
        y = layer_forward(xb)
        return y[0] if unbatched else y

    def backward(dout):
        dx = layer_backward(dout[None] if unbatched else dout)
        return dx[0] if unbatched else dx

    return forward, backward, "unbatched: batch axis added and removed" if unbatched else ""


def _conv2d(sample, method):
    a = _bind(sample, ("input", "weight", "bias", "stride", "padding", "dilation", "groups"),
              {"bias": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1})
    x, W, b = _np(a["input"]), _np(a["weight"]), _np(a["bias"])
    padding = a["padding"] if isinstance(a["padding"], str) else _arg(a["padding"])
    layer = R.Convolution(W, b, _arg(a["stride"]), padding, method=method, groups=a["groups"],
                          dilation=_arg(a["dilation"]))
    fwd, bwd, note = _batched(x, layer.forward, layer.backward)
    FN, Cg, FH, FW = W.shape

    def forward():
        y = fwd()
        n_out = int(np.prod(y.shape)) // FN                 # N·OH·OW
        return y, conv_reduction(Cg, FH, FW, n_out, FN // a["groups"])

    def backward(dout):
        grads = {"input": bwd(dout), "weight": layer.dW}
        if b is not None:
            grads["bias"] = layer.db
        return grads

    return RefCall(forward, backward, _leaves(input=a["input"], weight=a["weight"], bias=a["bias"]), note=note)


def _max_pool2d(sample, method):
    a = _bind(sample, ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"),
              {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False, "return_indices": False})
    (kh, kw) = _pair(a["kernel_size"])
    stride = (kh, kw) if a["stride"] in (None, ()) else _arg(a["stride"])
    layer = R.Pooling(kh, kw, stride, _arg(a["padding"]), method=method, dilation=_arg(a["dilation"]),
                      ceil_mode=a["ceil_mode"])
    x = _np(a["input"])
    fwd, bwd, note = _batched(x, layer.forward, layer.backward)
    sh, sw = _pair(stride)
    indices = None
    if a["return_indices"]:
        def indices():
            idx = layer.flat_indices()
            return idx[0] if x.ndim == 3 else idx
    return RefCall(lambda: (fwd(), overlap_reduction(kh, kw, sh, sw)), lambda d: {"input": bwd(d)},
                   _leaves(input=a["input"]), indices=indices, note=note)


def _avg_pool2d(sample, method):
    a = _bind(sample, ("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                       "divisor_override"),
              {"stride": None, "padding": 0, "ceil_mode": False, "count_include_pad": True,
               "divisor_override": None})
    (kh, kw) = _pair(a["kernel_size"])
    stride = (kh, kw) if a["stride"] in (None, ()) else _arg(a["stride"])
    layer = R.AvgPooling(kh, kw, stride, _arg(a["padding"]), a["count_include_pad"], method=method,
                         ceil_mode=a["ceil_mode"], divisor_override=a["divisor_override"])
    fwd, bwd, note = _batched(_np(a["input"]), layer.forward, layer.backward)
    return RefCall(lambda: (fwd(), kh * kw), lambda d: {"input": bwd(d)}, _leaves(input=a["input"]), note=note)


def _adaptive_avg_pool2d(sample, method):
    a = _bind(sample, ("input", "output_size"), {})
    size = a["output_size"]
    layer = R.AdaptiveAvgPooling(tuple(size) if isinstance(size, (tuple, list)) else size)
    x = _np(a["input"])
    fwd, bwd, note = _batched(x, layer.forward, layer.backward)

    def forward():
        y = fwd()
        return y, adaptive_window(x.shape[-2], x.shape[-1], y.shape[-2], y.shape[-1])

    return RefCall(forward, lambda d: {"input": bwd(d)}, _leaves(input=a["input"]), note=note)


def _unfold(sample, method):
    """``F.unfold`` is the fast path's ``unfold`` (the book's path: ``im2col`` in its layout),
    and its gradient is ``fold`` (``col2im``)."""
    a = _bind(sample, ("input", "kernel_size", "dilation", "padding", "stride"),
              {"dilation": 1, "padding": 0, "stride": 1})
    (kh, kw), options = _pair(a["kernel_size"]), dict(stride=_arg(a["stride"]), pad=_arg(a["padding"]),
                                                      dilation=_arg(a["dilation"]))
    x = _np(a["input"])

    def unfold(xb):
        if method == "fast":
            return RF.unfold(xb, kh, kw, **options)
        (sh, sw), (ph, pw), (dh, dw) = (_pair(options[k]) for k in ("stride", "pad", "dilation"))
        L = (R.conv_output_size(xb.shape[2], kh, sh, ph, dilation=dh)
             * R.conv_output_size(xb.shape[3], kw, sw, pw, dilation=dw))
        col = U.im2col(xb, kh, kw, **options)                # (N·L, C·kh·kw), rows (n, oh, ow)
        return col.reshape(xb.shape[0], L, col.shape[1]).transpose(0, 2, 1)

    def fold(dcol, shape):
        if method == "fast":
            return RF.fold(dcol, shape, kh, kw, **options)
        N, K, L = dcol.shape
        return U.col2im(dcol.transpose(0, 2, 1).reshape(N * L, K), shape, kh, kw, **options)

    xb_shape = (1,) + x.shape if x.ndim == 3 else x.shape
    fwd, bwd, note = _batched(x, unfold, lambda d: fold(d, xb_shape))
    sh, sw = _pair(options["stride"])
    return RefCall(lambda: (fwd(), overlap_reduction(kh, kw, sh, sw)), lambda d: {"input": bwd(d)},
                   _leaves(input=a["input"]), note=note)


def _linear(sample, method):
    a = _bind(sample, ("input", "weight", "bias"), {"bias": None})
    x, W, b = _np(a["input"]), _np(a["weight"]), _np(a["bias"])
    layer = R.Linear(W.T, b)                                  # the book's (in, out) layout
    rows = int(np.prod(x.shape[:-1]))

    def backward(dout):
        grads = {"input": layer.backward(dout), "weight": layer.dW.T}
        if b is not None:
            grads["bias"] = layer.db
        return grads

    return RefCall(lambda: (layer.forward(x), linear_reduction(W.shape[1], rows, W.shape[0])), backward,
                   _leaves(input=a["input"], weight=a["weight"], bias=a["bias"]))


def _local_response_norm(sample, method):
    a = _bind(sample, ("input", "size", "alpha", "beta", "k"), {"alpha": 1e-4, "beta": 0.75, "k": 1.0})
    layer = R.LRN(a["size"], a["alpha"], a["beta"], a["k"])
    x = _np(a["input"])
    return RefCall(lambda: (layer.forward(x), 2 * a["size"]), lambda d: {"input": layer.backward(d)},
                   _leaves(input=a["input"]))


def _cross_entropy(sample, method):
    a = _bind(sample, ("input", "target", "weight", "size_average", "ignore_index", "reduce", "reduction",
                       "label_smoothing"),
              {"weight": None, "size_average": None, "ignore_index": -100, "reduce": None,
               "reduction": "mean", "label_smoothing": 0.0})
    if a["size_average"] is not None or a["reduce"] is not None:
        raise Unsupported("deprecated size_average/reduce")
    if a["label_smoothing"]:
        raise Unsupported("label_smoothing")
    x, t = _np(a["input"]), _np(a["target"])
    soft = t.dtype.kind == "f"
    C = x.shape[1] if x.ndim > 1 else x.shape[0]
    layer = R.SoftmaxWithLoss(reduction=a["reduction"], weight=_np(a["weight"]), ignore_index=a["ignore_index"])

    # (C,) -> (1, C); (N, C, d1, ...) -> rows (N·d1·..., C) with the class axis last
    xb = x[None] if x.ndim == 1 else x
    tb = t[None] if x.ndim == 1 else t
    rows_shape = (xb.shape[0],) + xb.shape[2:]                # the loss's "none" shape
    x2 = np.moveaxis(xb, 1, -1).reshape(-1, C)
    t2 = np.moveaxis(tb, 1, -1).reshape(-1, C) if soft else tb.reshape(-1)
    note = ("unbatched: batch axis added and removed" if x.ndim == 1 else
            f"K-dimensional: class axis moved last, {len(x2)} rows" if x.ndim > 2 else "")

    def unrows(g):                                            # (rows, C) -> the input's layout
        g = np.moveaxis(g.reshape(rows_shape + (C,)), -1, 1)
        return g[0] if x.ndim == 1 else g

    def forward():
        loss = layer.forward(x2, t2)
        if a["reduction"] == "none":
            loss = loss.reshape(rows_shape)
            loss = loss[0] if x.ndim == 1 else loss
        return loss, x2.size

    def backward(dout):
        dx = layer.backward(np.reshape(dout, -1) if a["reduction"] == "none" else dout)
        grads = {"input": unrows(dx)}
        if soft:
            grads["target"] = unrows(layer.dt)
        return grads

    return RefCall(forward, backward, _leaves(input=a["input"], target=a["target"]), note=note)


def _elementwise(layer_class):
    def adapt(sample, method):
        a = _bind(sample, ("input", "inplace"), {"inplace": False})
        if a["inplace"]:
            raise Unsupported("inplace=True")
        layer = layer_class()
        x = _np(a["input"])
        return RefCall(lambda: (layer.forward(x), 1), lambda d: {"input": layer.backward(d)},
                       _leaves(input=a["input"]))
    return adapt


#: The OpInfo entries of issue 12 and the reference call of each sample.
OPS: dict[str, Callable] = {
    "nn.functional.conv2d": _conv2d,
    "nn.functional.max_pool2d": _max_pool2d,
    "nn.functional.avg_pool2d": _avg_pool2d,
    "nn.functional.adaptive_avg_pool2d": _adaptive_avg_pool2d,
    "nn.functional.unfold": _unfold,
    "nn.functional.linear": _linear,
    "nn.functional.local_response_norm": _local_response_norm,
    "nn.functional.cross_entropy": _cross_entropy,
    "nn.functional.relu": _elementwise(R.Relu),
    "sigmoid": _elementwise(R.Sigmoid),
}


# ------------------------------------------------------------------------------------------
# Running samples
# ------------------------------------------------------------------------------------------

@dataclass
class SampleResult:
    """One sample of one entry in one dtype: its records, or the reason it was not run."""

    op: str
    dtype: str
    index: int
    description: str
    records: list = field(default_factory=list)
    reason: str = ""                 # why the reference cannot express it ("" if it ran)

    @property
    def ran(self) -> bool:
        return not self.reason

    @property
    def agrees(self) -> bool:
        return self.ran and bool(self.records) and all(r.passed for r in self.records)


def describe(sample) -> str:
    """A short description of a sample: tensor shapes (``nc`` for non-contiguous), then the
    other arguments."""
    def one(v):
        if isinstance(v, torch.Tensor):
            return f"{tuple(v.shape)}{'' if v.is_contiguous() else ' nc'}"
        return repr(v)
    parts = [one(sample.input)] + [one(v) for v in sample.args]
    parts += [f"{k}={one(v)}" for k, v in sample.kwargs.items()]
    return ", ".join(parts)


def _failed(op, quantity, dtype, config, exc) -> Record:
    return Record(case=op, quantity=quantity, dtype=dtype, config=config, ref_shape="", torch_shape="",
                  max_abs=math.inf, max_rel=math.inf, tol=0.0, headroom=0.0, verdict="fail", group="opinfo",
                  note=f"the reference raised {type(exc).__name__}: {exc}")


def run_sample(op, name, sample, index, dtype, seed=0, method="fast") -> SampleResult:
    """Forward, indices and the VJP of one sample, in both frameworks -> a SampleResult."""
    result = SampleResult(name, dtype, index, describe(sample))
    config = {"sample": index, "args": result.description}
    try:
        call = OPS[name](sample, method)
    except Unsupported as exc:
        result.reason = str(exc)
        return result
    except Exception as exc:            # the reference refused a sample torch accepts
        result.records.append(_failed(name, "output", dtype, config, exc))
        return result
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)      # e.g. pad="same" with an even kernel
        out_t = op(sample.input, *sample.args, **sample.kwargs)
    indices_t = None
    if isinstance(out_t, tuple):                          # max_pool2d(return_indices=True)
        out_t, indices_t = out_t
    try:
        out_r, k = call.forward()
    except Exception as exc:
        result.records.append(_failed(name, "output", dtype, config, exc))
        return result
    tol = reduction_tolerance(dtype, k)
    records = [compare(name, "output", np.asarray(out_r), out_t, tol, config=config, group="opinfo",
                       note=call.note)]
    if indices_t is not None:
        records.append(compare(name, "indices", call.indices(), indices_t, 0.0, config=config,
                               group="opinfo", dtype=dtype, note=call.note))
    if call.leaves:
        rng = np.random.default_rng([seed, zlib.crc32(name.encode()), DTYPES.index(dtype), index])
        cotangent = np.asarray(rng.standard_normal(np.shape(out_r)), dtype=dtype)
        grads_t = torch.autograd.grad(out_t, list(call.leaves.values()), torch.from_numpy(cotangent),
                                      allow_unused=True)
        try:
            grads_r = call.backward(cotangent)
        except Exception as exc:
            records.append(_failed(name, "grad input", dtype, config, exc))
            grads_r = {}
        for (leaf, _), g_t in zip(call.leaves.items(), grads_t):
            if leaf in grads_r:
                g_t = torch.zeros_like(call.leaves[leaf]) if g_t is None else g_t
                records.append(compare(name, f"grad {leaf}", np.asarray(grads_r[leaf]), g_t, tol,
                                       config=config, group="opinfo", note=call.note))
    result.records = records
    return result


@dataclass
class CorpusRun:
    """The results of :func:`run_corpus`, with what it was run with."""

    results: list
    torch_version: str
    seconds: float
    subset: int | None = None
    method: str = "fast"

    def summary(self) -> list[dict]:
        """:func:`summarize` of this run (the report's section calls it)."""
        return summarize(self)

    def totals(self) -> dict:
        """:func:`totals` of this run's :meth:`summary`."""
        return totals(summarize(self))


def run_corpus(ops=None, dtypes=DTYPES, seed=0, subset=None, scan=None, method="fast", log=None) -> CorpusRun:
    """Every sample of each entry of ``ops`` (default: all of :data:`OPS`) in each dtype.

    ``subset``: run only that many samples per entry and dtype, drawn with ``seed`` from the
    first ``scan`` samples (default :data:`SUBSET_SCAN`). ``method``:
    the reference's path, "fast" (default) or "book". Raises CorpusUnavailable (one line).
    torch runs the samples on one thread (restored afterwards): they are tiny, and its thread pool
    costs more than it saves — ten times more on a busy two-core machine.
    """
    ops = list(OPS) if ops is None else list(ops)
    unknown = [n for n in ops if n not in OPS]
    if unknown:
        raise ValueError(f"unknown OpInfo entry {unknown[0]!r}; known: {', '.join(OPS)}")
    if subset is not None and scan is None:
        scan = SUBSET_SCAN
    t0 = time.perf_counter()
    results = []
    with one_thread():
        _run_all(ops, dtypes, seed, subset, scan, method, log, results)
    return CorpusRun(results, torch.__version__, time.perf_counter() - t0, subset, method)


def _run_all(ops, dtypes, seed, subset, scan, method, log, results):
    for dtype in dtypes:
        for name in ops:
            op, samples = _samples(name, dtype, seed, scan if subset is not None else None)
            chosen = range(len(samples))
            if subset is not None:
                pool = len(samples)
                rng = np.random.default_rng([seed, zlib.crc32(name.encode()), DTYPES.index(dtype)])
                chosen = sorted(rng.choice(pool, size=min(subset, pool), replace=False).tolist())
            for i in chosen:
                results.append(run_sample(op, name, samples[i], i, dtype, seed, method))
            if log:
                log(f"  {name} {dtype}: {len(chosen)} samples")


# ------------------------------------------------------------------------------------------
# Summaries: the table (terminal and report) and opinfo.csv
# ------------------------------------------------------------------------------------------

def summarize(run: CorpusRun) -> list[dict]:
    """One row per (entry, dtype): samples, run, agree, not run (with reasons), worst headroom
    (the smallest tolerance/error ratio over the samples' records; inf when all are exact)."""
    rows = {}
    for res in run.results:
        row = rows.setdefault((res.op, res.dtype), {"op": res.op, "dtype": res.dtype, "samples": 0,
                                                    "run": 0, "agree": 0, "reasons": {}, "worst": math.inf,
                                                    "worst_quantity": ""})
        row["samples"] += 1
        if not res.ran:
            row["reasons"][res.reason] = row["reasons"].get(res.reason, 0) + 1
            continue
        row["run"] += 1
        row["agree"] += res.agrees
        for r in res.records:
            if r.headroom < row["worst"]:
                row["worst"], row["worst_quantity"] = r.headroom, f"{r.quantity} (sample {res.index})"
    out = list(rows.values())
    for row in out:
        row["not_run"] = row["samples"] - row["run"]
        row["why_not"] = "; ".join(f"{n}× {why}" for why, n in sorted(row["reasons"].items())) or "—"
    return out


def totals(rows) -> dict:
    """The corpus's totals over :func:`summarize`'s rows — the one count behind the terminal table's
    last line, the exit status of ``cnn-parity opinfo`` and the report's corpus section and card:
    ``samples``, ``run``, ``agree``, ``disagree`` (run, not agreeing), ``not_run``, ``share`` (run ÷
    samples in %, NaN without samples) and ``worst`` (the smallest worst headroom of the rows; inf
    when every comparison is exact or none was made)."""
    rows = list(rows)
    out = {k: sum(row[k] for row in rows) for k in ("samples", "run", "agree", "not_run")}
    out["disagree"] = out["run"] - out["agree"]
    out["share"] = 100 * out["run"] / out["samples"] if out["samples"] else math.nan
    out["worst"] = min((row["worst"] for row in rows), default=math.inf)
    return out


OPINFO_COLUMNS = ["torch_version", "op", "dtype", "sample", "args", "quantity", "ref_shape", "torch_shape",
                  "max_abs", "max_rel", "tol", "headroom", "verdict", "note", "reason"]


def sample_rows(run: CorpusRun) -> list[dict]:
    """``opinfo.csv``: one row per sample × quantity; a sample not run is one row with its reason."""
    rows = []
    for res in run.results:
        base = {"torch_version": run.torch_version, "op": res.op, "dtype": res.dtype, "sample": res.index,
                "args": res.description}
        if not res.ran:
            rows.append({**base, "quantity": "", "ref_shape": "", "torch_shape": "", "max_abs": None,
                         "max_rel": None, "tol": None, "headroom": None, "verdict": "not run", "note": "",
                         "reason": res.reason})
            continue
        for r in res.records:
            rows.append({**base, "quantity": r.quantity, "ref_shape": r.ref_shape, "torch_shape": r.torch_shape,
                         "max_abs": r.max_abs, "max_rel": r.max_rel, "tol": r.tol, "headroom": r.headroom,
                         "verdict": r.verdict, "note": r.note, "reason": ""})
    return rows


def opinfo_frame(run: CorpusRun):
    """``opinfo.csv`` as a DataFrame: :func:`sample_rows` in the columns :data:`OPINFO_COLUMNS`."""
    return pd.DataFrame(sample_rows(run), columns=OPINFO_COLUMNS)


def corpus_from_records(records, torch_version: str | None = None) -> CorpusRun | None:
    """The OpInfo records (group "opinfo") among ``records`` — e.g. those a test session
    asserted — regrouped into a CorpusRun (samples not run leave no record, so none appear);
    None when there are none."""
    results = {}
    for r in records:
        if r.group != "opinfo":
            continue
        config = json.loads(r.config)
        key = (r.case, r.dtype, config["sample"])
        results.setdefault(key, SampleResult(r.case, r.dtype, config["sample"], config["args"])).records.append(r)
    if not results:
        return None
    return CorpusRun(list(results.values()), torch_version or torch.__version__, 0.0, subset=-1)
