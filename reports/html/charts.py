"""Small, dependency-free charts for the HTML report, as inline SVG.

Why hand-written SVG rather than matplotlib: the report needs only three kinds of chart (a dot
chart, a line chart with an optional log axis, bars of a ratio around 1), and writing them
directly keeps the package free of a plotting dependency, makes the output deterministic
(matplotlib's SVG carries random ids and a date), keeps the page small, and lets the text in the
charts use the page's own system fonts, so the charts stay sharp and readable at any zoom.

Every chart function returns a :class:`markupsafe.Markup` ``<svg>`` element that the templates
print as it is: all the text inside it (titles, labels, tooltips) is escaped here. Colours are the
Okabe–Ito palette, which stays distinguishable for colour-blind readers, and every series also
differs by marker shape or dash pattern. The filter images are in :mod:`reports.html.images`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

import numpy as np
from markupsafe import Markup

__all__ = ["Series", "HLine", "line_chart", "dot_chart", "ratio_bars", "COLORS", "fmt_tick"]

#: Okabe–Ito colours: distinguishable with every common colour-vision deficiency.
COLORS = {
    "blue": "#0072B2", "orange": "#E69F00", "vermillion": "#D55E00", "green": "#009E73",
    "sky": "#56B4E9", "purple": "#CC79A7", "yellow": "#F0E442", "black": "#000000",
    "grey": "#6b7280", "grid": "#e5e7eb", "axis": "#374151",
}

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, 'Noto Sans', 'Liberation Sans', sans-serif"
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _f(v: float) -> str:
    """A coordinate with one decimal (small, deterministic output)."""
    s = f"{v:.1f}"
    return s[:-2] if s.endswith(".0") else s


@dataclass
class Series:
    """One line (or set of markers) of a chart.

    xs, ys: numbers (ys may hold 0 or NaN; on a log axis zeros are drawn on the "0" line at
    the bottom, NaN leaves a gap). marker: "circle", "triangle", "square", "diamond" or "".
    dash: an SVG dash pattern ("" solid). hollow: open markers.
    """

    name: str
    xs: list
    ys: list
    color: str = COLORS["blue"]
    marker: str = "circle"
    dash: str = ""
    hollow: bool = False
    width: float = 2.0
    line: bool = True


@dataclass
class HLine:
    """A horizontal reference line (e.g. a tolerance), labelled at its right end."""

    y: float
    label: str
    color: str = COLORS["grey"]
    dash: str = "6 4"


@dataclass
class _LogAxis:
    lo: float           # decade exponents
    hi: float
    has_zero: bool = False

    @classmethod
    def fit(cls, values, extra=()):
        vals = [v for v in list(values) + list(extra) if v is not None and math.isfinite(v) and v > 0]
        zero = any(v == 0 for v in values if v is not None)
        if not vals:
            return cls(-1.0, 0.0, zero)
        lo = math.floor(math.log10(min(vals)) - 0.05)     # a little room beyond the extreme values
        hi = math.ceil(math.log10(max(vals)) + 0.05)
        if hi == lo:
            hi += 1
        return cls(float(lo), float(hi), zero)

    def ticks(self):
        span = int(self.hi - self.lo)
        step = 1 if span <= 8 else (2 if span <= 16 else 3)
        return [e for e in range(int(self.lo), int(self.hi) + 1) if (e - int(self.hi)) % step == 0]


def fmt_tick(exp: int) -> str:
    """10 to an integer power, with Unicode superscripts (10⁻¹⁶): for tooltips and plain text."""
    if exp == 0:
        return "1"
    if exp == 1:
        return "10"
    return "10" + str(exp).translate(_SUPERSCRIPT)


def _tick_text(x, y, label, anchor="middle", size=12.0) -> str:
    """An axis label; a power of ten ("1e-15" form in ``label``) gets a real raised exponent."""
    head = f'<text x="{_f(x)}" y="{_f(y)}" font-size="{size:g}" text-anchor="{anchor}">'
    if isinstance(label, int):
        if label in (0, 1):
            return head + ("1" if label == 0 else "10") + "</text>"
        exp = str(label).replace("-", "−")
        return head + f'10<tspan dy="-0.45em" font-size="{size * 0.78:.1f}">{exp}</tspan></text>'
    return head + escape(str(label)) + "</text>"


def _marker(kind: str, x: float, y: float, color: str, hollow: bool, size: float = 4.5,
            title: str = "") -> str:
    fill = "#fff" if hollow else color
    attrs = f'fill="{fill}" stroke="{color}" stroke-width="1.6"'
    tip = f"<title>{escape(title)}</title>" if title else ""
    if kind == "triangle":
        s = size * 1.25
        pts = f"{_f(x)},{_f(y - s)} {_f(x + s)},{_f(y + s * 0.8)} {_f(x - s)},{_f(y + s * 0.8)}"
        return f'<polygon points="{pts}" {attrs}>{tip}</polygon>'
    if kind == "square":
        s = size * 0.9
        return f'<rect x="{_f(x - s)}" y="{_f(y - s)}" width="{_f(2 * s)}" height="{_f(2 * s)}" {attrs}>{tip}</rect>'
    if kind == "diamond":
        s = size * 1.3
        pts = f"{_f(x)},{_f(y - s)} {_f(x + s)},{_f(y)} {_f(x)},{_f(y + s)} {_f(x - s)},{_f(y)}"
        return f'<polygon points="{pts}" {attrs}>{tip}</polygon>'
    if kind == "circle":
        return f'<circle cx="{_f(x)}" cy="{_f(y)}" r="{_f(size)}" {attrs}>{tip}</circle>'
    return ""


def _legend(items, x, y, max_width) -> tuple[str, float]:
    """Legend entries laid out left to right, wrapping; returns (svg, height used)."""
    out, cx, cy = [], x, y
    for label, color, marker, dash, hollow in items:
        w = 34 + 7.2 * len(label) + 18
        if cx + w > x + max_width and cx > x:
            cx, cy = x, cy + 20
        if dash is not None:
            out.append(f'<line x1="{_f(cx)}" y1="{_f(cy)}" x2="{_f(cx + 26)}" y2="{_f(cy)}" stroke="{color}" '
                       f'stroke-width="2"' + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")
        if marker:
            out.append(_marker(marker, cx + 13, cy, color, hollow, 4))
        out.append(f'<text x="{_f(cx + 32)}" y="{_f(cy + 4)}" font-size="12.5">{escape(label)}</text>')
        cx += w
    return "".join(out), cy - y + 20


def _svg_open(width, height, title, desc):
    # No xmlns: inline SVG in HTML does not need it, and the page then holds no URL at all.
    return (f'<svg class="chart" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" font-family="{escape(FONT)}" fill="#111827">'
            f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>")


def line_chart(series: list[Series], *, title: str, x_label: str, y_label: str, logy=False,
               hlines: list[HLine] = (), width=560, height=300, x_ticks=None, x_tick_labels=None,
               vlines=(), desc="", rotate_labels=False) -> Markup:
    """A line chart. ``logy``: log10 y axis; zeros are drawn on a separate "0" line below the
    lowest decade. ``x_tick_labels``: {x: label} for categorical x (labels may be rotated).
    ``vlines``: [(x, label)] vertical separators."""
    legend_items = [(s.name, s.color, s.marker, s.dash if s.line else None, s.hollow) for s in series]
    legend_items += [(h.label, h.color, "", h.dash, False) for h in hlines if h.label]
    legend_svg, legend_h = _legend(legend_items, 64, 0, width - 80)
    n_labels = len(x_tick_labels or {})
    label_size = 11.0 if n_labels <= 24 else 9.5
    angle = 40 if n_labels <= 24 else 60
    if rotate_labels and x_tick_labels:
        longest = max(len(str(v)) for v in x_tick_labels.values())
        bottom = 16 + int(longest * label_size * 0.6 * math.sin(math.radians(angle))) + (20 if x_label else 0)
    else:
        bottom = 44 if x_label else 28
    top = 40 + legend_h
    left, right = 64, 16
    pw, ph = width - left - right, height - top - bottom

    xs_all = [x for s in series for x in s.xs]
    if not xs_all:
        xs_all = [0, 1]
    x0, x1 = min(xs_all), max(xs_all)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    pad_x = 0.02 * (x1 - x0) if x_tick_labels is None else 0.5
    x0, x1 = x0 - pad_x, x1 + pad_x

    def sx(x):
        return left + (x - x0) / (x1 - x0) * pw

    ys_all = [y for s in series for y in s.ys if y is not None and not (isinstance(y, float) and math.isnan(y))]
    if logy:
        axis = _LogAxis.fit(ys_all, [h.y for h in hlines])
        zero_gap = 22 if axis.has_zero else 0

        def sy(y):
            if y <= 0:
                return top + ph
            e = math.log10(y)
            return top + (ph - zero_gap) * (1 - (e - axis.lo) / (axis.hi - axis.lo))
        yticks = [(10.0 ** e, e) for e in axis.ticks()]
        if axis.has_zero:
            yticks.append((0.0, "0"))
    else:
        finite = [y for y in ys_all if math.isfinite(y)] + [h.y for h in hlines]
        lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
        if hi == lo:
            lo, hi = lo - 0.5, hi + 0.5
        lo_t, hi_t, step = _nice_range(lo, hi)

        def sy(y):
            return top + ph * (1 - (y - lo_t) / (hi_t - lo_t))
        yticks = []
        v = lo_t
        while v <= hi_t + step * 1e-9:
            yticks.append((v, _fmt_linear(v, step)))
            v += step

    out = [_svg_open(width, height, title, desc or title)]
    out.append(f'<text x="{left}" y="18" font-size="14" font-weight="600">{escape(title)}</text>')
    out.append(f'<g transform="translate(0,36)">{legend_svg}</g>')
    # grid + y ticks
    for v, label in yticks:
        y = sy(v)
        out.append(f'<line x1="{left}" y1="{_f(y)}" x2="{left + pw}" y2="{_f(y)}" stroke="{COLORS["grid"]}"/>')
        out.append(_tick_text(left - 6, y + 4, label, "end"))
    if logy and axis.has_zero:
        yz = top + ph - zero_gap / 2
        out.append(f'<line x1="{left - 4}" y1="{_f(yz - 3)}" x2="{left + 4}" y2="{_f(yz + 3)}" stroke="{COLORS["axis"]}"/>')
    # x ticks
    if x_tick_labels is not None:
        for x, label in x_tick_labels.items():
            X = sx(x)
            out.append(f'<line x1="{_f(X)}" y1="{top + ph}" x2="{_f(X)}" y2="{top + ph + 4}" stroke="{COLORS["axis"]}"/>')
            if rotate_labels:
                out.append(f'<text transform="translate({_f(X + 3)},{top + ph + 10}) rotate(-{angle})" '
                           f'font-size="{label_size:g}" text-anchor="end">{escape(label)}</text>')
            else:
                out.append(_tick_text(X, top + ph + 17, label))
    else:
        for v in (x_ticks if x_ticks is not None else _nice_ticks(x0 + pad_x, x1 - pad_x)):
            X = sx(v)
            out.append(f'<line x1="{_f(X)}" y1="{top + ph}" x2="{_f(X)}" y2="{top + ph + 4}" stroke="{COLORS["axis"]}"/>')
            out.append(_tick_text(X, top + ph + 17, _fmt_num(v)))
    for x, label in vlines:
        X = sx(x)
        out.append(f'<line x1="{_f(X)}" y1="{top}" x2="{_f(X)}" y2="{top + ph}" stroke="{COLORS["axis"]}" stroke-dasharray="2 3"/>')
        if label:
            out.append(f'<text x="{_f(X + 4)}" y="{top + 12}" font-size="11" fill="{COLORS["axis"]}">{escape(label)}</text>')
    # axes
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" stroke="{COLORS["axis"]}"/>')
    out.append(f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="{COLORS["axis"]}"/>')
    out.append(f'<text transform="translate(14,{_f(top + ph / 2)}) rotate(-90)" font-size="12" text-anchor="middle">'
               f'{escape(y_label)}</text>')
    if x_label:
        out.append(f'<text x="{_f(left + pw / 2)}" y="{height - 6}" font-size="12" text-anchor="middle">{escape(x_label)}</text>')
    # reference lines
    for h in hlines:
        y = sy(h.y)
        out.append(f'<line x1="{left}" y1="{_f(y)}" x2="{left + pw}" y2="{_f(y)}" stroke="{h.color}" '
                   f'stroke-width="1.5" stroke-dasharray="{h.dash}"/>')
    # series
    for s in series:
        pts = [(sx(x), None if y is None or (isinstance(y, float) and math.isnan(y)) else sy(y), x, y)
               for x, y in zip(s.xs, s.ys)]
        if s.line:
            segs, cur = [], []
            for X, Y, _, _ in pts:
                if Y is None:
                    if cur:
                        segs.append(cur)
                    cur = []
                else:
                    cur.append(f"{_f(X)},{_f(Y)}")
            if cur:
                segs.append(cur)
            for seg in segs:
                if len(seg) > 1:
                    out.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{s.color}" '
                               f'stroke-width="{s.width}" stroke-linejoin="round"'
                               + (f' stroke-dasharray="{s.dash}"' if s.dash else "") + "/>")
        if s.marker and len(pts) <= 80:
            for X, Y, x, y in pts:
                if Y is not None:
                    out.append(_marker(s.marker, X, Y, s.color, s.hollow, 3.8, f"{s.name}: {_fmt_num(y)}"))
    out.append("</svg>")
    return Markup("".join(out))


def dot_chart(rows: list[str], panels: list[dict], *, title: str, x_label: str, legend: list,
              width=980, row_h=21, label_w=250, desc="") -> Markup:
    """A Cleveland dot chart on a log10 x axis: one row per category, one panel per quantity.

    panels: [{"title": str, "points": [(row, value, color, marker, hollow, tooltip)],
              "ticks": [(row, value, color)]}] — ``ticks`` are short vertical bars (tolerances).
    legend: [(label, color, marker, dash, hollow)]. Zeros go in a separate "0" column at the left.
    """
    values = [p[1] for panel in panels for p in panel["points"]] + [t[1] for panel in panels for t in panel["ticks"]]
    axis = _LogAxis.fit(values)
    legend_svg, legend_h = _legend(legend, label_w, 0, width - label_w - 10)
    top = 40 + legend_h + 24
    bottom = 44
    height = top + row_h * len(rows) + bottom
    gap = 30
    pw = (width - label_w - 24 - gap * (len(panels) - 1)) / max(len(panels), 1)
    zero_w = 44 if axis.has_zero else 0         # the "0" column, then a gap before the first decade

    out = [_svg_open(width, height, title, desc or title)]
    out.append(f'<text x="0" y="18" font-size="14" font-weight="600">{escape(title)}</text>')
    out.append(f'<g transform="translate(0,36)">{legend_svg}</g>')
    for i, label in enumerate(rows):
        y = top + row_h * (i + 0.5)
        if i % 2 == 0:
            out.append(f'<rect x="0" y="{_f(top + row_h * i)}" width="{width}" height="{row_h}" fill="#f6f7f9"/>')
        out.append(f'<text x="{label_w - 10}" y="{_f(y + 4)}" font-size="12" text-anchor="end">{escape(label)}</text>')
    for k, panel in enumerate(panels):
        px = label_w + k * (pw + gap)

        def sx(v, px=px):
            if v <= 0:
                return px + 14
            return px + zero_w + (pw - zero_w - 6) * (math.log10(v) - axis.lo) / (axis.hi - axis.lo)
        out.append(f'<text x="{_f(px + pw / 2)}" y="{top - 8}" font-size="13" font-weight="600" '
                   f'text-anchor="middle">{escape(panel["title"])}</text>')
        for e in axis.ticks():
            X = sx(10.0 ** e)
            out.append(f'<line x1="{_f(X)}" y1="{top}" x2="{_f(X)}" y2="{top + row_h * len(rows)}" stroke="{COLORS["grid"]}"/>')
            out.append(_tick_text(X, top + row_h * len(rows) + 17, e))
        if axis.has_zero:
            X = sx(0)
            out.append(_tick_text(X, top + row_h * len(rows) + 17, "0"))
            out.append(f'<line x1="{_f(px + 28)}" y1="{top}" x2="{_f(px + 28)}" y2="{top + row_h * len(rows)}" '
                       f'stroke="{COLORS["axis"]}" stroke-dasharray="2 3"/>')
        out.append(f'<rect x="{_f(px)}" y="{top}" width="{_f(pw)}" height="{row_h * len(rows)}" fill="none" '
                   f'stroke="{COLORS["axis"]}"/>')
        for row, v, color in panel["ticks"]:
            y = top + row_h * (row + 0.5)
            X = sx(v)
            out.append(f'<line x1="{_f(X)}" y1="{_f(y - row_h * 0.42)}" x2="{_f(X)}" y2="{_f(y + row_h * 0.42)}" '
                       f'stroke="{color}" stroke-width="2.5"/>')
        for row, v, color, marker, hollow, tip in panel["points"]:
            if v is None or not math.isfinite(v):
                continue
            y = top + row_h * (row + 0.5)
            out.append(_marker(marker, sx(v), y, color, hollow, 4.2, tip))
        out.append(f'<text x="{_f(px + pw / 2)}" y="{height - 8}" font-size="12" text-anchor="middle">{escape(x_label)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def _fmt_ratio_tick(k: int) -> str:
    """2 to the power k as an axis label: 0.25, 0.5, 1, 2, 4, ..."""
    return str(2 ** k) if k >= 0 else f"{2.0 ** k:g}"


def ratio_bars(rows: list[str], series: list[tuple], *, title: str, x_label: str, width=980, bar_h=10,
               left_note="", right_note="", desc="", value_fmt=None) -> Markup:
    """Horizontal bars of a ratio on a log2 axis, each drawn from 1 to its value: bars to the
    left of the line at 1 are ratios below 1, bars to the right above 1.

    rows: one label per row. series: [(name, color, values, tooltips)] with one value (None or
    NaN: no bar) and one tooltip per row; each row holds one bar per series. left_note /
    right_note: what each side of 1 means, written above the plot. value_fmt: number -> text
    written at the end of each bar (default two decimals).
    """
    value_fmt = value_fmt or (lambda v: f"{v:.2f}" if v < 10 else f"{v:.1f}")
    finite = [v for _, _, vals, _ in series for v in vals
              if v is not None and isinstance(v, (int, float)) and math.isfinite(v) and v > 0]
    lo = min([math.log2(v) for v in finite] + [0.0]) - 0.45       # room for the value labels
    hi = max([math.log2(v) for v in finite] + [0.0]) + 0.45
    lo, hi = min(lo, -1.0), max(hi, 1.0)
    label_w = int(min(460, max(160, 16 + 7.1 * max((len(r) for r in rows), default=10))))
    legend_svg, legend_h = _legend([(name, color, "square", None, False) for name, color, _, _ in series],
                                   label_w, 0, width - label_w - 10)
    top = 40 + legend_h + 26
    gap = 3
    row_h = len(series) * bar_h + (len(series) - 1) * gap + 12
    plot_h = row_h * len(rows)
    height = top + plot_h + 46
    px, pw = label_w + 4, width - label_w - 4 - 12

    def sx(v):
        return px + pw * (math.log2(v) - lo) / (hi - lo)

    out = [_svg_open(width, height, title, desc or title)]
    out.append(f'<text x="0" y="18" font-size="14" font-weight="600">{escape(title)}</text>')
    out.append(f'<g transform="translate(0,36)">{legend_svg}</g>')
    for i, label in enumerate(rows):
        y0 = top + row_h * i
        if i % 2 == 0:
            out.append(f'<rect x="0" y="{_f(y0)}" width="{width}" height="{row_h}" fill="#f6f7f9"/>')
        out.append(f'<text x="{label_w - 10}" y="{_f(y0 + row_h / 2 + 4)}" font-size="12" '
                   f'text-anchor="end">{escape(label)}</text>')
    k_lo, k_hi = math.ceil(lo), math.floor(hi)
    step = 1 if k_hi - k_lo <= 10 else 2
    for k in range(k_lo, k_hi + 1):
        if k % step:
            continue
        X = sx(2.0 ** k)
        out.append(f'<line x1="{_f(X)}" y1="{top}" x2="{_f(X)}" y2="{top + plot_h}" stroke="{COLORS["grid"]}"/>')
        out.append(_tick_text(X, top + plot_h + 17, _fmt_ratio_tick(k)))
    out.append(f'<rect x="{_f(px)}" y="{top}" width="{_f(pw)}" height="{plot_h}" fill="none" '
               f'stroke="{COLORS["axis"]}"/>')
    for i in range(len(rows)):
        for j, (name, color, vals, tips) in enumerate(series):
            v = vals[i] if i < len(vals) else None
            if v is None or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                continue
            y = top + row_h * i + 6 + j * (bar_h + gap)
            X1, Xv = sx(1.0), sx(v)
            tip = tips[i] if tips and i < len(tips) else f"{name}: {value_fmt(v)}"
            out.append(f'<rect x="{_f(min(X1, Xv))}" y="{_f(y)}" width="{_f(max(abs(Xv - X1), 1.0))}" '
                       f'height="{bar_h}" fill="{color}"><title>{escape(tip)}</title></rect>')
            right = v >= 1
            out.append(f'<text x="{_f(Xv + 4 if right else Xv - 4)}" y="{_f(y + bar_h - 1)}" font-size="11" '
                       f'text-anchor="{"start" if right else "end"}" fill="{COLORS["axis"]}">'
                       f'{escape(value_fmt(v))}</text>')
    X1 = sx(1.0)
    out.append(f'<line x1="{_f(X1)}" y1="{top - 4}" x2="{_f(X1)}" y2="{top + plot_h}" stroke="{COLORS["black"]}" '
               f'stroke-width="1.5"/>')
    if left_note:
        out.append(f'<text x="{_f(X1 - 8)}" y="{top - 8}" font-size="12" text-anchor="end" '
                   f'fill="{COLORS["axis"]}">{escape(left_note)}</text>')
    if right_note:
        out.append(f'<text x="{_f(X1 + 8)}" y="{top - 8}" font-size="12" fill="{COLORS["axis"]}">'
                   f'{escape(right_note)}</text>')
    out.append(f'<text x="{_f(px + pw / 2)}" y="{height - 8}" font-size="12" text-anchor="middle">'
               f'{escape(x_label)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


# ------------------------------------------------------------------------------------------
# Axis helpers
# ------------------------------------------------------------------------------------------

def _nice_step(span: float, target: int = 5) -> float:
    raw = span / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def _nice_range(lo, hi):
    step = _nice_step(hi - lo)
    return math.floor(lo / step) * step, math.ceil(hi / step) * step, step


def _nice_ticks(lo, hi):
    step = _nice_step(hi - lo)
    if float(step).is_integer() and step < 1:
        step = 1
    start = math.ceil(lo / step) * step
    ticks, v = [], start
    while v <= hi + step * 1e-9:
        ticks.append(v)
        v += step
    return ticks


def _fmt_linear(v, step):
    if abs(v) < step * 1e-9:
        return "0"
    decimals = max(0, -int(math.floor(math.log10(step)))) if step < 1 else 0
    return f"{v:.{decimals}f}"


def _fmt_num(v) -> str:
    if v is None:
        return ""
    if isinstance(v, (int, np.integer)) or (isinstance(v, float) and v.is_integer() and abs(v) < 1e6):
        return str(int(v))
    if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
        return f"{v:.2e}"
    return f"{v:.4g}"
