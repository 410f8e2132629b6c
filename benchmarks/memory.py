"""Peak memory of one convolution layer, forward + backward: book path, fast path, torch.

Each measurement runs in a fresh subprocess (so no allocator reuses what an earlier one
freed), after the input, weights and upstream gradient exist, and reports two numbers:

numpy_peak_mb   tracemalloc's peak of the NumPy allocations made by forward + backward
                (the output, the cache, every temporary; NumPy reports its buffers to
                tracemalloc). Not available for torch (its allocator does not report).
rss_peak_mb     growth of the process's peak resident set (VmHWM, reset just before, minus
                VmRSS just before) — every allocator, torch's too. Measured in a second
                subprocess without tracemalloc.

CSV / DataFrame schema (``MEMORY_COLUMNS``): layer, config, dtype, method ("book", "fast",
"torch"), numpy_peak_mb, rss_peak_mb, input_mb (x), col_mb (one im2col matrix,
N·OH·OW × C·FH·FW), load, note.

    python -m benchmarks.memory            # default configurations, both dtypes
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path

from . import MEMORY_RESULTS

MEMORY_COLUMNS = ["layer", "config", "dtype", "method", "numpy_peak_mb", "rss_peak_mb",
                  "input_mb", "col_mb", "load", "note"]

# SimpleConvNet's convolution at batch 100, and a ResNet-style 64-channel 3×3 convolution.
CONFIGS = [dict(N=100, C=1, H=28, W=28, FN=30, K=5, stride=1, pad=0),
           dict(N=32, C=64, H=56, W=56, FN=64, K=3, stride=1, pad=1)]
REPO = Path(__file__).resolve().parents[1]
MB = 2.0 ** 20


def _status(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return float(line.split()[1]) * 1024          # kB -> bytes
    return float("nan")


def _child(method: str, mode: str, cfg: dict, dtype: str) -> dict:
    """Runs in the subprocess: one forward + backward, measured one way. Each child imports only
    what it measures (numpy, and torch or the reference), so this module stays light to import."""
    import tracemalloc

    import numpy as np
    rng = np.random.default_rng(0)
    N, C, H, W, FN, K, s, p = (cfg[k] for k in ("N", "C", "H", "W", "FN", "K", "stride", "pad"))
    oh, ow = (H + 2 * p - K) // s + 1, (W + 2 * p - K) // s + 1
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    Wt = (rng.standard_normal((FN, C, K, K)) / np.sqrt(C * K * K)).astype(dtype)
    b = np.zeros(FN, dtype=dtype)
    dout = rng.standard_normal((N, FN, oh, ow)).astype(dtype)
    if method == "torch":
        import torch
        torch.set_num_threads(1)
        conv = torch.nn.Conv2d(C, FN, K, stride=s, padding=p, dtype=getattr(torch, dtype))
        xt = torch.from_numpy(x).requires_grad_(True)
        dt = torch.from_numpy(dout)

        def step():
            y = conv(xt)
            y.backward(dt)
            return y, xt.grad
    else:
        sys.path.insert(0, str(REPO))
        import reference as R
        layer = R.Convolution(Wt, b, s, p, method=method)

        def step():
            y = layer.forward(x)
            return y, layer.backward(dout)

    result = {"input_mb": x.nbytes / MB, "col_mb": N * oh * ow * C * K * K * x.itemsize / MB}
    if mode == "tracemalloc":
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        kept = step()
        result["numpy_peak_mb"] = (tracemalloc.get_traced_memory()[1] - base) / MB
        tracemalloc.stop()
    else:
        try:
            Path("/proc/self/clear_refs").write_text("5")   # reset VmHWM to VmRSS
        except OSError:
            pass
        before = _status("VmRSS")
        kept = step()
        result["rss_peak_mb"] = (_status("VmHWM") - before) / MB
    del kept
    return result


def _measure(method, mode, cfg, dtype):
    cmd = [sys.executable, "-m", "benchmarks.memory", "--child", method, mode, json.dumps(cfg), dtype]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _config_str(c):
    return (f"N={c['N']} C={c['C']} {c['H']}x{c['W']} FN={c['FN']} {c['K']}x{c['K']} "
            f"s{c['stride']} p{c['pad']}")


def run_memory(dtypes=("float32", "float64"), configs=CONFIGS, methods=("book", "fast", "torch"),
               csv_path=MEMORY_RESULTS, verbose=True):
    """Measure every (config, dtype, method); return (and write) the DataFrame."""
    import pandas as pd              # the parent only: every child imports this module
    rows = []
    if verbose:
        print(f"{'config':<34}{'dtype':<9}{'method':<7}{'numpy peak MB':>14}{'RSS peak MB':>13}"
              f"{'x MB':>8}{'im2col MB':>11}")
    for cfg in configs:
        for dtype in dtypes:
            for method in methods:
                load = os.getloadavg()[0]
                rss = _measure(method, "rss", cfg, dtype)
                traced = _measure(method, "tracemalloc", cfg, dtype) if method != "torch" else {}
                row = {"layer": "Convolution", "config": _config_str(cfg), "dtype": dtype,
                       "method": method, "numpy_peak_mb": traced.get("numpy_peak_mb", math.nan),
                       "rss_peak_mb": rss["rss_peak_mb"], "input_mb": rss["input_mb"],
                       "col_mb": rss["col_mb"], "load": load,
                       "note": "forward + backward, fresh process, 1 thread"}
                rows.append(row)
                if verbose:
                    print(f"{row['config']:<34}{dtype:<9}{method:<7}{row['numpy_peak_mb']:>14.1f}"
                          f"{row['rss_peak_mb']:>13.1f}{row['input_mb']:>8.1f}{row['col_mb']:>11.1f}",
                          flush=True)
    frame = pd.DataFrame(rows, columns=MEMORY_COLUMNS)
    if csv_path is not None:
        Path(csv_path).parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(csv_path, index=False, float_format="%.6g")
        if verbose:
            print(f"wrote {csv_path}")
    return frame


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        method, mode, cfg, dtype = argv[1], argv[2], json.loads(argv[3]), argv[4]
        print(json.dumps(_child(method, mode, cfg, dtype)))
        return 0
    p = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__.split("\n\n")[0])
    p.add_argument("--dtype", choices=["float32", "float64", "both"], default="both")
    p.add_argument("--csv", default=str(MEMORY_RESULTS))
    a = p.parse_args(argv)
    run_memory(("float32", "float64") if a.dtype == "both" else (a.dtype,), csv_path=a.csv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
