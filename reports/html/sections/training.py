"""The sections about lockstep training: loss curves, accuracy per epoch, first-layer filters.

Each ``*_context(inputs)`` returns the values its template lays out, or None when the section has
nothing to show (no training ran).
"""
from __future__ import annotations

import math

import numpy as np

from .. import charts
from ..charts import COLORS, Series
from ..format import sci
from ..images import grey_mosaic, png_data_uri
from .common import FW_NAME, FW_STYLE, run_title

__all__ = ["training_context", "accuracy_context", "filters_context", "loss_diffs"]


def loss_diffs(group):
    """Per step: reference loss, torch loss, |difference| and relative difference."""
    piv = group.pivot_table(index="step", columns="framework", values="loss", aggfunc="first").sort_index()
    ref = piv.get("reference")
    tor = piv.get("torch")
    out = piv.copy()
    if ref is not None and tor is not None:
        out["abs"] = (ref - tor).abs()
        scale = tor.abs().where(tor.abs() > 0, 1.0)
        out["rel"] = out["abs"] / scale
    else:
        out["abs"] = out["rel"] = np.nan
    return out


def _timing_text(timing, net, dtype) -> str:
    """'NumPy reference 50 ms, PyTorch 20 ms' (median time per step), or ''."""
    if not timing:
        return ""
    return ", ".join(f"{FW_NAME.get(fw, fw)} {sec * 1000:.0f} ms" for (n, d, fw), sec in sorted(timing.items())
                     if n == net and d == dtype)


def _dtype_run(g, dtype, timing, net):
    """The two charts and the summary line of one (net, optimizer, dtype) run."""
    d = loss_diffs(g)
    steps = [int(s) for s in d.index]
    series = [Series(FW_NAME.get(fw, fw), steps, [float(v) for v in d[fw]], FW_STYLE[fw][0], "",
                     FW_STYLE[fw][1], width=2.2 if fw == "reference" else 2.0)
              for fw in ("reference", "torch") if fw in d]
    pair = [charts.line_chart(series, title=f"Loss per step — {dtype}", x_label="step",
                              y_label="training loss", width=520, height=290,
                              desc=f"Training loss per step of both frameworks, {dtype}."),
            charts.line_chart([Series("|reference − PyTorch|", steps, [float(v) for v in d["abs"]],
                                      COLORS["purple"], "")],
                              title=f"|Loss difference| per step — {dtype} (log)", x_label="step",
                              y_label="|difference|", logy=True, width=520, height=290,
                              desc=f"Absolute difference of the two losses at each step, {dtype}, log scale.")]
    finite = d["abs"].dropna()
    has_params = "param_rel_diff" in g and g["param_rel_diff"].notna().any()
    stats = {"dtype": dtype, "steps": len(steps),
             "max_abs": sci(finite.max() if len(finite) else float("nan")), "max_rel": sci(d["rel"].max()),
             "final_reference": sci(d["reference"].iloc[-1], 5) if "reference" in d else "—",
             "final_torch": sci(d["torch"].iloc[-1], 5) if "torch" in d else "—",
             "params": sci(g["param_rel_diff"].dropna().iloc[-1]) if has_params else "",
             "timing": _timing_text(timing, net, dtype)}
    return pair, stats


def training_context(inputs) -> dict | None:
    c = inputs.curves
    if c is None or not len(c):
        return None
    runs = []
    for (net, opt), grp in c.groupby(["net", "optimizer"], sort=False):
        figures, stats = [], []
        for dtype in sorted(grp["dtype"].unique(), key=lambda d: (d != "float32", d)):
            pair, line = _dtype_run(grp[grp["dtype"] == dtype], dtype, inputs.timing, net)
            figures += pair
            stats.append(line)
        runs.append({"title": run_title(net, opt), "charts": figures, "stats": stats})
    return {"note": inputs.training_note, "runs": runs}


def _percent(v) -> str:
    return f"{v * 100:.2f} %" if v is not None else "—"


def accuracy_context(inputs) -> dict | None:
    ep = inputs.epochs
    if ep is None or not len(ep):
        return None
    runs = []
    for (net, opt, dtype), grp in ep.groupby(["net", "optimizer", "dtype"], sort=False):
        piv = grp.pivot_table(index="epoch", columns="framework", values=["train_acc", "test_acc"], aggfunc="first")
        rows = []
        for epoch in piv.index:
            def acc(col, fw, epoch=epoch):
                try:
                    v = piv.loc[epoch, (col, fw)]
                except KeyError:
                    return None
                return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
            vals = [acc("train_acc", "reference"), acc("train_acc", "torch"),
                    acc("test_acc", "reference"), acc("test_acc", "torch")]
            gap = f"{abs(vals[2] - vals[3]) * 100:.2f}" if vals[2] is not None and vals[3] is not None else "—"
            rows.append([str(int(epoch))] + [_percent(v) for v in vals] + [gap])
        runs.append({"title": run_title(net, opt, dtype), "rows": rows})
    return {"runs": runs}


#: The filter picture's rows (training stages) and columns (frameworks).
STAGES = [("before", "Before training"), ("after", "After training")]
FRAMEWORKS = ("reference", "torch")


def filters_context(inputs) -> dict | None:
    f = inputs.filters
    if not f or not f.get("after"):
        return None
    rows = []
    for stage, title in STAGES:
        cells = []
        for fw in FRAMEWORKS:
            W = f.get(stage, {}).get(fw)
            if W is None:
                cells.append(None)
                continue
            W = np.asarray(W)
            flat = W[:, 0] if W.ndim == 4 else W
            cells.append({"uri": png_data_uri(grey_mosaic(flat, columns=10, scale=8, gap=4)),
                          "alt": f"{flat.shape[0]} first-layer filters of the {FW_NAME[fw]}, {title.lower()}",
                          "caption": f"{FW_NAME[fw]} — {title.lower()}"})
        rows.append({"title": title, "cells": cells})
    after = f.get("after", {})
    notes = []
    if "reference" in after and "torch" in after:
        a, b = np.asarray(after["reference"], dtype=np.float64), np.asarray(after["torch"], dtype=np.float64)
        if a.shape == b.shape:
            diff = float(np.max(np.abs(a - b)))
            notes.append({"diff": sci(diff), "relative": sci(diff / (float(np.max(np.abs(b))) or 1.0))})
    shape = np.asarray(next(iter(after.values()))).shape
    return {"heads": [FW_NAME[fw] for fw in FRAMEWORKS], "rows": rows, "notes": notes,
            "n_filters": shape[0], "height": shape[-2], "width": shape[-1], "dtype": f.get("dtype") or ""}
