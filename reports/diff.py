"""Two reports side by side: ``cnn-parity diff A B`` (B is the new one).

Each side is a report folder (``cnn-parity report``) or a ``cnn-parity parity --csv FILE`` file.
Its comparisons are read from its CSV files (``layers.csv``, ``sweeps.csv``,
``configurations.csv``, ``opinfo.csv``; or the one parity CSV) and matched by
:func:`reports.parity.records.output_key` — group, case with its configuration, configuration of
the matrix, compared with, dtype, quantity — the key the saved outputs (``outputs.json``,
:mod:`reports.parity.outputs`) are written under. Torch-free: pandas, NumPy and the manifests.

For every comparison present in both:

* the bits of agreement (−log2 max_rel) in A and in B, and their change;
* **movement**: ``away`` when B's error exceeds ``MULTIPLE`` (3) times A's plus a floor of 16·eps
  of the dtype, ``closer`` the reverse, ``within noise`` otherwise. It is the rule the
  configuration matrix uses to call a configuration "worse than eager"
  (``reports.parity.matrix``): two correct torch computations of the same thing that sum in
  other orders have errors of the same size, and a factor of 3 (1.6 bits) — or a few ulps, for
  errors near the floor (an exact result, a scalar loss) — is still rounding;
* the verdicts and their change: ``worse`` (pass→fail, agrees→worse than eager or disagrees,
  …, by :data:`VERDICT_RANK`), ``better``, or ``changed`` (to or from ``skipped``);
* ``identical``: whether the saved torch results are bit-identical (same dtype, shape and
  SHA-256; ``unknown`` when a side has no bundle; empty when the comparison saved none), and when
  both bundles hold the arrays, the largest difference between A's and B's results
  (``compare(A, B)``: normwise, against the sum of the two tolerances).

A row is **worse** when its verdict got worse, or it moved away from the reference (every
comparison except those against eager torch, which measure one torch path against another);
``cnn-parity diff`` exits 1 when B has one. Rows present in only one side are listed as such.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import UsageError
from .files import MARKER
from .parity.cells import MULTIPLE
from .parity.outputs import BundleError, bundle_names, read_bundle
from .parity.records import OUTPUT_KEY_FIELDS, bits_of, case_id, compare, config_str, float_eps, output_key

__all__ = ["MULTIPLE", "FLOOR_FACTOR", "VERDICT_RANK", "REPORT_CSVS", "DIFF_COLUMNS", "ENV_KEYS", "Side",
           "DiffRow", "DiffResult", "check_input", "read_side", "judge_move", "verdict_change", "bits_of",
           "diff_sides", "diff_reports", "diff_frame", "format_diff"]

#: The floor of the movement rule, in eps of the dtype (the tolerance of one operation, k = 1).
FLOOR_FACTOR = 16.0
#: Verdicts from best to worst; ``skipped`` (did not run) has no rank.
VERDICT_RANK = {"pass": 0, "agrees": 0, "worse than eager": 1, "fail": 2, "disagrees": 2, "failed": 3}
#: The CSV files of a report folder that hold comparisons.
REPORT_CSVS = ("layers.csv", "sweeps.csv", "configurations.csv", "opinfo.csv")
#: diff.csv, one row per comparison in A, B or both (docs/csv.md).
DIFF_COLUMNS = ["group", "case", "case_id", "configuration", "compared_with", "dtype", "quantity", "present",
                "max_rel_a", "max_rel_b", "tol_a", "tol_b", "bits_a", "bits_b", "bits_change", "movement",
                "verdict_a", "verdict_b", "verdict_change", "identical", "ab_max_abs", "ab_max_rel", "ab_tol",
                "worse"]
#: The environment rows shown side by side first (others follow when they differ).
ENV_KEYS = ("torch", "torchvision", "numpy", "numpy BLAS", "torch BLAS", "torch CPU capability",
            "torch.backends.cpu.get_cpu_capability()", "ATEN_CPU_CAPABILITY", "CPU", "CPU flags",
            "device used for torch", "GPU", "torch threads", "seed", "quick", "dtypes", "configurations",
            "torch.get_float32_matmul_precision()", "torch.are_deterministic_algorithms_enabled()", "git commit",
            "uncommitted changes")
#: Rows of environment.csv that differ from run to run and are never compared.
_VOLATILE = ("date (UTC)", "command", "training median seconds per step")


# ------------------------------------------------------------------------------------------
# Reading one side
# ------------------------------------------------------------------------------------------

@dataclass
class Side:
    """One report, read: ``rows`` key -> {case, max_rel, tol, verdict}, in file order."""

    path: Path
    label: str                                   # "A" or "B"
    rows: dict
    environment: dict
    bundle: object | None = None                 # reports.parity.outputs.Bundle
    notes: list = field(default_factory=list)    # what could not be read, said in one line each


def _header(path: Path) -> list:
    """The column names of a CSV file's first line ([] when it cannot be read as text)."""
    try:
        with path.open(encoding="utf-8") as fh:
            return fh.readline().strip().split(",")
    except (OSError, UnicodeDecodeError):
        return []


def check_input(path, label: str) -> tuple[Path, str]:
    """(the CSV file or folder to read, "report" or "parity csv"); :class:`UsageError` (one line)
    when ``path`` is neither a report folder nor a parity CSV file."""
    p = Path(path).expanduser()
    fix = "give a folder written by `cnn-parity report` or a file written by `cnn-parity parity --csv`"
    if not p.exists():
        raise UsageError(f"{label} {path} does not exist; {fix}")
    if p.is_dir():
        if not any((p / name).is_file() for name in REPORT_CSVS):
            why = "it has no layers.csv" + (" (an empty or unfinished report?)" if (p / MARKER).exists() else "")
            raise UsageError(f"{label} {path} is not a cnn-parity report folder: {why}; {fix}")
        return p, "report"
    if p.suffix.lower() != ".csv":
        raise UsageError(f"{label} {path} is neither a report folder nor a CSV file; {fix}")
    header = _header(p)
    if not {"group", "case", "config", "dtype", "quantity", "max_rel", "verdict"} <= set(header):
        raise UsageError(f"{label} {path} is not a CSV of `cnn-parity parity --csv` (no group, case, config, "
                         f"dtype, quantity, max_rel and verdict columns); {fix}")
    return p, "parity csv"


def _text(v) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)


def _num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _column(frame: pd.DataFrame, name: str, default="") -> list:
    """A column as a list of strings ("" where empty), or ``default`` for each row without it."""
    if name not in frame.columns:
        return [default] * len(frame)
    return frame[name].fillna("").astype(str).tolist()


def _rows_of(frame: pd.DataFrame, kind: str) -> list[tuple]:
    """(key, case, max_rel, tol, verdict) of each row of one CSV file."""
    n = len(frame)
    case = _column(frame, "case" if "case" in frame.columns else "op")
    verdict = _column(frame, "verdict")
    max_rel = pd.to_numeric(frame["max_rel"], errors="coerce").tolist() if "max_rel" in frame.columns else [math.nan] * n
    tol = pd.to_numeric(frame["tol"], errors="coerce").tolist() if "tol" in frame.columns else [math.nan] * n
    dtype, quantity = _column(frame, "dtype"), _column(frame, "quantity")
    blank = [""] * n
    if kind == "configurations.csv":
        group, cid, configuration, compared = (_column(frame, "group"), _column(frame, "case_id"),
                                               _column(frame, "config"), _column(frame, "compared_with"))
    elif kind == "opinfo.csv":                 # a sample not run has a reason and no comparison: no verdict
        group, configuration, compared = ["opinfo"] * n, blank, blank
        cid = [case_id(c, config_str({"sample": int(float(s)), "args": a})) if v else ""
               for c, s, a, v in zip(case, _column(frame, "sample", "0"), _column(frame, "args"), verdict)]
    elif kind == "sweeps.csv":
        group, configuration, compared = ["sweep"] * n, blank, blank
        cid = [case_id(c, cfg) for c, cfg in zip(case, _column(frame, "config"))]
    else:                                      # layers.csv, or a parity --csv file
        group, configuration, compared = (_column(frame, "group"), _column(frame, "configuration"),
                                          _column(frame, "compared_with"))
        cid = (_column(frame, "case_id") if "case_id" in frame.columns
               else [case_id(c, cfg) for c, cfg in zip(case, _column(frame, "config"))])
    return [(output_key(*k[:6]), k[6], k[7], k[8], k[9])
            for k in zip(group, cid, configuration, compared, dtype, quantity, case, max_rel, tol, verdict)
            if kind != "opinfo.csv" or k[9]]


def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values=[""], low_memory=False)


def read_side(path, label: str) -> Side:
    """Read a report folder or a parity CSV (:func:`check_input` first)."""
    path, kind = check_input(path, label)
    rows, notes, dupes = {}, [], 0
    if kind == "report":
        files = [(path / name, name) for name in REPORT_CSVS if (path / name).is_file()]
        bundle_path = path / bundle_names()[0]
        env_path = path / "environment.csv"
    else:                                  # parity --csv: its records, or the matrix's columns with --config
        header = set(_header(path))
        files = [(path, "configurations.csv" if {"case_id", "compared_with", "bits"} <= header else "parity.csv")]
        bundle_path = path.with_name(bundle_names(path.stem)[0])
        env_path = None
    for file, name in files:
        try:
            frame = _read_csv(file)
            read = _rows_of(frame, name)
        except (OSError, ValueError, KeyError, pd.errors.ParserError) as exc:
            raise UsageError(f"{label} {file} cannot be read as the report's {name} ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''}); give an unchanged report") from None
        for key, case, max_rel, tol, verdict in read:
            if key in rows:
                dupes += 1
                continue
            rows[key] = {"case": case, "max_rel": max_rel, "tol": tol, "verdict": verdict}
    if dupes:
        notes.append(f"{label}: {dupes} rows repeat a comparison already read; the first of each is used")
    bundle = None
    if bundle_path.is_file():
        try:
            bundle = read_bundle(bundle_path)
        except BundleError as exc:
            notes.append(f"{label}: {exc}; bit-identity is unknown for {label}")
    else:
        notes.append(f"{label} has no saved outputs ({bundle_path.name}; a report made before they were "
                     f"saved): bit-identity is unknown")
    env = {}
    if env_path is not None and env_path.is_file():
        try:
            frame = _read_csv(env_path)
            env = {_text(k): _text(v) for k, v in zip(frame["key"], frame["value"])}
        except (OSError, ValueError, KeyError, pd.errors.ParserError):
            notes.append(f"{label}: environment.csv cannot be read")
    if not env and bundle is not None:
        env = dict(bundle.environment)
    return Side(path, label, rows, env, bundle, notes)


# ------------------------------------------------------------------------------------------
# Judging one row
# ------------------------------------------------------------------------------------------

def judge_move(err_a: float, err_b: float, dtype: str) -> str:
    """``away`` (B's error > MULTIPLE·A's + FLOOR_FACTOR·eps), ``closer`` (the reverse),
    ``within noise``, or "" when either error was not measured."""
    if math.isnan(err_a) or math.isnan(err_b):
        return ""
    try:
        floor = FLOOR_FACTOR * float_eps(dtype)
    except (TypeError, ValueError):
        floor = FLOOR_FACTOR * float_eps("float64")
    if err_b > MULTIPLE * err_a + floor:
        return "away"
    if err_a > MULTIPLE * err_b + floor:
        return "closer"
    return "within noise"


def verdict_change(verdict_a: str, verdict_b: str) -> str:
    """"" (the same), ``worse`` or ``better`` (by :data:`VERDICT_RANK`), ``changed`` (to or from a
    verdict without a rank, such as ``skipped``)."""
    if verdict_a == verdict_b:
        return ""
    ra, rb = VERDICT_RANK.get(verdict_a), VERDICT_RANK.get(verdict_b)
    if ra is None or rb is None:
        return "changed"
    return "worse" if rb > ra else "better" if rb < ra else ""


def _passed(verdict: str) -> bool:
    return verdict in ("pass", "agrees")


@dataclass
class DiffRow:
    """One comparison of A, B or both, judged (the columns of diff.csv)."""

    key: tuple
    case: str
    present: str                        # "both", "A only", "B only"
    max_rel_a: float = math.nan
    max_rel_b: float = math.nan
    tol_a: float = math.nan
    tol_b: float = math.nan
    verdict_a: str = ""
    verdict_b: str = ""
    movement: str = ""
    verdict_change: str = ""
    identical: str = ""                 # "yes", "no", "unknown", "" (no saved result)
    ab_max_abs: float = math.nan
    ab_max_rel: float = math.nan
    ab_tol: float = math.nan
    bits_a: float = field(init=False)
    bits_b: float = field(init=False)
    bits_change: float = field(init=False)    # bits_b − bits_a (0 when both are exact; NaN when one is absent)

    def __post_init__(self):
        self.bits_a, self.bits_b = bits_of(self.max_rel_a), bits_of(self.max_rel_b)
        a, b = self.bits_a, self.bits_b
        self.bits_change = math.nan if math.isnan(a) or math.isnan(b) else 0.0 if a == b else b - a

    def __getattr__(self, name):        # the key's fields by name: group, case_id, ..., quantity
        if name in OUTPUT_KEY_FIELDS:
            return self.key[OUTPUT_KEY_FIELDS.index(name)]
        raise AttributeError(name)

    @property
    def against_reference(self) -> bool:
        """Judged against the reference (the float64 oracle in the matrix), not against eager torch."""
        return self.compared_with != "eager"

    @property
    def worse(self) -> bool:
        return self.present == "both" and (self.verdict_change == "worse"
                                           or (self.movement == "away" and self.against_reference))

    @property
    def new_failure(self) -> bool:
        return self.present == "both" and _passed(self.verdict_a) and not _passed(self.verdict_b) \
            and self.verdict_b != "skipped"

    @property
    def fixed_failure(self) -> bool:
        return self.present == "both" and _passed(self.verdict_b) and not _passed(self.verdict_a) \
            and self.verdict_a != "skipped"

    @property
    def changed(self) -> bool:
        """Worth showing without --all: not bit-identical and moved beyond noise, a verdict change,
        or present in one side only."""
        return (self.present != "both" or self.verdict_change != "" or self.movement in ("away", "closer"))


def _identity(row: DiffRow, a: Side, b: Side) -> None:
    """Set ``identical`` and, with both sides' arrays, the largest difference between them."""
    if a.bundle is None or b.bundle is None:
        row.identical = "unknown"
        return
    ea, eb = a.bundle.entries.get(row.key), b.bundle.entries.get(row.key)
    if ea is None or eb is None:
        row.identical = "" if ea is None and eb is None else "unknown"
        return
    row.identical = "yes" if ea == eb else "no"
    if row.identical == "yes":
        row.ab_max_abs = row.ab_max_rel = 0.0
        row.ab_tol = row.tol_a + row.tol_b
        return
    xa, xb = a.bundle.array(ea[2]), b.bundle.array(eb[2])
    if xa is not None and xb is not None:
        rec = compare(row.case, row.quantity, xa, xb, row.tol_a + row.tol_b)
        row.ab_max_abs, row.ab_max_rel, row.ab_tol = rec.max_abs, rec.max_rel, rec.tol


# ------------------------------------------------------------------------------------------
# The whole diff
# ------------------------------------------------------------------------------------------

@dataclass
class DiffResult:
    """Everything ``cnn-parity diff`` says: the two sides, the environments, the rows, the notes."""

    a: Side
    b: Side
    rows: list
    environment: list                   # [(key, value in A, value in B, differs)]
    notes: list
    _summary: dict | None = field(default=None, repr=False)

    def matched(self) -> list:
        return [r for r in self.rows if r.present == "both"]

    def moved(self, show_all: bool = False) -> list:
        """Matched rows that moved beyond noise or changed their verdict (every matched row with
        ``show_all``), the worse ones first, then by the size of the move."""
        rows = [r for r in self.matched() if show_all or r.changed]
        return sorted(rows, key=lambda r: (not r.worse, -abs(r.bits_change) if math.isfinite(r.bits_change) else 0))

    def summary(self) -> dict:
        """The counts of the summary, and the largest move (a DiffRow, or None); computed once."""
        if self._summary is None:
            self._summary = self._count()
        return self._summary

    def _count(self) -> dict:
        both = self.matched()
        hashed = [r for r in both if r.identical in ("yes", "no")]
        finite = [r for r in both if math.isfinite(r.bits_change) and r.bits_change != 0]
        return {
            "matched": len(both),
            "only_a": sum(r.present == "A only" for r in self.rows),
            "only_b": sum(r.present == "B only" for r in self.rows),
            "hashed": len(hashed),
            "identical": sum(r.identical == "yes" for r in hashed),
            "bits_changed": sum(r.bits_change != 0 for r in both if not math.isnan(r.bits_change)),
            "closer": sum(r.movement == "closer" for r in both),
            "away": sum(r.movement == "away" for r in both),
            "within_noise": sum(r.movement == "within noise" and r.bits_change != 0 for r in both),
            "verdict_worse": sum(r.verdict_change == "worse" for r in both),
            "verdict_better": sum(r.verdict_change == "better" for r in both),
            "verdict_changed": sum(r.verdict_change != "" for r in both),
            "new_failures": sum(r.new_failure for r in both),
            "fixed_failures": sum(r.fixed_failure for r in both),
            "worse": sum(r.worse for r in both),
            "largest": max(finite, key=lambda r: abs(r.bits_change)) if finite else None,
        }

    @property
    def status(self) -> int:
        """1 when B has a comparison that got worse (:attr:`DiffRow.worse`), else 0."""
        return 1 if any(r.worse for r in self.rows) else 0


def _environment(a: Side, b: Side) -> list:
    keys = [k for k in ENV_KEYS if k in a.environment or k in b.environment]
    keys += [k for k in list(a.environment) + [k for k in b.environment if k not in a.environment]
             if k not in keys and not k.startswith(_VOLATILE)]
    missing = "(not recorded)"
    return [(k, a.environment.get(k, missing), b.environment.get(k, missing),
             a.environment.get(k, missing) != b.environment.get(k, missing)) for k in keys]


def _mismatch_notes(a: Side, b: Side, rows: list) -> list:
    notes = list(a.notes) + list(b.notes)
    for key, what in (("seed", "seeds"), ("quick", "--quick settings"), ("dtypes", "dtypes"),
                      ("configurations", "configuration matrices")):
        va, vb = a.environment.get(key), b.environment.get(key)
        if va is not None and vb is not None and va != vb:
            notes.append(f"A and B were made with different {what} ({va} / {vb}): "
                         f"rows are matched by case, configuration, dtype and quantity all the same")
    only_a = sum(r.present == "A only" for r in rows)
    only_b = sum(r.present == "B only" for r in rows)
    if only_a or only_b:
        notes.append(f"{only_a} comparisons are only in A and {only_b} only in B (listed as such; "
                     f"different case sets or versions)")
    if (a.bundle is not None and b.bundle is not None and (a.bundle.arrays is None) != (b.bundle.arrays is None)):
        notes.append("only one side saved its arrays (--save-arrays): no largest difference between A and B")
    return notes


def diff_sides(a: Side, b: Side) -> DiffResult:
    """Match A's and B's comparisons and judge each (see the module docstring)."""
    rows = []
    for key, ra in a.rows.items():
        rb = b.rows.get(key)
        if rb is None:
            rows.append(DiffRow(key, ra["case"], "A only", max_rel_a=ra["max_rel"], tol_a=ra["tol"],
                                verdict_a=ra["verdict"]))
            continue
        row = DiffRow(key, ra["case"], "both", ra["max_rel"], rb["max_rel"], ra["tol"], rb["tol"],
                      ra["verdict"], rb["verdict"])
        row.movement = judge_move(row.max_rel_a, row.max_rel_b, row.dtype)
        row.verdict_change = verdict_change(row.verdict_a, row.verdict_b)
        _identity(row, a, b)
        rows.append(row)
    rows += [DiffRow(key, rb["case"], "B only", max_rel_b=rb["max_rel"], tol_b=rb["tol"], verdict_b=rb["verdict"])
             for key, rb in b.rows.items() if key not in a.rows]
    return DiffResult(a, b, rows, _environment(a, b), _mismatch_notes(a, b, rows))


def diff_reports(path_a, path_b) -> DiffResult:
    """Read two reports (folders or parity CSV files) and diff them."""
    return diff_sides(read_side(path_a, "A"), read_side(path_b, "B"))


def diff_frame(result: DiffResult, rows=None) -> pd.DataFrame:
    """diff.csv: one row per comparison (:data:`DIFF_COLUMNS`; numbers as numbers, empty where
    not measured)."""
    out = []
    for r in result.rows if rows is None else rows:
        item = dict(zip(OUTPUT_KEY_FIELDS, r.key))
        item.update(case=r.case, present=r.present, max_rel_a=r.max_rel_a, max_rel_b=r.max_rel_b, tol_a=r.tol_a,
                    tol_b=r.tol_b, bits_a=r.bits_a, bits_b=r.bits_b, bits_change=r.bits_change, movement=r.movement,
                    verdict_a=r.verdict_a, verdict_b=r.verdict_b, verdict_change=r.verdict_change,
                    identical=r.identical, ab_max_abs=r.ab_max_abs, ab_max_rel=r.ab_max_rel, ab_tol=r.ab_tol,
                    worse="yes" if r.worse else "no")
        out.append(item)
    return pd.DataFrame(out, columns=DIFF_COLUMNS)


# ------------------------------------------------------------------------------------------
# The terminal
# ------------------------------------------------------------------------------------------

def _bits(v: float) -> str:
    if math.isnan(v):
        return "-"
    return "exact" if v == math.inf else "-inf" if v == -math.inf else f"{v:.1f}"


def summary_lines(result: DiffResult) -> list[str]:
    """The summary, a few lines (the terminal and the report's section say the same)."""
    s = result.summary()
    lines = [f"{s['matched']:,} comparisons in both; {s['only_a']:,} only in A, {s['only_b']:,} only in B."]
    if s["hashed"]:
        lines.append(f"bit-identical torch results: {s['identical']:,} of {s['hashed']:,} "
                     f"({100 * s['identical'] / s['hashed']:.1f} %).")
    else:
        lines.append("bit-identical torch results: unknown (a side has no saved outputs).")
    lines.append(f"error against the reference changed in {s['bits_changed']:,}: moved closer {s['closer']:,}, "
                 f"moved away {s['away']:,}, within noise {s['within_noise']:,} "
                 f"(noise: a factor of {MULTIPLE:g} plus {FLOOR_FACTOR:g}·eps).")
    lines.append(f"verdicts: {s['verdict_changed']:,} changed ({s['verdict_worse']:,} worse, "
                 f"{s['verdict_better']:,} better); new failures {s['new_failures']:,}, fixed {s['fixed_failures']:,}.")
    big = s["largest"]
    if big is not None:
        lines.append(f"largest move: {big.bits_change:+.1f} bits, {big.case_id} {big.configuration or ''} "
                     f"{big.dtype} {big.quantity} ({_bits(big.bits_a)} -> {_bits(big.bits_b)} bits)".replace("  ", " "))
    lines.append(f"worse in B: {s['worse']:,}" + (" -> exit status 1" if s["worse"] else ""))
    return lines


def format_diff(result: DiffResult, show_all: bool = False, limit: int = 60) -> str:
    """The terminal's text: the environments (rows that differ, and the main ones), the notes,
    the summary and the table of what changed (every matched row with ``show_all``)."""
    width = max([len(k) for k, *_ in result.environment] + [12])
    lines = [f"{'':<{width}}  A: {result.a.path}", f"{'':<{width}}  B: {result.b.path}"]
    for k, va, vb, differs in result.environment:
        if differs or k in ENV_KEYS[:11]:
            lines.append(f"{k:<{width}}  {va[:40]:<40}  {vb[:40]}" + ("   *" if differs else ""))
    lines += [""] + [f"note: {n}" for n in result.notes] + ([""] if result.notes else [])
    lines += summary_lines(result) + [""]
    moved = result.moved(show_all)
    one_side = [r for r in result.rows if r.present != "both"]
    if not moved and not one_side:
        lines.append("nothing moved beyond noise, no verdict changed, no comparison only in one side.")
        return "\n".join(lines)
    if moved:
        head = (f"{'case':<44} {'configuration':<22} {'dtype':<7} {'quantity':<16} {'bits A':>6} {'bits B':>6} "
                f"{'change':>6}  {'moved':<12} {'verdict A -> B':<30} identical")
        lines += [head, "-" * len(head)]
        for r in moved[:None if show_all else limit]:
            config = r.configuration + (" vs eager" if r.compared_with == "eager" else "")
            verdicts = r.verdict_a if not r.verdict_change else f"{r.verdict_a or '-'} -> {r.verdict_b or '-'}"
            change = "" if math.isnan(r.bits_change) else f"{r.bits_change:+.1f}"
            lines.append(f"{r.case_id[:44]:<44} {config[:22]:<22} {r.dtype:<7} {r.quantity[:16]:<16} "
                         f"{_bits(r.bits_a):>6} {_bits(r.bits_b):>6} {change:>6}  {r.movement:<12} "
                         f"{verdicts[:30]:<30} {r.identical}")
        if not show_all and len(moved) > limit:
            lines.append(f"... and {len(moved) - limit:,} more (diff.csv has every row; --all shows them here)")
    for side in ("A only", "B only"):
        rows = [r for r in one_side if r.present == side]
        if not rows:
            continue
        lines += ["", f"{len(rows):,} comparisons {side.replace(' only', '')} has and the other has not:"]
        if show_all:
            lines += [f"  {r.group} {r.case_id} {r.configuration} {r.compared_with} {r.dtype} {r.quantity}".replace("  ", " ")
                      for r in rows]
        else:
            groups: dict = {}
            for r in rows:
                groups[(r.group, r.case_id, r.configuration)] = groups.get((r.group, r.case_id, r.configuration), 0) + 1
            for (group, cid, config), n in list(groups.items())[:10]:
                lines.append(f"  {n:>4} × {group} {cid}" + (f" under {config}" if config else ""))
            if len(groups) > 10:
                lines.append(f"  ... and {len(groups) - 10:,} more cases (--all lists every row)")
    return "\n".join(lines)
