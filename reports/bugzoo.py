"""``cnn-parity bugs``: plant each bug of the zoo in turn and see which comparison catches it.

A validation suite is worth the bugs it catches. Each bug of ``reports.parity.bugs.CATALOG`` is
planted in-process (``with bug.plant():``) and the checks it declares are run through the very
harness the tests use:

``parity``     every registered parity case (``reports.parity.cases``: layers, nets with their
               per-layer trace, the book's worked examples) in float64 and float32 — without the
               full-size ImageNet-shaped AlexNets, which ``report --quick`` leaves out too
``optimizer``  the optimizer trajectories against torch.optim (``reports.parity.optim``)
``lockstep``   a few lockstep training steps of SimpleConvNet with each torch-form optimizer
               (``reports.mnist.training``), on seeded random 28×28 images
``selfcheck``  the harness's own known answers (``reports.parity.selfcheck``)
``judges``     the known answers of the configuration matrix and the OpInfo corpus's counting
               (``reports.parity.judgecheck``)

A case that raises becomes one failing record (quantity "error"), so a bug that crashes is
caught too. First the *clean baseline* — the same checks with nothing planted — must pass; a bug
counts as caught only by records that pass in the baseline. For each bug: caught or missed, the
first failing record (case, quantity, dtype, max_rel against tol), the first diverging layer of
the first failing network, how many records failed, the weakest catch (the smallest
max_rel ÷ tol among its failing records), a symptom in words, and the time taken.
``bugs.csv`` (``--csv``) has one row per bug plus the baseline's row.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from .benchmark_results import BenchmarkError, read_results_csv, repo_relative
from .mnist.training import LOCKSTEP_OPTIMIZERS, train_lockstep, training_records
from .parity.bugs import CATALOG
from .parity.cases import full_size_cases
from .parity.harness import all_parity_records
from .parity.judgecheck import judge_check_records
from .parity.optim import TORCH_FORMS, optimizer_records
from .parity.records import DTYPES, Record, first_divergence, worst_record
from .parity.selfcheck import self_check_records

__all__ = ["SUITES", "DEFAULT_RESULTS", "BugResult", "run_checks", "run_bug", "run_baseline", "run_catalog",
           "results_frame", "format_results", "BugZooResults", "load_bug_results"]

SUITES = ("selfcheck", "judges", "parity", "optimizer", "lockstep")
#: Where ``cnn-parity bugs --csv`` results live for the report (as the benchmark results do).
DEFAULT_RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "bugs.csv"
#: lr per optimizer for the lockstep check (the tests' values)
LOCKSTEP_LR = {"sgd": 0.1, "momentum": 0.01, "adagrad": 0.01, "adam": 0.001}
LOCKSTEP_STEPS = 5


# ------------------------------------------------------------------------------------------
# The checks
# ------------------------------------------------------------------------------------------

def _guarded(case: str, dtype: str, run, config="{}") -> list[Record]:
    """``run()``'s records, or one failing record naming the exception it raised.

    A record's dtype is its reference array's; where that is not the dtype of the run (a bug
    that upcasts), the record is relabelled with the run's dtype and the note says so."""
    try:
        return [r if r.dtype == dtype or r.group == "selfcheck" else
                replace(r, dtype=dtype, note="; ".join(filter(None, [r.note, f"the reference's array is {r.dtype}"])))
                for r in run()]
    except Exception as exc:   # a crash under a planted bug is a catch, not an accident
        message = " ".join(f"{type(exc).__name__}: {exc}".split())
        return [Record(case=case, quantity="error", dtype=dtype, config=config, ref_shape="",
                       torch_shape="", max_abs=math.inf, max_rel=math.inf, tol=0.0, headroom=0.0,
                       verdict="fail", group="error", note=message[:300])]


def _parity(dtypes, select):
    return all_parity_records(dtypes, skip=full_size_cases(), select=select, guard=_guarded)


def _optimizer(dtypes, select):
    return [r for dtype in dtypes for name in TORCH_FORMS
            for r in _guarded(f"optim.{name}", dtype, lambda: optimizer_records((dtype,), (name,)))]


def lockstep_data(seed=0, n_train=60, n_test=20):
    """Seeded random 28×28 "images" (uniform in [0, 1)) and labels: enough for a few steps."""
    rng = np.random.default_rng(seed)
    return ((rng.random((n_train, 1, 28, 28)), rng.integers(0, 10, n_train)),
            (rng.random((n_test, 1, 28, 28)), rng.integers(0, 10, n_test)))


def _lockstep(dtypes, select, steps=LOCKSTEP_STEPS):
    data = lockstep_data()
    records = []
    for dtype in dtypes:
        for opt in LOCKSTEP_OPTIMIZERS:
            records += _guarded(f"training simple ({opt})", dtype, lambda: training_records(train_lockstep(
                data, net="simple", optimizer=opt, lr=LOCKSTEP_LR[opt], batch_size=10, steps=steps,
                dtype=dtype, param_every=steps, progress=False)))
    return records


def _selfcheck(dtypes, select):
    return _guarded("harness self-check", "float64", lambda: self_check_records(dtypes))


def _judges(dtypes, select):
    return _guarded("judges' self-check", "float64", judge_check_records)


_RUNNERS = {"selfcheck": _selfcheck, "judges": _judges, "parity": _parity, "optimizer": _optimizer,
            "lockstep": _lockstep}


def run_checks(checks=SUITES, dtypes=DTYPES, select=None) -> list[Record]:
    """The records of the named checks, in the order of :data:`SUITES`. ``select(case)``
    narrows the parity check to some cases (the known answers then are left out too)."""
    unknown = sorted(set(checks) - set(SUITES))
    if unknown:
        raise ValueError(f"unknown checks {unknown}; choose from {list(SUITES)}")
    return [r for name in SUITES if name in checks for r in _RUNNERS[name](tuple(dtypes), select)]


# ------------------------------------------------------------------------------------------
# One bug
# ------------------------------------------------------------------------------------------

def _key(r: Record):
    return (r.group, r.case, r.config, r.dtype, r.quantity)


def _ratio(r: Record) -> float:
    """max_rel ÷ tol of a failing record (inf for a bit-exact tolerance, a shape, dtype or
    NaN/inf mismatch, or an error); NaN for a yes/no self-check."""
    if r.group == "selfcheck":
        return math.nan
    if not math.isfinite(r.max_rel) or r.tol <= 0 or _mismatch(r):
        return math.inf
    return r.max_rel / r.tol


def _mismatch(r: Record) -> str:
    for word in ("shape mismatch", "dtype mismatch", "NaN/inf in different positions"):
        if word in r.note:
            return word
    return ""


@dataclass
class BugResult:
    """What planting one bug did to the checks (``name`` "clean" for the baseline)."""

    name: str
    group: str
    where: str = ""
    models: str = ""
    checks: str = ""
    verdict: str = ""               # "caught" / "missed"; the baseline: "pass" / "FAIL"
    records: int = 0
    failed: int = 0
    first_case: str = ""
    first_config: str = ""
    first_quantity: str = ""
    first_dtype: str = ""
    first_max_rel: float = math.nan
    first_tol: float = math.nan
    first_divergence: str = ""
    weakest_ratio: float = math.nan
    weakest: str = ""
    failing_dtypes: str = ""
    symptom: str = ""
    seconds: float = 0.0
    failures: list = field(default_factory=list, repr=False)

    @property
    def caught(self) -> bool:
        return self.verdict == "caught"


_FORWARD = ("output", "scores", "loss")


def _is_forward(quantity: str) -> bool:
    return quantity in _FORWARD or quantity.endswith(".out") or quantity.startswith("scores")


def _dtypes_words(failures) -> str:
    found = [d for d in DTYPES if any(r.dtype == d for r in failures)]
    if len(found) == 2:
        return "float64 and float32"
    return f"{found[0]} only" if found else ""


def symptom(failures, divergence: str) -> str:
    """The failures in words a teacher can point at (generated from the records)."""
    if not failures:
        return "no comparison failed"
    parts = []
    errors = [r for r in failures if r.quantity == "error"]
    if errors:
        kind, _, message = errors[0].note.partition(": ")
        message = message if len(message) <= 120 else message[:119].rsplit(" ", 1)[0] + " …"
        parts.append(f"raises {kind} in {len(errors)} case run(s) (first: {errors[0].case}: {message})")
    checks = [r for r in failures if r.group == "selfcheck"]
    if checks:
        parts.append("the harness's self-check fails: " + "; ".join(
            sorted({f"{r.quantity} ({r.note.split(': ', 1)[-1]})" for r in checks}))[:300])
    optim = [r for r in failures if r.group in ("optimizer", "training")]
    if optim:
        parts.append(_optimizer_words(optim))
    rest = [r for r in failures if r.quantity != "error" and r.group not in ("selfcheck", "optimizer", "training")]
    if rest:
        fwd = sorted({r.quantity for r in rest if _is_forward(r.quantity)})
        bwd = sorted({r.quantity for r in rest if not _is_forward(r.quantity)} - {"error"})
        if not fwd and bwd:
            parts.append("forward right, gradients wrong (" + ", ".join(bwd[:6])
                         + (", …" if len(bwd) > 6 else "") + ")")
        elif fwd:
            parts.append("forward wrong (" + ", ".join(fwd[:4]) + (", …" if len(fwd) > 4 else "") + ")")
        kinds = sorted({_mismatch(r) for r in rest} - {""})
        if kinds:
            parts.append("; ".join(kinds))
        worst = max(rest, key=lambda r: (r.max_rel if math.isfinite(r.max_rel) else 1e300))
        if math.isfinite(worst.max_rel):
            parts.append(f"largest error max_rel {worst.max_rel:.1e} ({worst.case} {worst.quantity}, tol {worst.tol:.1e})")
        names = sorted({r.case for r in rest})
        configs = {(r.case, r.config) for r in rest if r.group in ("layer", "net", "trace")}
        parts.append(f"in {len(configs) or len({(r.case, r.config) for r in rest})} case configuration(s) of "
                     + ", ".join(names[:5]) + (", …" if len(names) > 5 else ""))
        common = _common_settings(configs)
        if common:
            parts.append("every one with " + " ".join(f"{k}={v}" for k, v in common))
    if divergence:
        parts.append(f"first divergence at {divergence}")
    parts.append(f"caught in {_dtypes_words(failures)}")
    return "; ".join(parts)


def _optimizer_words(records) -> str:
    """Optimizer trajectories and lockstep training records in words: which optimizers drift,
    whether only with torch's sqrt (bit-exact) or as shipped, and the lockstep's largest drift."""
    words = []
    traj = [r for r in records if r.group == "optimizer"]
    if traj:
        names = sorted({r.case.removeprefix("optim.") for r in traj})
        exact_only = all(r.quantity.endswith("(torch's sqrt)") or r.tol == 0 for r in traj)
        worst = max(traj, key=lambda r: r.max_rel if math.isfinite(r.max_rel) else 1e300)
        words.append(f"the {', '.join(names)} trajectories drift from torch.optim's"
                     + (" (only the bit-exact comparisons see it)" if exact_only else "")
                     + f", by up to max_rel {worst.max_rel:.1e} ({worst.case} {worst.quantity}, tol {worst.tol:.1e})")
    steps = [r for r in records if r.group == "training"]
    if steps:
        worst = max(steps, key=lambda r: r.max_rel / r.tol if r.tol > 0 else math.inf)
        opts = sorted({json.loads(r.config).get("optimizer", "?") for r in steps})
        words.append(f"lockstep training with {', '.join(opts)} parts from torch ({worst.quantity}: "
                     f"{worst.max_rel:.1e}, tol {worst.tol:.1e}, {worst.dtype})")
    return "; ".join(words)


#: Case settings worth naming when every failing case shares them ("only on the negative inputs").
TELLING = ("method", "kind", "pad", "count_include_pad", "mode", "c3_table", "variant", "labels", "size")


def _common_settings(configs) -> list:
    """The telling (key, value) settings that all failing case configurations share."""
    items = None
    for _, config in configs:
        try:
            found = {(k, str(v)) for k, v in json.loads(config).items()
                     if k in TELLING and (k, str(v)) not in (("kind", "normal"), ("mode", "train"))}
        except ValueError:
            return []
        items = found if items is None else items & found
    return sorted(items or [])


def summarize(name, group, records, baseline_failing=frozenset(), seconds=0.0, bug=None) -> BugResult:
    """A :class:`BugResult` from the records of one run (failures already in the baseline do not count)."""
    failures = [r for r in records if not r.passed and _key(r) not in baseline_failing]
    res = BugResult(name=name, group=group, records=len(records), failed=len(failures),
                    seconds=round(seconds, 2), failures=failures)
    if bug is not None:
        res.where, res.models, res.checks = bug.where, bug.models, " ".join(bug.checks)
        res.verdict = "caught" if failures else "missed"
    else:
        res.verdict = "FAIL" if failures else "pass"
    if failures:
        first = failures[0]
        res.first_case, res.first_config, res.first_quantity = first.case, first.config, first.quantity
        res.first_dtype, res.first_max_rel, res.first_tol = first.dtype, first.max_rel, first.tol
        nets = [r for r in failures if r.group in ("net", "trace")]
        if nets:
            net = nets[0]
            same = [r for r in records if (r.case, r.config, r.dtype) == (net.case, net.config, net.dtype)]
            div = first_divergence(same)
            res.first_divergence = f"{net.case} {div.quantity} ({net.dtype})" if div else ""
        ratios = [(_ratio(r), r) for r in failures if not math.isnan(_ratio(r))]
        if ratios:
            ratio, weakest = min(ratios, key=lambda p: p[0])
            res.weakest_ratio = ratio
            res.weakest = f"{weakest.case} {weakest.quantity} ({weakest.dtype})"
        res.failing_dtypes = _dtypes_words(failures)
    res.symptom = symptom(failures, res.first_divergence)
    return res


def run_bug(bug, dtypes=DTYPES, select=None, baseline_failing=frozenset(), checks=None) -> BugResult:
    """Plant ``bug``, run its checks (or ``checks``), unplant it: a :class:`BugResult`."""
    t0 = time.perf_counter()
    with bug.plant():
        records = run_checks(checks or bug.checks, dtypes, select)
    return summarize(bug.name, bug.group, records, baseline_failing, time.perf_counter() - t0, bug)


def run_baseline(checks=SUITES, dtypes=DTYPES, select=None) -> tuple[BugResult, list[Record]]:
    """The clean run: the same checks with nothing planted (every record must pass)."""
    t0 = time.perf_counter()
    records = run_checks(checks, dtypes, select)
    res = summarize("clean", "baseline", records, seconds=time.perf_counter() - t0)
    res.checks = " ".join(c for c in SUITES if c in checks)
    res.where, res.models = "(nothing planted)", "the clean run: every check with nothing planted"
    worst = worst_record([r for r in records if r.passed and r.group != "selfcheck"])
    if worst is not None:
        res.weakest_ratio = 1 / worst.headroom     # the baseline's largest max_rel ÷ tol
        res.weakest = f"{worst.case} {worst.quantity} ({worst.dtype})"
    if res.verdict == "pass":
        res.symptom = (f"all {len(records)} comparisons pass; worst headroom "
                       f"{1 / res.weakest_ratio:.3g} ({res.weakest})" if worst is not None else
                       f"all {len(records)} comparisons pass")
    return res, records


def run_catalog(bugs=None, dtypes=DTYPES, log=None) -> list[BugResult]:
    """The baseline (of the checks the bugs need), then every bug: [baseline, bug results...]."""
    bugs = list(CATALOG if bugs is None else bugs)
    log = log or (lambda msg: None)
    checks = tuple(c for c in SUITES if any(c in b.checks for b in bugs))
    baseline, records = run_baseline(checks, dtypes)
    log(_line(baseline))
    failing = frozenset(_key(r) for r in records if not r.passed)
    results = [baseline]
    for bug in bugs:
        results.append(run_bug(bug, dtypes, baseline_failing=failing))
        log(_line(results[-1]))
    return results


# ------------------------------------------------------------------------------------------
# Output
# ------------------------------------------------------------------------------------------

CSV_COLUMNS = [f for f in BugResult.__dataclass_fields__ if f != "failures"] + ["date"]


def results_frame(results, date=None) -> pd.DataFrame:
    """``bugs.csv``: one row per result (the baseline first), columns :data:`CSV_COLUMNS`."""
    date = date or datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rows = []
    for r in results:
        row = {k: v for k, v in asdict(r).items() if k != "failures"}
        row["date"] = date
        rows.append(row)
    return pd.DataFrame(rows, columns=CSV_COLUMNS)


def _fmt(x) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else (
        "inf" if x == math.inf else f"{x:.3g}")


def _line(r: BugResult) -> str:
    if r.group == "baseline":
        return f"clean baseline ({r.checks}): {r.verdict.upper()}, {r.failed}/{r.records} failed, " \
               f"{r.seconds:.1f} s — {r.symptom}"
    first = (f"{r.first_case} {r.first_quantity} [{r.first_dtype}] max_rel {_fmt(r.first_max_rel)} "
             f"vs tol {_fmt(r.first_tol)}") if r.failed else "-"
    return (f"{r.name:<28} {r.group:<10} {r.verdict.upper():<6} {r.failed:>4}/{r.records:<4} "
            f"weakest {_fmt(r.weakest_ratio):>8}  {r.seconds:5.1f} s  {first}")


def format_results(results) -> str:
    """The terminal table: the baseline, one line per bug, the detection rate."""
    bugs = [r for r in results if r.group != "baseline"]
    lines = [_line(r) for r in results if r.group == "baseline"]
    lines.append(f"{'bug':<28} {'group':<10} {'result':<6} {'failed':>9}  {'weakest':>16}  {'time':>7}  "
                 "first failing comparison")
    lines += [_line(r) for r in bugs]
    caught = sum(r.caught for r in bugs)
    lines.append(f"\ndetection rate: {caught}/{len(bugs)} caught"
                 + (f"; missed: {', '.join(r.name for r in bugs if not r.caught)}" if caught < len(bugs) else ""))
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------
# The latest results, for the report (it reads them; it never plants a bug itself)
# ------------------------------------------------------------------------------------------

#: The columns the report's bug zoo section needs (all of :data:`CSV_COLUMNS`).
RESULT_NUMERIC = ["records", "failed", "first_max_rel", "first_tol", "weakest_ratio", "seconds"]


@dataclass
class BugZooResults:
    """The results of a ``cnn-parity bugs --csv`` run, as the report reads them.

    ``frame`` is None when there are none (``problem`` says why: "missing", or the file's fault);
    ``data`` is the file's bytes (copied into the report as ``bugs.csv``); ``made`` is when the run
    was made (its ``date`` column)."""

    path: Path
    frame: pd.DataFrame | None = None
    data: bytes = b""
    made: str = ""
    problem: str = ""

    def display_path(self) -> str:
        """The file as the page names it (``reports.benchmark_results.repo_relative``)."""
        return repo_relative(self.path)


def load_bug_results(path=None) -> BugZooResults:
    """The bug zoo results the report shows: ``path``, by default :data:`DEFAULT_RESULTS`. A missing
    or malformed file is not an error: the result has no frame and says why."""
    path = Path(path or DEFAULT_RESULTS).expanduser().resolve()
    out = BugZooResults(path=path)
    if not path.exists():
        out.problem = "missing"
        return out
    try:
        out.frame, out.data = read_results_csv(path, CSV_COLUMNS, RESULT_NUMERIC, "a bug zoo results file")
    except BenchmarkError as exc:
        out.problem = str(exc)
        return out
    dates = [d for d in out.frame["date"].astype(str).unique() if d]
    out.made = ", ".join(dates)
    return out
