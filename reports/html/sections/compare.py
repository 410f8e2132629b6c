"""Two reports side by side: the report's "Compared with" section (``cnn-parity report
--compare-with DIR``) and the sections of ``diff.html`` (``cnn-parity diff A B --out DIR``).

Each reads a ``reports.diff.DiffResult`` (duck-typed: this package never imports ``reports.diff``,
which sits above it): its ``summary()``, ``rows`` (``DiffRow``: the key's fields, bits, verdicts,
movement, identity), ``environment`` and ``notes``.
"""
from __future__ import annotations

import math

from ..format import sci
from .common import Card

__all__ = ["ROW_LIMIT", "summary_cards", "diff_row", "compared_context", "diff_summary_context",
           "diff_environment_context", "diff_moved_context", "diff_only_context"]

#: At most this many rows in a table of the page (diff.csv has every row).
ROW_LIMIT = 300


def _bits(v: float) -> str:
    if math.isnan(v):
        return "—"
    return "exact" if v == math.inf else "−∞" if v == -math.inf else f"{v:.1f}"


def _change(v: float) -> str:
    if math.isnan(v):
        return "—"
    if math.isinf(v):
        return "+∞" if v > 0 else "−∞"
    return f"{v:+.1f}".replace("-", "−")


def summary_cards(result) -> list:
    s = result.summary()
    identical = (f"{s['identical']:,} of {s['hashed']:,}" if s["hashed"] else "unknown")
    share = f"{100 * s['identical'] / s['hashed']:.1f} % of the results saved by both" if s["hashed"] else \
        "a side has no saved outputs (outputs.json)"
    big = s["largest"]
    cards = [
        Card("Matched", f"{s['matched']:,}", f"{s['only_a']:,} only in A, {s['only_b']:,} only in B"),
        Card("Bit-identical", identical, share),
        Card("Moved", f"{s['away']:,} away · {s['closer']:,} closer",
             f"error against the reference changed in {s['bits_changed']:,}; {s['within_noise']:,} of them within noise"),
        Card("Verdicts", f"{s['new_failures']:,} new · {s['fixed_failures']:,} fixed",
             f"failures; {s['verdict_changed']:,} verdicts changed ({s['verdict_worse']:,} worse, "
             f"{s['verdict_better']:,} better)"),
    ]
    if big is not None:
        where = " ".join(x for x in (big.case_id, big.configuration, big.dtype, big.quantity) if x)
        cards.append(Card("Largest move", f"{_change(big.bits_change)} bits",
                          f"{where}: {_bits(big.bits_a)} → {_bits(big.bits_b)} bits", long=True))
    return cards


def diff_row(r) -> dict:
    """A DiffRow as a table shows it."""
    config = r.configuration + (" vs eager" if r.compared_with == "eager" else "")
    return {"case": r.case_id, "config": config, "dtype": r.dtype, "quantity": r.quantity,
            "bits_a": _bits(r.bits_a), "bits_b": _bits(r.bits_b), "change": _change(r.bits_change),
            "movement": r.movement or "—", "move_cls": {"away": "away", "closer": "closer"}.get(r.movement, ""),
            "verdict_a": r.verdict_a or "—", "verdict_b": r.verdict_b or "—",
            "verdict_cls": {"worse": "away", "better": "closer"}.get(r.verdict_change, ""),
            "identical": r.identical or "—", "ab": sci(r.ab_max_rel), "ab_tol": sci(r.ab_tol),
            "worse": r.worse, "present": r.present}


def _limited(rows) -> tuple[list, int]:
    return [diff_row(r) for r in rows[:ROW_LIMIT]], max(0, len(rows) - ROW_LIMIT)


def compared_context(inputs) -> dict | None:
    """The report's "Compared with" section: the summary and the moved rows."""
    result = getattr(inputs, "compared", None)
    if result is None:
        return None
    rows, more = _limited(result.moved())
    return {"other": str(result.a.path), "cards": summary_cards(result), "notes": result.notes,
            "rows": rows, "more": more, "worse": result.summary()["worse"]}


def diff_summary_context(result) -> dict:
    return {"a": str(result.a.path), "b": str(result.b.path), "cards": summary_cards(result),
            "notes": result.notes, "worse": result.summary()["worse"]}


def diff_environment_context(result) -> dict | None:
    rows = [{"key": k, "a": va, "b": vb, "differs": differs} for k, va, vb, differs in result.environment]
    return {"rows": rows} if rows else None


def diff_moved_context(result) -> dict:
    rows, more = _limited(result.moved())
    return {"rows": rows, "more": more}


def diff_only_context(result) -> dict | None:
    only = [r for r in result.rows if r.present != "both"]
    if not only:
        return None
    rows, more = _limited(only)
    return {"rows": rows, "more": more}
