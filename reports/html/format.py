"""Numbers and small values formatted for the page.

What comes back is text, except for the few values that need markup of their own — a power of ten
with a raised exponent (:func:`sci`), a headroom with its "(exact)" note (:func:`fmt_headroom`),
a measured value that may be such a number (:func:`fmt_measured`). Those are returned as
:class:`markupsafe.Markup`, built here from escaped pieces, so the templates (autoescaped) print
them as they are and everything else is escaped.
"""
from __future__ import annotations

import math

import numpy as np
from markupsafe import Markup, escape

__all__ = ["sci", "fmt_headroom", "fmt_measured", "join", "num", "file_name"]

_MINUS = str.maketrans("-", "−")


def sci(v, digits=2) -> Markup:
    """A number for a table cell, as HTML: 0, ∞, 0.25, or 2.2×10<sup>−16</sup>."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return Markup("—")
    v = float(v)
    if v == 0:
        return Markup("0")
    if math.isinf(v):
        return Markup("∞")
    if 1e-3 <= abs(v) < 1e4:
        return escape(f"{v:.{digits}g}")
    exp = int(math.floor(math.log10(abs(v))))
    mant = v / 10 ** exp
    if round(mant, digits - 1) >= 10:
        mant, exp = mant / 10, exp + 1
    return Markup("{}×10<sup>{}</sup>").format(f"{mant:.{digits - 1}f}", str(exp).translate(_MINUS))


def fmt_headroom(h) -> Markup:
    """Headroom = tolerance ÷ error: '∞' when the two agree to the bit."""
    h = float(h)
    if math.isinf(h):
        return Markup('∞ <span class="muted">(exact)</span>')
    if h < 0.01:
        return sci(h)
    if h < 10:
        return escape(f"{h:.2g}" if h < 1 else f"{h:.1f}")
    if h < 1e4:
        return escape(f"{h:,.0f}".replace(",", "\u2009"))
    return sci(h)


def fmt_measured(value) -> Markup:
    """A value of the catalog's ``measure()``: booleans and integers as they are, floats to six
    significant digits (very small or large ones as powers of ten)."""
    if isinstance(value, (bool, np.bool_)):
        return escape(str(value))
    if isinstance(value, (int, np.integer)):
        return escape(str(int(value)))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if v != 0 and math.isfinite(v) and (abs(v) < 1e-3 or abs(v) >= 1e5):
            return sci(v, 3)
        return escape(f"{v:.6g}")
    return escape(str(value))


def join(items) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def num(v) -> str:
    """A small matrix entry: 3, 0.5."""
    v = float(v)
    return str(int(v)) if v.is_integer() else f"{v:g}"


def file_name(path) -> str:
    """The last part of a path, with either kind of slash."""
    return str(path).replace("\\", "/").rsplit("/", 1)[-1]
