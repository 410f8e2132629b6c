"""One generated network's records, as the configuration matrix judged them, read as observations.

The verdicts are the matrix's own (``reports.parity.matrix``: ``run_matrix`` judges every
quantity against the float64 oracle and against eager). This module only reads them, per
configuration and dtype, and says what kind of problem they show and where it starts:

==================== =====================================================================
kind                 when
==================== =====================================================================
disagrees            an oracle record's verdict is ``disagrees`` (beyond the configuration's
                     precision), with finite values where the oracle has them
worse than eager     an oracle record's verdict is ``worse than eager``
nan/inf              NaN or inf in other places than the oracle's (``compare``'s note)
non-deterministic    two runs differ in a configuration that claims bit-identical runs
crash                the configuration raised; eager in float64 ran the network (the engine
                     checks that before the matrix runs)
reference refuses    the reference raised on a network torch's eager runs (the engine's check)
==================== =====================================================================

Where: the first record that does not agree, in the order the computation runs — each layer's
output (``<layer>.out``, forward order), then the gradient arriving at each layer's output in
backward order (a bad ``Pool2.grad`` is the *next* layer's backward; the last layer's is the
loss's), then the input's gradient ``dx`` (the first layer's backward), the parameter
gradients, the loss. The **signature** of an observation, what deduplication and shrinking keep,
is ``(configuration, dtype, layer, quantity, kind)`` — the layer as its reference class name,
the quantity as ``output``, ``dx``, ``dW``, ``db`` (for a crash: the error's first line with the
numbers taken out).

Expected at this precision (kept apart, never dropped): a disagreement that a decision taken the
other way at a near-tie explains — a max-pool winner, or a ReLU input against 0, within the
configuration's rounding (``harness.align_near_ties`` / ``align_near_zeros`` with the
configuration's tolerance) — when, the reference's backward routed as torch's was, the matrix's
own judging (``matrix.judge_runs``) finds every oracle record agreeing; and a result whose oracle
lies outside the range of the format the run computes in (float16 under autocast; float32,
bfloat16, TF32): larger than its largest finite number, or wholly below its smallest normal one,
for the quantity or for the values entering its layer (autocast casts them); and, for a float32
run of a configuration computing in float32, an ill-conditioned quantity: the reference (NumPy,
an independent implementation) computing the same network in float32 is off by at least a third
of the run's error — a cancellation (an exact answer of 0 or tiny beside its terms), a saturated
function's gradient computed from its rounded output — so that the float32 format, not torch's
kernel, is what loses the bits. A configuration's observation where eager's is a finding or
ill-conditioned is eager's. Each carries its evidence: the two values and the rounding unit, the
oracle's magnitude and the format's limit, or the run's and the float32 reference's errors.
"""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch

import reference as R

from ..configs import plan, precision_of
from ..records import compare, config_tolerance
from ..harness import align_near_ties, align_near_zeros
from ..matrix import first_line, judge_runs, net_values, oracle_net
from .netspec import KINDS as LAYER_KINDS
from .netspec import layer_names, param_layers

__all__ = ["Observation", "FINDING_KINDS", "EXPECTED", "REFERENCE_MULTIPLE", "observe", "locate",
           "crash_observation", "refusal_observation", "message_key", "layer_of_exception"]

FINDING_KINDS = ("disagrees", "worse than eager", "nan/inf", "non-deterministic", "crash", "reference refuses")
#: Why an observation is expected at this precision.
EXPECTED = ("near-tie", "outside the format's range", "ill-conditioned")
#: Ill-conditioned: the run's error is at most this many times the float32 reference's (the
#: matrix's factor for "worse than eager").
REFERENCE_MULTIPLE = 3.0
#: torch module class -> the reference layer it twins (to place a crash).
_TWIN_OF = {"Conv2d": "Convolution", "MaxPool2d": "Pooling", "AvgPool2d": "AvgPooling",
            "AdaptiveAvgPool2d": "AdaptiveAvgPooling", "ReLU": "Relu", "Sigmoid": "Sigmoid",
            "LocalResponseNorm": "LRN", "Dropout": "Dropout", "Linear": "Linear"}


@dataclass
class Observation:
    """One problem seen in one network under one configuration and dtype."""

    kind: str
    configuration: str
    dtype: str
    layer: str                 # reference class name ("" when unknown, e.g. a compiled graph's crash)
    quantity: str              # output, dx, dW, db; forward/backward; a crash's message key
    where: str = ""            # the record (``Conv1.out``) or the error's first line
    detail: str = ""           # the record's describe()
    max_rel: float = math.nan
    tol: float = math.nan
    ratio: float = math.nan
    expected: str = ""         # "" a finding; else one of EXPECTED
    evidence: dict = field(default_factory=dict)

    @property
    def signature(self) -> tuple:
        return (self.configuration, self.dtype, self.layer, self.quantity, self.kind)

    def as_dict(self) -> dict:
        return {**asdict(self), "signature": list(self.signature)}


def message_key(text: str) -> str:
    """An error's first line without its numbers (so that one bug at other sizes is one signature)."""
    return re.sub(r"\d+", "#", text.splitlines()[0] if text else "")[:120]


def layer_of_exception(exc: BaseException, classes: tuple) -> tuple[str, str]:
    """(layer, function) of the innermost frame of ``exc``'s traceback whose ``self`` is an
    instance of one of ``classes`` (matched by class name), or ("", "")."""
    found = ("", "")
    tb = exc.__traceback__
    while tb is not None:
        obj = tb.tb_frame.f_locals.get("self")
        name = type(obj).__name__
        if name in classes:
            found = (name, tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    return found


def refusal_observation(exc: BaseException) -> Observation:
    """The reference raised on a network torch runs: where (its layer and method) and why."""
    layer, function = layer_of_exception(exc, LAYER_KINDS + ("SoftmaxWithLoss",))
    return Observation("reference refuses", "eager", "float64", layer, function or "forward",
                       where=first_line(exc))


def crash_observation(cfg, dtype: str, exc: BaseException) -> Observation:
    twin, _ = layer_of_exception(exc, tuple(_TWIN_OF))
    return Observation("crash", cfg.name, dtype, _TWIN_OF.get(twin, ""), message_key(first_line(exc)),
                       where=first_line(exc))


def locate(records: list, names: list, kinds: list, param_layers: dict, bad) -> tuple:
    """(layer kind, quantity, record) of the first record for which ``bad(record)`` holds, in the
    order of the module docstring; None if there is none."""
    by_q = {r.quantity: r for r in records}
    kind_of = dict(zip(names, kinds))
    for n in names:
        if bad(by_q.get(f"{n}.out")):
            return kind_of[n], "output", by_q[f"{n}.out"]
    for i in reversed(range(len(names))):
        r = by_q.get(f"{names[i]}.grad")
        if bad(r):
            return (kinds[i + 1] if i + 1 < len(names) else "SoftmaxWithLoss"), "dx", r
    if bad(by_q.get("dx")):
        return kinds[0], "dx", by_q["dx"]
    for key, (layer, attr) in param_layers.items():
        if bad(by_q.get("d" + key)):
            return kind_of[layer], "d" + attr, by_q["d" + key]
    for q in ("scores", "loss"):
        if bad(by_q.get(q)):
            return (kinds[-1] if q == "scores" else "SoftmaxWithLoss"), "output", by_q[q]
    return None


def _kind_of_record(r) -> str:
    return "nan/inf" if "NaN/inf in different positions" in r.note else r.verdict


# ------------------------------------------------------------------------------------------
# Expected at this precision
# ------------------------------------------------------------------------------------------

def _draws(case, dtype, seed):
    """The reference net and the inputs of ``case`` in ``dtype``, as the matrix drew them."""
    rng = np.random.default_rng(seed)
    ref, _ = case.build(rng, dtype)
    return ref, case.inputs(rng, dtype)


def _aligned_oracle(case, cfg, dtype, run, seed):
    """The float64 oracle of ``run`` with its max-pool and ReLU decisions routed as the run's
    where they are near-ties within the configuration's tolerance -> (oracle, evidence list)."""
    ref, inputs = _draws(case, dtype, seed)
    rtol = config_tolerance(precision_of(cfg, dtype), case.reduction, case.tol_factor).rtol
    names, evidence = list(ref.layers), []

    def route(name, layer, h_in):
        i = names.index(name)
        x_t = run.values[f"{names[i - 1]}.out"] if i else np.asarray(inputs["x"], dtype=np.float64)
        unit = rtol * float(np.max(np.abs(x_t))) if x_t.size else 0.0
        if isinstance(layer, R.Pooling):
            before = layer.flat_indices()
            if align_near_ties(layer, x_t, rtol):
                after = layer.flat_indices()
                at = tuple(np.argwhere(before != after)[0])
                n, c = at[:2]
                pick = lambda x, idx: float(x[n, c].reshape(-1)[idx])       # noqa: E731
                evidence.append(dict(layer=name, decision="max-pool winner", routed=int((before != after).sum()),
                                     oracle=[pick(h_in, before[at]), pick(h_in, after[at])],
                                     torch=[pick(x_t, before[at]), pick(x_t, after[at])], unit=unit))
        elif isinstance(layer, R.Relu):
            before = layer.mask.copy()
            if align_near_zeros(layer, h_in, x_t, rtol):
                at = tuple(np.argwhere(before != layer.mask)[0])
                evidence.append(dict(layer=name, decision="ReLU input against 0",
                                     routed=int((before != layer.mask).sum()),
                                     oracle=[float(h_in[at]), 0.0], torch=[float(x_t[at]), 0.0], unit=unit))

    oracle = oracle_net(case, ref, inputs, dtype, seed, after_layer=route)
    return oracle, evidence


def _near_tie(case, cfg, dtype, runs, seed):
    """Evidence that near-ties explain every disagreement of ``cfg`` (re-judged by the matrix's
    ``judge_runs`` with the routed oracles), or None."""
    run = runs.get((case.id, cfg.name, dtype))
    planned = plan(cfg, dtype)
    base_cfg = planned.baseline
    base = runs.get((case.id, base_cfg.name, dtype)) if base_cfg else None
    if run is None or isinstance(run, Exception) or isinstance(base, Exception):
        return None
    oracle, evidence = _aligned_oracle(case, cfg, dtype, run, seed)
    if not evidence:
        return None
    if base is not None:
        base = replace(base, oracle=_aligned_oracle(case, base_cfg, dtype, base, seed)[0])
    records = judge_runs(case, planned, replace(run, oracle=oracle), None, base)
    if all(r.verdict == "agrees" for r in records if r.compared_with == "oracle"):
        return {"decisions": evidence, "tolerance": config_tolerance(precision_of(cfg, dtype), case.reduction,
                                                                     case.tol_factor).rtol}
    return None


#: The torch dtype whose range a precision has (TF32 keeps float32's exponent).
_RANGE_OF = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32, "tf32": torch.float32}


def _range(cfg, dtype, run, quantity, layer_input=None):
    """Evidence that the oracle of ``quantity``, or of the values entering its layer
    (``layer_input``: autocast casts them), lies outside the range of the format the run computes
    in — above its largest finite number, or wholly below its smallest normal one — or None."""
    prec = precision_of(cfg, dtype)
    if prec.name not in _RANGE_OF or run is None or isinstance(run, Exception):
        return None
    info = torch.finfo(_RANGE_OF[prec.name])
    for what, values in ((quantity, run.oracle.get(quantity)), ("its layer's input", layer_input)):
        values = np.abs(np.asarray(values if values is not None else np.zeros(0), dtype=np.float64))
        finite = values[np.isfinite(values)]
        if not finite.size:
            continue
        top = float(finite.max())
        if top > info.max:
            return {"values": what, "oracle max |value|": top, f"{prec.name} largest finite": float(info.max)}
        if 0 < top < info.smallest_normal:
            return {"values": what, "oracle max |value|": top, f"{prec.name} smallest normal": float(info.smallest_normal)}
    return None


def _layer_input(case, run, names, quantity):
    """The oracle's values entering the layer of a ``<layer>.out`` record (the input x for the first)."""
    if run is None or isinstance(run, Exception) or not quantity.endswith(".out") or quantity[:-4] not in names:
        return None
    i = names.index(quantity[:-4])
    if i:
        return run.oracle.get(f"{names[i - 1]}.out")
    return _draws(case, "float64", 0)[1]["x"]


def _ill_conditioned(case, cfg, dtype, run, record, seed):
    """Evidence that ``record``'s error is the problem's, not torch's: the reference — an
    independent implementation, in NumPy — computing the same network in float32 is off by at
    least 1/:data:`REFERENCE_MULTIPLE` of the run's error (cancellation, a saturated function
    computed from its rounded output, an ill-conditioned sum), or None. float32 runs of a
    configuration computing in float32 only: autocast and TF32 round only some values."""
    if np.dtype(dtype) != np.float32 or precision_of(cfg, dtype).name != "float32" \
            or run is None or isinstance(run, Exception) or run.oracle.get(record.quantity) is None:
        return None
    ref, inputs = _draws(case, dtype, seed)
    with np.errstate(all="ignore"):                     # float32 overflows are part of the answer
        values = net_values(case, ref, inputs["x"], inputs)
    theirs = compare(case.id, record.quantity, run.oracle[record.quantity], values[record.quantity], record.tol)
    if not (theirs.max_rel > 0 and record.max_rel <= REFERENCE_MULTIPLE * theirs.max_rel):
        return None
    return {"quantity": record.quantity, "error of the run": record.max_rel,
            "error of the reference in float32": theirs.max_rel, "tolerance": record.tol}


# ------------------------------------------------------------------------------------------
# A network's observations
# ------------------------------------------------------------------------------------------

def observe(spec, case, configs, dtypes, result, runs, seed=0) -> list[Observation]:
    """Every observation of one network: ``result`` is its ``run_matrix`` result, ``runs`` the
    ``keep`` dict of that call. A configuration's observation that eager shows too, at the same
    place and of the same kind, is left to eager's."""
    names, kinds, params = layer_names(spec), [layer.kind for layer in spec.layers], param_layers(spec)
    out = []
    for dtype in dtypes:
        for cfg in configs:
            recs = [r for r in result.records if r.configuration == cfg.name and r.dtype == dtype]
            if any(r.verdict == "failed" for r in recs):
                exc = runs.get((case.id, cfg.name, dtype))
                if isinstance(exc, Exception):
                    out.append(crash_observation(cfg, dtype, exc))
                else:                                    # the repeat failed: only the record's line
                    note = next(r.note for r in recs if r.verdict == "failed")
                    out.append(Observation("crash", cfg.name, dtype, "", message_key(note), where=note))
                continue
            oracle = [r for r in recs if r.compared_with == "oracle" and r.verdict != "skipped"]
            if cfg.claims_deterministic:
                hit = locate(oracle, names, kinds, params, lambda r: r is not None and r.deterministic == "no")
                if hit:
                    layer, q, r = hit
                    out.append(Observation("non-deterministic", cfg.name, dtype, layer, q, r.quantity,
                                           r.describe(), r.max_rel, r.tol, r.ratio,
                                           evidence={"run_diff": r.run_diff}))
            hit = locate(oracle, names, kinds, params, lambda r: r is not None and r.verdict != "agrees")
            if not hit:
                continue
            layer, q, r = hit
            obs = Observation(_kind_of_record(r), cfg.name, dtype, layer, q, r.quantity, r.describe(),
                              r.max_rel, r.tol, r.ratio)
            run = runs.get((case.id, cfg.name, dtype))
            evidence = _range(cfg, dtype, run, r.quantity, _layer_input(case, run, names, r.quantity))
            if evidence:
                obs.expected, obs.evidence = "outside the format's range", evidence
            elif obs.kind != "nan/inf" and (evidence := _near_tie(case, cfg, dtype, runs, seed)):
                obs.expected, obs.evidence = "near-tie", evidence
            elif obs.kind in ("disagrees", "worse than eager") and \
                    (evidence := _ill_conditioned(case, cfg, dtype, run, r, seed)):
                obs.expected, obs.evidence = "ill-conditioned", evidence
            out.append(obs)
    eager = {(o.dtype, o.layer, o.quantity, o.kind, o.expected) for o in out if o.configuration == "eager"}
    # ... and so is one where eager's is a finding or ill-conditioned: a quantity that float32
    # storage alone cannot hold is no better held by a configuration computing in less.
    eager |= {(o.dtype, o.layer, o.quantity, o.kind, e) for o in out if o.configuration == "eager"
              and o.expected in ("", "ill-conditioned") for e in ("",) + EXPECTED}
    return [o for o in out if o.configuration == "eager" or o.kind in ("crash", "non-deterministic")
            or (o.dtype, o.layer, o.quantity, o.kind, o.expected) not in eager]
