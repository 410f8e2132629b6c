"""What the topics' terminal text shares: numbers, small matrices, labelled tables, check lines."""
from __future__ import annotations

import unicodedata

import numpy as np

__all__ = ["num", "grid", "labelled", "table", "check", "heading", "width"]


def num(v, digits: int = 4) -> str:
    """A matrix entry: whole numbers as they are (3, −2), others to ``digits`` significant digits."""
    v = float(v)
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.{digits}g}"


def grid(a, indent="     ", width=None, mark=None, digits: int = 4) -> list[str]:
    """A matrix as right-aligned columns. ``mark``: (top, left, h, w) — cells outside are '·'."""
    a = np.atleast_2d(a)
    width = width or max(len(num(v, digits)) for v in np.ravel(a)) + 1
    lines = []
    for i, row in enumerate(a):
        cells = []
        for j, v in enumerate(row):
            inside = mark is None or (mark[0] <= i < mark[0] + mark[2] and mark[1] <= j < mark[1] + mark[3])
            cells.append(f"{num(v, digits) if inside else '·':>{width}}")
        lines.append(indent + " ".join(cells))
    return lines


def labelled(a, row_labels, col_labels, indent="   ", digits: int = 4) -> list[str]:
    """A matrix with a label before each row and above each column."""
    a = np.atleast_2d(a)
    rw = max(len(str(r)) for r in row_labels) + 2
    cw = max(max(len(str(c)) for c in col_labels), max(len(num(v, digits)) for v in np.ravel(a))) + 1
    lines = [indent + " " * rw + "".join(f"{c:>{cw}}" for c in col_labels)]
    for label, row in zip(row_labels, a):
        lines.append(indent + f"{label:<{rw}}" + "".join(f"{num(v, digits):>{cw}}" for v in row))
    return lines


def width(text: str) -> int:
    """How many columns ``text`` takes in a terminal (a combining accent, as in m̂, takes none)."""
    return sum(1 for ch in text if not unicodedata.combining(ch))


def table(headers, rows, indent="   ") -> list[str]:
    """Rows of strings under their headers, each column as wide as its widest cell (text left-aligned)."""
    rows = [[str(c) for c in r] for r in rows]
    widths = [max(width(str(h)), *(width(r[i]) for r in rows)) for i, h in enumerate(headers)]
    pad = lambda c, w: c + " " * (w - width(c))                                             # noqa: E731
    line = lambda cells: indent + "  ".join(pad(str(c), w) for c, w in zip(cells, widths)).rstrip()   # noqa: E731
    return [line(headers), line("─" * w for w in widths)] + [line(r) for r in rows]


def check(ok: bool, what: str) -> str:
    """'✓ what' or '✗ what'."""
    return f"{'✓' if ok else '✗'} {what}"


def check_lines(checks) -> list[str]:
    """A topic's "Checks:" block: one ✓/✗ line per (what, ok)."""
    return ["Checks:"] + [f"   {check(ok, what)}" for what, ok in checks]


def check_items(checks) -> list[dict]:
    """The same checks as a topic's page shows them."""
    return [{"what": what, "ok": bool(ok)} for what, ok in checks]


def heading(title: str) -> list[str]:
    """The first lines of a topic: its title, underlined."""
    return [title, "═" * len(title), ""]
