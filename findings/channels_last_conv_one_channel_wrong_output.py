"""conv2d (CPU, oneDNN): a one-channel input in channels_last whose output is one column wide, with a
horizontal stride above 1, gives wrong values: half the outputs are never written (whatever was in memory).

Finding:  F.conv2d(x.to(memory_format=torch.channels_last), W, stride=(1, 3)) with x (2, 1, 3, 4), W (1, 1, 2, 4),
          float32, two intra-op threads: the output is (2, 1, 2, 1); torch returns the right value for row 0 of
          each image and leftover memory for row 1 (1e21, 1e32, ...). Needed: N >= 2, C = 1 (x's strides become
          (12, 1, 4, 1)), output width 1 with stride_w > 1, output height >= 2, and 2 threads (1 and 3 are
          right here). The same input contiguous, or oneDNN off (torch.backends.mkldnn), is right. ONEDNN_VERBOSE=1 shows brg_conv_fwd called with dst "acbd":
          the (2, 1, 2, 1) output's strides (2, 1, 1, 1) read as an N-H-C-W layout.
Found on: torch 2.14.1+cu130 and 2.13.0+cpu (CPU, oneDNN 3.12), Python 3.11.7, AMD EPYC (Zen 4, AVX-512, and with
          ATEN_CPU_CAPABILITY=avx2), 2 cores, Linux/KVM; found 2026-12-06 by cnn-parity fuzz (seed 0, network 1168,
          the channels_last configuration), shrunk to one convolution; this script written 2026-12-06.
Upstream: not reported (searched 2026-12-06). Nearest: pytorch/pytorch#82060 (C = 1, channels_last weight with a
          contiguous input, thnn path; fixed by #82392), #195394 (open: a segfault in oneDNN's BRGEMM convolution
          on strides of size-1 dims), #120547 and #106966 (ambiguous strides in mkldnn_convolution).
Run:      python findings/channels_last_conv_one_channel_wrong_output.py
Exit:     1 and "PRESENT: ..." channels_last disagrees with the float64 oracle where contiguous agrees; 0 and
          "FIXED: ..." both agree; 2 and "COULD NOT RUN: ..." the script could not run (a traceback is a crash, too).
"""
import sys
import warnings

import numpy as np
import torch
import torch.nn.functional as F

N, C, H, W_, FN, KH, KW, STRIDE = 2, 1, 3, 4, 1, 2, 4, (1, 3)
THREADS = 2                                                          # torch's default on a 2-core machine
TOL = 1e-5                                                           # float32, a sum of 8 products: ~1e-7 expected
warnings.filterwarnings("ignore", message="TF32 acceleration on top of oneDNN")   # printed by mkldnn.flags()


def oracle(x, w):
    """float64 cross-correlation, no padding, stride STRIDE, by loops."""
    oh, ow = (x.shape[2] - KH) // STRIDE[0] + 1, (x.shape[3] - KW) // STRIDE[1] + 1
    y = np.zeros((x.shape[0], w.shape[0], oh, ow))
    for n, f, i, j in np.ndindex(*y.shape):
        r, c = i * STRIDE[0], j * STRIDE[1]
        y[n, f, i, j] = np.sum(x[n, :, r:r + KH, c:c + KW] * w[f])
    return y


def error(got, want):
    return float(np.max(np.abs(got - want)) / np.max(np.abs(want)))


def main():
    torch.set_num_threads(THREADS)
    print(f"torch {torch.__version__}: F.conv2d, x ({N}, {C}, {H}, {W_}), W ({FN}, {C}, {KH}, {KW}), stride {STRIDE}, "
          f"float32, {THREADS} threads, CPU capability {torch.backends.cpu.get_cpu_capability()}")
    worst = {"contiguous": 0.0, "channels_last": 0.0, "channels_last, oneDNN off": 0.0}
    for seed in range(3):                                            # the wrong values are leftover memory: 3 draws
        rng = np.random.default_rng(seed)
        x, w = rng.standard_normal((N, C, H, W_)).astype(np.float32), rng.standard_normal((FN, C, KH, KW)).astype(np.float32)
        want = oracle(x.astype(np.float64), w.astype(np.float64))
        xt, wt = torch.from_numpy(x), torch.from_numpy(w)
        xcl = xt.to(memory_format=torch.channels_last)
        runs = {"contiguous": lambda: F.conv2d(xt, wt, stride=STRIDE),
                "channels_last": lambda: F.conv2d(xcl, wt, stride=STRIDE)}
        for name, call in runs.items():
            got = call().double().numpy()
            worst[name] = max(worst[name], error(got, want))
            if seed == 0:
                print(f"  {name:26s} {np.array2string(got.ravel(), precision=4)}")
        with torch.backends.mkldnn.flags(enabled=False):
            worst["channels_last, oneDNN off"] = max(worst["channels_last, oneDNN off"],
                                                     error(F.conv2d(xcl, wt, stride=STRIDE).double().numpy(), want))
        if seed == 0:
            print(f"  {'oracle (NumPy float64)':26s} {np.array2string(want.ravel(), precision=4)}")
            print(f"  x.to(memory_format=torch.channels_last) has strides {tuple(xcl.stride())}")
    for name, err in worst.items():
        print(f"  max relative error, 3 draws: {name:26s} {err:.3g} (limit {TOL:g})")
    if worst["contiguous"] > TOL:
        print("COULD NOT RUN: the contiguous input disagrees with the oracle too: not this finding")
        return 2
    if worst["channels_last"] > TOL:
        print(f"PRESENT: channels_last input gives wrong outputs (max relative error {worst['channels_last']:.3g}); "
              f"the contiguous input and oneDNN off ({worst['channels_last, oneDNN off']:.3g}) do not")
        return 1
    print("FIXED: the channels_last input agrees with the float64 oracle")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as exc:                                             # the script, not the finding
        print(f"COULD NOT RUN: {type(exc).__name__}: {exc}")
        sys.exit(2)
