"""The configuration matrix for its readers: the terminal table, ``configurations.csv``, and
which cases and configurations the commands run.

``cnn-parity parity --config NAME[,NAME...]|all``  :func:`format_matrix` prints the matrix
``cnn-parity report [--configs ...]``              :func:`report_matrix` runs it for the report
``configurations.csv``                             :func:`configurations_frame`

The running and judging is ``reports.parity.matrix``; the registry ``reports.parity.configs``.
"""
from __future__ import annotations

import math
import time

import pandas as pd

from .parity import configs as C
from .parity.cells import cells, divergence_text, is_not_applicable, record_case_id, summaries
from .parity.matrix import MatrixResult, matrix_cases, run_matrix
from .parity.records import DTYPES

__all__ = ["CSV_COLUMNS", "configurations_frame", "format_matrix",
           "report_configs", "report_cases", "report_matrix",
           "cheap_cases", "representative_cases", "REPORT_DEFAULT", "matrix_line", "split_matrix_records"]

#: configurations.csv, one row per (case, configuration, dtype, quantity, compared_with).
CSV_COLUMNS = ["case", "case_id", "config", "dtype", "quantity", "group", "compared_with", "max_abs",
               "max_rel", "tol", "headroom", "bits", "ratio", "verdict", "deterministic", "run_diff",
               "note", "tol_why"]

#: What the report runs without --configs: every CPU configuration except compile (whose
#: first compile of a case takes 10-80 s here), on :func:`cheap_cases`.
REPORT_DEFAULT = "every CPU configuration except compile"


def configurations_frame(records) -> pd.DataFrame:
    """``configurations.csv``: every configuration record, tidy (numbers as numbers; ``bits``
    is −log2 max_rel, inf when identical; empty where not measured)."""
    rows = [{"case": r.case, "case_id": record_case_id(r), "config": r.configuration, "dtype": r.dtype,
             "quantity": r.quantity, "group": r.group, "compared_with": r.compared_with,
             "max_abs": r.max_abs, "max_rel": r.max_rel, "tol": r.tol, "headroom": r.headroom,
             "bits": r.bits, "ratio": r.ratio, "verdict": r.verdict, "deterministic": r.deterministic,
             "run_diff": r.run_diff, "note": r.note, "tol_why": r.tol_why}
            for r in records if r.configuration]
    return pd.DataFrame(rows, columns=CSV_COLUMNS)


# ------------------------------------------------------------------------------------------
# Which cases
# ------------------------------------------------------------------------------------------

def _smallest_simple_convnet(cases):
    nets = [c for c in cases if getattr(c, "net", "") == "SimpleConvNet"]
    return min(nets, key=lambda c: c.reduction) if nets else None


def representative_cases() -> list:
    """The first registered case of every layer kind and the smallest SimpleConvNet."""
    cases, seen = [], set()
    for case in matrix_cases():
        if hasattr(case, "layer") and case.layer not in seen:
            seen.add(case.layer)
            cases.append(case)
    net = _smallest_simple_convnet(matrix_cases())
    return cases + ([net] if net else [])


def cheap_cases() -> list:
    """Every registered layer case and the SimpleConvNet cases (each run costs well under a
    second in eager here; LeNet-5 and the AlexNets cost seconds, times every configuration)."""
    return [c for c in matrix_cases() if hasattr(c, "layer") or c.net == "SimpleConvNet"]


def report_configs(spec: str | None) -> list:
    """``--configs`` of the report: "default" -> :data:`REPORT_DEFAULT`; None or "none" -> no
    matrix; otherwise names or "all" (an unknown name raises UsageError)."""
    if spec is None or spec.strip() == "none":
        return []
    if spec.strip() == "default":
        return [c for c in C.ALL if c.device == "cpu" and not c.compile]
    return C.resolve(spec, option="--configs")


def report_cases(spec: str | None, quick: bool) -> list:
    """--quick: :func:`representative_cases`; the default configurations: :func:`cheap_cases`;
    configurations given with --configs: every case of the matrix."""
    if quick:
        return representative_cases()
    return cheap_cases() if spec == "default" else matrix_cases()


def report_matrix(spec, *, quick=False, dtypes=DTYPES, seed=0, log=None,
                  settings=None) -> MatrixResult | None:
    """The report's matrix (None for ``"none"``); ``settings`` (the report's dict) gets a line
    saying which configurations ran on which cases."""
    configs = report_configs(spec)
    if not configs:
        return None
    cases = report_cases(spec, quick)
    t0 = time.perf_counter()
    result = run_matrix(configs, cases, dtypes, seed)
    if log:
        log(f"  configuration matrix: {len(configs)} configurations × {len(cases)} cases in "
            f"{time.perf_counter() - t0:.1f} s")
    if settings is not None:
        which = {"default": REPORT_DEFAULT}.get(spec, ", ".join(c.name for c in configs))
        on = ("one case per layer kind and the smallest SimpleConvNet (--quick)" if quick else
              "every layer case and the SimpleConvNets" if spec == "default" else
              "every case but the full-size AlexNets")
        settings["configurations"] = f"{which}; on {on}"
    return result


def matrix_line(result: MatrixResult) -> tuple[str, int]:
    """One line for the terminal, and the number of cells that disagree or failed to run
    ("worse than eager" cells are findings shown in the report; they do not fail the command)."""
    table = cells(result.records)
    counts = {v: sum(c.verdict == v for c in table.values()) for v in
              ("agrees", "worse than eager", "disagrees", "failed", "skipped")}
    bad = counts["disagrees"] + counts["failed"]
    return ("configuration matrix: " + ", ".join(f"{n} {v}" for v, n in counts.items() if n)
            + f" ({len(table)} cells)", bad)


def split_matrix_records(records) -> tuple[list, MatrixResult | None]:
    """(records without a configuration, a MatrixResult of those with one, or None) — how a
    pytest session's records become the report's sections."""
    records = list(records)
    plain = [r for r in records if not r.configuration]
    mine = [r for r in records if r.configuration]
    if not mine:
        return plain, None
    names = list(dict.fromkeys(r.configuration for r in mine))
    configs = [_known(n) for n in names]
    return plain, MatrixResult(mine, configs=configs, about=[C.describe(c) for c in configs])


def _known(name: str):
    try:
        return C.by_name(name)
    except KeyError:                 # a test's own configuration (a CPU dry run, a spoiled kernel)
        return C.Configuration(name, "a configuration made by a test, not in the registry")


# ------------------------------------------------------------------------------------------
# The terminal table
# ------------------------------------------------------------------------------------------

_SHORT = {"agrees": "ok", "worse than eager": "WORSE", "disagrees": "FAIL", "failed": "ERROR"}


def _cell_text(cell) -> str:
    if cell is None:
        return ""
    if cell.verdict == "skipped":
        return "n/a" if is_not_applicable(cell) else "skip"
    if cell.verdict == "failed":
        return "ERROR"
    return (f"{_SHORT[cell.verdict]} {_bits(cell.bits)}" + ("*" if cell.deterministic == "no" else "")
            + ("≠" if cell.differs_from_eager else ""))


def _bits(b: float) -> str:
    return "exact" if math.isinf(b) else f"{b:.1f}"


def format_matrix(result: MatrixResult) -> str:
    """The matrix as text: a row per (case, dtype), a column per configuration that ran."""
    table = cells(result.records)
    about = {a["name"]: a for a in result.about}
    names = [a["name"] for a in result.about]
    shown = [n for n in names if any(k[1] == n and v.verdict != "skipped" for k, v in table.items())]
    lines = ["Each cell: the verdict against the float64 oracle and the worst bits of agreement "
             "(−log2 max_rel) over every quantity;",
             "ok = agrees, WORSE = worse than eager, FAIL = disagrees, * = the two runs were not "
             "bit-identical, ≠ = agrees with the oracle but differs from eager beyond both tolerances,",
             "n/a = not applicable in that dtype.", ""]
    if not shown:
        lines = ["No configuration could run here (reasons below)."]
    else:
        widths = [max(len(n), 9) for n in shown]
        lines.append("dtype    " + " ".join(f"{n:<{w}}" for n, w in zip(shown, widths)) + "  case")
        rows: dict = {}
        for (case_id, config, dtype), cell in table.items():
            rows.setdefault((case_id, dtype), {})[config] = cell
        for (case_id, dtype), row in rows.items():
            lines.append(f"{dtype:<8} " + " ".join(f"{_cell_text(row.get(n)):<{w}}" for n, w in zip(shown, widths))
                         + f"  {case_id}")
        lines += ["", "Per configuration (precision; verdicts; worst bits; determinism; wall time of the first "
                      "run, which includes compiling, and of the second, medians over cells):"]
    for s in summaries(result.records, names, result.seconds):
        if not s["ran"]:
            continue
        a, w = about[s["config"]], s["worst"]
        counts = ", ".join(f"{n} {v}" for v, n in s["counts"].items() if n)
        wn = s["worst_nondeterministic"]
        det = (f"bit-identical run to run in all {s['checked']} cells" if not wn else
               f"NOT bit-identical in {len(s['nondeterministic'])} of {s['checked']} cells, largest difference "
               f"{wn.run_diff:.2e} ({wn.case_id} {wn.dtype} {wn.nondeterministic})")
        lines.append(f"  {a['name']}: {a['what']}. {a['precision'][0].upper() + a['precision'][1:]}. {counts}. "
                     f"Worst {_bits(w.bits)} bits ({w.case_id} {w.dtype} {w.worst}). {det}. First run "
                     f"{s['first_s']:.2f} s (max {s['max_first_s']:.1f} s), second {s['second_s']:.2f} s, "
                     f"total {s['total_s']:.1f} s.")
    bad = [c for c in table.values() if c.verdict in ("worse than eager", "disagrees")]
    if bad:
        lines += ["", "Not agreeing (first diverging layer, in execution order):"]
        for c in bad:
            lines.append(f"  {c.config} {c.dtype} {c.case_id}: {c.verdict}, worst {c.worst} "
                         f"{_bits(c.bits)} bits; first: {divergence_text(c, result.records)}")
    differ = [c for c in table.values() if c.differs_from_eager]
    if differ:
        lines += ["", "Agreeing with the oracle but differing from eager beyond both tolerances:"]
        lines += [f"  {c.config} {c.dtype} {c.case_id}: first {c.eager_first}, {_bits(c.eager_bits)} bits of "
                  f"agreement with eager" for c in differ]
    failed = [c for c in table.values() if c.verdict == "failed"]
    if failed:
        lines += ["", "Failed to run:"] + [f"  {c.config} {c.dtype} {c.case_id}: {c.note}" for c in failed]
    skipped: dict = {}
    for c in table.values():
        if c.verdict == "skipped":
            skipped.setdefault(c.config, set()).add(c.note)
    if skipped:
        lines += ["", "Not run here:"] + [f"  {name}: {'; '.join(sorted(notes))}" for name, notes in skipped.items()]
    return "\n".join(lines)
