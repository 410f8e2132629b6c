"""``cnn-parity explain max-pool``: where max pooling's gradient goes, ties included.

Forward, each window keeps its largest value; backward, the window's whole gradient goes to the
place that value came from, and nothing to the others (the book: ``arg_max = np.argmax(col,
axis=1)`` and ``dmax[np.arange(...), arg_max] = dout``, then ``col2im``). Where a window holds
its maximum twice — an all-zero window after a ReLU is common — ``argmax`` picks the *first* in
row-major order; PyTorch's ``max_pool2d`` does the same (its CPU kernel replaces the maximum only
on a strictly larger value), so the two agree. ``torch.amax`` over the same windows does not:
its gradient is split evenly among the tied values. Overlapping windows (stride 1) can pick the
same pixel: ``col2im`` adds their gradients.

Every number is computed: the windows by ``reference.im2col``, the routing by NumPy, checked
against ``reference.Pooling``, against ``F.max_pool2d`` (its ``return_indices`` and its gradient)
and set beside ``torch.amax``'s gradient.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

import reference as R

from ..html.sections.about import grid_cells, matrix_cells
from .text import check_items, check_lines, grid, heading, labelled, num

__all__ = ["POOL_INPUT", "MaxPoolSteps", "compute", "to_text", "to_context"]

#: A 4×4 input (say, a ReLU's output) with a tie in the top-left 2×2 window and an all-zero window.
POOL_INPUT = ((1, 3, 0, 0), (2, 3, 0, 0), (5, 1, 4, 2), (0, 2, 6, 1))


@dataclass(frozen=True)
class MaxPoolSteps:
    """2×2 max pooling of one single-channel image, forward and backward.

    x (H, W); col (L, 4) = the L windows as rows; arg_max (L,) = the first maximum's column;
    out (OH, OW); dout (OH, OW) = 1, 2, …; dmax (L, 4): dout at arg_max, 0 elsewhere;
    dx (H, W) = col2im(dmax); cover (H, W): how many windows picked each pixel;
    ties: (window, value, the columns that hold it); torch_indices (OH, OW): F.max_pool2d's
    ``return_indices`` (h·W + w); amax_dx (H, W): the gradient of torch.amax over the same windows.
    """

    x: np.ndarray
    pool: int
    stride: int
    out_h: int
    out_w: int
    col: np.ndarray
    arg_max: np.ndarray
    out: np.ndarray
    dout: np.ndarray
    dmax: np.ndarray
    dx: np.ndarray
    cover: np.ndarray
    ties: tuple
    torch_indices: np.ndarray
    amax_dx: np.ndarray
    checks: tuple

    @property
    def window_names(self) -> list[str]:
        return [f"window ({r // self.out_w},{r % self.out_w})" for r in range(self.out_h * self.out_w)]

    @property
    def positions(self) -> list[str]:
        return [f"({i},{j})" for i in range(self.pool) for j in range(self.pool)]


def compute(stride: int = 2, x=POOL_INPUT, pool: int = 2) -> MaxPoolSteps:
    x = np.asarray(x, dtype=np.float64)
    H, W = x.shape
    out_h = R.conv_output_size(H, pool, stride)
    out_w = R.conv_output_size(W, pool, stride)
    L = out_h * out_w
    x4 = x[None, None]
    col = R.im2col(x4, pool, pool, stride=stride)               # (L, pool·pool), one window a row
    arg_max = np.argmax(col, axis=1)                              # the first maximum of each row
    out = col.max(axis=1).reshape(out_h, out_w)
    dout = np.arange(1, L + 1, dtype=np.float64).reshape(out_h, out_w)
    dmax = np.zeros_like(col)
    dmax[np.arange(L), arg_max] = dout.ravel()                   # the whole gradient to the maximum
    dx = R.col2im(dmax, x4.shape, pool, pool, stride=stride)[0, 0]
    picked = np.zeros_like(col)
    picked[np.arange(L), arg_max] = 1
    cover = R.col2im(picked, x4.shape, pool, pool, stride=stride)[0, 0].astype(int)
    ties = tuple((r, float(col[r].max()), tuple(int(k) for k in np.flatnonzero(col[r] == col[r].max())))
                 for r in range(L) if np.count_nonzero(col[r] == col[r].max()) > 1)

    layer = R.Pooling(pool, pool, stride=stride)
    ref_out = layer.forward(x4)
    ref_dx = layer.backward(dout[None, None])
    ref_idx = layer.flat_indices()[0, 0]
    xt = torch.tensor(x4, requires_grad=True)
    t_out, t_idx = F.max_pool2d(xt, pool, stride, return_indices=True)
    t_out.backward(torch.tensor(dout[None, None]))
    xa = torch.tensor(x4, requires_grad=True)                     # the same windows through torch.amax
    F.unfold(xa, pool, stride=stride).amax(dim=1).backward(torch.tensor(dout.reshape(1, -1)))
    # where each window's maximum sits in the input plane, from the first maximum: h·W + w
    rows, cols = np.divmod(arg_max, pool)
    own_idx = ((np.arange(L) // out_w) * stride + rows) * W + (np.arange(L) % out_w) * stride + cols
    t_idx = t_idx.numpy()[0, 0]
    checks = (
        ("the forward output equals reference.Pooling's and F.max_pool2d's",
         np.array_equal(out, ref_out[0, 0]) and np.array_equal(out, t_out.detach().numpy()[0, 0])),
        ("the first maximum of each window is where F.max_pool2d says (return_indices)",
         np.array_equal(own_idx.reshape(out_h, out_w), t_idx)),
        ("reference.Pooling.flat_indices() equals F.max_pool2d's indices", np.array_equal(ref_idx, t_idx)),
        ("dx = col2im(dmax) equals reference.Pooling's dx", np.array_equal(dx, ref_dx[0, 0])),
        ("dx equals torch's x.grad through F.max_pool2d", np.array_equal(dx, xt.grad.numpy()[0, 0])),
    )
    return MaxPoolSteps(x, pool, stride, out_h, out_w, col, arg_max, out, dout, dmax, dx, cover, ties,
                        t_idx, xa.grad.numpy()[0, 0], checks)


# ------------------------------------------------------------------------------------------
# Text
# ------------------------------------------------------------------------------------------

def tie_lines(s: MaxPoolSteps) -> list[str]:
    """One sentence per window that holds its maximum more than once."""
    names = s.window_names
    out = []
    for r, value, at in s.ties:
        where = ", ".join(s.positions[k] for k in at)
        times = {2: "twice", 3: "three times"}.get(len(at), f"{len(at)} times")
        out.append(f"{names[r]} holds its maximum, {num(value)}, {times} — at {where}. argmax takes the "
                   f"first, {s.positions[s.arg_max[r]]}, and the whole gradient, {num(s.dout.ravel()[r])}, goes there.")
    return out


def to_text(s: MaxPoolSteps) -> str:
    names = s.window_names
    L = s.out_h * s.out_w
    out = heading(f"Max pooling's backward pass — {s.pool}×{s.pool} windows, stride {s.stride}")
    out += [f"1. The input x ({s.x.shape[0]}×{s.x.shape[1]}), for example a ReLU's output:", ""] + grid(s.x) + [""]
    out += [f"2. The windows as rows (im2col), {L} windows × {s.pool * s.pool} values; argmax gives the column of",
            "   each row's maximum — the FIRST one, reading the window left to right, top to bottom:", ""]
    rows = labelled(s.col, names, s.positions)
    out += [line + (f"   max {num(s.col[r].max())} at {s.positions[s.arg_max[r]]}" if r >= 0 else "")
            for r, line in zip([-1] + list(range(L)), rows)] + [""]
    out += [f"3. The output ({s.out_h}×{s.out_w}): each window's maximum.", ""] + grid(s.out) + [""]
    out += [f"4. Backward. The gradient from above, dout (here 1, 2, …). Each window's gradient goes, whole,",
            "   to the column of its maximum; the other values of the window get 0 (they did not affect out):", ""]
    out += grid(s.dout) + [""] + labelled(s.dmax, names, s.positions) + [""]
    out += ["5. col2im puts each row back where its window sits (adding where windows overlap): dx.", ""]
    out += grid(s.dx) + [""]
    if s.cover.max() > 1:
        out += ["   How many windows picked each pixel — where it is more than 1, dx adds their gradients:", ""]
        out += grid(s.cover) + [""]
    if s.ties:
        out.append("6. Ties.")
        for line in tie_lines(s):
            out += textwrap.wrap(line, 100, initial_indent="   ", subsequent_indent="   ")
    else:
        out.append("6. Ties: none in this example.")
    out += ["", "   PyTorch's F.max_pool2d routes the same way: its index of each maximum (return_indices, h·W + w):", ""]
    out += grid(s.torch_indices) + [""]
    out += ["   torch.amax over the same windows (F.unfold(x).amax(dim=1)) does not pick one: its gradient is",
            "   split evenly among the tied values:", ""] + grid(s.amax_dx) + [""]
    differ = int(np.count_nonzero(s.amax_dx != s.dx))
    out.append(f"   It differs from max pooling's dx at {differ} pixel{'s' if differ != 1 else ''}"
               + (": the ties." if differ else "."))
    out += [""] + check_lines(s.checks)
    return "\n".join(out)


# ------------------------------------------------------------------------------------------
# Page
# ------------------------------------------------------------------------------------------

def to_context(s: MaxPoolSteps) -> dict:
    names = s.window_names
    tied = {r: at for r, _, at in s.ties}
    windows = []
    for r in range(s.out_h * s.out_w):
        top, left = (r // s.out_w) * s.stride, (r % s.out_w) * s.stride
        g = grid_cells(s.x, cls="grid mini", mark=(top, left, s.pool, s.pool))
        i, j = divmod(int(s.arg_max[r]), s.pool)
        cells = g["rows"][top + i]
        cells[left + j] = (cells[left + j][0], "in win")            # the winner, highlighted apart
        windows.append({"grid": g, "label": f"{names[r]}: max {num(s.col[r].max())}"
                                             + (f", first of {len(tied[r])}" if r in tied else "")})
    differ = int(np.count_nonzero(s.amax_dx != s.dx))
    return {
        "pool": s.pool, "S": s.stride, "L": s.out_h * s.out_w, "out_h": s.out_h, "out_w": s.out_w,
        "x": grid_cells(s.x, caption=f"input x ({s.x.shape[0]}×{s.x.shape[1]})"),
        "windows": windows,
        "col": matrix_cells(s.col, row_labels=names, col_labels=s.positions),
        "out": grid_cells(s.out, cls="grid out", caption="output"),
        "dout": grid_cells(s.dout, cls="grid out", caption="dout"),
        "dmax": matrix_cells(s.dmax, row_labels=names, col_labels=s.positions),
        "dx": grid_cells(s.dx, cls="grid out", caption="dx (max pooling)"),
        "cover": grid_cells(s.cover, caption="windows that picked each pixel") if s.cover.max() > 1 else None,
        "ties": tie_lines(s),
        "torch_indices": grid_cells(s.torch_indices, caption="torch's indices"),
        "amax_dx": grid_cells(s.amax_dx, cls="grid out", caption="dx through torch.amax"),
        "amax_differs": differ,
        "checks": check_items(s.checks),
    }
