"""The speed section: the results of a separate benchmark run (``python -m benchmarks``), never measured here.

:func:`speed_context` returns the values ``sections/speed.html`` lays out: cards about the run's
machine, a bar chart of reference ÷ PyTorch time, one table per thread count and dtype (one row
per pass), and the peak-memory table.
"""
from __future__ import annotations

import math
from collections import OrderedDict

from .. import charts
from ..charts import COLORS
from ..format import file_name
from .common import DTYPE_STYLE, Card

__all__ = ["speed_context", "PASS_NAME"]

#: The benchmark passes in the order the tables show them, and their names there.
PASS_NAME = OrderedDict([("forward", "forward"), ("backward", "backward"),
                         ("forward+backward", "forward + backward"), ("update", "optimizer update"),
                         ("train step", "training step"), ("epoch", "one epoch")])
#: Passes of a whole training step (the training part of a table, after the layers).
NET_PASSES = {"update", "train step", "epoch"}
#: Passes printed in bold (a layer's forward + backward, a network's step, an epoch).
TOTAL_PASSES = ("forward+backward", "train step", "epoch")
#: The bar chart's pass for each kind of row: a layer's forward + backward, a network's step.
CHART_PASSES = ("forward+backward", "train step")
#: How the notes row names each reference path.
METHOD_NAME = {"fast": "fast path", "book": "book path", "-": ""}


def _ms(v, seconds=False) -> str:
    """Milliseconds for a table cell (an epoch in seconds)."""
    if v is None or not math.isfinite(float(v)):
        return "—"
    v = float(v)
    if seconds:
        return f"{v / 1e3:.1f} s"
    return f"{v:.2f}" if v < 10 else (f"{v:.1f}" if v < 1000 else f"{v:,.0f}".replace(",", "\u2009"))


def _ratio(v) -> dict | None:
    """A reference ÷ PyTorch ratio as text, and whether the reference is the faster (below 1)."""
    if v is None or not math.isfinite(float(v)) or v <= 0:
        return None
    return {"text": f"{v:.2f}" if v < 10 else f"{v:.1f}", "faster": v < 1}


def _int_text(v) -> str:
    v = float(v)
    return str(int(v)) if v.is_integer() else f"{v:g}"


def _span(values) -> str:
    """'1' or '1, 2' or '0.45–1.1' of a column's values."""
    vals = sorted({float(v) for v in values if v is not None and math.isfinite(float(v))})
    if not vals:
        return "—"
    if all(v.is_integer() for v in vals) and len(vals) <= 4:
        return ", ".join(str(int(v)) for v in vals)
    lo, hi = vals[0], vals[-1]
    return f"{lo:.2g}" if lo == hi else f"{lo:.2g}–{hi:.2g}"


def _range(values) -> str:
    """'7' or '5–7' of integer counts."""
    vals = sorted({int(v) for v in values if v is not None and math.isfinite(float(v))})
    if not vals:
        return "—"
    return str(vals[0]) if vals[0] == vals[-1] else f"{vals[0]}–{vals[-1]}"


def _uniq(frame, col) -> list:
    if col not in frame.columns:
        return []
    return [str(v) for v in OrderedDict.fromkeys(frame[col]) if str(v) not in ("", "nan")]


def _speed_tables(frame):
    """The results grouped for display: OrderedDict (threads, blas) -> OrderedDict dtype ->
    OrderedDict (layer, config) -> {pass: {method: row}} (rows as dicts, in file order; a
    repeated measurement keeps its last row)."""
    blas = "blas" in frame.columns and frame["blas"].nunique() > 1
    out = OrderedDict()
    for row in frame.to_dict("records"):
        key = (row["threads"], row.get("blas", "") if blas else "")
        (out.setdefault(key, OrderedDict()).setdefault(str(row["dtype"]), OrderedDict())
         .setdefault((str(row["layer"]), str(row["config"])), {})
         .setdefault(str(row["pass"]), {}))[str(row["method"])] = row
    order = list(out)                  # smallest thread count first (the README compares at 1 thread)
    return OrderedDict(sorted(out.items(), key=lambda kv: (float(kv[0][0]), order.index(kv[0]))))


def _is_net(passes) -> bool:
    return bool(NET_PASSES & set(passes))


def _fast(methods):
    """The row of the reference's default path: 'fast', or '-' for a layer with one path."""
    return methods.get("fast", methods.get("-"))


def _with_ratio(row):
    if row is None:
        return None
    ref, tor = float(row["reference_ms"]), float(row["torch_ms"])
    return ref / tor if tor > 0 and math.isfinite(ref) else float("nan")


def _speed_label(layer, config, passes) -> str:
    if _is_net(passes):
        return f"{layer} step · {config}"
    return f"{layer} {config}"


def _pass_row(phase, methods) -> dict:
    """One pass of one layer: milliseconds of each path and of PyTorch, and the ratios."""
    fast, book, single = methods.get("fast"), methods.get("book"), methods.get("-")
    main = fast or single or book
    seconds = phase == "epoch"
    one = single is not None and fast is None and book is None
    return {"name": PASS_NAME.get(phase, phase), "total": phase in TOTAL_PASSES, "one_path": one,
            "fast_ms": _ms(single["reference_ms"], seconds) if one else
            (_ms(fast["reference_ms"], seconds) if fast else "—"),
            "book_ms": _ms(book["reference_ms"], seconds) if book else "—",
            "torch_ms": _ms(main["torch_ms"], seconds),
            "fast_ratio": _ratio(_with_ratio(single if one else fast)), "book_ratio": _ratio(_with_ratio(book))}


def _speed_table(groups) -> dict:
    """One dtype: layers first, then the training rows (after a sub-heading); one row per pass."""
    blocks = []
    items = sorted(groups.items(), key=lambda kv: _is_net(kv[1]))        # stable: layers, then training
    net_started = False
    for (layer, config), passes in items:
        first_net = _is_net(passes) and not net_started
        net_started = net_started or first_net
        order = [p for p in PASS_NAME if p in passes] + [p for p in passes if p not in PASS_NAME]
        notes = OrderedDict()               # method -> its notes (e.g. an epoch's data and test accuracy)
        for phase in order:
            for method, r in passes[phase].items():
                n = str(r.get("note", ""))
                if n and n != "nan":
                    notes.setdefault(method, OrderedDict())[n] = None
        text = " · ".join((f"{METHOD_NAME.get(m, m)}: " if METHOD_NAME.get(m, m) else "") + "; ".join(ns)
                          for m, ns in notes.items())
        blocks.append({"first_net": first_net, "layer": layer, "config": config, "notes": text,
                       "passes": [_pass_row(phase, passes[phase]) for phase in order]})
    return {"blocks": blocks, "epoch": any("epoch" in passes for passes in groups.values())}


def _speed_chart(dtypes, threads_text):
    """Bars of fast ÷ PyTorch per layer (forward + backward) and per training step, one per dtype."""
    keys = []
    for groups in dtypes.values():
        for key, passes in groups.items():
            if any(p in passes for p in CHART_PASSES) and key not in keys:
                keys.append(key)
    keys.sort(key=lambda k: any(_is_net(g.get(k, {})) for g in dtypes.values()))
    if not keys:
        return ""
    labels, series = [], []
    for key in keys:
        passes = next(g[key] for g in dtypes.values() if key in g)
        labels.append(_speed_label(*key, passes))
    for dtype, groups in dtypes.items():
        color = DTYPE_STYLE.get(dtype, (COLORS["grey"], ""))[0]
        vals, tips = [], []
        for key, label in zip(keys, labels):
            passes = groups.get(key, {})
            phase = next((p for p in CHART_PASSES if p in passes), None)
            row = _fast(passes[phase]) if phase else None
            r = _with_ratio(row)
            vals.append(r)
            tips.append(f"{label}, {dtype}: reference {float(row['reference_ms']):.2f} ms, PyTorch "
                        f"{float(row['torch_ms']):.2f} ms, ratio {r:.2f}" if row is not None else "")
        series.append((dtype, color, vals, tips))
    return charts.ratio_bars(labels, series,
                             title=f"Reference (fast path) ÷ PyTorch time: each layer forward + backward, and a "
                                   f"training step ({threads_text}; log scale)",
                             x_label="reference ms ÷ PyTorch ms (log scale; 1 = as fast as PyTorch)",
                             left_note="← the NumPy reference is faster", right_note="PyTorch is faster →",
                             desc="For each layer configuration and for the SimpleConvNet training step, the time of "
                                  "the reference's fast path divided by PyTorch's, per dtype, as bars from 1 on a "
                                  "logarithmic axis.")


def _threads_text(threads, blas="") -> str:
    n = _int_text(threads)
    return f"{n} thread" + ("" if n == "1" else "s") + (f", {blas}" if blas else "")


def _mb(v) -> str:
    if v is None or not math.isfinite(float(v)):
        return "—"
    v = float(v)
    return f"{v:.1f} MB" if v < 1000 else f"{v:,.0f} MB".replace(",", "\u2009")


def _memory_rows(memory) -> list:
    groups = OrderedDict()
    for row in memory.to_dict("records"):
        groups.setdefault((str(row["layer"]), str(row["config"]), str(row["dtype"])), {})[str(row["method"])] = row
    rows = []
    for (layer, config, dtype), by in groups.items():
        any_row = next(iter(by.values()))
        book, fast, tor = by.get("book"), by.get("fast"), by.get("torch")
        ratio = (float(fast["numpy_peak_mb"]) / float(book["numpy_peak_mb"])
                 if fast is not None and book is not None and float(book["numpy_peak_mb"]) > 0 else float("nan"))
        rows.append({"layer": layer, "config": config, "values": [
            dtype, _mb(any_row.get("input_mb", float("nan"))), _mb(any_row.get("col_mb", float("nan"))),
            _mb(book["numpy_peak_mb"]) if book is not None else "—",
            _mb(fast["numpy_peak_mb"]) if fast is not None else "—",
            _mb(tor["rss_peak_mb"]) if tor is not None else "—",
            f"{ratio:.2f}" if math.isfinite(ratio) else "—"]})
    return rows


def _cards(bench, frame, where) -> list:
    dates = sorted(_uniq(frame, "date"))
    when = "" if not dates else dates[0] if dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}"
    folder = where[:len(where) - len(file_name(where))] or "."
    cards = [Card("Results file", file_name(where),
                  f"in {folder}" + (f" · measured {when}" if when else
                                    (f" · file last modified {bench.modified}" if bench.modified else "")), code=True),
             Card("Threads", _span(frame["threads"]),
                  "NumPy's BLAS and torch pinned to the same count"
                  + (f"; median of {_range(frame.loc[frame['pass'] != 'epoch', 'reps'])} timed runs"
                     if "reps" in frame.columns and (frame["pass"] != "epoch").any() else ""))]
    if _uniq(frame, "cpu"):
        cards.append(Card("Processor", "; ".join(_uniq(frame, "cpu")), "the machine of the benchmark run"))
    if "load" in frame.columns:
        cards.append(Card("Load average", _span(frame["load"]),
                          "1-minute load when each measurement began (the benchmark itself counts about 1)"))
    blas = _uniq(frame, "blas")
    if _uniq(frame, "numpy"):
        cards.append(Card("numpy", ", ".join(_uniq(frame, "numpy")),
                          "BLAS: " + "; ".join(blas) if blas else "its BLAS is not recorded"))
    if _uniq(frame, "torch"):
        cards.append(Card("torch", ", ".join(_uniq(frame, "torch")), "CPU, the same process as the reference"))
    for card in cards:
        card.long = len(card.value) > 10
    return cards


def _summary(first) -> str:
    """'in 3 of 5 layer configurations in float32 (the book path in 1 of 3) and ...' ('' without layers)."""
    parts = []
    for dtype, groups in first.items():
        layer_rows = [passes["forward+backward"] for passes in groups.values() if "forward+backward" in passes]
        fast = [_with_ratio(_fast(m)) for m in layer_rows if _fast(m) is not None]
        book = [_with_ratio(m.get("book")) for m in layer_rows if "book" in m]
        if fast:
            parts.append(f"in {sum(r < 1 for r in fast)} of {len(fast)} layer configurations in {dtype}"
                         + (f" (the book path in {sum(r < 1 for r in book)} of {len(book)})" if book else ""))
    return " and ".join(parts)


def speed_context(inputs) -> dict | None:
    bench = getattr(inputs, "speed", None)
    if bench is None:
        return None
    where = bench.display_path()
    ctx = {"state": "full", "where": where, "problem": bench.problem}
    if bench.frame is None:
        return {**ctx, "state": "missing" if bench.problem == "missing" else "unusable"}
    frame = bench.frame
    tables = _speed_tables(frame)
    if not tables:
        return {**ctx, "state": "empty"}
    (first_threads, first_blas), first = next(iter(tables.items()))
    threads_text = _threads_text(first_threads, first_blas)
    has_memory = bench.memory is not None and len(bench.memory)
    return {**ctx, "cards": _cards(bench, frame, where), "threads_text": threads_text,
            "summary": _summary(first), "chart": _speed_chart(first, threads_text),
            "first": {dtype: _speed_table(groups) for dtype, groups in first.items()},
            "more": [{"threads_text": _threads_text(threads, blas),
                      "tables": {dtype: _speed_table(groups) for dtype, groups in dtypes.items()}}
                     for (threads, blas), dtypes in list(tables.items())[1:]],
            "memory": _memory_rows(bench.memory) if has_memory else None,
            "memory_where": bench.display_path(bench.memory_path) if has_memory else "",
            "memory_notes": "; ".join(_uniq(bench.memory, "note")) if has_memory else "",
            "memory_copy": bench.display_path(bench.memory_path) if bench.memory is not None else ""}
