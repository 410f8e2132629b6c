"""The judges check themselves: known answers for the configuration matrix and the OpInfo corpus.

``reports.parity.selfcheck`` proves that ``compare()`` can fail. The judges built on it decide
more: the configuration matrix feeds a float64 oracle the run's own values, compares each run
with its baseline, says "worse than eager", computes ratios, checks determinism, sets a tolerance
per precision and sums its records into cells and per-configuration summaries; the OpInfo corpus
counts samples, runs, agreements, reasons and the worst headroom. A fault in any of them (a
comparison flipped, the tolerances' sum replaced by their maximum, the scale inverted, a run
compared with itself, a sample not run counted as agreeing) leaves every record looking fine.

So each judge is run here on inputs whose answer is worked out by hand — mostly synthetic runs
and records with errors that are exact multiples of eps, placed just inside and just outside each
boundary, and a few real runs of one tiny case — and every verdict, ratio, tolerance and count is
compared with that answer. :data:`JUDGE_CHECKS` is the table (declared once); a check returns the
problems it found (none when the answer holds). ``parity_tests/test_judges.py`` asserts on the same
table, and :func:`judge_check_records` turns it into records of group "selfcheck" (case "judges'
self-check"), the bug zoo's ``judges`` check, which catches the faults of ``reports.parity.bugs``'s
"judges" group.

The judges are looked up in their modules at each call (``M.judge_runs``, ``C.plan``, ...), so the
checks see the functions as they are at that moment, a planted bug included.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from . import cells as CE
from . import configs as C
from . import matrix as M
from . import opinfo as O
from . import records as R
from .cases import LayerCase, NET_CASES, elementwise_case, conv_case

__all__ = ["JudgeCheck", "JUDGE_CHECKS", "judge_check_records", "synthetic_cell_records", "synthetic_corpus"]

EPS32 = 2.0 ** -23          # float32's eps: the synthetic errors are multiples of it
NAN, INF = math.nan, math.inf


@dataclass(frozen=True)
class JudgeCheck:
    """One known answer: ``run()`` returns the problems found ([] when the answer holds)."""

    name: str
    judge: str          # "matrix", "configs", "cells", "corpus"
    run: Callable

    def problems(self) -> list[str]:
        """What differed from the known answer ([] when it holds); a judge that raises on a known
        answer is wrong too."""
        try:
            return list(self.run())
        except Exception as exc:
            return [f"raised {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"]


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


class _Expect:
    """Collects the differences between what a judge said and the known answer."""

    def __init__(self):
        self.problems = []

    def __call__(self, what: str, got, want):
        if not _same(got, want):
            self.problems.append(f"{what}: {got!r}, expected {want!r}")


# ------------------------------------------------------------------------------------------
# The matrix's judgement of synthetic runs
# ------------------------------------------------------------------------------------------

#: The run's value of every synthetic quantity: max|value| = 1, so max_rel = the largest error.
_V = (1.0, 0.5, -0.25)
_CONFIG = C.Configuration("judged", "a synthetic configuration")
_BASE = C.Configuration("its-baseline", "the synthetic configuration's baseline", baseline=None)


def _off(values, i, by):
    out = np.array(values, dtype=np.float64)
    out[i] += by
    return out


def _judged(prec="float32", base_prec="float32", k=100, err=0.0, base_err=0.0, *, factor=16.0,
            apart=0.0, baseline=True, repeat=None):
    """``judge_runs`` of a synthetic run under :data:`_CONFIG`: "output" [1, 0.5, −0.25] with its
    oracle ``err`` off in the first entry (max_rel = err exactly); the baseline's value ``apart``
    off the run's in the second entry, its oracle ``base_err`` off in the first (eager's max_rel =
    base_err); "dx" exact everywhere. ``repeat``: the second run's values (None: no repeat)."""
    case = LayerCase("Synthetic", {}, None, None, reduction=k, tol_factor=factor)
    plan = C.Plan(_CONFIG, "float32", None, R.PRECISIONS[prec], _BASE if baseline else None,
                  R.PRECISIONS[base_prec] if baseline else None)
    value = np.array(_V)
    run1 = M.Run({"output": value, "dx": value * 2}, {"output": _off(_V, 0, err), "dx": value * 2},
                 {"output": "layer", "dx": "layer"})
    base_value = _off(_V, 1, apart)
    base = M.Run({"output": base_value, "dx": value * 2}, {"output": _off(base_value, 0, base_err), "dx": value * 2},
                 {"output": "layer", "dx": "layer"})
    run2 = None if repeat is None else M.Run(repeat, run1.oracle, run1.groups)
    return M.judge_runs(case, plan, run1, run2, base if baseline else None)


def _oracle_record(records, quantity="output"):
    return next(r for r in records if r.quantity == quantity and r.compared_with == "oracle")


def _verdicts(expect, cases):
    """``cases``: (label, kwargs of :func:`_judged`, verdict, ratio) of the oracle record."""
    for label, kwargs, verdict, ratio in cases:
        rec = _oracle_record(_judged(**kwargs))
        expect(f"{label}: verdict", rec.verdict, verdict)
        expect(f"{label}: ratio", rec.ratio, ratio)
    return expect.problems


def _check_worse_than_eager():
    e = EPS32
    return _verdicts(_Expect(), [
        # k = 100: tol 160 eps, floor 16 eps; eager's error 10 eps: "worse" beyond 3·10 + 16 = 46 eps
        ("46 eps vs eager's 10 eps (on the line)", dict(err=46 * e, base_err=10 * e), "agrees", 4.6),
        ("47 eps vs eager's 10 eps", dict(err=47 * e, base_err=10 * e), "worse than eager", 4.7),
        ("160 eps, tolerance 160 eps, eager as far", dict(err=160 * e, base_err=160 * e), "agrees", 1.0),
        ("161 eps, tolerance 160 eps, eager as far", dict(err=161 * e, base_err=161 * e), "disagrees", 1.0),
        ("no baseline: judged by its tolerance alone", dict(err=47 * e, base_err=10 * e, baseline=False),
         "agrees", NAN)])


def _check_exact_eager():
    e = EPS32
    return _verdicts(_Expect(), [
        ("15 eps, eager exact, k=1 (floor 16 eps)", dict(k=1, err=15 * e), "agrees", INF),
        ("17 eps, eager exact, k=100 (floor 16 eps)", dict(err=17 * e), "worse than eager", INF),
        ("both exact", dict(err=0.0), "agrees", 1.0),
        ("exact, eager 3 eps off", dict(err=0.0, base_err=3 * e), "agrees", 0.0)])


def _check_scaled_precision():
    """A bfloat16 run against float32 eager: eager's error scaled by eps_bf16/eps_f32 = 2^16, the
    floor 16·eps_bf16 = 1/8; eager 1 eps off -> "worse" beyond 3·2^-7 + 1/8 = 19/128."""
    e = EPS32
    expect = _Expect()
    _verdicts(expect, [
        ("bfloat16 19/128 vs eager's 1 eps", dict(prec="bfloat16", k=10_000, err=19 / 128, base_err=e),
         "agrees", 19 / 128 / e),
        ("bfloat16 20/128 vs eager's 1 eps", dict(prec="bfloat16", k=10_000, err=20 / 128, base_err=e),
         "worse than eager", 20 / 128 / e),
        ("factor 32, k=1: floor 32 eps", dict(k=1, factor=32.0, err=20 * e), "agrees", INF)])
    rec = _oracle_record(_judged(prec="bfloat16", k=10_000, err=0.5, base_err=e))
    expect("bfloat16 tolerance 16·√10000·2^-7", rec.tol, 12.5)
    return expect.problems


def _check_against_eager():
    """TF32 against float32 eager, k = 4: the run's tolerance 16·2·2^-10 = 2^-5, eager's 2^-18;
    against eager their sum. The baseline's value is 2^-5 + 2^-19 off the run's (beyond either
    tolerance alone, within the sum) and its oracle 2^-4 off its value."""
    expect = _Expect()
    apart = 2.0 ** -5 + 2.0 ** -19
    records = _judged(prec="tf32", k=4, err=2.0 ** -20, base_err=2.0 ** -4, apart=apart)
    expect("records (quantity, compared with)", [(r.quantity, r.compared_with) for r in records],
           [("output", "oracle"), ("output", "eager"), ("dx", "oracle"), ("dx", "eager")])
    oracle, eager = records[0], records[1]
    expect("the run's tolerance", oracle.tol, 2.0 ** -5)
    expect("eager's tolerance: the sum", eager.tol, 2.0 ** -5 + 2.0 ** -18)
    expect("eager's max_rel: the run against the baseline's values", eager.max_rel, apart)
    expect("eager's verdict", eager.verdict, "agrees")
    expect("ratio: 2^-20 over eager's 2^-4", oracle.ratio, 2.0 ** -16)
    expect("configuration named", {r.configuration for r in records}, {"judged"})
    expect("the baseline named", "baseline: its-baseline" in eager.note, True)
    expect("exact dx against eager", records[3].verdict, "agrees")
    return expect.problems


def _check_repeat():
    """The repeat equal in "output", 0.5 off in one value of "dx"; then no repeat at all."""
    expect = _Expect()
    value = np.array(_V)
    records = _judged(err=EPS32, repeat={"output": value.copy(), "dx": _off(value * 2, 2, 0.5)})
    got = [(r.quantity, r.compared_with, r.deterministic, r.run_diff) for r in records]
    expect("determinism of each record", got, [("output", "oracle", "yes", 0.0), ("output", "eager", "yes", 0.0),
                                              ("dx", "oracle", "no", 0.5), ("dx", "eager", "no", 0.5)])
    alone = _judged(err=EPS32)
    expect("without a repeat", {(r.deterministic, str(r.run_diff)) for r in alone}, {("", "nan")})
    return expect.problems


def _check_determinism():
    """Bit-identical, not equal: -0 is not 0, NaN in place is; a NaN that moved leaves 0.5."""
    expect = _Expect()
    a = np.array([1.0, 2.0, 3.0])
    expect("a copy", M.determinism(a, a.copy()), ("yes", 0.0))
    expect("one value 0.5 off", M.determinism(a, np.array([1.0, 2.5, 3.0])), ("no", 0.5))
    expect("0 against -0 (bits differ)", M.determinism(np.array([0.0]), np.array([-0.0])), ("no", 0.0))
    expect("NaN in the same place", M.determinism(np.array([NAN, 1.0]), np.array([NAN, 1.0])), ("yes", 0.0))
    expect("a NaN that moved", M.determinism(np.array([NAN, 1.0, 3.0]), np.array([1.0, 1.5, 3.0])), ("no", 0.5))
    expect("another shape", M.determinism(np.zeros(2), np.zeros(3)), ("no", INF))
    expect("no second run", M.determinism(a, None)[0], "")
    return expect.problems


# ------------------------------------------------------------------------------------------
# The oracle is fed the run's own values (real runs of tiny cases)
# ------------------------------------------------------------------------------------------

def _float64_twin(case, dtype="float32", seed=0):
    """What a float32 run's oracle must be: the same function, in float64, of the run's own
    weights, input and upstream gradient (drawn as ``matrix.run_case`` draws them), upcast exactly
    — here computed by the torch twin in float64, an implementation that shares no code with the
    reference. -> {quantity: float64 array}."""
    from torch_impl.transfer import export_grads
    rng = np.random.default_rng(seed)
    _, module = case.build(rng, np.dtype(dtype))
    inputs = case.inputs(rng, np.dtype(dtype))
    module = module.double()
    x = torch.from_numpy(inputs["x"]).double().requires_grad_(True)
    if hasattr(case, "net"):
        out = {"scores": module(x)}
        loss = torch.nn.functional.cross_entropy(out["scores"], torch.from_numpy(np.asarray(inputs["t"])))
        out["loss"] = loss
        loss.backward()
    else:
        y = module(x)
        dout = np.asarray(rng.standard_normal(tuple(y.shape)), dtype=dtype)
        y.backward(torch.from_numpy(dout).double())
        out = {"output": y}
    out["dx"] = x.grad
    if getattr(module, "book_params", None):
        out.update({"d" + k: g for k, g in export_grads(module).items()})
    return {q: np.asarray(v.detach().numpy() if hasattr(v, "detach") else v, dtype=np.float64) for q, v in out.items()}


def _check_oracle_values():
    """A float32 run's oracle against torch's float64 twin on the same values: float64's
    tolerance (16·√k·2^-52); the float32 draws themselves, or an oracle computed in float32, are
    10^8 times further off. A float64 run's oracle agrees with the run within float64's."""
    expect = _Expect()
    for case in (conv_case(N=2, C=2, H=5, W=5, FN=3), elementwise_case("Sigmoid", shape=(2, 3)), _smallest_net()):
        with C.one_thread():
            run, want = M.run_case(case, C.by_name("eager"), "float32"), _float64_twin(case)
            run64 = M.run_case(case, C.by_name("eager"), "float64")
        tol = R.reduction_tolerance("float64", case.reduction)
        for q in want:
            rec = R.compare(case.id, q, run.oracle[q], want[q], tol)
            expect(f"{M.case_label(case)} float32 {q}: oracle dtype", np.asarray(run.oracle[q]).dtype, np.float64)
            expect(f"{M.case_label(case)} float32 {q}: oracle on the run's values (max_rel {rec.max_rel:.1e})",
                   rec.verdict, "pass")
        for q, value in run64.values.items():
            rec = R.compare(case.id, q, run64.oracle[q], value, tol)
            expect(f"{M.case_label(case)} float64 {q} (max_rel {rec.max_rel:.1e})", rec.verdict, "pass")
    return expect.problems


def _smallest_net():
    return min((c for c in NET_CASES if c.net == "SimpleConvNet"), key=lambda c: c.reduction)


# ------------------------------------------------------------------------------------------
# The registry: precisions, tolerances, plans
# ------------------------------------------------------------------------------------------

def _check_precisions():
    expect = _Expect()
    for name, bits in {"float64": 53, "float32": 24, "tf32": 11, "bfloat16": 8, "float16": 11}.items():
        p = R.PRECISIONS[name]
        expect(f"{name} p", p.bits, bits)
        expect(f"{name} eps = 2^(1-p)", p.eps, 2.0 ** (1 - bits))
        expect(f"{name} unit roundoff 2^-p", p.unit_roundoff, 2.0 ** -bits)
    for dtype in ("float32", "float64"):
        expect(f"{dtype} eps = np.finfo", R.PRECISIONS[dtype].eps, float(np.finfo(dtype).eps))
    for (name, dtype), want in {("eager", "float32"): "float32", ("eager", "float64"): "float64",
                                ("compile", "float32"): "float32", ("deterministic", "float64"): "float64",
                                ("autocast-bf16", "float32"): "bfloat16", ("autocast-fp16", "float32"): "float16",
                                ("cuda-tf32", "float32"): "tf32", ("cuda-tf32", "float64"): "float64",
                                ("cuda-amp-bf16", "float32"): "bfloat16", ("cuda", "float32"): "float32"}.items():
        expect(f"{name} in {dtype} computes in", C.precision_of(C.by_name(name), dtype).name, want)
    return expect.problems


def _check_tolerances():
    expect = _Expect()
    P = R.PRECISIONS
    expect("tf32, k=100: 16·10·2^-10", R.config_tolerance(P["tf32"], 100).rtol, 0.15625)
    expect("bfloat16, k=4, factor 4: 4·2·2^-7", R.config_tolerance(P["bfloat16"], 4, 4.0).rtol, 0.0625)
    expect("float32, k=0 counts as 1", R.config_tolerance(P["float32"], 0).rtol, 16 * EPS32)
    for dtype in ("float32", "float64"):
        expect(f"{dtype}: the rule of every other record", R.config_tolerance(P[dtype], 100).rtol,
               R.reduction_tolerance(dtype, 100).rtol)
    return expect.problems


def _check_plans():
    expect = _Expect()
    declared = C.Configuration("f32-only", "declared for float32 only", dtypes=("float32",))
    autocast = C.Configuration("ac", "autocast", autocast="bfloat16", computes_in="bfloat16", dtypes=("float32",))
    tf32 = C.Configuration("tf", "TF32 convolutions", computes_in="tf32", dtypes=("float32",), baseline="cuda")
    p = C.plan(declared, "float64")
    expect("declared float32 only, run in float64: skip", p.skip, "not applicable: declared for float32 only")
    expect("autocast in float64: skip", (C.plan(autocast, "float64").skip or "")[:41],
           "not applicable: autocast leaves float64 t")
    p = C.plan(autocast, "float32")
    expect("autocast in float32", (p.skip, p.precision.name, p.baseline.name, p.baseline_precision.name),
           (None, "bfloat16", "eager", "float32"))
    mine = C.on_cpu(C.by_name("cuda"))
    p = C.plan(tf32, "float32", {"cuda": mine})
    expect("TF32 against a replaced baseline", (p.precision.name, p.baseline is mine, p.baseline_precision.name),
           ("tf32", True, "float32"))
    p = C.plan(C.by_name("eager"), "float64")
    expect("eager is its own baseline", (p.skip, p.baseline, p.baseline_precision, p.precision.name),
           (None, None, None, "float64"))
    cuda_tf32 = C.by_name("cuda-tf32")
    expect("cuda-tf32: skipped where it cannot run", C.plan(cuda_tf32, "float32").skip, C.unavailable(cuda_tf32))
    return expect.problems


# ------------------------------------------------------------------------------------------
# The matrix's statuses and its baselines (real runs of one tiny ReLU case)
# ------------------------------------------------------------------------------------------

def _patch(amount_on_call):
    """A test patch for a configuration: ``F.relu``'s output plus ``amount_on_call(n)`` on the n-th
    entry (1, 2, ...) of the configuration; an amount that is an exception is raised instead."""
    calls = [0]

    @contextmanager
    def patch():
        calls[0] += 1
        original = torch.nn.functional.relu
        amount = amount_on_call(calls[0])

        def patched(*args, **kwargs):
            if isinstance(amount, Exception):
                raise amount
            return original(*args, **kwargs) + amount
        torch.nn.functional.relu = patched
        try:
            yield
        finally:
            torch.nn.functional.relu = original
    return patch


def _check_statuses():
    """One ReLU case in both dtypes under: a configuration declared for float32 only (float64:
    skipped, not applicable); one whose kernel raises (failed, with the error's first line); one
    whose repeat raises (failed); one whose repeat adds 2^-20 to the output (deterministic "no",
    run_diff 2^-20, dx still bit-identical); one judged against its own baseline, which adds
    2^-10 to the output (against it: max_abs 2^-10)."""
    expect = _Expect()
    relu = elementwise_case("Relu", shape=(1, 2, 3, 3))
    configs = [C.Configuration("f32-only", "declared for float32 only", dtypes=("float32",)),
               C.Configuration("broken", "raises", patch=_patch(lambda n: RuntimeError("kernel exploded\nmore"))),
               C.Configuration("broken-repeat", "its repeat raises",
                               patch=_patch(lambda n: RuntimeError("second run") if n % 2 == 0 else 0.0)),
               C.Configuration("noisy-repeat", "its repeat is 2^-20 off",
                               patch=_patch(lambda n: 2.0 ** -20 if n % 2 == 0 else 0.0)),
               C.Configuration("own-baseline", "judged against its own baseline", baseline="shifted")]
    shifted = C.Configuration("shifted", "adds 2^-10", patch=_patch(lambda n: 2.0 ** -10), baseline=None)
    with C.one_thread():
        result = M.run_matrix(configs, [relu], ("float32", "float64"), baselines={"shifted": shifted})
    by = {}
    for r in result.records:
        by.setdefault((r.configuration, r.dtype), []).append(r)
    only = by.get(("f32-only", "float64"), [])
    expect("f32-only in float64", [(r.verdict, r.note) for r in only],
           [("skipped", "not applicable: declared for float32 only")])
    expect("f32-only in float32 runs", {r.verdict for r in by.get(("f32-only", "float32"), [])}, {"agrees"})
    for dtype in ("float32", "float64"):
        expect(f"broken {dtype}", [(r.verdict, r.note) for r in by.get(("broken", dtype), [])],
               [("failed", "RuntimeError: kernel exploded")])
        expect(f"broken-repeat {dtype}", [(r.verdict, r.note) for r in by.get(("broken-repeat", dtype), [])],
               [("failed", "RuntimeError: second run")])
        noisy = {(r.quantity, r.compared_with): (r.deterministic, r.run_diff) for r in by.get(("noisy-repeat", dtype), [])}
        expect(f"noisy-repeat {dtype}", noisy, {("output", "oracle"): ("no", 2.0 ** -20), ("output", "eager"): ("no", 2.0 ** -20),
                                               ("dx", "oracle"): ("yes", 0.0), ("dx", "eager"): ("yes", 0.0)})
        own = {(r.quantity, r.compared_with): (r.max_abs, "baseline: shifted" in r.note)
               for r in by.get(("own-baseline", dtype), []) if r.compared_with == "eager"}
        expect(f"own-baseline {dtype} against its baseline", own,
               {("output", "eager"): (2.0 ** -10, True), ("dx", "eager"): (0.0, True)})
    want = {"f32-only": ("agrees", "skipped"), "broken": ("failed",) * 2, "broken-repeat": ("failed",) * 2,
            "noisy-repeat": ("agrees",) * 2, "own-baseline": ("agrees",) * 2}
    expect("cells", {k[1:]: v.verdict for k, v in CE.cells(result.records).items()},
           {(n, d): v[i] for n, v in want.items() for i, d in enumerate(("float32", "float64"))})
    return expect.problems


# ------------------------------------------------------------------------------------------
# Cells and summaries (synthetic records)
# ------------------------------------------------------------------------------------------

def _rec(case, quantity, verdict, bits, *, config="c", compared_with="oracle", group="layer", headroom=2.0,
         ratio=NAN, det="", run_diff=NAN, note=""):
    """A synthetic configuration record with ``max_rel = 2^-bits`` (NaN bits: not measured)."""
    max_rel = NAN if math.isnan(bits) else 2.0 ** -bits
    return R.Record(case=case, quantity=quantity, dtype="float32", config="{}", ref_shape="(3,)", torch_shape="(3,)",
                    max_abs=max_rel, max_rel=max_rel, tol=NAN if math.isnan(bits) else max_rel * headroom,
                    headroom=headroom, verdict=verdict, group=group, note=note, configuration=config,
                    compared_with=compared_with, ratio=ratio, deterministic=det, run_diff=run_diff)


def synthetic_cell_records():
    """Records of configuration "c" in float32 for five cells: A (a layer: worse than eager,
    differs from eager), B (a net: disagrees, first in its trace), C (not applicable), D (failed),
    E (skipped: cannot run here). The cells check and the tests of the terminal table and
    configurations.csv (``parity_tests/test_judges.py``) read the same records."""
    return [
        _rec("A", "output", "agrees", 20, headroom=16.0, ratio=2.0, det="yes", run_diff=0.0),
        _rec("A", "output", "agrees", 20, compared_with="eager", det="yes", run_diff=0.0),
        _rec("A", "dx", "worse than eager", 16, headroom=1.5, ratio=40.0, det="no", run_diff=1e-7),
        _rec("A", "dx", "disagrees", 14, compared_with="eager", det="no", run_diff=1e-7),
        _rec("A", "dW", "agrees", 18, headroom=4.0, ratio=0.5, det="no", run_diff=3e-7),
        _rec("A", "dW", "disagrees", 12, compared_with="eager", det="no", run_diff=3e-7),
        _rec("B", "loss", "disagrees", 9, group="net", headroom=0.5),
        _rec("B", "loss", "disagrees", 9, group="net", compared_with="eager"),
        _rec("B", "Conv1.out", "worse than eager", 21, group="trace"),
        _rec("B", "Relu1.out", "disagrees", 8, group="trace", headroom=0.25),
        _rec("C", "", "skipped", NAN, note=f"{CE.NOT_APPLICABLE}: autocast leaves float64 alone", headroom=NAN),
        _rec("D", "", "failed", NAN, note="RuntimeError: kernel exploded", headroom=NAN),
        _rec("E", "", "skipped", NAN, note="no CUDA device here", headroom=NAN)]


def _check_cells():
    expect = _Expect()
    table = CE.cells(synthetic_cell_records())
    expect("cells, in order", list(table), [(n, "c", "float32") for n in "ABCDE"])
    a, b, c, d, e = table.values()
    expect("A verdict: the worst oracle record", a.verdict, "worse than eager")
    expect("A (bits, headroom, worst)", (a.bits, a.headroom, a.worst), (16.0, 1.5, "dx"))
    expect("A determinism", (a.deterministic, a.run_diff, a.nondeterministic), ("no", 3e-7, "dW"))
    expect("A first divergence, ratio", (a.first_divergence, a.ratio), ("dx", 40.0))
    expect("A against eager", (a.eager, a.eager_bits, a.eager_first, a.differs_from_eager),
           ("disagrees", 12.0, "dx", True))
    expect("B verdict", b.verdict, "disagrees")
    expect("B first divergence: the trace's first", b.first_divergence, "Conv1.out")
    expect("B (bits, worst, headroom)", (b.bits, b.worst, b.headroom), (8.0, "Relu1.out", 0.25))
    expect("B not checked twice", (b.deterministic, str(b.run_diff)), ("", "nan"))
    expect("B disagrees: not 'differs from eager'", b.differs_from_eager, False)
    expect("C", (c.verdict, c.note, CE.is_not_applicable(c)),
           ("skipped", f"{CE.NOT_APPLICABLE}: autocast leaves float64 alone", True))
    expect("D", (d.verdict, d.note, CE.is_not_applicable(d)), ("failed", "RuntimeError: kernel exploded", False))
    expect("E", (e.verdict, CE.is_not_applicable(e)), ("skipped", False))
    for worst in ("disagrees", "worse than eager"):
        mixed = [_rec("X", q, v, 20) for q, v in (("a", "agrees"), ("b", worst), ("c", "agrees"))]
        expect(f"agrees < {worst}", CE.cells(mixed)[("X", "c", "float32")].verdict, worst)
    order = [_rec("X", q, "worse than eager" if q == "a" else "disagrees" if q == "b" else "agrees", 20)
             for q in "abc"]
    expect("worse than eager < disagrees", CE.cells(order)[("X", "c", "float32")].verdict, "disagrees")
    expect("the verdicts, best first", CE.VERDICT_ORDER,
           ("agrees", "worse than eager", "disagrees", "failed", "skipped"))
    return expect.problems


def _check_divergence_text():
    expect = _Expect()
    layers = ["Conv1", "Relu1", "Pool1", "Affine1"]
    records = [_rec("N", f"{n}.out", "agrees", 20, group="trace") for n in layers]
    cell = CE.Cell("N", "c", "float32", "disagrees")
    for first, want in (("Conv1.out", "Conv1 (forward)"), ("Relu1.grad", "Pool1 (backward: Relu1.grad)"),
                        ("Affine1.grad", "the loss (backward: Affine1.grad)"), ("dx", "dx"), ("", "")):
        cell.first_divergence = first
        expect(f"divergence at {first!r}", CE.divergence_text(cell, records), want)
    return expect.problems


def _check_summaries():
    """Config "c": A worse (16 bits, run_diff 3e-7), F agrees (22, bit-identical), G agrees (30,
    not checked), H agrees (25, run_diff 1e-9), C not applicable, D failed."""
    expect = _Expect()
    records = [r for r in synthetic_cell_records() if r.case in "ACD"] + [
        _rec("F", "output", "agrees", 22, det="yes", run_diff=0.0),
        _rec("G", "output", "agrees", 30),
        _rec("H", "output", "agrees", 25, det="no", run_diff=1e-9),
        _rec("F", "output", "agrees", 22, config="other", det="yes", run_diff=0.0)]
    seconds = {("A", "c", "float32"): (1.0, 0.5), ("F", "c", "float32"): (2.0, NAN),
               ("G", "c", "float32"): (4.0, 1.5), ("H", "c", "float32"): (8.0, 2.0),
               ("F", "other", "float32"): (100.0, 100.0)}
    (s,) = CE.summaries(records, ["c"], seconds)
    expect("cells, ran", (s["cells"], s["ran"]), (6, 4))
    expect("counts", s["counts"], {"agrees": 3, "worse than eager": 1, "disagrees": 0, "failed": 1, "skipped": 1})
    expect("worst cell", (s["worst"].case_id, s["worst"].bits), ("A", 16.0))
    expect("checked twice", s["checked"], 3)
    expect("not bit-identical", [c.case_id for c in s["nondeterministic"]], ["A", "H"])
    expect("largest run-to-run difference", s["worst_nondeterministic"].case_id, "A")
    expect("times (first median, max; second median; total)",
           (s["first_s"], s["max_first_s"], s["second_s"], s["total_s"]), (3.0, 8.0, 1.5, 19.0))
    expect("skipped, failed", (s["skipped"], [c.case_id for c in s["failed"]]),
           ([f"{CE.NOT_APPLICABLE}: autocast leaves float64 alone"], ["D"]))
    return expect.problems


# ------------------------------------------------------------------------------------------
# The OpInfo corpus's counting (synthetic samples)
# ------------------------------------------------------------------------------------------

def _sample(op, dtype, index, headrooms=(), reason=""):
    """A SampleResult: records with these headrooms (each passes unless below 1: a NaN headroom
    passes), or the reason it was not run."""
    records = [R.Record(op, f"q{i}", dtype, "{}", "(2,)", "(2,)", 0.0, 0.0, 1.0, h, "fail" if h < 1 else "pass",
                        "opinfo") for i, h in enumerate(headrooms)]
    return O.SampleResult(op, dtype, index, f"sample {index}", records, reason)


def synthetic_corpus():
    """A CorpusRun (torch "x") — entry "a" in float64: sample 0 agrees (headrooms 5, inf), 1
    disagrees (0.5), 2-4 not run (2× label_smoothing, 1× inplace=True), 5 ran without a comparison,
    6 agrees (headrooms NaN, 2); entry "a" in float32: 0 agrees (3); entry "b" in float64: 0 exact,
    1 not run (inplace=True). The corpus checks and the tests of the command and the report's
    section read the same run."""
    return O.CorpusRun([
        _sample("a", "float64", 0, (5.0, INF)), _sample("a", "float64", 1, (3.0, 0.5)),
        _sample("a", "float64", 2, reason="label_smoothing"), _sample("a", "float64", 3, reason="inplace=True"),
        _sample("a", "float64", 4, reason="label_smoothing"), _sample("a", "float64", 5),
        _sample("a", "float64", 6, (NAN, 2.0)), _sample("a", "float32", 0, (3.0,)),
        _sample("b", "float64", 0, (INF,)), _sample("b", "float64", 1, reason="inplace=True")], "x", 0.0)


def _check_corpus_rows():
    expect = _Expect()
    run = synthetic_corpus()
    expect("agrees per sample", [res.agrees for res in run.results],
           [True, False, False, False, False, False, True, True, True, False])
    rows = {(r["op"], r["dtype"]): r for r in O.summarize(run)}
    expect("rows", list(rows), [("a", "float64"), ("a", "float32"), ("b", "float64")])
    a = rows[("a", "float64")]
    expect("a float64 (samples, run, agree, not run)", (a["samples"], a["run"], a["agree"], a["not_run"]), (7, 4, 2, 3))
    expect("a float64 why not", a["why_not"], "1× inplace=True; 2× label_smoothing")
    expect("a float64 worst headroom", (a["worst"], a["worst_quantity"]), (0.5, "q1 (sample 1)"))
    b = rows[("b", "float64")]
    expect("b float64", (b["samples"], b["run"], b["agree"], b["not_run"], b["worst"], b["why_not"]),
           (2, 1, 1, 1, INF, "1× inplace=True"))
    expect("a float32", (rows[("a", "float32")]["worst"], rows[("a", "float32")]["why_not"]), (3.0, "—"))
    return expect.problems


def _check_corpus_totals():
    expect = _Expect()
    t = O.totals(O.summarize(synthetic_corpus()))
    expect("totals", t, {"samples": 10, "run": 6, "agree": 4, "not_run": 4, "disagree": 2, "share": 60.0,
                         "worst": 0.5})
    expect("a run's totals are the rows'", synthetic_corpus().totals(), t)
    expect("no sample", O.totals([]), {"samples": 0, "run": 0, "agree": 0, "not_run": 0, "disagree": 0,
                                       "share": NAN, "worst": INF})
    exact = O.CorpusRun(synthetic_corpus().results[-2:], "x", 0.0)
    expect("every sample exact or not run", O.totals(O.summarize(exact))["worst"], INF)
    return expect.problems


def _check_session_corpus():
    """A test session's opinfo records regrouped by entry, dtype and sample."""
    expect = _Expect()
    records = [R.Record("sigmoid", q, dtype, '{"sample": 3, "args": "(5,)"}', "(5,)", "(5,)", 0.0, 0.0, 1e-15, INF,
                        "pass", "opinfo") for dtype in ("float64", "float32") for q in ("output", "grad input")]
    run = O.corpus_from_records(records + [_rec("X", "output", "agrees", 20)], "x")
    expect("samples", [(res.op, res.dtype, res.index, len(res.records)) for res in run.results],
           [("sigmoid", "float64", 3, 2), ("sigmoid", "float32", 3, 2)])
    return expect.problems


# ------------------------------------------------------------------------------------------
# The table, and its records
# ------------------------------------------------------------------------------------------

JUDGE_CHECKS: list[JudgeCheck] = [
    JudgeCheck("worse than eager: beyond 3× eager's error + 16·eps, within 16·√k·eps", "matrix",
               _check_worse_than_eager),
    JudgeCheck("eager exact: the 16·eps floor, ratio inf (1 when both are exact)", "matrix", _check_exact_eager),
    JudgeCheck("a lower precision: eager's error scaled by eps_config/eps_eager, the floor the case's factor × eps",
               "matrix", _check_scaled_precision),
    JudgeCheck("against eager: the sum of both tolerances, the baseline's values", "matrix", _check_against_eager),
    JudgeCheck("two runs: deterministic only when bit-identical, run_diff the largest difference", "matrix",
               _check_repeat),
    JudgeCheck("determinism of two arrays: bits, -0, NaN, shapes", "matrix", _check_determinism),
    JudgeCheck("the oracle of a float32 run: float64 on the run's own weights, input and gradient", "matrix",
               _check_oracle_values),
    JudgeCheck("skipped, not applicable, failed (also on the repeat), and a baseline per configuration", "matrix",
               _check_statuses),
    JudgeCheck("precisions: p, eps = 2^(1-p), what each configuration computes in", "configs", _check_precisions),
    JudgeCheck("tolerance per precision: factor·√k·2^(1-p)", "configs", _check_tolerances),
    JudgeCheck("plans: skip, not applicable, precision, baseline and its precision", "configs", _check_plans),
    JudgeCheck("cells: the worst verdict, worst bits, determinism, first divergence, against eager", "cells",
               _check_cells),
    JudgeCheck("where a cell diverges: forward, or the layer whose backward made the gradient", "cells",
               _check_divergence_text),
    JudgeCheck("summaries: counts, worst cell, determinism, times", "cells", _check_summaries),
    JudgeCheck("corpus rows: samples, run, agree, not run with reasons, worst headroom", "corpus", _check_corpus_rows),
    JudgeCheck("corpus totals: one count for the table, the exit status and the report", "corpus",
               _check_corpus_totals),
    JudgeCheck("a session's corpus: one sample per entry, dtype and index", "corpus", _check_session_corpus),
]


def judge_check_records(checks=None) -> list[R.Record]:
    """Every known answer of :data:`JUDGE_CHECKS` (or ``checks``) as a record of group "selfcheck":
    it passes when the judge gave the known answer; its note lists what differed. A yes/no check:
    headroom inf when it holds, 0 when it does not."""
    records = []
    for check in JUDGE_CHECKS if checks is None else checks:
        problems = check.problems()
        note = f"{check.judge}: " + ("; ".join(problems)[:400] if problems else "the known answer, as it should")
        records.append(R.Record(
            case="judges' self-check", quantity=check.name, dtype="float64", config="{}", ref_shape="",
            torch_shape="", max_abs=NAN, max_rel=NAN, tol=NAN, headroom=0.0 if problems else INF,
            verdict="fail" if problems else "pass", group="selfcheck", note=note,
            tol_why="a known answer of a judge (a yes/no check: headroom inf when it holds)"))
    return records
