"""What the report tests share: small synthetic inputs in the schemas the report reads
(training results, records, benchmark results), a reader of the page's structure, and the
one-line error of a ``cnn-parity report`` that must not start any work."""
from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd

from reports import report as REPORT
from reports.cli import main
from reports.parity.records import Tolerance, compare

from .conftest import one_line


def synthetic_training(seed=0, steps=12, epochs=2):
    """A small lockstep-training result in the schema of reports.mnist.training (curves, epochs, first layer)."""
    rng = np.random.default_rng(seed)
    rows, acc = [], []
    for dtype, eps in (("float64", 1e-15), ("float32", 1e-7)):
        loss = 2.3 * np.exp(-np.arange(1, steps + 1) / 8) + 0.1 * rng.random(steps)
        per_epoch = steps // epochs
        for i, l_ref in enumerate(loss, start=1):
            l_t = l_ref * (1 + eps * rng.standard_normal()) if i % 3 else l_ref
            diff = abs(l_ref - l_t)
            for fw, value in (("reference", l_ref), ("torch", l_t)):
                rows.append({"net": "simple", "optimizer": "adam", "dtype": dtype, "framework": fw,
                             "epoch": (i - 1) // per_epoch + 1, "step": i, "loss": value,
                             "loss_abs_diff": diff, "loss_rel_diff": diff / l_t,
                             "param_rel_diff": eps * i if i % 4 == 0 else float("nan")})
        for epoch in range(1, epochs + 1):
            for fw in ("reference", "torch"):
                acc.append({"net": "simple", "optimizer": "adam", "dtype": dtype, "framework": fw,
                            "epoch": epoch, "train_acc": 0.8 + 0.05 * epoch, "test_acc": 0.79 + 0.05 * epoch})
    before = 0.01 * rng.standard_normal((30, 1, 5, 5))
    after = before + 0.05 * rng.standard_normal((30, 1, 5, 5))
    return {"curves": pd.DataFrame(rows), "epochs": pd.DataFrame(acc),
            "filters": {"before": before, "reference": after, "torch": after + 1e-12},
            "timing": {("simple", "float64", "reference"): 0.05, ("simple", "float64", "torch"): 0.02},
            "note": "synthetic training data (test)"}


def small_inputs(note="", case="Convolution"):
    """A tiny report (a few records), for tests about writing rather than content."""
    tol = Tolerance(1e-12, "test")
    a = np.arange(6.0).reshape(2, 3)
    recs = [compare(case, "output", a, a + 1e-15, tol, config={"N": 1}, note=note),
            compare("Convolution", "dx", a, a, tol, config={"N": 1}),
            compare("Pooling", "output", a, a, tol, config={"N": 2}, group="sweep")]
    return REPORT.ReportInputs(records=[r for r in recs if r.group != "sweep"],
                               sweeps=[r for r in recs if r.group == "sweep"],
                               environment=[("date (UTC)", "2000-01-01 00:00:00")], catalog=[])


#: The columns of benchmarks.table.COLUMNS / benchmarks.memory.MEMORY_COLUMNS (checked by test_report_speed.py).
BENCH_COLUMNS = ["layer", "config", "pass", "dtype", "method", "reference_ms", "torch_ms", "ratio", "threads",
                 "reps", "load", "blas", "numpy", "torch", "note", "date", "cpu"]
BENCH_MEMORY_COLUMNS = ["layer", "config", "dtype", "method", "numpy_peak_mb", "rss_peak_mb", "input_mb",
                        "col_mb", "load", "note"]


def synthetic_benchmarks(folder: Path, memory=True) -> Path:
    """A small benchmark results file (and memory.csv beside it) in the schema of ``benchmarks``."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []

    def add(layer, config, phase, dtype, method, ref, torch_ms, threads=1, reps=7, note=""):
        rows.append([layer, config, phase, dtype, method, ref, torch_ms, ref / torch_ms, threads, reps, 0.42,
                     "OpenBLAS 9.9.9 (TestCore)", "9.8.7", "6.5.4+cpu", note, "2000-01-02 03:04 UTC",
                     "Test CPU, 2 cores"])
    conv = "N=100 C=1 28x28 FN=30 5x5 s1 p0"
    for threads in (1, 2):
        for dtype, k in (("float32", 1.0), ("float64", 2.0)):
            for phase, fast, book, tor in (("forward", 1.11, 4.44, 2.22), ("backward", 2.10, 7.90, 4.20),
                                           ("forward+backward", 3.21, 12.34, 6.42)):
                add("Convolution", conv, phase, dtype, "fast", fast * k, tor * k, threads)
                add("Convolution", conv, phase, dtype, "book", book * k, tor * k, threads)
            add("Relu", "100x30x24x24", "forward+backward", dtype, "-", 14.47 * k, 1.32, threads)
            for phase, fast, book, tor in (("forward", 6.08, 29.3, 10.3), ("train step", 18.4, 48.7, 16.6)):
                add("SimpleConvNet", "N=100 1x28x28 Adam(fused=True)", phase, dtype, "fast", fast * k, tor, threads)
                add("SimpleConvNet", "N=100 1x28x28 Adam(fused=True)", phase, dtype, "book", book * k, tor, threads)
    add("SimpleConvNet", "600 steps of N=100, Adam(fused=True)", "epoch", "float32", "fast", 11371.5, 9474.6,
        reps=1, note="test data; test accuracy reference 0.9616, torch 0.9614")
    path = folder / "latest.csv"
    pd.DataFrame(rows, columns=BENCH_COLUMNS).to_csv(path, index=False, float_format="%.6g")
    if memory:
        mem = [["Convolution", conv, "float32", "book", 24.5376, 24.55, 0.299, 5.493, 3.2, "fresh process"],
               ["Convolution", conv, "float32", "fast", 17.982, 18.08, 0.299, 5.493, 3.2, "fresh process"],
               ["Convolution", conv, "float32", "torch", float("nan"), 70.9922, 0.299, 5.493, 3.2, "fresh process"]]
        pd.DataFrame(mem, columns=BENCH_MEMORY_COLUMNS).to_csv(folder / "memory.csv", index=False)
    return path


def snapshot(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


class PageStructure(HTMLParser):
    """The tags of a page, every URL it names (tag, attribute, value) and its sections' ids, in order."""

    def __init__(self):
        super().__init__()
        self.urls, self.tags, self.section_ids = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "action", "poster", "data", "xlink:href", "background"):
                self.urls.append((tag, name, value or ""))
        if tag == "section":
            self.section_ids.append(dict(attrs).get("id"))


def forbid_work(monkeypatch):
    """Make any computation of the report fail: what is checked must be checked before it."""
    def no(*args, **kwargs):
        raise AssertionError("computation started before the output folder was checked")
    monkeypatch.setattr(REPORT, "collect_report", no)
    monkeypatch.setattr(REPORT, "parity_records", no)


def report_usage_error(args, capsys) -> str:
    """The one line ``cnn-parity report`` prints for a usage error (exit status 2)."""
    try:
        status = main(args)
    except SystemExit as exc:                  # argparse's own checks (the argument types)
        status = exc.code
    assert status == 2
    return one_line(capsys.readouterr().err, "report")
