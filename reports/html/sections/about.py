"""The sections that explain rather than compare: the book-vs-PyTorch catalog, im2col step by step,
and the environment the numbers were computed in."""
from __future__ import annotations

import numpy as np

from ..format import fmt_measured, num

__all__ = ["catalog_context", "im2col_context", "environment_context", "grid_cells", "matrix_cells",
           "im2col_example"]

#: How the catalog names the three sides of a difference.
SIDE_NAME = {"book": "book", "torch": "PyTorch", "reference": "reference"}


def catalog_context(inputs) -> dict | None:
    if not inputs.catalog:
        return None
    rows = []
    for d in inputs.catalog:
        m = dict(d.get("measured") or {})
        effect = m.pop("effect", "")
        items = [(SIDE_NAME[k], fmt_measured(m.pop(k))) for k in ("book", "torch", "reference") if k in m]
        items += [(k.replace("_", " "), fmt_measured(v)) for k, v in m.items()]
        rows.append({"title": d["title"], "book": d["book"], "torch": d["torch"], "reference": d["reference"],
                     "effect": effect, "measured": items, "error": d.get("error") or ""})
    return {"rows": rows}


def grid_cells(a, cls="grid", mark=None, pad=0, caption="", fmt=num) -> dict:
    """A small matrix as cells (text, classes). mark: (top, left, h, w) cells to highlight; pad: border cells
    to grey; fmt: how a number is written."""
    a = np.asarray(a)
    rows = []
    for i in range(a.shape[0]):
        cells = []
        for j in range(a.shape[1]):
            classes = []
            if mark is not None and mark[0] <= i < mark[0] + mark[2] and mark[1] <= j < mark[1] + mark[3]:
                classes.append("in")
            if pad and (i < pad or j < pad or i >= a.shape[0] - pad or j >= a.shape[1] - pad):
                classes.append("pad")
            cells.append((fmt(a[i, j]), " ".join(classes)))
        rows.append(cells)
    return {"cls": cls, "caption": caption, "rows": rows}


def matrix_cells(a, row_labels=None, col_labels=None, cls="grid", fmt=num) -> dict:
    """A matrix with optional row labels (left) and column labels (top); fmt: how a number is written."""
    a = np.asarray(a)
    return {"cls": cls, "row_labels": row_labels, "col_labels": col_labels,
            "rows": [[fmt(v) for v in a[i]] for i in range(a.shape[0])]}


def im2col_example(s) -> dict:
    """One worked example (:func:`reports.explain.im2col_steps`) as the grids and numbers of its steps."""
    fh, fw = s.W.shape
    n = s.out_h * s.out_w
    names = [f"window ({r // s.out_w},{r % s.out_w})" for r in range(n)]
    labels = [f"({i},{j})" for i, j in s.filter_positions]
    H, W = s.x.shape
    return {
        "H": H, "W": W, "fh": fh, "fw": fw, "P": s.pad, "S": s.stride, "out_h": s.out_h, "out_w": s.out_w, "n": n,
        "x": grid_cells(s.x, caption=f"input x ({H}×{W})"),
        "x_padded": grid_cells(s.x_padded, pad=s.pad, caption=f"padded with {s.pad} ring{'s' if s.pad > 1 else ''} of zeros")
        if s.pad else None,
        "filter": grid_cells(s.W, cls="grid filt", caption=f"filter W ({fh}×{fw})"),
        "filter_plain": grid_cells(s.W, cls="grid filt"),
        "windows": [{"grid": grid_cells(s.x_padded, cls="grid mini", mark=(*s.windows[r], fh, fw), pad=s.pad),
                     "label": f"{names[r]} → row {r}"} for r in range(n)],
        "col_shape": f"{s.col.shape[0]}×{s.col.shape[1]}", "w_col_shape": f"{s.w_col.shape[0]}×{s.w_col.shape[1]}",
        "w_col_rows": s.w_col.shape[0],
        "product_rows": s.product.shape[0],
        "col": matrix_cells(s.col, row_labels=names, col_labels=labels),
        "w_col": matrix_cells(s.w_col, row_labels=labels, cls="grid filt"),
        "col_bare": matrix_cells(s.col, col_labels=labels),
        "w_col_bare": matrix_cells(s.w_col, col_labels=["W"], cls="grid filt"),
        "product": matrix_cells(s.product, col_labels=["out"], cls="grid out"),
        "sums": [{"name": names[r], "terms": " + ".join(f"{num(a)}·{num(b)}" for a, b in zip(s.col[r], s.w_col[:, 0])),
                  "result": num(s.product[r, 0])} for r in range(n)],
        "matches": bool(s.matches_convolution),
        "out": grid_cells(s.out, cls="grid out", caption="output"),
    }


def im2col_context(inputs) -> dict | None:
    if not inputs.im2col:
        return None
    return {"plain": im2col_example(inputs.im2col["pad 0"]), "padded": im2col_example(inputs.im2col["pad 1"])}


def environment_context(inputs) -> dict:
    return {"rows": [(str(k), str(v)) for k, v in inputs.environment]}
