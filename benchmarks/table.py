"""The results table of the speed benchmarks: its columns, its rows, the CSV and its summaries.

CSV / DataFrame schema (``COLUMNS``), one row per (layer, config, pass, dtype, method, threads)
-----------------------------------------------------------------------------------------------
layer         "Convolution", "Pooling", "AvgPooling", "Relu", "Affine", "SimpleConvNet"
config        the shapes, e.g. "N=100 C=1 28x28 FN=30 5x5 s1 p0"; for SimpleConvNet the batch
              and the reference's optimizer: ``reference.optimizer.Adam(fused=True)`` emulates
              torch's fused multiply-adds exactly (slower), ``fused=False`` rounds each
              operation; torch always runs ``torch.optim.Adam(lr=0.001)``
pass          "forward", "backward", "forward+backward" (median of per-rep sums); for the
              network also "update" (optimizer) and "train step" (forward+backward+update),
              and "epoch" (one MNIST epoch, see ``benchmarks.speed.run_epoch``)
dtype         "float32" / "float64"
method        the reference's path: "fast" (default) or "book"; "-" for layers with one path
reference_ms  median milliseconds of the reference
torch_ms      median milliseconds of torch, measured in the same loop
ratio         reference_ms / torch_ms (below 1: the reference is faster)
threads       threads given to NumPy's BLAS and to torch (torch.set_num_threads)
reps          number of timed runs behind each median
load          1-minute load average when the measurement began
blas          NumPy's BLAS and the kernel it runs, e.g. "OpenBLAS 0.3.31 (Haswell)"
numpy, torch  versions
note          anything else (data source, test accuracy after an epoch, ...); a data folder is
              named relative to the repository or by the option that gave it, never by an
              absolute path (the results are committed: see ``benchmarks.speed.describe_data_folder``)
date          when the measurement began, "YYYY-MM-DD HH:MM UTC"
cpu           the processor's model name (/proc/cpuinfo) and its core count
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from . import RESULTS

__all__ = ["COLUMNS", "KEY", "row", "rows", "save", "print_rows", "SUMMARY_PASSES", "markdown_table"]

COLUMNS = ["layer", "config", "pass", "dtype", "method", "reference_ms", "torch_ms", "ratio",
           "threads", "reps", "load", "blas", "numpy", "torch", "note", "date", "cpu"]


def row(layer, config, phase, dtype, method, ref_ms, torch_ms, threads, reps, started, info, note=""):
    """One row of ``COLUMNS``; ``started`` = (load, date) taken when the measurement began."""
    load, date = started
    return {"layer": layer, "config": config, "pass": phase, "dtype": str(np.dtype(dtype)),
            "method": method, "reference_ms": ref_ms, "torch_ms": torch_ms,
            "ratio": ref_ms / torch_ms, "threads": threads, "reps": reps, "load": load,
            "blas": info["blas"], "numpy": info["numpy"], "torch": info["torch"], "note": note,
            "date": date, "cpu": f"{info['cpu']}, {info['cores']} cores"}


def rows(layer, config, results, dtype, threads, reps, started, info):
    """The rows of one interleaved measurement: every reference method against torch."""
    return [row(layer, config, phase, dtype, method, 1e3 * sec, 1e3 * results["torch"][phase],
                threads, reps, started, info)
            for method, res in results.items() if method != "torch"
            for phase, sec in res.items()]


KEY = ["layer", "config", "pass", "dtype", "method", "threads", "blas"]


def save(frame, csv_path=RESULTS, append=False):
    """Write the table; ``append=True`` keeps the rows of the existing CSV that this table does
    not measure again (same layer, config, pass, dtype, method, threads and BLAS kernel)."""
    path = Path(csv_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if append and path.exists():
        old = pd.read_csv(path, keep_default_na=False, na_values=[""])
        old["note"] = old["note"].fillna("")
        keys = set(map(tuple, frame[KEY].astype(str).values))
        keep = [tuple(r) not in keys for r in old[KEY].astype(str).values]
        frame = pd.concat([old[keep], frame], ignore_index=True)
    frame.to_csv(path, index=False, float_format="%.6g")
    return frame


_HEADER = (f"{'layer':<14}{'config':<34}{'pass':<18}{'dtype':<9}{'method':<7}"
           f"{'reference ms':>13}{'torch ms':>10}{'ratio':>7}{'thr':>4}{'load':>6}")


def print_rows(rows):
    if not getattr(print_rows, "_header_done", False):
        print(_HEADER)
        print("-" * len(_HEADER))
        print_rows._header_done = True
    for r in rows:
        print(f"{r['layer']:<14}{r['config'][:33]:<34}{r['pass']:<18}{r['dtype']:<9}{r['method']:<7}"
              f"{r['reference_ms']:>13.2f}{r['torch_ms']:>10.2f}{r['ratio']:>7.2f}"
              f"{r['threads']:>4}{r['load']:>6.2f}" + (f"  {r['note']}" if r['note'] else ""))
    sys.stdout.flush()


SUMMARY_PASSES = ("forward+backward", "train step", "epoch")


def markdown_table(frame, passes=SUMMARY_PASSES, threads=None):
    """A Markdown table of the summary rows: book and fast path side by side, torch, ratios."""
    frame = frame[frame["pass"].isin(passes)]
    if threads is not None:
        frame = frame[frame["threads"].isin([threads] if isinstance(threads, int) else threads)]
    lines = ["| layer | config | pass | dtype | threads | book ms | fast ms | torch ms | "
             "fast / torch | book / torch | load |",
             "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    keys = ["layer", "config", "pass", "dtype", "threads"]
    for (layer, config, phase, dtype, n), group in frame.groupby(keys, sort=False):
        by = {r["method"]: r for _, r in group.iterrows()}
        fast = by.get("fast", by.get("-"))
        book = by.get("book")

        def ms(v):   # an epoch in seconds, the rest in milliseconds
            return f"{v / 1e3:.1f} s" if phase == "epoch" else f"{v:.2f}"
        cells = [layer, config, phase, dtype, str(n),
                 ms(book["reference_ms"]) if book is not None else "–",
                 ms(fast["reference_ms"]), ms(fast["torch_ms"]), f"**{fast['ratio']:.2f}**",
                 f"{book['ratio']:.2f}" if book is not None else "–", f"{fast['load']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
