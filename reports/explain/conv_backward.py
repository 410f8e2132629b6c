"""``cnn-parity explain conv-backward``: the convolution's backward pass on the book's 4×4 example.

The forward pass was ``out = col @ W_col`` (see ``explain im2col``). Its backward pass is two
matrix products and a fold: ``dW = colᵀ · dout`` (every weight's gradient is the sum, over the
windows, of the input value that weight saw times that window's gradient), ``dcol = dout · W_colᵀ``
(each window gets the filter, scaled by its gradient), and ``col2im`` adds every row of ``dcol``
back where its window came from, so a pixel inside several windows gets the sum of their shares.

Every number is computed here: by ``reference.im2col``/``col2im`` and matrix products, by an
explicit loop over the windows (the by-hand version of ``col2im``), and checked against
``reference.Convolution.backward`` and against torch's autograd (``F.conv2d``, float64).
The gradient arriving from above, ``dout``, is 1, 2, …, OH·OW, so each window's share is visible.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

import reference as R

from ..html.sections.about import grid_cells, matrix_cells
from .im2col import BOOK_FILTER, BOOK_INPUT
from .text import check_items, check_lines, grid, heading, labelled, num

__all__ = ["ConvBackwardSteps", "compute", "to_text", "to_context"]


@dataclass(frozen=True)
class ConvBackwardSteps:
    """The backward pass of one single-channel convolution, every intermediate.

    x (H, W), W (FH, FW), dout (OH, OW); col (L, K) = im2col(x) with L = OH·OW windows and
    K = FH·FW weights; dout_col (L, 1); dW_col (K, 1) = colᵀ · dout_col; dW (FH, FW); db = Σ dout;
    dcol (L, K) = dout_col · W_colᵀ; dx_padded (H + 2P, W + 2P): dcol added back window by window;
    dx (H, W) = col2im(dcol); cover (H + 2P, W + 2P): how many windows hold each pixel;
    dW_terms[k]: the (x value, dout value) pairs summed into dW_k; dx_terms[(i, j)]: the
    (window, position in the window, dcol value) summed into dx_padded[i, j].
    checks: (what, equal) — dW, db, dx against reference.Convolution and torch's autograd.
    """

    x: np.ndarray
    W: np.ndarray
    stride: int
    pad: int
    out_h: int
    out_w: int
    dout: np.ndarray
    col: np.ndarray
    dout_col: np.ndarray
    dW_col: np.ndarray
    dW: np.ndarray
    db: float
    dcol: np.ndarray
    dx_padded: np.ndarray
    dx: np.ndarray
    cover: np.ndarray
    dW_terms: tuple
    dx_terms: dict
    checks: tuple

    @property
    def positions(self) -> list[tuple[int, int]]:
        """The (fh, fw) position inside the window of each column of ``col``."""
        fh, fw = self.W.shape
        return [(i, j) for i in range(fh) for j in range(fw)]

    @property
    def window_names(self) -> list[str]:
        return [f"window ({r // self.out_w},{r % self.out_w})" for r in range(self.out_h * self.out_w)]


def compute(pad: int = 0, stride: int = 1, x=BOOK_INPUT, W=BOOK_FILTER, dout=None) -> ConvBackwardSteps:
    """The backward pass of ``x`` (H, W) convolved with ``W`` (FH, FW); ``dout`` (OH, OW) defaults to 1, 2, …"""
    x = np.asarray(x, dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)
    fh, fw = W.shape
    out_h = R.conv_output_size(x.shape[0], fh, stride, pad)
    out_w = R.conv_output_size(x.shape[1], fw, stride, pad)
    L, K = out_h * out_w, fh * fw
    dout = (np.arange(1, L + 1, dtype=np.float64).reshape(out_h, out_w) if dout is None
            else np.asarray(dout, dtype=np.float64))
    x4 = x[None, None]
    col = R.im2col(x4, fh, fw, stride=stride, pad=pad)          # (L, K)
    W_col = W.reshape(1, -1).T                                    # (K, 1)
    dout_col = dout.reshape(-1, 1)                                # rows in the order of col's rows
    dW_col = col.T @ dout_col                                     # (K, L) · (L, 1) = (K, 1)
    dcol = dout_col @ W_col.T                                     # (L, 1) · (1, K) = (L, K)
    dx = R.col2im(dcol, x4.shape, fh, fw, stride=stride, pad=pad)[0, 0]

    # col2im by hand: every window adds its row of dcol back where the window sits
    Hp, Wp = x.shape[0] + 2 * pad, x.shape[1] + 2 * pad
    dx_padded, cover = np.zeros((Hp, Wp)), np.zeros((Hp, Wp), dtype=int)
    dx_terms: dict = {}
    for r in range(L):
        top, left = (r // out_w) * stride, (r % out_w) * stride
        for k, (i, j) in enumerate((i, j) for i in range(fh) for j in range(fw)):
            dx_padded[top + i, left + j] += dcol[r, k]
            cover[top + i, left + j] += 1
            dx_terms.setdefault((top + i, left + j), []).append((r, (i, j), dcol[r, k]))
    dW_terms = tuple(tuple(zip(col[:, k], dout_col[:, 0])) for k in range(K))

    conv = R.Convolution(W[None, None].copy(), np.zeros(1), stride=stride, pad=pad)
    conv.forward(x4)
    ref_dx = conv.backward(dout[None, None])
    t_dW, t_db, t_dx = _torch_grads(x4, W[None, None], dout[None, None], stride, pad)
    dW = dW_col[:, 0].reshape(fh, fw)
    checks = (
        ("dW = colᵀ · dout equals reference.Convolution's dW", np.array_equal(dW, conv.dW[0, 0])),
        ("dW equals torch's weight.grad (F.conv2d, float64)", np.array_equal(dW, t_dW[0, 0])),
        ("db = Σ dout equals torch's bias.grad", float(dout.sum()) == float(t_db[0])),
        ("col2im by hand (the loop) equals reference.col2im", np.array_equal(dx_padded[pad:Hp - pad, pad:Wp - pad], dx)),
        ("dx = col2im(dout · W_colᵀ) equals reference.Convolution's dx", np.array_equal(dx, ref_dx[0, 0])),
        ("dx equals torch's x.grad", np.array_equal(dx, t_dx[0, 0])),
    )
    return ConvBackwardSteps(x, W, stride, pad, out_h, out_w, dout, col, dout_col, dW_col, dW,
                             float(dout.sum()), dcol, dx_padded, dx, cover, dW_terms, dx_terms, checks)


def _torch_grads(x, W, dout, stride, pad):
    """torch's dW, db, dx of the same convolution, float64."""
    xt = torch.tensor(x, requires_grad=True)
    Wt = torch.tensor(W, requires_grad=True)
    bt = torch.zeros(W.shape[0], dtype=torch.float64, requires_grad=True)
    F.conv2d(xt, Wt, bt, stride=stride, padding=pad).backward(torch.tensor(dout))
    return Wt.grad.numpy(), bt.grad.numpy(), xt.grad.numpy()


# ------------------------------------------------------------------------------------------
# Text
# ------------------------------------------------------------------------------------------

def to_text(s: ConvBackwardSteps) -> str:
    fh, fw = s.W.shape
    L, K = s.col.shape
    names = s.window_names
    labels = [f"({i},{j})" for i, j in s.positions]
    out = heading(f"The convolution's backward pass — the book's example (stride {s.stride}, pad {s.pad})")
    out += ["1. The forward pass, from `explain im2col`: col = im2col(x) has one window per row,",
            f"   shape {s.col.shape}, and out = col @ W_col, shape ({L}, 1), reshaped to ({s.out_h}, {s.out_w}).",
            "   Row r of the product is  out_r = Σ_k col[r, k] · W_k.", ""]
    out += labelled(s.col, names, labels) + [""]
    out += [f"2. The gradient from the layer above, dout = ∂L/∂out, shape ({s.out_h}, {s.out_w}) (here 1, 2, …, so",
            "   each window's share can be followed). Flattened in the order of col's rows:", ""]
    out += grid(s.dout) + [""] + labelled(s.dout_col, names, ["dout"]) + [""]
    out += ["3. Why dW = colᵀ · dout.  W_k appears in every row r of the product, multiplied by col[r, k], so",
            "   ∂L/∂W_k = Σ_r ∂L/∂out_r · col[r, k] = (colᵀ · dout)_k:",
            f"   ({K}, {L}) · ({L}, 1) = ({K}, 1). Each weight's gradient adds, over the windows, the input value",
            "   it saw times that window's gradient:", ""]
    for k, terms in enumerate(s.dW_terms):
        out.append(f"   dW{labels[k]:<6} = " + " + ".join(f"{num(a)}·{num(b)}" for a, b in terms)
                   + f" = {num(s.dW_col[k, 0])}")
    out += ["", f"   Reshaped to the filter's shape ({fh}, {fw}):", ""] + grid(s.dW) + [""]
    out += [f"4. The bias is added to every output, so db = Σ dout = {num(s.db)}.", ""]
    out += ["5. The input's gradient.  ∂L/∂col[r, k] = ∂L/∂out_r · W_k, so dcol = dout · W_colᵀ:",
            f"   ({L}, 1) · (1, {K}) = ({L}, {K}) — each window's row is the filter times that window's gradient.", ""]
    out += labelled(s.dcol, names, labels) + [""]
    out += ["6. col2im: im2col copied each input pixel into every window that holds it, so its gradient",
            "   is the SUM of those copies' gradients. col2im adds each row of dcol back where its window",
            f"   sits. How many windows hold each pixel{' (padded input)' if s.pad else ''}:", ""]
    out += grid(s.cover) + [""]
    out += ["   The sums, pixel by pixel; after ←, the windows the terms come from, each with the pixel's",
            "   position inside it (the column of dcol):", ""]
    sums = []
    for (i, j), terms in sorted(s.dx_terms.items()):
        inside = s.pad <= i < s.pad + s.x.shape[0] and s.pad <= j < s.pad + s.x.shape[1]
        where = f"dx[{i - s.pad},{j - s.pad}]" if inside else f"padding ({i},{j})"
        total = " + ".join(num(v) for _, _, v in terms) + (f" = {num(s.dx_padded[i, j])}" if len(terms) > 1 else "")
        sums.append((f"{where} = {total}",
                     " ".join(f"{names[r][7:]}@({p[0]},{p[1]})" for r, p, _ in terms)))
    width = max(len(a) for a, _ in sums)
    out += [f"   {a:<{width}}  ← {b}" for a, b in sums] + [""]
    if s.pad:
        out += [f"   The padded border's gradients are dropped: they belong to zeros that are not part of x.", ""]
    out += [f"   dx, shape {s.dx.shape}:", ""] + grid(s.dx) + [""]
    out += check_lines(s.checks)
    return "\n".join(out)


# ------------------------------------------------------------------------------------------
# Page
# ------------------------------------------------------------------------------------------

def to_context(s: ConvBackwardSteps) -> dict:
    fh, fw = s.W.shape
    L, K = s.col.shape
    names = s.window_names
    labels = [f"({i},{j})" for i, j in s.positions]
    inside = lambda i, j: s.pad <= i < s.pad + s.x.shape[0] and s.pad <= j < s.pad + s.x.shape[1]   # noqa: E731
    return {
        "S": s.stride, "P": s.pad, "L": L, "K": K, "fh": fh, "fw": fw, "out_h": s.out_h, "out_w": s.out_w,
        "col": matrix_cells(s.col, row_labels=names, col_labels=labels),
        "dout": grid_cells(s.dout, cls="grid out", caption=f"dout ({s.out_h}×{s.out_w})"),
        "dout_col": matrix_cells(s.dout_col, row_labels=names, col_labels=["dout"], cls="grid out"),
        "dW_sums": [{"name": f"dW{labels[k]}", "terms": " + ".join(f"{num(a)}·{num(b)}" for a, b in terms),
                     "result": num(s.dW_col[k, 0])} for k, terms in enumerate(s.dW_terms)],
        "dW": grid_cells(s.dW, cls="grid filt", caption=f"dW ({fh}×{fw})"),
        "db": num(s.db),
        "dcol": matrix_cells(s.dcol, row_labels=names, col_labels=labels),
        "cover": grid_cells(s.cover, pad=s.pad, caption="windows holding each pixel"),
        "dx_padded": grid_cells(s.dx_padded, pad=s.pad, caption="dcol added back") if s.pad else None,
        "dx": grid_cells(s.dx, cls="grid out", caption=f"dx ({s.dx.shape[0]}×{s.dx.shape[1]})"),
        "dx_sums": [{"name": f"dx[{i - s.pad},{j - s.pad}]" if inside(i, j) else f"padding ({i},{j})",
                     "terms": " + ".join(f"{num(v)}" for _, _, v in terms),
                     "from": ", ".join(f"{names[r]} at {p[0]},{p[1]}" for r, p, _ in terms),
                     "result": num(s.dx_padded[i, j])} for (i, j), terms in sorted(s.dx_terms.items())],
        "checks": check_items(s.checks),
    }
