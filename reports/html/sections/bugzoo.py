"""The bug zoo section: the latest ``cnn-parity bugs --csv`` results, read, never run here.

:func:`bugzoo_context` returns what ``sections/bugzoo.html`` lays out: cards (detection rate, the
clean baseline, the weakest catch, when the run was made) and one table row per bug, grouped by
where the bug lives — what it models, its symptom in words and numbers, the comparison that
caught it first, and its weakest catch (the smallest max_rel ÷ tol among its failing records).
The harness's own bugs come last, in their own groups: the harness's self-check catches those of
``compare()``, the judges' known answers (``reports.parity.judgecheck``) those of the matrix and the corpus.
"""
from __future__ import annotations

import math

from ...parity.records import short_config
from ..format import sci
from .common import Card

__all__ = ["bugzoo_context", "GROUP_TITLES"]

#: The groups in the order the table shows them, and their headings.
GROUP_TITLES = {
    "im2col": "im2col, col2im, unfold, fold: the windows, the output size, the padding",
    "conv": "Convolution", "pool": "Pooling (max and average)", "activation": "Activations",
    "affine": "Affine", "loss": "Softmax with cross-entropy", "dropout": "Dropout",
    "lrn": "Local response normalisation", "lenet": "LeNet-5", "optimizer": "Optimizers",
    "transfer": "The weight transfer", "subtle": "Subtle: small relative errors",
    "harness": "The harness itself — caught by its own self-check, not by the parity cases",
    "judges": "The judges — the configuration matrix and the OpInfo corpus's counting, caught by their known answers",
}


def _num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _text(v) -> str:
    """A CSV cell as text ("" for an empty cell, which pandas reads as NaN)."""
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)


def _ratio(v) -> object:
    """max_rel ÷ tol of the weakest catch ("yes/no" for a self-check)."""
    v = _num(v)
    if math.isnan(v):
        return "yes/no check"
    if math.isinf(v) or v >= 1e4:
        return sci(v) + "×" if math.isfinite(v) else "∞ (a mismatch or an error)"
    return f"{v:,.0f}×".replace(",", "\u2009") if v >= 100 else f"{v:.3g}×"


def _row(r) -> dict:
    caught = r["verdict"] == "caught"
    first = ""
    if int(_num(r["failed"]) or 0):
        first = f"{_text(r['first_case'])} · {_text(r['first_quantity'])} · {_text(r['first_dtype'])}"
    t = {k: _text(r[k]) for k in ("name", "where", "models", "symptom", "first_divergence", "weakest", "verdict")}
    return {"name": t["name"], "where": t["where"], "models": t["models"], "symptom": t["symptom"],
            "first": first, "config": short_config(_text(r["first_config"])),
            "max_rel": sci(_num(r["first_max_rel"])), "tol": sci(_num(r["first_tol"])),
            "divergence": t["first_divergence"], "weakest": _ratio(r["weakest_ratio"]),
            "weakest_where": t["weakest"], "caught": caught, "verdict": t["verdict"],
            "failed": f"{int(_num(r['failed']))} of {int(_num(r['records']))}"}


def bugzoo_context(inputs) -> dict | None:
    res = getattr(inputs, "bugzoo", None)
    if res is None:
        return None
    ctx = {"where": res.display_path(), "problem": res.problem}
    if res.frame is None:
        return {**ctx, "state": "missing" if res.problem == "missing" else "unusable"}
    frame = res.frame
    rows = [dict(r) for _, r in frame.iterrows()]
    base = [r for r in rows if r["group"] == "baseline"]
    bugs = [r for r in rows if r["group"] != "baseline"]
    if not bugs:
        return {**ctx, "state": "empty"}
    caught = [r for r in bugs if r["verdict"] == "caught"]
    missed = [r["name"] for r in bugs if r["verdict"] != "caught"]
    finite = [r for r in caught if math.isfinite(_num(r["weakest_ratio"]))]
    weakest = min(finite, key=lambda r: _num(r["weakest_ratio"])) if finite else None
    seconds = sum(_num(r["seconds"]) for r in rows)
    cards = [Card("Detection rate", f"{len(caught)} / {len(bugs)}",
                  "bugs caught" + (f"; missed: {', '.join(missed)}" if missed else ": every one")),
             Card("Weakest catch", _ratio(weakest["weakest_ratio"]) if weakest else "—",
                  f"{weakest['name']}: {_text(weakest['weakest'])}" if weakest else "")]
    if base:
        b = base[0]
        cards.insert(1, Card("Clean baseline", "pass" if b["verdict"] == "pass" else "FAIL",
                             f"{_text(b['symptom'])} (checks: {_text(b['checks'])})", long=True))
    cards.append(Card("Run", res.made or "—", f"{seconds / 60:.0f} min for {len(bugs)} bugs and the "
                                                "baseline", long=True))
    groups = []
    for key, title in GROUP_TITLES.items():
        members = [_row(r) for r in bugs if r["group"] == key]
        if members:
            groups.append({"title": title, "rows": members})
    others = [_row(r) for r in bugs if r["group"] not in GROUP_TITLES]
    if others:
        groups.append({"title": "Other", "rows": others})
    return {**ctx, "state": "full", "cards": cards, "groups": groups, "made": res.made, "missed": missed}
