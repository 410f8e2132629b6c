"""The sections about parity records: the verdict, the layers and the networks.

Each ``*_context(inputs)`` returns the values its template lays out, or None when the section has
nothing to show.
"""
from __future__ import annotations

import math
from collections import OrderedDict

from ...parity.records import DTYPES, dedupe, first_divergence, short_config
from .. import charts
from ..charts import COLORS, HLine, Series
from ..format import fmt_headroom, join, sci
from .common import DTYPE_STYLE, FW_NAME, Card, case_labels, group_cases, record_row, worst
from .corpus import opinfo_card, opinfo_records
from .training import loss_diffs

__all__ = ["verdict_context", "layers_context", "nets_context"]

#: Rows at most in the verdict's table of failing comparisons.
MAX_FAILS_SHOWN = 200


def verdict_context(inputs) -> dict:
    records = dedupe(inputs.records)
    sweeps = dedupe(inputs.sweeps)
    corpus = opinfo_records(inputs)
    cases = {}
    for r in records:
        cases.setdefault((r.case, r.config, r.dtype), []).append(r.passed)
    n_cases, n_case_pass = len(cases), sum(all(v) for v in cases.values())
    fails = [r for r in records + sweeps + corpus if not r.passed]
    total = len(records) + len(sweeps) + len(corpus)
    finite = [r for r in records if math.isfinite(r.headroom)]
    least = min(finite, key=lambda r: r.headroom) if finite else None
    labels = case_labels(list(group_cases(records)))

    cards = [
        Card("Cases", f"{n_case_pass} / {n_cases}", "pass (a case = one layer or network configuration in one dtype)"),
        Card("Comparisons", f"{len(records) - sum(not r.passed for r in records):,} / {len(records):,}",
             "pass (outputs, gradients and per-layer trace)"),
    ]
    if least is not None:
        where = f"{labels.get((least.case, least.config), least.case)} · {least.quantity} · {least.dtype}"
        cards.append(Card("Worst headroom", fmt_headroom(least.headroom), where))
    if sweeps:
        n_cfg = len({(r.case, r.config) for r in sweeps})
        n_bad = len({(r.case, r.config) for r in sweeps if not r.passed})
        cards.append(Card("Property sweep", f"{n_cfg - n_bad} / {n_cfg}",
                          f"random layer configurations pass ({len(sweeps):,} comparisons)"))
    if opinfo_card(inputs) is not None:
        cards.append(opinfo_card(inputs))
    has_curves = inputs.curves is not None and len(inputs.curves)
    if has_curves:
        pairs = tuple((dtype, sci(float(loss_diffs(grp)["rel"].max())))
                      for dtype, grp in inputs.curves.groupby("dtype", sort=True))
        cards.append(Card("Training", pairs=pairs,
                          note="largest relative loss difference between the frameworks at any step"))
    left_out = inputs.settings.get("left out by --quick")
    return {
        "state": "none" if not total else "fail" if fails else "pass",
        "total": f"{total:,}", "n_cases": n_cases, "n_fails": len(fails),
        "n_sweep_configs": len(group_cases(sweeps)),
        "n_opinfo_samples": inputs.opinfo.totals()["samples"] if opinfo_card(inputs) else 0,
        "cards": cards,
        "fails": [record_row(r) for r in fails[:MAX_FAILS_SHOWN]],
        "left_out": left_out if left_out and left_out != "nothing" else "",
        "training_note": inputs.training_note if not has_curves else "",
        "source": inputs.source,
    }


def _layer_chart(cases, labels, dtypes):
    """The dot chart of the layer cases and the rows of the table beside it."""
    panels = [{"title": "Forward: the layer's output", "points": [], "ticks": []},
              {"title": "Backward: worst of dx, dW, db", "points": [], "ticks": []}]
    groups = []
    for i, (key, per_dtype) in enumerate(cases.items()):
        rows = []
        for dtype in dtypes:
            recs = per_dtype.get(dtype)
            if not recs:
                continue
            color, marker = DTYPE_STYLE.get(dtype, (COLORS["grey"], "square"))
            fwd = [r for r in recs if r.quantity == "output"]
            grads = [r for r in recs if r.quantity != "output"]
            tol = recs[0].tol
            for p, rs in ((0, fwd), (1, grads)):
                if rs:
                    w = max(rs, key=lambda r: r.max_rel)
                    panels[p]["points"].append((i, w.max_rel, color, marker, not all(r.passed for r in rs),
                                                f"{labels[key]} {dtype} {w.quantity}: max rel error {w.max_rel:.2e} "
                                                f"(tolerance {w.tol:.1e})"))
                panels[p]["ticks"].append((i, tol, color))
            gworst = max(grads, key=lambda r: r.max_rel) if grads else None
            rows.append({"dtype": dtype, "forward": sci(fwd[0].max_rel) if fwd else "—",
                         "gradient": sci(gworst.max_rel) if gworst else "—",
                         "gradient_quantity": gworst.quantity if gworst else "",
                         "tol": sci(tol), "headroom": fmt_headroom(worst(recs).headroom),
                         "passed": all(r.passed for r in recs)})
        groups.append({"label": labels[key], "config": short_config(key[1]), "rows": rows})
    legend = [(f"{d} error", *DTYPE_STYLE.get(d, (COLORS["grey"], "square")), None, False) for d in dtypes]
    legend += [(f"{d} tolerance", DTYPE_STYLE.get(d, (COLORS["grey"], "square"))[0], "", "", False) for d in dtypes]
    chart = charts.dot_chart([labels[k] for k in cases], panels, title="Max relative error per layer case (log scale)",
                             x_label="max rel error (log scale; further left is better)", legend=legend,
                             desc="For each layer case, the forward and backward max relative error of float64 "
                                  "and float32 on a logarithmic axis, with each dtype's tolerance as a vertical bar.")
    return chart, groups


def _known_table(known):
    """The book's worked examples: one row per example, one column per (dtype, framework)."""
    grid, columns = OrderedDict(), []
    for r in known:                  # quantity "conv, pad 1: torch" -> example and framework
        example, _, fw = r.quantity.rpartition(": ") if ": " in r.quantity else (r.quantity, "", "")
        col = (r.dtype, fw)
        if col not in columns:
            columns.append(col)
        grid.setdefault(example, {})[col] = r
    rows = []
    for example, cells in grid.items():
        row = []
        for col in columns:
            r = cells.get(col)
            row.append(None if r is None else (r.passed, ("exact" if r.max_abs == 0 else "within a few ulps")
                                               if r.passed else f"off by {r.max_abs:.3g}"))
        rows.append({"example": example, "cells": row})
    heads = ["Example"] + [f"{d} · {FW_NAME.get(fw, fw) or 'result'}" for d, fw in columns]
    return {"heads": heads, "rows": rows}


def _sweep_rows(sweeps):
    groups = OrderedDict()
    for r in sweeps:
        groups.setdefault((r.case, r.dtype), []).append(r)
    rows = []
    for (case, dtype), recs in groups.items():
        bad = {r.config for r in recs if not r.passed}
        w = worst(recs)
        rows.append({"case": case, "dtype": dtype, "configs": len({r.config for r in recs}), "comparisons": len(recs),
                     "failing": len(bad), "headroom": fmt_headroom(w.headroom), "worst_config": short_config(w.config),
                     "worst_quantity": w.quantity, "passed": not bad})
    return rows


def layers_context(inputs) -> dict | None:
    records = dedupe(inputs.records)
    layer_recs = [r for r in records if r.group == "layer"]
    known = [r for r in records if r.group == "known"]
    sweeps = dedupe(inputs.sweeps)
    other = [r for r in records if r.group not in ("layer", "known", "net", "trace", "gradcheck")]
    if not (layer_recs or known or sweeps or other):
        return None
    chart, groups, both = "", [], False
    if layer_recs:
        cases = group_cases(layer_recs)
        dtypes = [d for d in DTYPES if any(d in v for v in cases.values())]
        chart, groups = _layer_chart(cases, case_labels(list(cases)), dtypes)
        both = len(dtypes) > 1
    return {"chart": chart, "groups": groups, "both_dtypes": both,
            "known": _known_table(known) if known else None,
            "sweeps": _sweep_rows(sweeps),
            "other": [record_row(r) for r in other],
            "every": [record_row(r) for r in layer_recs]}


def _trace(label, per_dtype):
    """The chart of one network's per-layer trace and its first-divergence lines (None: no trace)."""
    series, hlines, labels_x, n_fwd, lines = [], [], None, 0, []
    for dtype, recs in per_dtype.items():
        trace = [r for r in recs if r.group == "trace"]
        if not trace:
            continue
        color, marker = DTYPE_STYLE.get(dtype, (COLORS["grey"], "square"))
        if labels_x is None:
            labels_x = {i: r.quantity for i, r in enumerate(trace)}
            n_fwd = sum(r.quantity.endswith(".out") for r in trace)
        series.append(Series(dtype, list(range(len(trace))), [r.max_rel for r in trace], color, marker, hollow=False))
        hlines.append(HLine(trace[0].tol, f"{dtype} tolerance", color, "6 4"))
        first, least = first_divergence(trace), worst(trace)
        lines.append({"dtype": dtype, "passed": first is None,
                      "quantity": least.quantity if first is None else first.quantity,
                      "headroom": fmt_headroom(least.headroom),
                      "max_rel": sci(first.max_rel) if first else "", "tol": sci(first.tol) if first else ""})
    if not series:
        return None, lines
    chart = charts.line_chart(series, title=f"{label}: error after each layer (log scale)",
                              x_label="", y_label="max rel error", logy=True, hlines=hlines,
                              width=1000, height=380, x_tick_labels=labels_x, rotate_labels=True,
                              vlines=[(-0.4, "forward pass →"), (n_fwd - 0.5, "backward pass →")],
                              desc=f"The max relative error of each layer's output (forward) and of the gradient "
                                   f"arriving at each layer (backward) for {label}, per dtype.")
    return chart, lines


def nets_context(inputs) -> dict | None:
    net_recs = [r for r in dedupe(inputs.records) if r.group in ("net", "trace", "gradcheck")]
    if not net_recs:
        return None
    cases = group_cases(net_recs)
    labels = case_labels(list(cases))
    nets = []
    for key, per_dtype in cases.items():
        chart, lines = _trace(labels[key], per_dtype)
        quantities = OrderedDict()
        for dtype, recs in per_dtype.items():
            for r in recs:
                if r.group in ("net", "gradcheck"):     # gradcheck: the reference against central differences
                    quantities.setdefault(r.quantity, {})[dtype] = r
        dts = list(per_dtype)
        rows = []
        for q, by in quantities.items():
            cells = []
            for d in dts:
                r = by.get(d)
                cells.append((sci(r.max_rel), fmt_headroom(r.headroom), r.passed) if r else None)
            rows.append({"quantity": q, "cells": cells})
        nets.append({"label": labels[key], "config": short_config(key[1]), "chart": chart, "divergence": lines,
                     "heads": ["Whole network"] + [h for d in dts for h in (f"{d} error", f"{d} headroom")],
                     "rows": rows})
    return {"nets": nets, "names": join(OrderedDict.fromkeys(case for case, _ in cases))}
