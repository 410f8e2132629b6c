"""max_pool2d: a dilated window lying wholly in the padding gives -inf, an index outside the input,
and a backward that writes outside the gradient buffer (CPU).

Finding:  F.max_pool2d(x, (2, 1), stride=1, padding=(1, 0), dilation=(2, 1), return_indices=True) on a
          (1, 2, 1, 3) input: every window's taps are rows -1 and 1 of a 1-row input, none inside.
          torch returns -inf with indices 3..5 (the plane has 0..2); its backward adds channel 0's
          gradient into channel 1 and writes past the end of the gradient buffer.
Found on: torch 2.14.1+cu130 (CPU), Python 3.11.7, AMD EPYC (Zen 4, AVX-512), 2 cores, Linux/KVM;
          found 2026-12-01 by cnn-parity's option cases, this script written 2026-12-06.
Upstream: not reported as such (searched 2026-12-06). pytorch/pytorch#114216 and #134948 report the -inf
          output (open: a validity check is wanted); #140923 is an out-of-bounds write from hand-made
          indices. None reports the indices the forward itself returns, nor the writes they cause.
Run:      python findings/maxpool_dilated_window_in_padding.py
Exit:     1 and "PRESENT: ..." the problem is present; 0 and "FIXED: ..." fixed (torch refuses the window,
          or its indices are the oracle's and its backward writes the oracle's dx, nothing outside);
          2 and "COULD NOT RUN: ..." the script could not run (a traceback is a crash, too).
Safety:   a plain .backward() makes these writes on the heap. Here the backward runs only through the out=
          overload, into the middle of a buffer 3x the gradient's size: its two guards take the writes.
"""
import sys

import numpy as np
import torch
import torch.nn.functional as F

K, S, P, D = (2, 1), (1, 1), (1, 0), (2, 1)           # kernel, stride, padding, dilation (rows, cols)


def oracle(x, g):
    """float64 max pooling over the taps inside the input: values (NaN: no tap inside), flat indices
    (-1: none) and the input gradient for the output gradient g."""
    n, c, h, w = x.shape
    oh, ow = [(size + 2 * p - d * (k - 1) - 1) // s + 1 for size, k, s, p, d in zip((h, w), K, S, P, D)]
    out, idx, dx = np.full((n, c, oh, ow), np.nan), np.full((n, c, oh, ow), -1), np.zeros_like(x)
    for i, j in np.ndindex(oh, ow):
        taps = [(r, q) for r in range(i * S[0] - P[0], i * S[0] - P[0] + D[0] * K[0], D[0])
                for q in range(j * S[1] - P[1], j * S[1] - P[1] + D[1] * K[1], D[1]) if 0 <= r < h and 0 <= q < w]
        for a, b in np.ndindex(n, c):
            if taps:
                r, q = max(taps, key=lambda t: (x[a, b][t], -t[0], -t[1]))     # the first maximum
                out[a, b, i, j], idx[a, b, i, j] = x[a, b, r, q], r * w + q
                dx[a, b, r, q] += g[a, b, i, j]
    return out, idx, dx


def main():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 2, 1, 3))
    print(f"torch {torch.__version__}: F.max_pool2d(kernel_size={K}, stride={S}, padding={P}, dilation={D}, "
          f"return_indices=True) on a {tuple(x.shape)} float64 input")
    xt = torch.from_numpy(x)
    try:
        out, idx = F.max_pool2d(xt, K, S, P, D, return_indices=True)
    except (RuntimeError, ValueError, IndexError) as exc:
        print(f"FIXED: torch refuses the configuration: {type(exc).__name__}: {str(exc).splitlines()[0]}")
        return 0
    g = rng.standard_normal(tuple(out.shape))
    want, want_idx, want_dx = oracle(x, g)
    plane = x.shape[2] * x.shape[3]
    empty = np.isnan(want)
    print(f"oracle (NumPy float64): {int(empty.sum())} of {want.size} windows have no element inside the input "
          f"(no value, no index, no gradient)")
    print(f"torch output  {out.numpy().ravel()}\ntorch indices {idx.numpy().ravel()} (inside the input: 0..{plane - 1})")
    want_ok = np.where(empty, (idx.numpy() >= -1) & (idx.numpy() < plane), idx.numpy() == want_idx)
    bad_idx = int((~want_ok).sum())                                     # -1 may mark an empty window
    bad_val = int(((out.numpy() != want) & ~empty).sum())
    buf = torch.full((3 * x.size,), -7.0, dtype=torch.float64)          # guard | gradient | guard
    grad = buf[x.size:2 * x.size].view(x.shape)
    try:
        res = torch.ops.aten.max_pool2d_with_indices_backward.grad_input(
            torch.from_numpy(g), xt, list(K), list(S), list(P), list(D), False, idx, grad_input=grad)
    except (RuntimeError, ValueError, IndexError) as exc:
        print(f"torch backward refuses the indices: {type(exc).__name__}: {str(exc).splitlines()[0]}")
        bad_dx = outside = 0
    else:
        if res.data_ptr() != grad.data_ptr():
            raise RuntimeError("the out= backward did not write into the given buffer: the guard cannot watch it")
        got_dx = grad.numpy()
        guard = np.concatenate([buf[:x.size].numpy(), buf[2 * x.size:].numpy()]) + 7.0
        bad_dx, outside = int((np.abs(got_dx - want_dx) > 1e-12).sum()), int((guard != 0).sum())
        print(f"output gradient {g.ravel()}\ntorch dx  {got_dx.ravel()}\noracle dx {want_dx.ravel()}\n"
              f"guards around the gradient buffer: {outside} of {guard.size} elements written, added {guard[guard != 0]}")
    problems = [f"{bad_idx} indices not the oracle's (outside the input)"] * bool(bad_idx) + \
        [f"{bad_val} values differ from the oracle"] * bool(bad_val) + \
        [f"{bad_dx} gradient elements differ from the oracle"] * bool(bad_dx) + \
        [f"{outside} elements written outside the gradient buffer"] * bool(outside)
    if problems:
        print("PRESENT: " + "; ".join(problems))
        return 1
    print("FIXED: indices inside the input, gradient as the oracle's, nothing written outside the buffer")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as exc:                                              # the script, not the finding
        print(f"COULD NOT RUN: {type(exc).__name__}: {exc}")
        sys.exit(2)
