"""torch.compile (Inductor, CPU): the backward of avg_pool2d with ceil_mode=True divides a window that
overhangs the input by the whole kernel, where eager divides by the part inside; the forward is right.

Finding:  F.avg_pool2d(x, 2, stride=2, ceil_mode=True) on a (1, 1, 3, 5) input (count_include_pad=True, the
          default): the last row and column of windows overhang, so eager averages them over 2 (the corner over
          1) elements. Compiled with Inductor, the forward agrees, but x.grad of those elements is the upstream
          gradient / 4 instead of / 2 (/ 1): a compiled training run gets wrong gradients there, silently.
Found on: torch 2.14.1+cu130 (CPU), Python 3.11.7, AMD EPYC (Zen 4, AVX-512), 2 cores, Linux/KVM; found
          2026-12-06 by cnn-parity fuzz (seed 0, the compile configuration, shrunk to AvgPool -> Affine on a
          1x1 channels_last input); this script written 2026-12-06.
Upstream: a duplicate of pytorch/pytorch#198119 (open, filed 2026-09-22 on 2.14.0: Inductor's
          avg_pool2d_backward uses kH * kW as the divisor with count_include_pad). Earlier: #100987 (the same
          in Inductor's forward, fixed in 2023).
Run:      python findings/compile_avgpool_ceil_mode_backward.py  (a cold compile takes tens of seconds)
Exit:     1 and "PRESENT: ..." a backend disagrees with the float64 oracle where no window overhangs agrees;
          0 and "FIXED: ..." all agree; 2 and "COULD NOT RUN: ..." the script could not run (a script error,
          or a backend failing on an input without overhang too); a traceback is a crash, too.
"""
import sys

import numpy as np
import torch
import torch.nn.functional as F

BACKENDS = ["eager", "aot_eager", "aot_eager_decomp_partition", "inductor"]
K, S = 2, 2                                                         # kernel, stride; no padding; ceil_mode=True


def oracle(x, g):
    """float64 average pooling with ceil_mode: each window averaged over its part inside the input
    (count_include_pad counts padding, and there is none); y and dx for the output gradient g."""
    n, c, h, w = x.shape
    oh, ow = -(-(h - K) // S) + 1, -(-(w - K) // S) + 1
    y, dx = np.zeros((n, c, oh, ow)), np.zeros_like(x)
    for i, j in np.ndindex(oh, ow):
        rows, cols = slice(i * S, min(i * S + K, h)), slice(j * S, min(j * S + K, w))
        count = (rows.stop - rows.start) * (cols.stop - cols.start)
        y[:, :, i, j] = x[:, :, rows, cols].sum(axis=(2, 3)) / count
        dx[:, :, rows, cols] += g[:, :, i:i + 1, j:j + 1] / count
    return y, dx


def check(backend, x, g):
    """What ``backend`` gets wrong against the oracle: [] when nothing, else the quantities; and its x.grad."""
    want_y, want_dx = oracle(x, g)
    y, dx = run(backend, x, g)
    return [q for q, a, b in (("y", y, want_y), ("x.grad", dx, want_dx)) if not np.allclose(a, b, rtol=1e-12)], dx


def run(backend, x, g):
    """y and x.grad under ``backend`` (None: plain eager, no compile)."""
    torch._dynamo.reset()
    xt = torch.from_numpy(x).requires_grad_()
    pool = lambda t: F.avg_pool2d(t, K, stride=S, ceil_mode=True)
    y = (pool if backend is None else torch.compile(pool, backend=backend))(xt)
    y.backward(torch.from_numpy(g))
    return y.detach().numpy(), xt.grad.numpy()


def main():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 1, 3, 5))
    g = np.ones((1, 1, 2, 3))                                        # ones: x.grad shows each element's divisor
    _, want_dx = oracle(x, g)
    if check(None, x, g)[0]:
        raise RuntimeError("the NumPy oracle disagrees with eager torch")
    if missing := [b for b in BACKENDS if b not in torch._dynamo.list_backends(exclude_tags=())]:
        raise RuntimeError(f"this torch lacks the backends {missing}")
    print(f"torch {torch.__version__}: F.avg_pool2d(kernel {K}, stride {K}, ceil_mode=True), float64, x {x.shape}, "
          f"upstream gradient ones\noracle x.grad (1 / the window's elements inside the input):\n{want_dx[0, 0]}")
    failing = []
    for backend in BACKENDS:
        bad, dx = check(backend, x, g)
        failing += [backend] * bool(bad)
        print(f"  {backend:28s} " + ("agrees with the oracle" if not bad else
                                     f"differs in {', '.join(bad)}; x.grad:\n{dx[0, 0]}"))
    if not failing:
        print("FIXED: every backend agrees with the float64 oracle")
        return 0
    even = rng.standard_normal((1, 1, 4, 4))                         # no window overhangs: an ordinary input
    if any(check(backend, even, np.ones((1, 1, 2, 2)))[0] for backend in failing):
        print(f"COULD NOT RUN: {', '.join(failing)} fail(s) without an overhanging window too: not this finding")
        return 2
    print(f"PRESENT: first backend that fails: {failing[0]} (in the order {', '.join(BACKENDS)})")
    return 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as exc:                                             # the script, not the finding
        print(f"COULD NOT RUN: {type(exc).__name__}: {exc}")
        sys.exit(2)
