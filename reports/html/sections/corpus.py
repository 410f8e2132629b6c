"""The section about PyTorch's own test samples (the OpInfo corpus) run through the reference.

``opinfo_context`` lays out the run's summary (``CorpusRun.summary()``, i.e.
:func:`reports.parity.opinfo.summarize`) — per entry and dtype:
samples, run, agreeing, not run (with reasons), worst headroom — and its totals
(``CorpusRun.totals()``, the count the terminal table and the command's exit status use), with the
command that makes the same table, and the samples that disagree. ``opinfo_records`` gives the verdict the corpus's
records.
"""
from __future__ import annotations

import math

from ..format import fmt_headroom
from .common import Card, record_row

__all__ = ["opinfo_context", "opinfo_records", "opinfo_card"]

#: Rows at most in the table of disagreeing samples.
MAX_DISAGREEMENTS_SHOWN = 100


def opinfo_records(inputs) -> list:
    """Every record of the corpus run shown by the report (empty when none ran)."""
    run = getattr(inputs, "opinfo", None)
    return [] if run is None else [r for res in run.results for r in res.records]


def opinfo_card(inputs) -> Card | None:
    """The verdict's summary card of the corpus (None when it did not run)."""
    if getattr(inputs, "opinfo", None) is None:
        return None
    t = inputs.opinfo.totals()
    return Card("PyTorch's OpInfo samples", f"{t['agree']:,} / {t['samples']:,}",
                f"agree ({t['samples'] - t['run']} not run; torch {inputs.opinfo.torch_version})")


def opinfo_context(inputs) -> dict | None:
    run, note = getattr(inputs, "opinfo", None), getattr(inputs, "opinfo_note", "")
    if run is None:
        return {"available": False, "note": note} if note else None
    tables = {}
    for row in run.summary():
        tables.setdefault(row["dtype"], []).append({
            "op": row["op"], "samples": row["samples"], "run": row["run"], "agree": row["agree"],
            "not_run": row["not_run"], "why_not": row["why_not"], "worst": fmt_headroom(row["worst"]),
            "worst_where": row["worst_quantity"] if math.isfinite(row["worst"]) else "",
            "passed": row["agree"] == row["run"]})
    t = run.totals()
    disagreeing = [r for res in run.results if res.ran and not res.agrees for r in res.records if not r.passed]
    command = "cnn-parity opinfo --dtype both --csv opinfo.csv" + (
        "" if run.subset is None or run.subset < 0 else f" --subset {run.subset}")
    return {"available": True, "note": note, "torch": run.torch_version, "method": run.method,
            "tables": tables, "command": command, **t, "share": f"{t['share']:.1f}" if t["samples"] else "0",
            "all_agree": t["disagree"] == 0,
            "disagreements": [record_row(r) for r in disagreeing[:MAX_DISAGREEMENTS_SHOWN]]}
