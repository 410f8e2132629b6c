"""torch.compile (Inductor, CPU): the backward of a convolution on an empty batch (N = 0) raises an
AssertionError; eager, aot_eager and aot_eager_decomp_partition handle it.

Finding:  torch.compile of nn.Conv2d(3, 2, 3, padding=1) or of F.conv2d on a (0, 3, 5, 5) input: the
          forward runs, the backward raises "AssertionError: expected size 3==3, stride 1==9 at dim=1; ..."
          (Inductor's stride check of aten.convolution_backward). Cause (printed below): Inductor makes
          the weight channels_last; on an empty input eager returns zeros_like(weight), channels_last,
          while the FakeTensor rule for convolution_backward predicts a contiguous grad_weight.
Found on: torch 2.14.1+cu130 (CPU), Python 3.11.7, AMD EPYC (Zen 4, AVX-512), 2 cores, Linux/KVM;
          found 2026-12-01 by cnn-parity's configuration matrix, this script written 2026-12-06.
Upstream: not reported (searched 2026-12-06). Nearest: pytorch/pytorch#171622 (convolution_backward meta
          strides, channels_last, CUDA/MPS), #197517 (FakeTensor grad_weight, ROCm), #101356 (C = 0), #197095.
Run:      python findings/compile_conv_empty_batch_backward.py  (a cold compile takes tens of seconds)
Exit:     1 and "PRESENT: ..." a backend fails or disagrees with the float64 oracle on N = 0, not on N = 1;
          0 and "FIXED: ..." all agree with the oracle; 2 and "COULD NOT RUN: ..." the script could not run
          (a script error, or a backend failing on N = 1 too); a traceback is a crash, too.
"""
import sys

import numpy as np
import torch
import torch.nn.functional as F
from numpy.lib.stride_tricks import sliding_window_view as windows

BACKENDS = ["eager", "aot_eager", "aot_eager_decomp_partition", "inductor"]
PAD = 1


def oracle(x, W, b, dy):
    """float64 convolution, stride 1, zero padding PAD: y, dx, dW, db for the output gradient dy."""
    fh, fw = W.shape[2:]
    win = windows(np.pad(x, ((0, 0), (0, 0), (PAD, PAD), (PAD, PAD))), (fh, fw), axis=(2, 3))
    y = np.einsum("nchwij,fcij->nfhw", win, W) + b[:, None, None]
    dyp = np.pad(dy, ((0, 0), (0, 0), (fh - 1 - PAD,) * 2, (fw - 1 - PAD,) * 2))
    dx = np.einsum("nfhwij,fcij->nchw", windows(dyp, (fh, fw), axis=(2, 3)), W[:, :, ::-1, ::-1])
    return {"y": y, "dx": dx, "dW": np.einsum("nchwij,nfhw->fcij", win, dy), "db": dy.sum(axis=(0, 2, 3))}


def run(backend, x, W, b, dy):
    """Forward and backward of the convolution under ``backend`` (None: plain eager, no compile)."""
    torch._dynamo.reset()
    t = [torch.from_numpy(a).requires_grad_() for a in (x, W, b)]
    conv = lambda x, W, b: F.conv2d(x, W, b, padding=PAD)
    y = (conv if backend is None else torch.compile(conv, backend=backend))(*t)
    y.backward(torch.from_numpy(dy))
    return dict(zip(["y", "dx", "dW", "db"], [y.detach().numpy()] + [a.grad.numpy() for a in t]))


def check(backend, x, W, b, dy):
    """What ``backend`` gets wrong against the oracle: [] when nothing, else the quantities or the error."""
    try:
        got, want = run(backend, x, W, b, dy), oracle(x, W, b, dy)
    except Exception as exc:
        return [f"raises {type(exc).__name__}: " + " ".join(str(exc).split())[:300]]
    return [q for q in want if got[q].shape != want[q].shape or not np.allclose(got[q], want[q], rtol=1e-12, atol=1e-12)]


def main():
    rng = np.random.default_rng(0)
    W, b = rng.standard_normal((2, 3, 3, 3)), rng.standard_normal(2)
    data = lambda n: (rng.standard_normal((n, 3, 5, 5)), W, b, rng.standard_normal((n, 2, 5, 5)))
    if check(None, *data(2)):                                          # the oracle itself, on a real batch
        raise RuntimeError("the NumPy oracle disagrees with eager torch on N = 2")
    if missing := [b for b in BACKENDS if b not in torch._dynamo.list_backends(exclude_tags=())]:
        raise RuntimeError(f"this torch lacks the backends {missing}")
    empty, failing = data(0), []
    print(f"torch {torch.__version__}: F.conv2d, 3 -> 2 channels, 3x3, padding {PAD}, float64, input {empty[0].shape}"
          f"; oracle: y (0, 2, 5, 5), dx (0, 3, 5, 5), dW = 0, db = 0")
    for backend in BACKENDS:
        bad = check(backend, *empty)
        failing += [backend] * bool(bad)
        print(f"  {backend:28s} " + (f"differs in {', '.join(bad)}" if bad and not bad[0].startswith("raises")
                                      else (bad or ["agrees with the oracle"])[0]))
    if not failing:
        print("FIXED: every backend agrees with the float64 oracle on the empty batch")
        return 0
    if any(check(backend, *data(1)) for backend in failing):           # the empty batch, or this machine?
        print(f"COULD NOT RUN: {', '.join(failing)} fail(s) on N = 1 too: not an empty-batch problem here")
        return 2
    try:                                                               # the cause, without compiling
        args = (torch.zeros(0, 2, 5, 5).double(), torch.zeros(0, 3, 5, 5).double(), torch.ones(2, 3, 3, 3).double()
                .to(memory_format=torch.channels_last), [2], [1, 1], [PAD] * 2, [1, 1], False, [0, 0], 1, [True] * 3)
        eager = torch.ops.aten.convolution_backward(*args)[1].stride()
        with torch._subclasses.fake_tensor.FakeTensorMode() as mode:
            fake = torch.ops.aten.convolution_backward(*[mode.from_tensor(a) if torch.is_tensor(a) else a for a in args])
        print(f"cause: convolution_backward, N = 0, channels_last weight: grad_weight strides eager {eager}, "
              f"fake {fake[1].stride()}")
    except Exception as exc:
        print(f"cause: not shown ({type(exc).__name__}: {exc})")
    print(f"PRESENT: first backend that fails: {failing[0]} (in the order {', '.join(BACKENDS)}); it handles N = 1")
    return 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as exc:                                             # the script, not the finding
        print(f"COULD NOT RUN: {type(exc).__name__}: {exc}")
        sys.exit(2)
