"""The report as one self-contained HTML page (inline CSS, inline SVG charts, PNG data URIs).

:func:`render_html` assembles the page from one renderer per section, in this order:
verdict summary, per-layer errors, network traces, training curves, accuracy per epoch,
first-layer filters, speed (the results of a separate benchmark run), the catalog of
book-vs-PyTorch differences, im2col step by step, the environment. Each renderer takes the
:class:`reports.report.ReportInputs` and returns the HTML of its section ("" when it has
nothing to show). Every piece of text goes through
``html.escape``; the page requests nothing from anywhere (no fonts, scripts, styles or images
from outside — it holds no URL at all, apart from links to the CSV files beside it).
"""
from __future__ import annotations

import json
import math
import re
from collections import OrderedDict
from html import escape

import numpy as np

from ..parity.records import dedupe as _dedupe
from ..parity.records import first_divergence
from . import charts as svg
from .charts import COLORS, HLine, Series

__all__ = ["render_html", "render_verdict", "render_layers", "render_nets", "render_training",
           "render_accuracy", "render_filters", "render_speed", "render_catalog", "render_im2col",
           "render_environment", "sci", "fmt_headroom"]

DTYPE_STYLE = {"float64": (COLORS["blue"], "circle"), "float32": (COLORS["orange"], "triangle")}
FW_STYLE = {"reference": (COLORS["blue"], ""), "torch": (COLORS["vermillion"], "7 4")}
FW_NAME = {"reference": "NumPy reference", "torch": "PyTorch"}
#: Display names of the training module's net and optimizer keys (unknown keys are shown as they are).
NET_NAME = {"simple": "SimpleConvNet", "lenet5": "LeNet-5", "alexnet-mnist": "AlexNet (MNIST)", "alexnet": "AlexNet"}
OPT_NAME = {"sgd": "SGD", "momentum": "Momentum", "adagrad": "AdaGrad", "adam": "Adam"}


def _run_title(net, opt, dtype=None) -> str:
    parts = [NET_NAME.get(str(net), str(net)), OPT_NAME.get(str(opt), str(opt))] + ([str(dtype)] if dtype else [])
    return " · ".join(e(p) for p in parts)


def e(value) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return escape(str(value), quote=True)


# ------------------------------------------------------------------------------------------
# Number formatting
# ------------------------------------------------------------------------------------------

_SUP = str.maketrans("-0123456789", "−0123456789")


def sci(v, digits=2) -> str:
    """A number for a table cell, as HTML: 0, ∞, 0.25, or 2.2×10<sup>−16</sup>."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    v = float(v)
    if v == 0:
        return "0"
    if math.isinf(v):
        return "∞"
    if 1e-3 <= abs(v) < 1e4:
        return e(f"{v:.{digits}g}")
    exp = int(math.floor(math.log10(abs(v))))
    mant = v / 10 ** exp
    if round(mant, digits - 1) >= 10:
        mant, exp = mant / 10, exp + 1
    return f"{mant:.{digits - 1}f}×10<sup>{e(str(exp).translate(_SUP))}</sup>"


def fmt_headroom(h) -> str:
    """Headroom = tolerance ÷ error: '∞' when the two agree to the bit."""
    h = float(h)
    if math.isinf(h):
        return '∞ <span class="muted">(exact)</span>'
    if h < 0.01:
        return sci(h)
    if h < 10:
        return e(f"{h:.2g}" if h < 1 else f"{h:.1f}")
    if h < 1e4:
        return e(f"{h:,.0f}".replace(",", "\u2009"))
    return sci(h)


def verdict_badge(passed: bool, text: str | None = None) -> str:
    if passed:
        return f'<span class="v pass">✓ {e(text or "pass")}</span>'
    return f'<span class="v fail">✗ {e(text or "fail")}</span>'


def short_config(config: str) -> str:
    try:
        cfg = json.loads(config) if config else {}
    except ValueError:
        return config
    if not isinstance(cfg, dict):
        return str(cfg)
    return " ".join(f"{k}={v}" for k, v in cfg.items())


def _table(headers, rows, cls="", numeric=()) -> str:
    """rows: lists of HTML cell contents (already escaped). ``numeric``: column indexes aligned right."""
    head = "".join(f'<th{" class=num" if i in numeric else ""}>{h}</th>' for i, h in enumerate(headers))
    body = []
    for row in rows:
        cells = "".join(f'<td{" class=num" if i in numeric else ""}>{c}</td>' for i, c in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    return (f'<div class="table-wrap"><table class="{e(cls)}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def _section(sid, number, title, intro, body) -> str:
    return (f'<section id="{e(sid)}"><h2><span class="num-badge">{number}</span>{e(title)}</h2>'
            f'<div class="intro">{intro}</div>{body}</section>')


# ------------------------------------------------------------------------------------------
# Grouping records
# ------------------------------------------------------------------------------------------

def _cases(records):
    """OrderedDict (case, config) -> {dtype: [records]} in order of first appearance."""
    out = OrderedDict()
    for r in records:
        out.setdefault((r.case, r.config), OrderedDict()).setdefault(r.dtype, []).append(r)
    return out


def _labels(keys):
    """'Convolution 1', 'Convolution 2', ... for (case, config) keys, numbered within each case."""
    count, labels = {}, {}
    totals = {}
    for case, _ in keys:
        totals[case] = totals.get(case, 0) + 1
    for case, config in keys:
        count[case] = count.get(case, 0) + 1
        labels[(case, config)] = f"{case} {count[case]}" if totals[case] > 1 else case
    return labels


def _worst(records):
    """The record with the least headroom (a failure first)."""
    return min(records, key=lambda r: (r.passed, r.headroom))


# ------------------------------------------------------------------------------------------
# Sections
# ------------------------------------------------------------------------------------------

def render_verdict(inputs, number) -> str:
    records = _dedupe(inputs.records)
    sweeps = _dedupe(inputs.sweeps)
    cases = {}
    for r in records:
        cases.setdefault((r.case, r.config, r.dtype), []).append(r.passed)
    n_cases, n_case_pass = len(cases), sum(all(v) for v in cases.values())
    fails = [r for r in records + sweeps if not r.passed]
    total = len(records) + len(sweeps)
    finite = [r for r in records if math.isfinite(r.headroom)]
    worst = min(finite, key=lambda r: r.headroom) if finite else None
    labels = _labels(list(_cases(records)))

    if not total:
        banner = '<div class="banner warn"><span class="big">?</span><div><strong>No comparisons.</strong> ' \
                 'This report holds no records: nothing was compared.</div></div>'
    elif not fails:
        banner = (f'<div class="banner pass"><span class="big" aria-hidden="true">✓</span><div><strong>'
                  f'PyTorch and the NumPy reference agree.</strong> All {total:,} comparisons are within '
                  f'their tolerances: {n_cases} cases, each in its dtype'
                  + (f', plus {len(_cases(sweeps))} randomly drawn layer configurations' if sweeps else '')
                  + '.</div></div>')
    else:
        banner = (f'<div class="banner fail"><span class="big" aria-hidden="true">✗</span><div><strong>'
                  f'{len(fails)} of {total:,} comparisons fail.</strong> The failing rows are listed below; '
                  f'every other comparison is within its tolerance.</div></div>')

    cards = [
        ("Cases", f"{n_case_pass} / {n_cases}", "pass (a case = one layer or network configuration in one dtype)"),
        ("Comparisons", f"{len(records) - sum(not r.passed for r in records):,} / {len(records):,}",
         "pass (outputs, gradients and per-layer trace)"),
    ]
    if worst is not None:
        where = f"{labels.get((worst.case, worst.config), worst.case)} · {worst.quantity} · {worst.dtype}"
        cards.append(("Worst headroom", fmt_headroom(worst.headroom), e(where)))
    if sweeps:
        n_cfg = len({(r.case, r.config) for r in sweeps})
        n_bad = len({(r.case, r.config) for r in sweeps if not r.passed})
        cards.append(("Property sweep", f"{n_cfg - n_bad} / {n_cfg}",
                      f"random layer configurations pass ({len(sweeps):,} comparisons)"))
    if inputs.curves is not None and len(inputs.curves):
        c = inputs.curves
        worst_rel = {}
        for dtype, grp in c.groupby("dtype", sort=True):
            worst_rel[dtype] = float(_loss_diffs(grp)["rel"].max())
        text = "".join(f'<div class="pair"><span class="dt">{e(d)}</span> {sci(v)}</div>' for d, v in worst_rel.items())
        cards.append(("Training", text, "largest relative loss difference between the frameworks at any step"))
    card_html = "".join(f'<div class="card"><div class="card-title">{e(t)}</div><div class="card-value">{v}</div>'
                        f'<div class="card-note">{n}</div></div>' for t, v, n in cards)

    body = banner + f'<div class="cards">{card_html}</div>'
    body += ('<p class="howto"><strong>How to read the numbers.</strong> For each comparison we compute '
             '<em>max rel error</em> = max |reference − PyTorch| ÷ max |PyTorch| (the error relative to the '
             'largest value of the result) and compare it with a <em>tolerance</em> that grows with the length '
             '<em>k</em> of the longest sum inside the layer: 16·√k·ε, where ε is the machine epsilon '
             '(2.2×10<sup>−16</sup> in float64, 1.2×10<sup>−7</sup> in float32). Two correct programs that add '
             'numbers in a different order differ by about that much. <em>Headroom</em> = tolerance ÷ error: '
             '10 means the error is ten times smaller than allowed, ∞ means the results are identical to the '
             'bit, and anything below 1 is a failure. The book\'s worked examples must match exactly.</p>')
    if fails:
        rows = [[e(r.case), f'<code>{e(short_config(r.config))}</code>', e(r.dtype), e(r.quantity), sci(r.max_rel),
                 sci(r.tol), fmt_headroom(r.headroom), verdict_badge(False), e(r.note)] for r in fails[:200]]
        body += "<h3>Failing comparisons</h3>" + _table(
            ["Case", "Configuration", "dtype", "Quantity", "Max rel error", "Tolerance", "Headroom", "Verdict", "Note"],
            rows, numeric=(4, 5, 6))
    left_out = inputs.settings.get("left out by --quick")
    if left_out and left_out != "nothing":
        body += (f'<p class="note">This is a <code>--quick</code> report: it leaves out the full-size network '
                 f'cases ({e(left_out)}). Run <code>cnn-parity report</code> without <code>--quick</code> for '
                 f'all of them.</p>')
    if inputs.training_note and (inputs.curves is None or not len(inputs.curves)):
        body += f'<p class="note">{e(inputs.training_note)}</p>'
    intro = ("<p>The one-line answer first: does this PyTorch — this version, on this machine, with these "
             f"settings — compute the same numbers as a convolutional network written from scratch in NumPy? "
             f"The records below come from <code>{e(inputs.source)}</code>; the tests assert on exactly the same "
             "records.</p>")
    return _section("verdict", number, "Verdict", intro, body)


def render_layers(inputs, number) -> str:
    records = _dedupe(inputs.records)
    layer_recs = [r for r in records if r.group == "layer"]
    body = []
    if layer_recs:
        cases = _cases(layer_recs)
        labels = _labels(list(cases))
        dtypes = [d for d in ("float64", "float32") if any(d in v for v in cases.values())]
        rows = [labels[k] for k in cases]
        panels = [{"title": "Forward: the layer's output", "points": [], "ticks": []},
                  {"title": "Backward: worst of dx, dW, db", "points": [], "ticks": []}]
        table_rows = []
        for i, (key, per_dtype) in enumerate(cases.items()):
            first = True
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
                worst = _worst(recs)
                gworst = max(grads, key=lambda r: r.max_rel) if grads else None
                cells = []
                if first:
                    span = sum(1 for d in dtypes if d in per_dtype)
                    cells.append(f'<td rowspan="{span}" class="case"><strong>{e(labels[key])}</strong><br>'
                                 f'<code>{e(short_config(key[1]))}</code></td>')
                    first = False
                cells += [f"<td>{e(dtype)}</td>",
                          f'<td class=num>{sci(fwd[0].max_rel) if fwd else "—"}</td>',
                          f'<td class=num>{sci(gworst.max_rel) if gworst else "—"}'
                          + (f' <span class="muted">({e(gworst.quantity)})</span>' if gworst else "") + "</td>",
                          f"<td class=num>{sci(tol)}</td>",
                          f"<td class=num>{fmt_headroom(worst.headroom)}</td>",
                          f"<td>{verdict_badge(all(r.passed for r in recs))}</td>"]
                table_rows.append("<tr>" + "".join(cells) + "</tr>")
        legend = []
        for d in dtypes:
            color, marker = DTYPE_STYLE.get(d, (COLORS["grey"], "square"))
            legend.append((f"{d} error", color, marker, None, False))
        for d in dtypes:
            color, _ = DTYPE_STYLE.get(d, (COLORS["grey"], "square"))
            legend.append((f"{d} tolerance", color, "", "", False))
        chart = svg.dot_chart(rows, panels, title="Max relative error per layer case (log scale)",
                              x_label="max rel error (log scale; further left is better)", legend=legend,
                              desc="For each layer case, the forward and backward max relative error of float64 "
                                   "and float32 on a logarithmic axis, with each dtype's tolerance as a vertical bar.")
        both = ("Float32 errors sit about nine decades to the right of float64 ones, because float32 carries "
                "about 7 significant digits instead of 16. " if len(dtypes) > 1 else "")
        body.append(f'<figure>{chart}<figcaption>Each row is one layer configuration (its parameters are in the '
                    f'table below). A marker left of the bar of its colour is within tolerance; an open marker '
                    f'is a failure. {both}Points in the "0" column agree to the bit.</figcaption></figure>')
        body.append('<div class="table-wrap"><table class="layers"><thead><tr><th>Layer case</th><th>dtype</th>'
                    '<th class=num>Forward error</th><th class=num>Gradient error (worst)</th>'
                    '<th class=num>Tolerance</th><th class=num>Headroom</th><th>Verdict</th></tr></thead><tbody>'
                    + "".join(table_rows) + "</tbody></table></div>")

    known = [r for r in records if r.group == "known"]
    if known:
        grid, columns = OrderedDict(), []
        for r in known:                  # quantity "conv, pad 1: torch" -> example and framework
            example, _, fw = r.quantity.rpartition(": ") if ": " in r.quantity else (r.quantity, "", "")
            col = (r.dtype, fw)
            if col not in columns:
                columns.append(col)
            grid.setdefault(example, {})[col] = r
        rows = []
        for example, cells in grid.items():
            row = [e(example)]
            for col in columns:
                r = cells.get(col)
                row.append("—" if r is None else verdict_badge(r.passed, "exact" if r.passed
                                                               else f"off by {r.max_abs:.3g}"))
            rows.append(row)
        heads = ["Example"] + [f"{e(d)} · {e(FW_NAME.get(fw, fw) or 'result')}" for d, fw in columns]
        body.append("<h3>The book's worked examples</h3><p>The small integer examples of the book's §7.2–7.3, "
                    "computed by both frameworks and compared with the book's printed answers. Integers are "
                    "exact in floating point, so the tolerance is zero: every digit must match.</p>"
                    + _table(heads, rows))

    sweeps = _dedupe(inputs.sweeps)
    if sweeps:
        groups = OrderedDict()
        for r in sweeps:
            groups.setdefault((r.case, r.dtype), []).append(r)
        rows = []
        for (case, dtype), recs in groups.items():
            configs = {r.config for r in recs}
            bad = {r.config for r in recs if not r.passed}
            worst = _worst(recs)
            rows.append([e(case), e(dtype), f"{len(configs)}", f"{len(recs)}", f"{len(bad)}",
                         fmt_headroom(worst.headroom),
                         f'<code>{e(short_config(worst.config))}</code> <span class="muted">({e(worst.quantity)})</span>',
                         verdict_badge(not bad)])
        body.append("<h3>Random configurations (property sweep)</h3><p>Besides the hand-picked cases above, "
                    "configurations are drawn at random — batch, channels, sizes from 1 to 12, kernels up to the "
                    "padded input, strides 1–3, padding 0–2, strides that do not divide (rounded down), ties, "
                    "all-equal and all-negative inputs — and run through the same comparison. Every configuration "
                    "tried is in <code>sweeps.csv</code>, not only the failures.</p>"
                    + _table(["Layer", "dtype", "Configurations", "Comparisons", "Failing", "Worst headroom",
                              "Worst configuration", "Verdict"], rows, numeric=(2, 3, 4, 5)))

    other = [r for r in records if r.group not in ("layer", "known", "net", "trace", "gradcheck")]
    if other:
        rows = [[e(r.group), e(r.case), f'<code>{e(short_config(r.config))}</code>', e(r.dtype), e(r.quantity),
                 sci(r.max_rel), sci(r.tol), fmt_headroom(r.headroom), verdict_badge(r.passed)] for r in other]
        body.append("<h3>Other comparisons</h3>" + _table(
            ["Group", "Case", "Configuration", "dtype", "Quantity", "Max rel error", "Tolerance", "Headroom", "Verdict"],
            rows, numeric=(5, 6, 7)))

    if layer_recs:
        rows = [[e(r.case), f'<code>{e(short_config(r.config))}</code>', e(r.dtype), e(r.quantity), e(r.ref_shape),
                 sci(r.max_abs), sci(r.max_rel), sci(r.tol), fmt_headroom(r.headroom), verdict_badge(r.passed),
                 e(r.note)] for r in layer_recs]
        body.append(f"<details><summary>Every layer comparison ({len(layer_recs)} rows, as in "
                    f"<code>layers.csv</code>)</summary>"
                    + _table(["Layer", "Configuration", "dtype", "Quantity", "Shape", "Max abs error", "Max rel error",
                              "Tolerance", "Headroom", "Verdict", "Note"], rows, cls="small", numeric=(5, 6, 7, 8))
                    + "</details>")
    if not body:
        return ""
    intro = ("<p>Each layer of the book (convolution, max and average pooling, ReLU, sigmoid, affine, softmax "
             "with loss, dropout, LRN) is built twice — once from scratch in NumPy, once from stock "
             "<code>torch.nn</code> modules — with the same weights, and fed the same input and the same "
             "upstream gradient. We compare the forward output and every gradient (dx, dW, db).</p>"
             "<p><strong>How to read it:</strong> in the chart, each marker is an error and each vertical bar of the "
             "same colour is its tolerance; markers left of their bar pass. The table gives the numbers.</p>")
    return _section("layers", number, "Layers: forward and gradient errors", intro, "".join(body))


def render_nets(inputs, number) -> str:
    records = _dedupe(inputs.records)
    net_recs = [r for r in records if r.group in ("net", "trace", "gradcheck")]
    if not net_recs:
        return ""
    cases = _cases(net_recs)
    labels = _labels(list(cases))
    body = []
    for key, per_dtype in cases.items():
        series, hlines, labels_x, n_fwd = [], [], None, 0
        div_lines = []
        for dtype, recs in per_dtype.items():
            trace = [r for r in recs if r.group == "trace"]
            if not trace:
                continue
            color, marker = DTYPE_STYLE.get(dtype, (COLORS["grey"], "square"))
            if labels_x is None:
                labels_x = {i: r.quantity for i, r in enumerate(trace)}
                n_fwd = sum(r.quantity.endswith(".out") for r in trace)
            series.append(Series(dtype, list(range(len(trace))), [r.max_rel for r in trace], color, marker,
                                 hollow=False))
            hlines.append(HLine(trace[0].tol, f"{dtype} tolerance", color, "6 4"))
            first = first_divergence(trace)
            if first is None:
                div_lines.append(f"<li>{verdict_badge(True, dtype)} no divergence: every layer, forward and "
                                 f"backward, is within tolerance (worst headroom "
                                 f"{fmt_headroom(_worst(trace).headroom)}, at {e(_worst(trace).quantity)}).</li>")
            else:
                div_lines.append(f"<li>{verdict_badge(False, dtype)} first divergence at <strong>"
                                 f"{e(first.quantity)}</strong>: max rel error {sci(first.max_rel)} against a "
                                 f"tolerance of {sci(first.tol)}. Every layer before it agrees.</li>")
        label = labels[key]
        body.append(f'<h3>{e(label)} <code class="cfg">{e(short_config(key[1]))}</code></h3>')
        if series:
            chart = svg.line_chart(series, title=f"{label}: error after each layer (log scale)",
                                   x_label="", y_label="max rel error", logy=True, hlines=hlines,
                                   width=1000, height=380, x_tick_labels=labels_x, rotate_labels=True,
                                   vlines=[(-0.4, "forward pass →"), (n_fwd - 0.5, "backward pass →")],
                                   desc=f"The max relative error of each layer's output (forward) and of the gradient "
                                        f"arriving at each layer (backward) for {label}, per dtype.")
            body.append(f"<figure>{chart}</figure>")
            body.append(f'<ul class="divergence">{"".join(div_lines)}</ul>')
        # whole-network quantities
        quantities = OrderedDict()
        for dtype, recs in per_dtype.items():
            for r in recs:
                if r.group in ("net", "gradcheck"):     # gradcheck: the reference against central differences
                    quantities.setdefault(r.quantity, {})[dtype] = r
        if quantities:
            dts = [d for d in per_dtype]
            rows = []
            for q, by in quantities.items():
                row = [e(q)]
                for d in dts:
                    r = by.get(d)
                    row += [sci(r.max_rel) if r else "—",
                            (fmt_headroom(r.headroom) + " " + ("✓" if r.passed else "✗")) if r else "—"]
                rows.append(row)
            heads = ["Whole network"] + [h for d in dts for h in (f"{e(d)} error", f"{e(d)} headroom")]
            body.append("<details><summary>Loss, scores and every parameter gradient of the whole network</summary>"
                        + _table(heads, rows, cls="small", numeric=tuple(range(1, 1 + 2 * len(dts)))) + "</details>")
    nets = list(OrderedDict.fromkeys(case for case, _ in cases))
    intro = (f"<p>Whole networks — here {e(_join(nets))} — in both frameworks, with the same weights and the same "
             "minibatch (the book's SimpleConvNet is Conv → ReLU → Pool → Affine → ReLU → Affine → softmax "
             "loss). The chart follows "
             "the data through the network: first each layer's output (forward pass), then the gradient arriving "
             "at each layer (backward pass, from the loss back to the first layer).</p>"
             "<p><strong>How to read it:</strong> small differences are normal and may grow a little from layer "
             "to layer. A bug shows up as a jump above the dashed tolerance line; the <em>first divergence</em> "
             "names the first layer where that happens, which is where to look.</p>")
    return _section("nets", number, "Networks: where errors grow, layer by layer", intro, "".join(body))


def _join(items):
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _loss_diffs(group):
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


def render_training(inputs, number) -> str:
    c = inputs.curves
    if c is None or not len(c):
        return ""
    body = []
    if inputs.training_note:
        body.append(f'<p class="info">{e(inputs.training_note)}</p>')
    for (net, opt), grp in c.groupby(["net", "optimizer"], sort=False):
        body.append(f"<h3>{_run_title(net, opt)}</h3>")
        charts = []
        stats = []
        for dtype in sorted(grp["dtype"].unique(), key=lambda d: (d != "float32", d)):
            g = grp[grp["dtype"] == dtype]
            d = _loss_diffs(g)
            steps = [int(s) for s in d.index]
            series = [Series(FW_NAME.get(fw, fw), steps, [float(v) for v in d[fw]], FW_STYLE[fw][0], "",
                             FW_STYLE[fw][1], width=2.2 if fw == "reference" else 2.0)
                      for fw in ("reference", "torch") if fw in d]
            charts.append(svg.line_chart(series, title=f"Loss per step — {dtype}", x_label="step",
                                         y_label="training loss", width=520, height=290,
                                         desc=f"Training loss per step of both frameworks, {dtype}."))
            diff = [float(v) for v in d["abs"]]
            charts.append(svg.line_chart([Series("|reference − PyTorch|", steps, diff, COLORS["purple"], "")],
                                         title=f"|Loss difference| per step — {dtype} (log)", x_label="step",
                                         y_label="|difference|", logy=True, width=520, height=290,
                                         desc=f"Absolute difference of the two losses at each step, {dtype}, log scale."))
            finite = d["abs"].dropna()
            stats.append(f"<li><strong>{e(dtype)}</strong>: {len(steps)} steps; largest |loss difference| "
                         f"{sci(finite.max() if len(finite) else float('nan'))} (relative "
                         f"{sci(d['rel'].max())}); final losses {sci(d['reference'].iloc[-1], 5) if 'reference' in d else '—'} "
                         f"(reference) and {sci(d['torch'].iloc[-1], 5) if 'torch' in d else '—'} (PyTorch)"
                         + (f"; parameters differ by {sci(g['param_rel_diff'].dropna().iloc[-1])} (relative) at the end"
                            if "param_rel_diff" in g and g["param_rel_diff"].notna().any() else "")
                         + _timing_text(inputs.timing, net, dtype) + ".</li>")
        body.append(f'<div class="grid2">{"".join(f"<figure>{ch}</figure>" for ch in charts)}</div>')
        body.append(f'<ul class="stats">{"".join(stats)}</ul>')
    intro = ("<p>Both networks train side by side on MNIST: the same starting weights, the same minibatches in the "
             "same order, the same optimizer mathematics. If the two implementations agree, their loss curves lie "
             "on top of each other (the dashed PyTorch line covers the solid reference line).</p>"
             "<p><strong>How to read it:</strong> the right-hand charts show how far apart the two losses are at "
             "each step, on a log scale. In float64 the difference stays near 10<sup>−15</sup>: pure rounding. "
             "In float32 it starts near 10<sup>−7</sup> and grows as training goes on: after the first step the two "
             "runs continue from very slightly different weights, and training amplifies small differences. That "
             "is expected of any two correct float32 programs; what matters is that the curves stay together and "
             "reach the same accuracy. Adam amplifies it most: it divides each step by √v̂, so a weight whose "
             "gradient is nearly zero — where the two frameworks' rounding noise differs in sign — takes a full "
             "step of about lr in opposite directions (plain SGD keeps float32 runs within about 10<sup>−6</sup>).</p>")
    return _section("training", number, "Training curves", intro, "".join(body))


def _timing_text(timing, net, dtype):
    if not timing:
        return ""
    parts = [f"{FW_NAME.get(fw, fw)} {sec * 1000:.0f} ms" for (n, d, fw), sec in sorted(timing.items())
             if n == net and d == dtype]
    return ("; median time per step: " + ", ".join(e(p) for p in parts)) if parts else ""


def render_accuracy(inputs, number) -> str:
    ep = inputs.epochs
    if ep is None or not len(ep):
        return ""
    body = []
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
            cells = [f"{v * 100:.2f} %" if v is not None else "—" for v in vals]
            if vals[2] is not None and vals[3] is not None:
                diff = abs(vals[2] - vals[3]) * 100
                cells.append(f"{diff:.2f}")
            else:
                cells.append("—")
            rows.append([e(int(epoch))] + [e(c) for c in cells])
        body.append(f"<h3>{_run_title(net, opt, dtype)}</h3>" + _table(
            ["Epoch", "Train — reference", "Train — PyTorch", "Test — reference", "Test — PyTorch",
             "|Δ test| (points)"], rows, numeric=(0, 1, 2, 3, 4, 5)))
    intro = ("<p>The share of images each network classifies correctly after each epoch, on the training images "
             "and on test images it never saw. Both frameworks are evaluated on the same images.</p>"
             "<p><strong>How to read it:</strong> in float64 the two columns of each pair should be identical; in "
             "float32 they may differ by a few images, because the weights drift apart slightly during training "
             "(see the curves above). The last column gives the gap in percentage points.</p>")
    return _section("accuracy", number, "Accuracy per epoch", intro, "".join(body))


def render_filters(inputs, number) -> str:
    f = inputs.filters
    if not f or not f.get("after"):
        return ""
    stages = [("before", "Before training"), ("after", "After training")]
    cells = []
    for stage, title in stages:
        for fw in ("reference", "torch"):
            W = f.get(stage, {}).get(fw)
            if W is None:
                cells.append('<div class="filter-cell empty">—</div>')
                continue
            W = np.asarray(W)
            flat = W[:, 0] if W.ndim == 4 else W
            uri = svg.png_data_uri(svg.grey_mosaic(flat, columns=10, scale=8, gap=4))
            alt = f"{flat.shape[0]} first-layer filters of the {FW_NAME[fw]}, {title.lower()}"
            cells.append(f'<figure class="filter-cell"><img src="{e(uri)}" alt="{e(alt)}">'
                         f'<figcaption>{e(FW_NAME[fw])} — {e(title.lower())}</figcaption></figure>')
    grid = (f'<div class="filters"><div class="fh"></div><div class="fh">{e(FW_NAME["reference"])}</div>'
            f'<div class="fh">{e(FW_NAME["torch"])}</div>'
            f'<div class="fl">Before training</div>{cells[0]}{cells[1]}'
            f'<div class="fl">After training</div>{cells[2]}{cells[3]}</div>')
    notes = []
    after = f.get("after", {})
    if "reference" in after and "torch" in after:
        a, b = np.asarray(after["reference"], dtype=np.float64), np.asarray(after["torch"], dtype=np.float64)
        if a.shape == b.shape:
            diff = float(np.max(np.abs(a - b)))
            scale = float(np.max(np.abs(b))) or 1.0
            notes.append(f"After training, the largest difference between the two sets of weights is {sci(diff)} "
                         f"({sci(diff / scale)} of the largest weight) — far too small to see.")
    shape = np.asarray(next(iter(after.values()))).shape
    dtype = f.get("dtype")
    intro = ("<p>The book's §7.6 picture: the weights of the first convolution layer drawn as small grey images, "
             f"one per filter ({shape[0]} filters of {shape[-2]}×{shape[-1]} pixels). Before training they are "
             "random noise; after training, many show edges and blobs — the simple patterns the network learned to "
             "look for. Both frameworks are shown side by side, and they should look identical.</p>"
             "<p><strong>How to read it:</strong> as in the book, dark means a large weight and light a small one; "
             "each filter is scaled to its own smallest and largest value.</p>")
    body = grid + "".join(f'<p class="info">{n}</p>' for n in notes)
    if dtype:
        body += f'<p class="muted">Weights from the {e(dtype)} training run.</p>'
    return _section("filters", number, "First-layer filters", intro, body)


# ------------------------------------------------------------------------------------------
# Speed: the results of a separate benchmark run (python -m benchmarks), never measured here
# ------------------------------------------------------------------------------------------

#: The benchmark passes in the order the tables show them, and their names there.
PASS_NAME = OrderedDict([("forward", "forward"), ("backward", "backward"),
                         ("forward+backward", "forward + backward"), ("update", "optimizer update"),
                         ("train step", "training step"), ("epoch", "one epoch")])
#: Passes of a whole training step (the training part of a table, after the layers).
NET_PASSES = {"update", "train step", "epoch"}
#: The bar chart's pass for each kind of row: a layer's forward + backward, a network's step.
CHART_PASSES = ("forward+backward", "train step")


def _ms(v, seconds=False) -> str:
    """Milliseconds for a table cell (an epoch in seconds)."""
    if v is None or not math.isfinite(float(v)):
        return "—"
    v = float(v)
    if seconds:
        return f"{v / 1e3:.1f} s"
    return f"{v:.2f}" if v < 10 else (f"{v:.1f}" if v < 1000 else f"{v:,.0f}".replace(",", "\u2009"))


def _ratio(v, strong=False) -> str:
    """A reference ÷ PyTorch ratio; below 1 (the reference is faster) in the pass colour."""
    if v is None or not math.isfinite(float(v)) or v <= 0:
        return "—"
    text = f"{v:.2f}" if v < 10 else f"{v:.1f}"
    cls = "ratio faster" if v < 1 else "ratio"
    return f'<strong class="{cls}">{e(text)}</strong>' if strong else f'<span class="{cls}">{e(text)}</span>'


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


def _speed_table(groups) -> str:
    """One dtype: layers first, then the training rows; one row per pass."""
    head = ('<tr><th rowspan="2">Layer / configuration</th><th rowspan="2">Pass</th>'
            '<th colspan="2" class="group">NumPy reference, ms</th><th rowspan="2" class=num>PyTorch ms</th>'
            '<th colspan="2" class="group">reference ÷ PyTorch</th></tr>'
            '<tr><th class=num>fast path</th><th class=num>book path</th><th class=num>fast</th>'
            '<th class=num>book</th></tr>')
    body = []
    items = sorted(groups.items(), key=lambda kv: _is_net(kv[1]))        # stable: layers, then training
    net_started = False
    epoch = any("epoch" in passes for passes in groups.values())
    for (layer, config), passes in items:
        if _is_net(passes) and not net_started:
            net_started = True
            body.append('<tr class="sub"><th colspan="7">Training: a whole step (forward, backward, optimizer '
                        'update)' + (' and one epoch' if epoch else '') + '</th></tr>')
        order = [p for p in PASS_NAME if p in passes] + [p for p in passes if p not in PASS_NAME]
        notes = OrderedDict()               # method -> its notes (e.g. an epoch's data and test accuracy)
        for phase in order:
            for method, r in passes[phase].items():
                n = str(r.get("note", ""))
                if n and n != "nan":
                    notes.setdefault(method, OrderedDict())[n] = None
        for k, phase in enumerate(order):
            methods = passes[phase]
            fast, book, single = methods.get("fast"), methods.get("book"), methods.get("-")
            main = fast or single or book
            seconds = phase == "epoch"
            cells = []
            if k == 0:
                cells.append(f'<td rowspan="{len(order)}" class="case"><strong>{e(layer)}</strong><br>'
                             f'<code>{e(config)}</code></td>')
            total = phase in ("forward+backward", "train step", "epoch")
            name = PASS_NAME.get(phase, phase)
            cells.append(f"<td class=pass>{'<strong>' + e(name) + '</strong>' if total else e(name)}</td>")
            if single is not None and fast is None and book is None:
                cells.append(f'<td class="num one" colspan="2">{_ms(single["reference_ms"], seconds)} '
                             f'<span class="muted">(one path)</span></td>')
            else:
                cells.append(f"<td class=num>{_ms(fast['reference_ms'], seconds) if fast else '—'}</td>")
                cells.append(f"<td class=num>{_ms(book['reference_ms'], seconds) if book else '—'}</td>")
            cells.append(f"<td class=num>{_ms(main['torch_ms'], seconds)}</td>")
            if single is not None and fast is None and book is None:
                cells.append(f'<td class="num one" colspan="2">{_ratio(_with_ratio(single), strong=total)}</td>')
            else:
                cells.append(f"<td class=num>{_ratio(_with_ratio(fast), strong=total)}</td>")
                cells.append(f"<td class=num>{_ratio(_with_ratio(book))}</td>")
            body.append(f'<tr{" class=total" if total else ""}>' + "".join(cells) + "</tr>")
        if notes:
            names = {"fast": "fast path", "book": "book path", "-": ""}
            text = " · ".join((f"{names.get(m, m)}: " if names.get(m, m) else "") + "; ".join(ns)
                              for m, ns in notes.items())
            body.append(f'<tr class="notes"><td colspan="7">{e(layer)} <code>{e(config)}</code> — '
                        f'{e(text)}</td></tr>')
    return (f'<div class="table-wrap"><table class="speed"><thead>{head}</thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def _speed_chart(dtypes, threads_text) -> str:
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
    chart = svg.ratio_bars(labels, series,
                           title=f"Reference (fast path) ÷ PyTorch time: each layer forward + backward, and a "
                                 f"training step ({threads_text}; log scale)",
                           x_label="reference ms ÷ PyTorch ms (log scale; 1 = as fast as PyTorch)",
                           left_note="← the NumPy reference is faster", right_note="PyTorch is faster →",
                           desc="For each layer configuration and for the SimpleConvNet training step, the time of "
                                "the reference's fast path divided by PyTorch's, per dtype, as bars from 1 on a "
                                "logarithmic axis.")
    return (f"<figure>{chart}<figcaption>Each bar starts at 1 (as fast as PyTorch) and ends at the ratio written "
            f"beside it: a bar to the left means the NumPy reference's default (fast) path took less time than "
            f"PyTorch, a bar to the right that it took longer (2 = twice as long). Layers are timed forward + "
            f"backward; the SimpleConvNet rows are a whole training step.</figcaption></figure>")


def _threads_text(threads) -> str:
    n = _int_text(threads)
    return f"{n} thread" + ("" if n == "1" else "s")


def _memory_table(memory) -> str:
    groups = OrderedDict()
    for row in memory.to_dict("records"):
        groups.setdefault((str(row["layer"]), str(row["config"]), str(row["dtype"])), {})[str(row["method"])] = row

    def mb(v):
        if v is None or not math.isfinite(float(v)):
            return "—"
        v = float(v)
        return f"{v:.1f} MB" if v < 1000 else f"{v:,.0f} MB".replace(",", "\u2009")

    rows = []
    for (layer, config, dtype), by in groups.items():
        any_row = next(iter(by.values()))
        book, fast, tor = by.get("book"), by.get("fast"), by.get("torch")
        ratio = (float(fast["numpy_peak_mb"]) / float(book["numpy_peak_mb"])
                 if fast is not None and book is not None and float(book["numpy_peak_mb"]) > 0 else float("nan"))
        rows.append([f"<strong>{e(layer)}</strong><br><code>{e(config)}</code>", e(dtype),
                     mb(any_row.get("input_mb", float("nan"))), mb(any_row.get("col_mb", float("nan"))),
                     mb(book["numpy_peak_mb"]) if book is not None else "—",
                     mb(fast["numpy_peak_mb"]) if fast is not None else "—",
                     mb(tor["rss_peak_mb"]) if tor is not None else "—",
                     f"{ratio:.2f}" if math.isfinite(ratio) else "—"])
    return _table(["Layer / configuration", "dtype", "Input x", "One im2col matrix", "Book path", "Fast path",
                   "PyTorch", "fast ÷ book"], rows, cls="speed memory", numeric=(2, 3, 4, 5, 6, 7))


def render_speed(inputs, number) -> str:
    bench = getattr(inputs, "speed", None)
    if bench is None:
        return ""
    where = bench.display_path()
    intro = ("<p>How long does each layer take in the NumPy reference and in PyTorch (on the CPU)? Each layer "
             "was timed forward and backward with the same input, weights and upstream gradient in both "
             "frameworks, and so was a whole SimpleConvNet training step. The reference computes a convolution or "
             "a pooling layer along one of two paths: the <em>fast</em> path (<code>method=\"fast\"</code>, the "
             "default, which every other section of this report uses) and the <em>book</em> path "
             "(<code>method=\"book\"</code>: the book's own <code>im2col</code> / <code>col2im</code> code, kept "
             "to teach from and to check the fast path against).</p>"
             "<p><strong>How to read it:</strong> a ratio is reference milliseconds ÷ PyTorch milliseconds: below "
             "1 the NumPy reference is faster, above 1 PyTorch is (2 = the reference takes twice as long). These "
             "timings come from a separate benchmark run (<code>python -m benchmarks</code>) on the machine "
             "described below, not from the run that made this report, and they never decide a pass or a "
             "fail.</p>")
    if bench.frame is None:
        if bench.problem == "missing":
            why = f"<code>{e(where)}</code> does not exist"
        else:
            why = f"the results file could not be used: {e(bench.problem)}"
        body = (f'<p class="note"><strong>No benchmark results to show:</strong> {why}. To make them, run '
                f'<code>python -m benchmarks</code> from the repository root (a few minutes; '
                f'<code>python -m benchmarks.memory</code> adds the peak-memory table), then make this report '
                f'again — or name a results file with <code>cnn-parity report --benchmarks FILE</code>.</p>')
        return _section("speed", number, "Speed: the NumPy reference against PyTorch", intro, body)

    frame = bench.frame
    tables = _speed_tables(frame)
    if not tables:
        body = f'<p class="note">The results file <code>{e(where)}</code> holds no rows.</p>'
        return _section("speed", number, "Speed: the NumPy reference against PyTorch", intro, body)
    dates = sorted(_uniq(frame, "date"))
    when = "" if not dates else dates[0] if dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}"
    folder = where[:len(where) - len(_file_name(where))] or "."
    cards = [("Results file", f"<code>{e(_file_name(where))}</code>",
              f"in {e(folder)}" + (f" · measured {e(when)}" if when else
                                   (f" · file last modified {e(bench.modified)}" if bench.modified else ""))),
             ("Threads", e(_span(frame["threads"])),
              "NumPy's BLAS and torch pinned to the same count"
              + (f"; median of {e(_range(frame.loc[frame['pass'] != 'epoch', 'reps']))} timed runs"
                 if "reps" in frame.columns and (frame["pass"] != "epoch").any() else "")),
             ]
    if _uniq(frame, "cpu"):
        cards.append(("Processor", e("; ".join(_uniq(frame, "cpu"))), "the machine of the benchmark run"))
    if "load" in frame.columns:
        cards.append(("Load average", e(_span(frame["load"])),
                      "1-minute load when each measurement began (the benchmark itself counts about 1)"))
    blas = _uniq(frame, "blas")
    if _uniq(frame, "numpy"):
        cards.append(("numpy", e(", ".join(_uniq(frame, "numpy"))),
                      "BLAS: " + e("; ".join(blas)) if blas else "its BLAS is not recorded"))
    if _uniq(frame, "torch"):
        cards.append(("torch", e(", ".join(_uniq(frame, "torch"))), "CPU, the same process as the reference"))
    card_html = "".join(f'<div class="card"><div class="card-title">{e(t)}</div>'
                        f'<div class="card-value{" long" if len(re.sub("<[^>]*>", "", v)) > 10 else ""}">{v}</div>'
                        f'<div class="card-note">{n}</div></div>' for t, v, n in cards)
    body = [f'<div class="cards">{card_html}</div>']

    (first_threads, first_blas), first = next(iter(tables.items()))
    threads_text = _threads_text(first_threads) + (f", {first_blas}" if first_blas else "")
    summary = []
    for dtype, groups in first.items():
        layer_rows = [passes["forward+backward"] for passes in groups.values() if "forward+backward" in passes]
        fast = [_with_ratio(_fast(m)) for m in layer_rows if _fast(m) is not None]
        book = [_with_ratio(m.get("book")) for m in layer_rows if "book" in m]
        if fast:
            summary.append(f"in {sum(r < 1 for r in fast)} of {len(fast)} layer configurations in {e(dtype)}"
                           + (f" (the book path in {sum(r < 1 for r in book)} of {len(book)})" if book else ""))
    if summary:
        body.append(f"<p>At {e(threads_text)}, forward + backward, the reference on its default path is faster "
                    "than PyTorch " + " and ".join(summary) + ".</p>")
    body.append(_speed_chart(first, threads_text))

    def dtype_tables(dtypes):
        return "".join(f"<h4>{e(dtype)}</h4>" + _speed_table(groups) for dtype, groups in dtypes.items())

    body.append(f"<h3>Per layer and pass, {e(threads_text)}</h3>"
                "<p>Forward, backward and their sum (the median of the per-run sums), in milliseconds, for the "
                "reference's fast and book paths and for PyTorch, timed in the same loop; layers with only one "
                "path (ReLU, affine) have one reference column. Then the SimpleConvNet training step "
                "(<code>Adam(fused=True)</code> copies torch's fused multiply-adds exactly, "
                "<code>fused=False</code> rounds each operation; PyTorch always runs "
                "<code>torch.optim.Adam</code>) and, when it was measured, one MNIST epoch per framework.</p>"
                + dtype_tables(first))
    for (threads, blas_name), dtypes in list(tables.items())[1:]:
        text = _threads_text(threads) + (f", {blas_name}" if blas_name else "")
        body.append(f"<details><summary>The same measurements at {e(text)}</summary>{dtype_tables(dtypes)}"
                    "</details>")

    if bench.memory is not None and len(bench.memory):
        mem_where = bench.display_path(bench.memory_path)
        notes = "; ".join(_uniq(bench.memory, "note"))
        body.append("<h3>Peak memory of a convolution layer, forward + backward</h3>"
                    "<p>The book path builds the whole im2col matrix (and its gradient); the fast path goes "
                    "through a large input a few images at a time. Book and fast path: the peak of NumPy's "
                    "allocations (tracemalloc); PyTorch: the growth of the process's peak resident set (its "
                    "allocator does not report to tracemalloc; the figure includes its first-call workspace). "
                    f"From <code>{e(mem_where)}</code>" + (f" ({e(notes)})" if notes else "") + ".</p>"
                    + _memory_table(bench.memory))
    files = f"<code>speed.csv</code> (a copy of <code>{e(where)}</code>)"
    if bench.memory is not None:
        files += f" and <code>speed_memory.csv</code> (of <code>{e(bench.display_path(bench.memory_path))}</code>)"
    body.append(f'<p class="muted">Every row is in {files} in this folder. To measure again: '
                f"<code>python -m benchmarks</code> from the repository root.</p>")
    return _section("speed", number, "Speed: the NumPy reference against PyTorch", intro, "".join(body))


def _file_name(path: str) -> str:
    return str(path).replace("\\", "/").rsplit("/", 1)[-1]


def _fmt_measured(value) -> str:
    if isinstance(value, bool):
        return e(value)
    if isinstance(value, (int, np.integer)):
        return e(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if v != 0 and math.isfinite(v) and (abs(v) < 1e-3 or abs(v) >= 1e5):
            return sci(v, 3)
        return e(f"{v:.6g}")
    return e(value)


def render_catalog(inputs, number) -> str:
    if not inputs.catalog:
        return ""
    rows = []
    for d in inputs.catalog:
        m = dict(d.get("measured") or {})
        effect = m.pop("effect", "")
        main = [(k, m.pop(k)) for k in ("book", "torch", "reference") if k in m]
        names = {"book": "book", "torch": "PyTorch", "reference": "reference"}
        items = "".join(f"<dt>{e(names[k])}</dt><dd>{_fmt_measured(v)}</dd>" for k, v in main)
        items += "".join(f"<dt>{e(k.replace('_', ' '))}</dt><dd>{_fmt_measured(v)}</dd>" for k, v in m.items())
        measured = (f'<div class="effect">{e(effect)}</div>' if effect else "") + f'<dl class="measured">{items}</dl>'
        if d.get("error"):
            measured += f'<div class="v fail">✗ the measurement raised {e(d["error"])}</div>'
        rows.append([f"<strong>{e(d['title'])}</strong>", e(d["book"]), e(d["torch"]), e(d["reference"]), measured])
    intro = ("<p>Where the book's code and PyTorch follow different conventions — or the book's code is wrong — the "
             "reference does the right thing and, where both conventions are legitimate, offers both. Each "
             "difference is measured on a small concrete input, so you can see its size; the tests assert the same "
             "numbers for each side.</p><p><strong>How to read it:</strong> the last column shows what each "
             "convention gives on the input described in italics.</p>")
    return _section("catalog", number, "The book and PyTorch: differences in convention", intro,
                    _table(["Difference", "The book", "PyTorch", "This reference", "Measured effect"], rows,
                           cls="catalog"))


def _grid_html(a, cls="grid", mark=None, pad=0, caption=""):
    """A small matrix as a table of cells. mark: (top, left, h, w) cells to highlight; pad: border cells to grey."""
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
            cls_attr = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{cls_attr}>{e(_num(a[i, j]))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{e(caption)}</caption>" if caption else ""
    return f'<table class="{e(cls)}">{cap}<tbody>{"".join(rows)}</tbody></table>'


def _matrix(a, row_labels=None, col_labels=None, cls="grid"):
    """A matrix with optional row labels (left) and column labels (top)."""
    a = np.asarray(a)
    head = ""
    if col_labels is not None:
        head = ("<thead><tr>" + ("<th></th>" if row_labels is not None else "")
                + "".join(f'<th class="colh">{e(c)}</th>' for c in col_labels) + "</tr></thead>")
    rows = []
    for i in range(a.shape[0]):
        lab = f'<th class="rowh">{e(row_labels[i])}</th>' if row_labels is not None else ""
        rows.append(f"<tr>{lab}" + "".join(f"<td>{e(_num(v))}</td>" for v in a[i]) + "</tr>")
    return f'<table class="{e(cls)}">{head}<tbody>{"".join(rows)}</tbody></table>'


def _num(v):
    v = float(v)
    return str(int(v)) if v.is_integer() else f"{v:g}"


def _im2col_body(s) -> str:
    H, W = s.x.shape
    fh, fw = s.W.shape
    P, S = s.pad, s.stride
    n = s.out_h * s.out_w
    names = [f"window ({r // s.out_w},{r % s.out_w})" for r in range(n)]
    steps = []
    first = f'<div class="mats">{_grid_html(s.x, caption=f"input x ({H}×{W})")}'
    if P:
        first += _grid_html(s.x_padded, pad=P, caption=f"padded with {P} ring{'s' if P > 1 else ''} of zeros")
    first += f'{_grid_html(s.W, cls="grid filt", caption=f"filter W ({fh}×{fw})")}</div>'
    steps.append(("The input and the filter", "One image with one channel, and one filter. (In a real layer there are "
                  "many images, channels and filters; the idea is the same.)", first))
    steps.append(("How many windows?",
                  f"OH = (H + 2P − FH) / S + 1 = ({H} + 2·{P} − {fh}) / {S} + 1 = <strong>{s.out_h}</strong>, "
                  f"and OW = ({W} + 2·{P} − {fw}) / {S} + 1 = <strong>{s.out_w}</strong>: the filter visits "
                  f"{s.out_h} × {s.out_w} = {n} windows.", ""))
    wins = "".join(f'<div class="win">{_grid_html(s.x_padded, cls="grid mini", mark=(*s.windows[r], fh, fw), pad=P)}'
                   f'<div class="win-label">{e(names[r])} → row {r}</div></div>' for r in range(n))
    steps.append(("The windows", "The highlighted cells are the values the filter sees at each position.",
                  f'<div class="wins">{wins}</div>'))
    labels = [f"({i},{j})" for i, j in s.filter_positions]
    col_table = _matrix(s.col, row_labels=names, col_labels=labels)
    steps.append(("im2col: one window per row",
                  f"Each window is read left to right, top to bottom, and becomes one row. The column header is the "
                  f"position inside the window. <code>im2col(x, {fh}, {fw}, stride={S}, pad={P})</code> has shape "
                  f"{s.col.shape[0]}×{s.col.shape[1]}.", col_table))
    wcol = _matrix(s.w_col, row_labels=labels, cls="grid filt")
    steps.append(("The filter as a column",
                  f"The filter is flattened in the same order: <code>W.reshape(1, -1).T</code>, shape "
                  f"{s.w_col.shape[0]}×{s.w_col.shape[1]}.",
                  f'<div class="eq">{_grid_html(s.W, cls="grid filt")}<span class="op">→</span>{wcol}</div>'))
    equation = (f'<div class="eq">{_matrix(s.col, col_labels=labels)}<span class="op">×</span>'
                f'{_matrix(s.w_col, col_labels=["W"], cls="grid filt")}<span class="op">=</span>'
                f'{_matrix(s.product, col_labels=["out"], cls="grid out")}</div>')
    prod_rows = "".join(
        f'<tr><th class="rowh">{e(names[r])}</th><td class="expr">'
        + " + ".join(f"{e(_num(a))}·{e(_num(b))}" for a, b in zip(s.col[r], s.w_col[:, 0]))
        + f'</td><td class="res">= {e(_num(s.product[r, 0]))}</td></tr>' for r in range(n))
    steps.append(("One matrix product does every window",
                  f"<code>col @ W_col</code>: ({s.col.shape[0]}×{s.col.shape[1]}) · ({s.w_col.shape[0]}×1) = "
                  f"({s.product.shape[0]}×1). Each row of the result multiplies one window by the filter and adds up:",
                  equation + f'<table class="prod">{prod_rows}</table>'))
    check = verdict_badge(s.matches_convolution, "the same as reference.Convolution" if s.matches_convolution
                          else "differs from reference.Convolution")
    steps.append(("Reshape to the output",
                  f"The {n} results, reshaped to (OH, OW) = ({s.out_h}, {s.out_w}), are the convolution's output. {check}",
                  f'<div class="mats">{_grid_html(s.out, cls="grid out", caption="output")}</div>'))
    return "<ol class=\"steps\">" + "".join(
        f'<li><h4>{e(t)}</h4><p>{txt}</p>{extra}</li>' for t, txt, extra in steps) + "</ol>"


def render_im2col(inputs, number) -> str:
    if not inputs.im2col:
        return ""
    body = _im2col_body(inputs.im2col["pad 0"])
    body += ("<details><summary>The same example with one ring of zero padding (pad = 1): a 4×4 output"
             "</summary>" + _im2col_body(inputs.im2col["pad 1"]) + "</details>")
    intro = ("<p>How does the reference compute a convolution? It does not slide the filter in a loop: "
             "<code>im2col</code> copies every window of the input into one row of a matrix, and then a "
             "<em>single</em> matrix product computes all the windows at once — fast, because matrix products are "
             "what numerical libraries do best. Here is the book's own 4×4 example, step by step. Every number is "
             "computed by the reference code, not typed in. In a terminal: <code>cnn-parity explain im2col</code>.</p>")
    return _section("im2col", number, "How im2col turns a convolution into one matrix product", intro, body)


def render_environment(inputs, number) -> str:
    rows = [[e(k), f"<code>{e(v)}</code>"] for k, v in inputs.environment]
    intro = ("<p>Where these numbers were computed. Floating-point results depend on the library versions, the "
             "BLAS, the CPU and the number of threads, so a report is only comparable with another one made in the "
             "same environment. The same settings are in <code>environment.csv</code>.</p>")
    return _section("environment", number, "Environment", intro, _table(["Setting", "Value"], rows, cls="env"))


# ------------------------------------------------------------------------------------------
# The page
# ------------------------------------------------------------------------------------------

CSS = """
:root{--fg:#111827;--muted:#4b5563;--line:#e5e7eb;--soft:#f6f7f9;--accent:#0072B2;
--pass-fg:#00507d;--pass-bg:#e3f0f9;--fail-fg:#9a3300;--fail-bg:#fdebe0;}
*{box-sizing:border-box}
html{font-size:16px;-webkit-text-size-adjust:100%}
body{margin:0;color:var(--fg);background:#fff;font-family:system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,"Noto Sans","Liberation Sans",sans-serif;line-height:1.55}
main,header .inner,footer{max-width:1100px;margin:0 auto;padding:0 28px}
header{background:#0b2239;color:#fff;padding:34px 0 22px;margin-bottom:8px}
header h1{margin:0 0 6px;font-size:2rem;line-height:1.2;letter-spacing:-.01em}
header .sub{margin:0;color:#cbd5e1}
header nav{margin-top:18px;display:flex;flex-wrap:wrap;gap:6px 8px}
header nav a{color:#e2e8f0;text-decoration:none;border:1px solid #3b5570;border-radius:999px;padding:3px 12px;
font-size:.9rem}
header nav a:hover{background:#1e3a56}
section{padding:26px 0 10px;border-bottom:1px solid var(--line)}
h2{font-size:1.55rem;margin:.2em 0 .5em;display:flex;align-items:center;gap:12px;line-height:1.25}
.num-badge{display:inline-flex;align-items:center;justify-content:center;min-width:2rem;height:2rem;
border-radius:50%;background:var(--accent);color:#fff;font-size:1rem;font-weight:700}
h3{font-size:1.2rem;margin:1.6em 0 .5em}
h4{margin:0 0 .25em;font-size:1.05rem}
.intro{max-width:860px;color:#1f2937}
.intro p{margin:.4em 0 .7em}
p{max-width:860px}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono","Liberation Mono",monospace;
font-size:.86em;background:#f3f4f6;border-radius:4px;padding:.05em .3em}
code.cfg{font-size:.75em;font-weight:400;margin-left:.4em}
.muted{color:var(--muted);font-size:.92em}
.nw{white-space:nowrap}
.note{background:#fffbea;border-left:4px solid #E69F00;padding:8px 12px;border-radius:4px}
.info{background:#f1f5f9;border-left:4px solid #94a3b8;padding:8px 12px;border-radius:4px}
header code{background:#1e3a56;color:#e2e8f0}
.card .pair{font-size:1.15rem;line-height:1.5}
.card .pair .dt{font-size:.8rem;font-weight:600;color:var(--muted);display:inline-block;min-width:4.2em}
.banner{display:flex;gap:18px;align-items:center;border-radius:10px;padding:16px 20px;margin:14px 0;font-size:1.1rem}
.banner .big{font-size:2.6rem;line-height:1;font-weight:700}
.banner.pass{background:var(--pass-bg);color:var(--pass-fg);border:2px solid #9cc7e4}
.banner.fail{background:var(--fail-bg);color:var(--fail-fg);border:2px solid #f0a77c}
.banner.warn{background:#fff7e0;border:2px solid #E69F00}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(180px,1fr));gap:12px;margin:14px 0}
.card{border:1px solid var(--line);border-radius:10px;padding:12px 14px;background:var(--soft)}
.card-title{font-size:.8rem;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);font-weight:600}
.card-value{font-size:1.45rem;font-weight:700;margin:2px 0;font-variant-numeric:tabular-nums}
.card-note{font-size:.85rem;color:var(--muted)}
.howto{font-size:.95rem;background:var(--soft);border-radius:8px;padding:12px 16px;max-width:none}
.v{display:inline-block;border-radius:999px;padding:0 9px;font-weight:600;font-size:.85rem;white-space:nowrap}
.v.pass{background:var(--pass-bg);color:var(--pass-fg)}
.v.fail{background:var(--fail-bg);color:var(--fail-fg);border:1px solid #e58a55}
.table-wrap{overflow-x:auto;margin:10px 0 16px}
table{border-collapse:collapse;font-size:.92rem}
.table-wrap table{width:100%}
th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{background:#eef2f6;font-weight:600;border-bottom:2px solid #cbd5e1;position:sticky;top:0}
tbody tr:nth-child(even) td{background:#fafbfc}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.case{background:#fff !important;border-right:1px solid var(--line)}
td.case code{font-size:.78em;white-space:normal}
table.small{font-size:.82rem}
table.catalog td{min-width:120px}
table.catalog td:last-child{min-width:260px}
.effect{font-style:italic;color:var(--muted);margin-bottom:4px}
dl.measured{display:grid;grid-template-columns:auto 1fr;gap:1px 12px;margin:0}
dl.measured dt{color:var(--muted)}
dl.measured dd{margin:0;font-variant-numeric:tabular-nums;font-weight:600}
table.env td{padding:4px 10px}
table.env td:first-child{white-space:nowrap;font-weight:600}
table.env code{white-space:pre-wrap;word-break:break-word;background:none;padding:0}
figure{margin:14px 0}
figcaption{font-size:.9rem;color:var(--muted);max-width:860px}
svg.chart{max-width:100%;height:auto;display:block}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:8px 18px}
.grid2 figure{margin:6px 0}
ul.divergence,ul.stats{padding-left:0;list-style:none}
ul.divergence li,ul.stats li{margin:4px 0}
details{margin:10px 0 18px;border:1px solid var(--line);border-radius:8px;padding:8px 14px}
details summary{cursor:pointer;font-weight:600;color:var(--accent)}
.filters{display:grid;grid-template-columns:130px 1fr 1fr;gap:10px 18px;align-items:center}
.filters .fh{font-weight:700;text-align:center}
.filters .fl{font-weight:600}
.filter-cell{margin:0;text-align:center}
.filter-cell img{max-width:100%;height:auto;border:1px solid var(--line);image-rendering:pixelated}
.filter-cell figcaption{display:none}
ol.steps{padding-left:1.4em}
ol.steps>li{margin:0 0 22px;padding-left:6px}
ol.steps>li::marker{font-weight:700;color:var(--accent)}
.mats{display:flex;flex-wrap:wrap;gap:26px;align-items:flex-start}
table.grid{border-collapse:separate;border-spacing:3px;font-variant-numeric:tabular-nums}
table.grid caption{caption-side:top;font-size:.85rem;color:var(--muted);padding-bottom:4px;text-align:left}
table.grid td{border:1px solid #cbd5e1;background:#fff;width:2.2em;height:2.2em;text-align:center;
vertical-align:middle;padding:0;font-weight:600;border-radius:4px}
table.grid tbody tr:nth-child(even) td{background:#fff}
table.grid td.pad{color:#9ca3af;background:#f3f4f6 !important;font-weight:400}
table.grid td.in{background:#cfe6f5 !important;border-color:#0072B2;color:#00324f}
table.grid.filt td{background:#fff3d6 !important;border-color:#E69F00}
table.grid.out td{background:#e3f0f9 !important;border-color:#0072B2;font-size:1.1rem;width:2.6em;height:2.6em}
table.grid.mini{border-spacing:2px}
table.grid.mini td{width:1.6em;height:1.6em;font-size:.8rem;font-weight:500}
.eq{display:flex;flex-wrap:wrap;align-items:center;gap:10px;margin:6px 0 10px}
.eq .op{font-size:1.6rem;font-weight:700;color:var(--muted);padding:0 4px}
table.grid thead th{background:none;border:0;position:static}
table.grid th.colh{font-size:.75rem;color:var(--muted);font-weight:600;padding:0 2px;background:none;border:0;
position:static;text-align:center}
table.grid.wide th{font-size:.78rem;color:var(--muted);font-weight:600;padding:2px 4px;background:none;border:0;
position:static}
table.grid th.rowh{text-align:right;white-space:nowrap;font-size:.85rem;color:var(--fg);padding-right:8px;
background:none;border:0}
.wins{display:flex;flex-wrap:wrap;gap:16px}
.win-label{font-size:.82rem;color:var(--muted);text-align:center}
table.prod td,table.prod th{border:0;padding:3px 8px;font-variant-numeric:tabular-nums}
table.prod td.expr{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:.85rem}
table.prod td.res{font-weight:700;white-space:nowrap}
table.prod tbody tr:nth-child(even) td{background:none}
table.speed{font-size:.88rem}
table.speed th,table.speed td{padding:4px 10px}
table.speed td.case{min-width:230px}
table.speed thead th{position:static;vertical-align:bottom}
table.speed thead th.group{text-align:center;border-bottom:1px solid #cbd5e1;white-space:nowrap}
table.speed td.case code{white-space:nowrap}
table.speed td.pass{white-space:nowrap}
table.speed td.one{text-align:center}
table.speed tr.sub th{background:#eef2f6;font-weight:600;color:var(--fg);border-top:2px solid #cbd5e1;
position:static}
table.speed tr.total td{border-bottom-color:#cbd5e1}
table.speed tr.notes td{background:#fff !important;color:var(--muted);font-size:.8rem;word-break:break-word}
table.speed tr.notes code{font-size:.9em}
.ratio.faster{color:var(--pass-fg)}
.card-note{overflow-wrap:anywhere}
.card-value.long{font-size:1.15rem}
footer{color:var(--muted);font-size:.88rem;padding:20px 28px 40px}
footer a{color:var(--accent)}
@media print{header{background:none;color:#000}header nav{display:none}section{break-inside:avoid-page}
thead th{position:static}}
"""


SECTION_TITLES = [("verdict", "Verdict"), ("layers", "Layers"), ("nets", "Networks"), ("training", "Training"),
                  ("accuracy", "Accuracy"), ("filters", "Filters"), ("speed", "Speed"),
                  ("catalog", "Book vs PyTorch"), ("im2col", "im2col"), ("environment", "Environment")]


def render_html(inputs, files=()) -> str:
    """The whole page. Sections without data (e.g. training when none ran) are left out."""
    renderers = [render_verdict, render_layers, render_nets, render_training, render_accuracy, render_filters,
                 render_speed, render_catalog, render_im2col, render_environment]
    sections, number = [], 1
    present = []
    for (sid, short), render in zip(SECTION_TITLES, renderers):
        html = render(inputs, number)    # the list is built per call, so patched renderers are used
        if html:
            sections.append(html)
            present.append((sid, short))
            number += 1
    env = dict(inputs.environment)
    date = env.get("date (UTC)", "")
    commit = env.get("git commit", "unknown")
    sub = (f"Made by <code>{e(inputs.source)}</code>"
           + (f' on <span class="nw">{e(date)} UTC</span>' if date else "")
           + (f" · torch {e(env['torch'])}" if "torch" in env else "")
           + (f" · numpy {e(env['numpy'])}" if "numpy" in env else "")
           + (f" · commit {e(commit[:10])}" if commit and commit != "unknown" else ""))
    nav = "".join(f'<a href="#{e(sid)}">{e(short)}</a>' for sid, short in present)
    links = " · ".join(f'<a href="{e(name)}">{e(name)}</a>' for name in files if name != "index.html")
    footer = (f"<footer>Files in this folder: {links}. The columns of each CSV file are described in the "
              f"project's README. Made by cnn-parity; this page loads nothing from the network.</footer>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<title>cnn-parity report: a from-scratch CNN against PyTorch</title>"
            f"<style>{CSS}</style></head><body>"
            "<header><div class=\"inner\"><h1>Does PyTorch compute what a from-scratch CNN computes?</h1>"
            f"<p class=\"sub\">A NumPy convolutional network written in the style of <em>Deep Learning from "
            f"Scratch</em>, compared with PyTorch layer by layer, gradient by gradient and step by step in training. "
            f"{sub}.</p><nav aria-label=\"Sections\">{nav}</nav></div></header>"
            f"<main>{''.join(sections)}</main>{footer}</body></html>\n")
