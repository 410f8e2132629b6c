"""The Configurations section: the matrix of cases × configurations (``inputs.matrix``, a
``reports.parity.matrix.MatrixResult``), read through ``reports.parity.cells``."""
from __future__ import annotations

import math

from ...parity.cells import cells, divergence_text, is_not_applicable, summaries
from ..format import fmt_headroom, sci

__all__ = ["configurations_context"]

#: CSS class and short text of each cell verdict (the text alone says it, without colour).
_LOOK = {"agrees": ("agrees", "✓"), "worse than eager": ("worse", "▲ worse"), "disagrees": ("disagrees", "✗"),
         "failed": ("failed", "error")}


def _bits(b: float) -> str:
    if math.isnan(b):
        return "—"
    return "exact" if math.isinf(b) else f"{b:.1f}"


def _cell(cell) -> dict | None:
    """One matrix cell: its CSS class, its visible text and a tooltip with the details."""
    if cell is None:
        return None
    if cell.verdict == "skipped":
        return {"cls": "na" if is_not_applicable(cell) else "skipped",
                "text": "n/a" if is_not_applicable(cell) else "not run", "title": cell.note}
    if cell.verdict == "failed":
        return {"cls": "failed", "text": "error", "title": cell.note}
    cls, mark = _LOOK[cell.verdict]
    bits = _bits(cell.bits)
    text = (f"{mark} {bits}" + ("" if bits == "exact" else " bits") + (" *" if cell.deterministic == "no" else "")
            + (" ≠ eager" if cell.differs_from_eager else ""))
    title = (f"{cell.verdict}; worst quantity {cell.worst} ({bits} bits); headroom "
             f"{'inf' if math.isinf(cell.headroom) else f'{cell.headroom:.3g}'}"
             + ("" if math.isnan(cell.ratio) else f"; worst error ratio to eager {cell.ratio:.3g}")
             + ("; run to run: bit-identical" if cell.deterministic == "yes" else
                f"; run to run: differs by {cell.run_diff:.2e} ({cell.nondeterministic})"
                if cell.deterministic == "no" else ""))
    return {"cls": cls, "text": text, "title": title}


def _time(s: float) -> str:
    return "—" if math.isnan(s) else (f"{s:.2f} s" if s < 10 else f"{s:.0f} s")


def configurations_context(inputs) -> dict | None:
    matrix = getattr(inputs, "matrix", None)
    if matrix is None or not matrix.records:
        return None
    records = matrix.records
    table = cells(records)
    about = {a["name"]: a for a in matrix.about}
    names = [a["name"] for a in matrix.about] or list(dict.fromkeys(k[1] for k in table))
    shown = [n for n in names if any(k[1] == n and c.verdict != "skipped" for k, c in table.items())]
    rows: dict = {}
    for (case_id, config, dtype), cell in table.items():
        rows.setdefault((case_id, dtype), {})[config] = cell
    matrix_rows = [{"case": case_id, "dtype": dtype, "cells": [_cell(row.get(n)) for n in shown]}
                   for (case_id, dtype), row in rows.items()]

    summary = []
    for s in summaries(records, names, matrix.seconds):
        a = about.get(s["config"], {"name": s["config"], "what": "", "sets": "", "precision": "", "reason": ""})
        w, wn = s["worst"], s["worst_nondeterministic"]
        summary.append({
            "name": a["name"], "what": a["what"], "sets": a["sets"], "precision": a["precision"],
            "counts": ", ".join(f"{n} {v}" for v, n in s["counts"].items() if n),
            "worst": f"{_bits(w.bits)} bits" if w else "—",
            "worst_where": f"{w.case_id} · {w.dtype} · {w.worst}" if w else (a.get("reason") or ""),
            "deterministic": ("—" if not s["checked"] else
                              f"bit-identical in all {s['checked']} cells" if not wn else
                              f"not bit-identical in {len(s['nondeterministic'])} of {s['checked']} cells "
                              f"(largest difference {wn.run_diff:.2e}: {wn.case_id} · {wn.dtype} · {wn.nondeterministic})"),
            "first": _time(s["first_s"]), "max_first": _time(s["max_first_s"]), "second": _time(s["second_s"]),
            "ran": s["ran"]})

    findings = [{"config": c.config, "dtype": c.dtype, "case": c.case_id, "verdict": c.verdict,
                 "cls": _LOOK[c.verdict][0], "worst": c.worst, "bits": _bits(c.bits),
                 "headroom": fmt_headroom(c.headroom), "ratio": sci(c.ratio),
                 "first": divergence_text(c, records)}
                for c in table.values() if c.verdict in ("worse than eager", "disagrees")]
    findings += [{"config": c.config, "dtype": c.dtype, "case": c.case_id, "verdict": "differs from eager",
                  "cls": "worse", "worst": c.eager_first, "bits": _bits(c.eager_bits), "headroom": fmt_headroom(c.headroom),
                  "ratio": sci(c.ratio), "first": f"{c.eager_first} (agrees with the oracle: "
                           + ("exactly)" if math.isinf(c.bits) else f"{_bits(c.bits)} bits)")}
                 for c in table.values() if c.differs_from_eager]
    not_run: dict = {}
    for c in table.values():
        if c.verdict == "skipped":
            not_run.setdefault(c.config, set()).add(c.note)
    return {
        "configs": shown, "rows": matrix_rows, "summary": summary, "findings": findings,
        "failed": [{"config": c.config, "dtype": c.dtype, "case": c.case_id, "error": c.note}
                   for c in table.values() if c.verdict == "failed"],
        "not_run": [{"config": n, "reasons": sorted(r)} for n, r in not_run.items()],
        "n_cases": len({k[0] for k in table}), "n_configs": len(names),
        "setting": inputs.settings.get("configurations", ""),
    }
