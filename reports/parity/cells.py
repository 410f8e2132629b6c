"""The configuration matrix read from its records: one cell per (case, configuration, dtype).

Plain Python over :class:`reports.parity.records.Record` (no torch), so that the terminal
table (``reports.configurations``) and the report page (``reports.html``) summarise the same
records the same way. A cell's verdict is the worst of its oracle records (``agrees`` <
``worse than eager`` < ``disagrees``), or ``failed`` / ``skipped`` with the reason.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from .records import Record, case_id

__all__ = ["MULTIPLE", "VERDICT_ORDER", "NOT_APPLICABLE", "Cell", "cells", "record_case_id", "divergence_text",
           "summaries", "is_not_applicable"]

#: "worse than eager" beyond this multiple of eager's error (dynamo's same() uses 2, and 3 for
#: some models; 3 here). ``reports.parity.matrix`` judges with it; ``cnn-parity diff`` too.
MULTIPLE = 3.0
#: Cell verdicts, best first.
VERDICT_ORDER = ("agrees", "worse than eager", "disagrees", "failed", "skipped")
#: The note of a skipped record that is not applicable (rather than unable to run here) starts so.
NOT_APPLICABLE = "not applicable"


@dataclass
class Cell:
    case_id: str
    config: str
    dtype: str
    verdict: str
    bits: float = math.nan              # worst bits of agreement with the oracle
    headroom: float = math.nan          # worst headroom against the oracle
    worst: str = ""                     # the quantity with the fewest bits
    deterministic: str = ""             # "yes", "no" or "" (not checked)
    run_diff: float = math.nan          # largest run-to-run difference
    nondeterministic: str = ""          # the quantity with the largest run-to-run difference
    first_divergence: str = ""          # first trace record (or quantity) that does not agree
    note: str = ""                      # why skipped, the error of a failure
    ratio: float = math.nan             # worst error ratio to eager
    eager: str = ""                     # against eager: "agrees", "disagrees" ("" not compared)
    eager_bits: float = math.nan        # worst bits of agreement with eager
    eager_first: str = ""               # first quantity that disagrees with eager

    @property
    def differs_from_eager(self) -> bool:
        """Agrees with the oracle but not with eager: both are right within their precision and
        took different paths (another dropout mask, say), or eager is the one that is off."""
        return self.eager == "disagrees" and self.verdict not in ("disagrees", "failed", "skipped")


def is_not_applicable(cell: Cell) -> bool:
    return cell.verdict == "skipped" and cell.note.startswith(NOT_APPLICABLE)


def record_case_id(r: Record) -> str:
    """``Convolution[N=2 C=3 ...]``, the case's id (as ``LayerCase.id`` and the test names)."""
    return case_id(r.case, r.config)


def cells(records) -> dict:
    """(case id, config, dtype) -> :class:`Cell`, in order of first appearance."""
    groups: dict = {}
    for r in records:
        if r.configuration:
            groups.setdefault((record_case_id(r), r.configuration, r.dtype), []).append(r)
    out = {}
    for key, recs in groups.items():
        oracle = [r for r in recs if r.compared_with == "oracle"]
        if len(oracle) == 1 and oracle[0].verdict in ("skipped", "failed"):
            out[key] = Cell(*key, verdict=oracle[0].verdict, note=oracle[0].note)
            continue
        verdict = max((r.verdict for r in oracle), key=VERDICT_ORDER.index)
        worst = min(oracle, key=lambda r: r.bits)
        det = [r for r in oracle if r.deterministic]
        nondet = max(det, key=lambda r: r.run_diff) if det else None
        diverging = next((r for r in oracle if r.group == "trace" and r.verdict != "agrees"), None)
        diverging = diverging or next((r for r in oracle if r.verdict != "agrees"), None)
        ratios = [r.ratio for r in oracle if not math.isnan(r.ratio)]
        eager = [r for r in recs if r.compared_with == "eager"]
        off = next((r for r in eager if not r.passed), None)
        out[key] = Cell(*key, verdict=verdict, bits=worst.bits, headroom=min(r.headroom for r in oracle),
                        worst=worst.quantity,
                        deterministic=("no" if any(r.deterministic == "no" for r in det) else "yes") if det else "",
                        run_diff=nondet.run_diff if nondet else math.nan,
                        nondeterministic=nondet.quantity if nondet and nondet.run_diff else "",
                        first_divergence=diverging.quantity if diverging else "",
                        ratio=max(ratios) if ratios else math.nan,
                        eager=("disagrees" if off else "agrees") if eager else "",
                        eager_bits=min(r.bits for r in eager) if eager else math.nan,
                        eager_first=off.quantity if off else "")
    return out


def divergence_text(cell: Cell, records) -> str:
    """Where a cell stops agreeing: ``Conv1 (forward)``, ``Pool1 (backward: Relu1.grad)``, or
    the quantity of a layer case. A ``<layer>.grad`` record is the gradient arriving at that
    layer, computed by the backward pass of the layer after it."""
    q = cell.first_divergence
    if not q:
        return ""
    if q.endswith(".out"):
        return f"{q[:-4]} (forward)"
    if q.endswith(".grad"):
        order = [r.quantity[:-4] for r in records if r.quantity.endswith(".out")
                 and r.configuration == cell.config and r.dtype == cell.dtype
                 and r.compared_with == "oracle" and record_case_id(r) == cell.case_id]
        layer = q[:-5]
        i = order.index(layer) + 1 if layer in order else len(order)
        return f"{order[i] if i < len(order) else 'the loss'} (backward: {q})"
    return q


def summaries(records, names, seconds=None) -> list[dict]:
    """One dict per configuration name: verdict counts, the worst cell, determinism, the wall
    times of first and second runs (from ``seconds``: (case id, name, dtype) -> (s1, s2)), the
    reasons it was skipped and its failures."""
    table = cells(records)
    seconds = seconds or {}
    out = []
    for name in names:
        mine = [c for c in table.values() if c.config == name]
        ran = [c for c in mine if c.verdict not in ("skipped", "failed")]
        nondet = [c for c in ran if c.deterministic == "no"]
        firsts = [v[0] for k, v in seconds.items() if k[1] == name]
        seconds2 = [v[1] for k, v in seconds.items() if k[1] == name and math.isfinite(v[1])]
        out.append({
            "config": name, "cells": len(mine), "ran": len(ran),
            "counts": {v: sum(c.verdict == v for c in mine) for v in VERDICT_ORDER},
            "worst": min(ran, key=lambda c: c.bits) if ran else None,
            "checked": sum(c.deterministic in ("yes", "no") for c in ran),
            "nondeterministic": nondet,
            "worst_nondeterministic": max(nondet, key=lambda c: c.run_diff) if nondet else None,
            "first_s": statistics.median(firsts) if firsts else math.nan,
            "max_first_s": max(firsts) if firsts else math.nan,
            "second_s": statistics.median(seconds2) if seconds2 else math.nan,
            "total_s": sum(firsts) + sum(seconds2),
            "skipped": sorted({c.note for c in mine if c.verdict == "skipped"}),
            "failed": [c for c in mine if c.verdict == "failed"]})
    return out
