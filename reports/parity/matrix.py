"""The configuration matrix: every parity case under every configuration, judged twice.

For each (case, configuration, dtype) the torch twin runs under the configuration
(``reports.parity.configs``) — twice, on the same inputs, to see whether it is deterministic —
and every quantity (output, dx, every parameter gradient; for networks also the loss, the scores
and the per-layer trace) is compared

- with the **oracle**: the NumPy reference in float64, fed the very values the run used (a
  float32 run's weights, inputs and upstream gradient, upcast exactly), so every difference is
  the run's own arithmetic;
- with **eager** torch in the same dtype (the configuration's ``baseline``: ``eager`` on the
  CPU, ``cuda`` for the other GPU entries).

Tolerance: ``16 * sqrt(k) * eps`` with ``eps = 2**(1-p)`` of the precision the configuration
really computes in (``records.config_tolerance``); against eager, the sum of the two
tolerances (if both agree with the oracle within theirs, they agree with each other within the
sum). Verdicts of an oracle comparison, in the spirit of ``torch._dynamo.utils.same(...,
fp64_ref=...)``:

``agrees``            ``max_rel <= tol``, and no worse than eager (below);
``worse than eager``  within ``tol`` but ``err > MULTIPLE * s * err_eager + 16 * eps``: the
                      configuration's error exceeds ``MULTIPLE`` (3) times eager's error against
                      the same oracle; ``s = eps_config / eps_eager`` scales eager's error to the
                      configuration's precision (1 unless it computes in fewer bits), and the
                      floor ``16 * eps`` (the tolerance of one operation, k = 1, in the
                      configuration's precision; dynamo adds tol/10 for the same purpose) keeps
                      an eager error of 0 from making a few roundings "worse". The floor does
                      not grow with k: for bfloat16 the tolerance ``16 * sqrt(k) * 2**-7``
                      exceeds 1 once k >= 64 and says nothing, and this rule (with the bits)
                      is what still judges such a run;
``disagrees``         ``max_rel > tol`` (or NaN/inf in other places, or another shape).

Each record also carries ``ratio`` (configuration error ÷ eager error against the oracle; inf
when eager is exact and the configuration is not, 1 when both are exact), ``bits`` (−log2
max_rel, a property of the record) and ``deterministic`` ("yes": the two runs are
bit-identical; "no": ``run_diff`` is their largest difference). A configuration that cannot run
here, or means nothing in a dtype, gives one ``skipped`` record with the reason; an error (a
compile error, say) one ``failed`` record with its first line, and the others go on.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from torch_impl import apply_dropout_mask
from torch_impl.transfer import export_grads

from .cases import LAYER_CASES, NET_CASES, LayerCase, NetCase, full_size
from .configs import Configuration, Plan, configured, describe, plan
from .harness import check_masks, quiet_torch_notes, ref_trace
from .cells import MULTIPLE, NOT_APPLICABLE, VERDICT_ORDER, Cell, cells, record_case_id
from .records import DTYPES, Record, Tolerance, amend, compare, config_str, config_tolerance

__all__ = ["MULTIPLE", "Run", "MatrixResult", "Cell", "run_case", "run_matrix", "judge_verdict", "judge_runs",
           "oracle_net", "net_values", "eager_tolerance", "determinism",
           "matrix_cases", "cells", "case_label", "VERDICT_ORDER", "first_line",
           "NOT_APPLICABLE", "record_case_id"]



# ------------------------------------------------------------------------------------------
# Which cases
# ------------------------------------------------------------------------------------------

def matrix_cases() -> list:
    """Every registered layer and network case except the full-size AlexNets (minutes to compile)."""
    return [c for c in LAYER_CASES + NET_CASES if not full_size(c)]


def case_label(case) -> str:
    return case.layer if isinstance(case, LayerCase) else case.net


# ------------------------------------------------------------------------------------------
# One run: the twin under a configuration, and the oracle on the same values
# ------------------------------------------------------------------------------------------

@dataclass
class Run:
    """The results of one run, each quantity as float64 (an exact conversion)."""

    values: dict            # quantity -> torch result
    oracle: dict            # quantity -> float64 reference result on the same values
    groups: dict            # quantity -> "layer" / "net" / "trace"
    notes: dict = field(default_factory=dict)   # quantity -> e.g. "torch result in bfloat16"
    seconds: float = 0.0


def _up(v):
    """A float NumPy array upcast to float64 (exact); anything else unchanged."""
    return v.astype(np.float64) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v


class _Upcast:
    """A reference layer that sees float64 copies of whatever float arrays it is given, so a
    case's own ``forward`` hook (softmax labels, dropout masks) feeds the oracle unchanged."""

    def __init__(self, layer):
        self.layer = layer

    def forward(self, *args, **kwargs):
        return self.layer.forward(*map(_up, args), **{k: _up(v) for k, v in kwargs.items()})

    def backward(self, *args, **kwargs):
        return self.layer.backward(*map(_up, args), **{k: _up(v) for k, v in kwargs.items()})


def _np64(t) -> np.ndarray:
    return t.detach().to(torch.float64).cpu().numpy()


def _oracle_layer(case, ref, module, dtype, seed):
    """The reference layer in float64 holding the run's parameters (upcast exactly)."""
    if dtype == np.float64:
        return ref
    ref64, _ = case.build(np.random.default_rng(seed), np.float64)
    for key in getattr(module, "book_params", None) or {}:
        getattr(ref64, key)[...] = getattr(ref, key)
    return ref64


def _layer_run(case: LayerCase, cfg: Configuration, dtype, seed) -> Run:
    rng = np.random.default_rng(seed)                 # the draws of harness.run_layer_case
    ref, module = case.build(rng, dtype)
    inputs = case.inputs(rng, dtype)
    oracle = _Upcast(_oracle_layer(case, ref, module, dtype, seed))
    with configured(cfg, module) as run:
        x_t = run.leaf(inputs["x"])
        with run.autocast():
            if case.forward is not None:
                y_ref, y_t = case.forward(oracle, run.call, inputs, x_t)
            else:
                y_ref, y_t = oracle.forward(inputs["x"]), run.call(x_t)
        dout = run.tensor(np.asarray(rng.standard_normal(np.shape(y_ref)), dtype=dtype),
                          y_t.dtype)                              # autograd's dtype for the gradient
        dx_ref = oracle.backward(_np64(dout))
        y_t.backward(dout)
    values = {"output": y_t, "dx": x_t.grad}
    oracle_values = {"output": np.asarray(y_ref), "dx": dx_ref}
    if getattr(run.module, "book_params", None):
        for key, g in export_grads(run.module).items():
            values["d" + key] = torch.from_numpy(g)
            oracle_values["d" + key] = getattr(oracle.layer, "d" + key)
    notes = {q: f"torch result in {str(v.dtype).replace('torch.', '')}" for q, v in values.items()
             if v.dtype != getattr(torch, np.dtype(dtype).name)}
    return Run({q: _np64(v) for q, v in values.items()}, oracle_values,
               {q: "layer" for q in values}, notes)


def oracle_net(case: NetCase, ref, inputs, dtype, seed, after_layer=None):
    """The float64 reference net on the run's weights and inputs (upcast exactly) -> values.
    ``after_layer``: passed to ``harness.ref_trace`` (called after each layer's forward)."""
    if dtype != np.float64:
        ref64, _ = case.build(np.random.default_rng(seed), np.float64)
        for key, (layer, attr) in ref64.PARAM_LAYERS.items():
            ref64.params[key][...] = ref.params[key]
            setattr(ref64.layers[layer], attr, ref64.params[key])
        ref = ref64
    return net_values(case, ref, _up(inputs["x"]), inputs, after_layer)


def net_values(case: NetCase, ref, x, inputs, after_layer=None) -> dict:
    """Every value of the reference net ``ref`` run, in its own dtype, on ``x`` and the case's
    targets and masks: the loss, scores, dx, parameter gradients, each layer's output and the
    gradient arriving at it (the keys of a run's records)."""
    loss, outs, grads, dx = ref_trace(ref, x, inputs["t"], case.mode == "train", inputs.get("masks"), after_layer)
    values = {"loss": np.asarray(loss), "scores": outs[list(ref.layers)[-1]], "dx": dx}
    for key, (layer, attr) in ref.PARAM_LAYERS.items():
        values["d" + key] = getattr(ref.layers[layer], "d" + attr)
    values.update({f"{name}.out": outs[name] for name in ref.layers})
    values.update({f"{name}.grad": grads[name] for name in reversed(ref.layers)})
    return values


def _net_run(case: NetCase, cfg: Configuration, dtype, seed, oracle=None) -> Run:
    """The whole net as one function (loss included) returning every layer's output.

    Each layer's output gets a zero "probe" added (exact); the probe's gradient is the gradient
    arriving at that layer. Unlike ``retain_grad``, this also works through ``torch.compile``,
    which compiles the whole net, forward and backward, as one graph. The loss is
    ``F.cross_entropy``, or the twin's own ``loss_fn(scores, t)`` where it has one (a generated
    net's SoftmaxWithLoss options); a loss per sample is summed by its backward."""
    rng = np.random.default_rng(seed)
    ref, net = case.build(rng, dtype)
    inputs = case.inputs(rng, dtype)
    train = case.mode == "train"
    check_masks(case, ref, inputs.get("masks"), train)
    if oracle is None:
        oracle = oracle_net(case, ref, inputs, dtype, seed)
    with configured(cfg, net) as run:
        run.module.train(train)
        x_t = run.leaf(inputs["x"])
        t_t = run.tensor(np.asarray(inputs["t"]))
        masks = {k: run.tensor(v) for k, v in (inputs.get("masks") or {}).items()}
        children = list(run.module.named_children())
        loss_fn = getattr(run.module, "loss_fn", None) or F.cross_entropy

        def forward(x, probes):
            h, outs = x, []
            for (name, child), probe in zip(children, probes):
                if name in masks and isinstance(child, torch.nn.Dropout):
                    h = apply_dropout_mask(h, masks[name], child.p)
                else:
                    h = child(h)
                h = h + probe
                outs.append(h)
            return loss_fn(h, t_t), outs

        with torch.no_grad(), run.autocast():        # each output's shape, dtype and layout
            _, shapes = forward(x_t, [0.0] * len(children))
        probes = [torch.zeros_like(o).requires_grad_(True) for o in shapes]
        with run.autocast():
            loss, outs = run.compiled(forward)(x_t, probes)
        loss.backward(torch.ones_like(loss) if loss.dim() else None)
    names = [n for n, _ in children]
    out_of, grad_of = dict(zip(names, outs)), dict(zip(names, (p.grad for p in probes)))
    layers = list(ref.layers)
    values = {"loss": loss, "scores": out_of[layers[-1]], "dx": x_t.grad}
    values.update({"d" + k: torch.from_numpy(g) for k, g in export_grads(run.module).items()})
    values.update({f"{n}.out": out_of[n] for n in layers})
    values.update({f"{n}.grad": grad_of[n] for n in reversed(layers)})
    missing = [q for q, v in values.items() if v is None]
    if missing:
        raise RuntimeError(f"no gradient reached {missing}")
    notes = {q: f"torch result in {str(v.dtype).replace('torch.', '')}" for q, v in values.items()
             if v.dtype != getattr(torch, np.dtype(dtype).name)}
    groups = {q: ("trace" if q.endswith((".out", ".grad")) else "net") for q in values}
    return Run({q: _np64(v) for q, v in values.items()}, oracle, groups, notes)


def run_case(case, cfg: Configuration, dtype="float32", seed=0, oracle=None, fresh=True) -> Run:
    """One run of ``case`` under ``cfg`` in ``dtype`` (raises what the run raises).

    ``fresh``: for a compiling configuration, clear torch.compile's in-memory caches first (a
    new case must not inherit guards, nor fall back to eager silently once the recompile limit
    is reached); a second run of the same case passes ``fresh=False`` and reuses them."""
    dtype = np.dtype(dtype)
    if cfg.compile and fresh:
        torch._dynamo.reset()
    t0 = time.perf_counter()
    with quiet_torch_notes():
        if isinstance(case, NetCase):
            run = _net_run(case, cfg, dtype, seed, oracle)
        else:
            run = _layer_run(case, cfg, dtype, seed)
    run.seconds = time.perf_counter() - t0
    return run


# ------------------------------------------------------------------------------------------
# Judging
# ------------------------------------------------------------------------------------------

def judge_verdict(err: float, within_tol: bool, floor: float, base_err: float | None,
                  scale: float = 1.0) -> str:
    """``agrees`` / ``worse than eager`` / ``disagrees`` (see the module docstring): ``floor``
    is 16·eps of the configuration's precision, ``scale`` eps_config / eps_eager."""
    if not within_tol:
        return "disagrees"
    if base_err is None or not math.isfinite(base_err):
        return "agrees"
    return "worse than eager" if err > MULTIPLE * scale * base_err + floor else "agrees"


def _ratio(err: float, base_err: float) -> float:
    if base_err > 0:
        return err / base_err
    return math.inf if err > 0 else 1.0


def determinism(a: np.ndarray, b: np.ndarray | None) -> tuple[str, float]:
    """(``deterministic``, ``run_diff``) of two runs' values: ("yes", 0) bit-identical, ("no", the
    largest difference, inf for another shape), ("", NaN) when there was no second run."""
    if b is None:
        return "", math.nan
    if a.shape == b.shape and a.tobytes() == b.tobytes():
        return "yes", 0.0
    if a.shape != b.shape:
        return "no", math.inf
    with np.errstate(invalid="ignore"):
        diff = np.abs(a - b)
    return "no", float(np.nanmax(diff)) if np.isfinite(diff).any() else math.inf


def eager_tolerance(tol: Tolerance, base_tol: Tolerance, baseline: str) -> Tolerance:
    """The tolerance of a run against its baseline's run: the sum of the two (if both agree with
    the oracle within theirs, they agree with each other within the sum)."""
    return Tolerance(tol.rtol + base_tol.rtol, f"sum of the two tolerances: {tol.why}; {baseline}: {base_tol.why}")


def judge_runs(case, planned: Plan, run1, run2, base_run) -> list[Record]:
    """The records of a run (``run2``: its repeat, or None) against the oracle and, unless
    ``base_run`` is None, against the run of the plan's baseline."""
    name, k, prec = case_label(case), case.reduction, planned.precision
    tol = config_tolerance(prec, k, case.tol_factor)
    if base_run is not None:
        base_tol = config_tolerance(planned.baseline_precision, k, case.tol_factor)
        scale = prec.eps / planned.baseline_precision.eps
        pair_tol = eager_tolerance(tol, base_tol, planned.baseline.name)
    records = []
    for q, value in run1.values.items():
        det, diff = determinism(value, run2.values.get(q) if run2 else None)
        extra = dict(configuration=planned.config.name, deterministic=det, run_diff=diff)
        note = run1.notes.get(q, "")
        rec = compare(name, q, run1.oracle[q], value, tol, config=case.config, group=run1.groups[q],
                      dtype=planned.dtype, note=note)
        base_err = None
        if base_run is not None:
            base_err = compare(name, q, base_run.oracle[q], base_run.values[q], tol).max_rel
        verdict = judge_verdict(rec.max_rel, rec.passed, case.tol_factor * prec.eps, base_err,
                                1.0 if base_run is None else scale)
        ratio = math.nan if base_err is None else _ratio(rec.max_rel, base_err)
        records.append(amend(rec, verdict=verdict, compared_with="oracle", ratio=ratio, **extra))
        if base_run is not None:
            rec = compare(name, q, base_run.values[q], value, pair_tol, config=case.config,
                          group=run1.groups[q], dtype=planned.dtype,
                          note="; ".join(n for n in (note, f"baseline: {planned.baseline.name}") if n))
            records.append(amend(rec, verdict="agrees" if rec.passed else "disagrees",
                                   compared_with="eager", **extra))
    return records


def first_line(exc: BaseException) -> str:
    """``Type: first line of the message`` (plus the first line of a wrapped inner error)."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    text = f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")
    inner = getattr(exc, "inner_exception", None) or exc.__cause__
    if inner is not None and inner is not exc:
        inner_lines = [ln.strip() for ln in str(inner).strip().splitlines() if ln.strip()]
        text += f" ({type(inner).__name__}: {inner_lines[0] if inner_lines else ''})"
    return text


def _status(case, cfg, dtype, verdict, note) -> Record:
    nan = math.nan
    return Record(case=case_label(case), quantity="", dtype=np.dtype(dtype).name,
                  config=config_str(case.config), ref_shape="", torch_shape="", max_abs=nan,
                  max_rel=nan, tol=nan, headroom=nan, verdict=verdict,
                  group="net" if isinstance(case, NetCase) else "layer", note=note,
                  configuration=cfg.name, compared_with="oracle")


# ------------------------------------------------------------------------------------------
# The matrix
# ------------------------------------------------------------------------------------------

@dataclass
class MatrixResult:
    """Every record of a matrix run, and the wall time of each run (kept out of the records,
    so that the CSV stays byte-identical for the same seed)."""

    records: list
    seconds: dict = field(default_factory=dict)     # (case id, config, dtype) -> (run 1, run 2) seconds
    configs: list = field(default_factory=list)
    cases: list = field(default_factory=list)
    about: list = field(default_factory=list)        # configs.describe() of each configuration


def run_matrix(configs, cases=None, dtypes=DTYPES, seed=0, log=None, baselines=None,
               twice=True, keep=None) -> MatrixResult:
    """Every case of ``cases`` (default :func:`matrix_cases`) under every configuration, in
    every dtype. Baselines that are not among ``configs`` run too, unreported. ``baselines``
    (name -> Configuration) replaces registry entries as baselines (the CPU dry run of the CUDA
    entries judges them against ``on_cpu(cuda)``). ``twice=False`` runs each configuration
    once (no determinism check: ``deterministic`` stays empty); a collection of names, only
    those twice. ``keep`` (a dict) receives, for every configuration that ran (baselines included),
    ``(case id, configuration name, dtype name) -> its first Run`` (or the exception it raised)."""
    cases = matrix_cases() if cases is None else list(cases)
    log = log or (lambda *a: None)
    # What each configuration means in each dtype, asked of the registry once, before any run.
    result = MatrixResult([], configs=list(configs), cases=cases, about=[describe(c) for c in configs])
    plans = {np.dtype(d).name: [plan(cfg, d, baselines) for cfg in configs] for d in dtypes}
    for case in cases:
        for dtype in dtypes:
            dtype = np.dtype(dtype)
            oracle = None
            runs: dict = {}                       # config name -> first Run, or None if it failed

            def first_run(cfg):
                nonlocal oracle
                if cfg.name not in runs:
                    try:
                        runs[cfg.name] = run_case(case, cfg, dtype, seed, oracle)
                        if isinstance(case, NetCase):
                            oracle = runs[cfg.name].oracle
                    except Exception as exc:      # recorded, and the other configurations go on
                        runs[cfg.name] = exc
                return runs[cfg.name]

            for planned in plans[dtype.name]:
                cfg = planned.config
                if planned.skip:
                    result.records.append(_status(case, cfg, dtype, "skipped", planned.skip))
                    continue
                run1 = first_run(cfg)
                run2 = None
                repeat = twice if isinstance(twice, bool) else cfg.name in twice
                if repeat and not isinstance(run1, Exception):
                    try:
                        run2 = run_case(case, cfg, dtype, seed, oracle, fresh=False)
                    except Exception as exc:
                        run1 = exc
                if isinstance(run1, Exception):
                    result.records.append(_status(case, cfg, dtype, "failed", first_line(run1)))
                    log(f"  {case.id} {cfg.name} {dtype.name}: failed: {first_line(run1)}")
                    continue
                base_run = first_run(planned.baseline) if planned.baseline else None
                judged_alone = isinstance(base_run, Exception)
                records = judge_runs(case, planned, run1, run2, None if judged_alone else base_run)
                if judged_alone:                  # no ratio and no eager comparison: say why
                    why = f"baseline {planned.baseline.name} failed: {first_line(base_run)}"
                    records = [amend(r, note="; ".join(n for n in (r.note, why) if n)) for r in records]
                result.records += records
                second = run2.seconds if run2 else math.nan
                result.seconds[(case.id, cfg.name, dtype.name)] = (run1.seconds, second)
                log(f"  {case.id} {cfg.name} {dtype.name}: {run1.seconds:.2f} s + {second:.2f} s")
            if keep is not None:
                keep.update({(case.id, name, dtype.name): run for name, run in runs.items()})
    return result
