"""``cnn-parity explain im2col``: the book's 4×4 convolution example, step by step, for learners.

The example of *Deep Learning from Scratch* §7.2: a 4×4 input and a 3×3 filter, stride 1,
pad 0, whose convolution is [[15, 16], [6, 15]]. Every number shown is computed here by
``reference.im2col`` and a matrix product — nothing is typed in — and checked against
``reference.Convolution``. The same steps are drawn as a section of the HTML report
(``reports/html/templates/sections/im2col.html``, with ``reports.html.sections.about.im2col_context``)
and on the page of ``cnn-parity explain im2col --html FILE``.

    cnn-parity explain im2col            the book's example
    cnn-parity explain im2col --pad 1    the same with one ring of zero padding (4×4 output)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import reference as R

from ..html.sections.about import im2col_example
from .text import grid, num

__all__ = ["BOOK_INPUT", "BOOK_FILTER", "Im2colSteps", "im2col_steps", "format_im2col", "compute", "to_text",
           "to_context"]

#: The book's example (§7.2, figure 7-3): input and filter.
BOOK_INPUT = ((1, 2, 3, 0), (0, 1, 2, 3), (3, 0, 1, 2), (2, 3, 0, 1))
BOOK_FILTER = ((2, 0, 1), (0, 1, 2), (1, 0, 2))


@dataclass(frozen=True)
class Im2colSteps:
    """Every intermediate of one convolution done the im2col way (single image, single channel).

    x (H, W), x_padded (H + 2P, W + 2P), W (FH, FW); col (OH·OW, FH·FW) = ``im2col(x)``;
    w_col (FH·FW, 1) = ``W.reshape(1, -1).T``; product (OH·OW, 1) = ``col @ w_col``;
    out (OH, OW) = product reshaped; windows: the top-left corner (row, column) of each window
    in the padded input, in row order of ``col``; matches_convolution: ``out`` equals
    ``reference.Convolution(W, 0, stride, pad).forward(x)``.
    """

    x: np.ndarray
    x_padded: np.ndarray
    W: np.ndarray
    stride: int
    pad: int
    out_h: int
    out_w: int
    col: np.ndarray
    w_col: np.ndarray
    product: np.ndarray
    out: np.ndarray
    windows: tuple
    matches_convolution: bool

    @property
    def filter_positions(self) -> list[tuple[int, int]]:
        """The (fh, fw) position each column of ``col`` (and row of ``w_col``) comes from."""
        fh, fw = self.W.shape
        return [(i, j) for i in range(fh) for j in range(fw)]


def im2col_steps(x=BOOK_INPUT, W=BOOK_FILTER, stride: int = 1, pad: int = 0) -> Im2colSteps:
    """Run the convolution of ``x`` (H, W) with ``W`` (FH, FW) through ``reference.im2col``."""
    x = np.asarray(x, dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)
    if x.ndim != 2 or W.ndim != 2:
        raise ValueError("x and W must be 2-D (one image, one channel)")
    fh, fw = W.shape
    out_h = R.conv_output_size(x.shape[0], fh, stride, pad)
    out_w = R.conv_output_size(x.shape[1], fw, stride, pad)
    x4 = x[None, None]                                   # (N=1, C=1, H, W), the book's layout
    col = R.im2col(x4, fh, fw, stride=stride, pad=pad)   # (N·OH·OW, C·FH·FW)
    w_col = W.reshape(1, -1).T                           # the book: self.W.reshape(FN, -1).T
    product = col @ w_col                                # (OH·OW, FN)
    out = product.reshape(1, out_h, out_w, -1).transpose(0, 3, 1, 2)[0, 0]
    conv = R.Convolution(W[None, None], np.zeros(1), stride=stride, pad=pad).forward(x4)[0, 0]
    windows = tuple((i * stride, j * stride) for i in range(out_h) for j in range(out_w))
    x_padded = np.pad(x, pad)
    return Im2colSteps(x, x_padded, W, stride, pad, out_h, out_w, col, w_col, product, out,
                       windows, bool(np.array_equal(out, conv)))


# ------------------------------------------------------------------------------------------
# Text
# ------------------------------------------------------------------------------------------

def format_im2col(steps: Im2colSteps) -> str:
    """The explanation as plain text for a terminal."""
    s = steps
    H, W_ = s.x.shape
    fh, fw = s.W.shape
    P, S = s.pad, s.stride
    n_win = s.out_h * s.out_w
    out = [f"im2col, step by step — the book's convolution example (stride {S}, pad {P})", ""]
    k = 1
    out += [f"{k}. The input x: one image with one channel, {H}×{W_}.", ""] + grid(s.x) + [""]
    k += 1
    if P:
        out += [f"{k}. Padding: a border of {P} zero{'s' if P > 1 else ''} all around, so the input becomes "
                f"{H + 2 * P}×{W_ + 2 * P}.", ""] + grid(s.x_padded) + [""]
        k += 1
    out += [f"{k}. The filter W: {fh}×{fw}.", ""] + grid(s.W) + [""]
    k += 1
    out += [f"{k}. How many windows?  OH = (H + 2P − FH) / S + 1 = ({H} + 2·{P} − {fh}) / {S} + 1 = {s.out_h},",
            f"   OW = (W + 2P − FW) / S + 1 = ({W_} + 2·{P} − {fw}) / {S} + 1 = {s.out_w}:"
            f" the filter visits {s.out_h} × {s.out_w} = {n_win} windows.", ""]
    k += 1
    out += [f"{k}. The windows, one at a time (· = outside the window):", ""]
    width = max(len(num(v)) for v in np.ravel(s.x_padded)) + 1
    per_line = max(1, 78 // ((width + 1) * s.x_padded.shape[1] + 4))
    for start in range(0, n_win, per_line):
        chunk = list(range(start, min(start + per_line, n_win)))
        block_w = (width + 1) * s.x_padded.shape[1] + 2
        out.append("   " + "".join(f"{_window_name(s, r):<{block_w + 2}}" for r in chunk).rstrip())
        grids = [grid(s.x_padded, indent="", width=width, mark=(*s.windows[r], fh, fw)) for r in chunk]
        for lines in zip(*grids):
            out.append("   " + "".join(f"{line:<{block_w + 2}}" for line in lines).rstrip())
        out.append("")
    k += 1
    labels = [f"({i},{j})" for i, j in s.filter_positions]
    cw = max(max(len(lb) for lb in labels), max(len(num(v)) for v in np.ravel(s.col))) + 1
    name_w = max(len(_window_name(s, r)) for r in range(n_win)) + 2
    out += [f"{k}. im2col: each window becomes one row of {fh * fw} numbers, read left to right and",
            f"   top to bottom. The column header is the position (row, column) inside the window.",
            f"   im2col(x, {fh}, {fw}, stride={S}, pad={P}) has shape {s.col.shape}: "
            f"{n_win} windows × {fh * fw} values.", ""]
    out.append(" " * (3 + name_w) + "".join(f"{lb:>{cw}}" for lb in labels))
    for r in range(n_win):
        out.append("   " + f"{_window_name(s, r):<{name_w}}" + "".join(f"{num(v):>{cw}}" for v in s.col[r]))
    out.append("")
    k += 1
    out += [f"{k}. The filter flattened into one column, in the same (row, column) order:",
            f"   W.reshape(1, -1).T has shape {s.w_col.shape}.", ""]
    for lb, v in zip(labels, s.w_col[:, 0]):
        out.append(f"   {lb:>6} {num(v):>4}")
    out.append("")
    k += 1
    out += [f"{k}. One matrix product does every window at once: col @ W_col, shape "
            f"{s.col.shape} · {s.w_col.shape} = {s.product.shape}.",
            "   Each row: window values times filter values, added up.", ""]
    for r in range(n_win):
        terms = " + ".join(f"{num(a)}·{num(b)}" for a, b in zip(s.col[r], s.w_col[:, 0]))
        out.append(f"   {_window_name(s, r):<{name_w}}{terms} = {num(s.product[r, 0])}")
    out.append("")
    k += 1
    out += [f"{k}. Reshape the {n_win} results to (OH, OW) = ({s.out_h}, {s.out_w}): the output of the convolution.", ""]
    out += grid(s.out) + [""]
    verdict = "the same output ✓" if s.matches_convolution else "a DIFFERENT output ✗"
    out.append(f"Check: reference.Convolution(W, b=0, stride={S}, pad={P}).forward(x) gives {verdict}")
    return "\n".join(out)


def _window_name(s: Im2colSteps, r: int) -> str:
    i, j = divmod(r, s.out_w)
    return f"window ({i},{j})"


# ------------------------------------------------------------------------------------------
# The topic's three functions (see reports.explain)
# ------------------------------------------------------------------------------------------

def compute(pad: int = 0, stride: int = 1) -> Im2colSteps:
    return im2col_steps(stride=stride, pad=pad)


def to_text(steps: Im2colSteps) -> str:
    return format_im2col(steps)


def to_context(steps: Im2colSteps) -> dict:
    """The report's im2col section, for this one example (the report adds the padded one)."""
    return {"plain": im2col_example(steps), "padded": None}
