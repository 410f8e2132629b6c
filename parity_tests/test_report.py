"""The comparison report: CSV files, the self-contained HTML page, atomic writing, a real browser.

One quick report is generated per module (``quick_report``) with a small synthetic training
run, so the training sections are exercised without training for real (that is the slow tier:
``test_cli_quick_report_twice_is_byte_identical``). The browser test opens the page from disk
in headless Chromium, driven through the DevTools protocol over a pipe (no extra package).
"""
from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reports import benchmark_results as BENCH
from reports import report as REPORT
from reports.html import page as report_html
from reports.cli import main
from reports.parity.records import Tolerance, compare
from reports.parity.sweeps import SWEEP_EXAMPLES_QUICK, draw_sweep_configs

from .conftest import one_line

SECTIONS = ["verdict", "layers", "nets", "opinfo", "training", "accuracy", "filters", "speed", "catalog",
            "bugzoo", "im2col", "environment"]
CSV_FILES = ["layers.csv", "sweeps.csv", "training_curves.csv", "training_epochs.csv"]


# ------------------------------------------------------------------------------------------
# Fixtures
# ------------------------------------------------------------------------------------------

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


def _quick_inputs():
    return REPORT.collect_report(seed=0, quick=True, training=synthetic_training())


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "out"
    inputs = _quick_inputs()
    REPORT.write_report(out, inputs)
    return out, inputs


def _small_inputs(note="", case="Convolution"):
    """A tiny report (a few records), for tests about writing rather than content."""
    tol = Tolerance(1e-12, "test")
    a = np.arange(6.0).reshape(2, 3)
    recs = [compare(case, "output", a, a + 1e-15, tol, config={"N": 1}, note=note),
            compare("Convolution", "dx", a, a, tol, config={"N": 1}),
            compare("Pooling", "output", a, a, tol, config={"N": 2}, group="sweep")]
    return REPORT.ReportInputs(records=[r for r in recs if r.group != "sweep"],
                               sweeps=[r for r in recs if r.group == "sweep"],
                               environment=[("date (UTC)", "2000-01-01 00:00:00")], catalog=[])


#: The columns of benchmarks.speed.COLUMNS / benchmarks.memory.MEMORY_COLUMNS (checked below).
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


def _snapshot(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# ------------------------------------------------------------------------------------------
# CSV
# ------------------------------------------------------------------------------------------

def test_csv_files_and_columns(quick_report):
    out, inputs = quick_report
    names = {p.name for p in out.iterdir()}
    assert {*CSV_FILES, "environment.csv", "index.html", REPORT.MARKER} <= names

    layers = pd.read_csv(out / "layers.csv")
    assert list(layers.columns) == REPORT.LAYER_COLUMNS
    assert set(layers.group) >= {"layer", "net", "trace", "known"}
    assert set(layers.dtype) == {"float64", "float32"}
    key = ["group", "case", "config", "dtype", "quantity"]
    assert not layers.duplicated(key).any(), "one row per (case, quantity, dtype)"
    assert (layers.verdict == "pass").all()
    assert len(layers) == len({(r.group, r.case, r.config, r.dtype, r.quantity) for r in inputs.records})

    sweeps = pd.read_csv(out / "sweeps.csv", dtype={"N": "Int64"})
    assert list(sweeps.columns) == REPORT.SWEEP_COLUMNS
    assert set(sweeps.case) == {"Convolution", "Pooling", "AvgPooling"}
    assert set(sweeps.dtype) == {"float64", "float32"}
    assert sweeps.groupby(["case", "dtype"]).example.nunique().min() == SWEEP_EXAMPLES_QUICK
    text = (out / "sweeps.csv").read_text()
    assert not re.search(r",\d+\.0,(\d+\.0,)*", text.splitlines()[1].split('"')[0]), "integers stay integers"

    curves = pd.read_csv(out / "training_curves.csv")
    assert {"net", "optimizer", "dtype", "framework", "epoch", "step", "loss"} <= set(curves.columns)
    epochs = pd.read_csv(out / "training_epochs.csv")
    assert list(epochs.columns)[:7] == ["net", "optimizer", "dtype", "framework", "epoch", "train_acc", "test_acc"]

    env = dict(pd.read_csv(out / "environment.csv", keep_default_na=False).values)
    for key in ("python", "numpy", "torch", "torchvision", "numpy BLAS", "torch BLAS", "CPU", "GPU",
                "torch threads", "seed", "torch.backends.cuda.matmul.allow_tf32",
                "torch.backends.cudnn.allow_tf32", "torch.get_float32_matmul_precision()", "git commit",
                "date (UTC)"):
        assert env.get(key, "") != "", key
    assert env["seed"] == "0"


def test_opinfo_csv_and_section(quick_report):
    """--quick runs a seeded subset of PyTorch's OpInfo samples: opinfo.csv holds one row per
    sample and quantity with the torch version, and the page shows the per-entry table."""
    import torch

    from reports.parity.opinfo import OPINFO_COLUMNS, OPS

    out, inputs = quick_report
    if inputs.opinfo is None:
        pytest.skip(inputs.opinfo_note)
    frame = pd.read_csv(out / "opinfo.csv", keep_default_na=False)
    assert list(frame.columns) == OPINFO_COLUMNS
    assert set(frame.torch_version) == {torch.__version__} and (frame.verdict == "pass").all()
    assert len(frame.groupby(["op", "dtype", "sample"])) == REPORT.OPINFO_QUICK_SUBSET * 2 * len(OPS)
    assert {"output", "grad input", "grad weight"} <= set(frame.quantity)
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "PyTorch&#39;s own test samples (OpInfo) through the reference" in html
    assert "cnn-parity opinfo --dtype both --csv opinfo.csv --subset 3" in html and 'href="opinfo.csv"' in html
    assert html.count('<table class="opinfo">') == 2                      # one per dtype


def test_opinfo_section_says_why_the_corpus_is_missing():
    inputs = REPORT.ReportInputs(records=[], sweeps=[], environment=[], opinfo=None,
                                 opinfo_note="The OpInfo corpus could not be run: no expecttest.")
    html = report_html.render_section("opinfo", inputs)
    assert "could not be run: no expecttest." in html and "<table" not in html
    assert report_html.render_section("opinfo", REPORT.ReportInputs(records=[], sweeps=[], environment=[])) == ""


def test_speed_csv_is_a_copy_of_the_default_benchmark_results(quick_report):
    out, inputs = quick_report
    if REPORT.DEFAULT_BENCHMARKS.is_file():
        assert (out / "speed.csv").read_bytes() == REPORT.DEFAULT_BENCHMARKS.read_bytes()
        memory = REPORT.DEFAULT_BENCHMARKS.with_name("memory.csv")
        assert (out / "speed_memory.csv").exists() == memory.is_file()
        env = dict(pd.read_csv(out / "environment.csv", keep_default_na=False).values)
        assert env["benchmark results"].startswith("benchmarks/results/latest.csv")
    else:
        assert not (out / "speed.csv").exists() and "python -m benchmarks" in (out / "index.html").read_text()


def test_same_seed_gives_byte_identical_csv(quick_report, tmp_path):
    """The quick report twice with the same seed: every CSV but environment.csv is byte-identical."""
    first, _ = quick_report
    second = tmp_path / "again"
    REPORT.write_report(second, _quick_inputs())
    for name in CSV_FILES + (["opinfo.csv"] if (first / "opinfo.csv").exists() else []):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def _pair(v):
    return tuple(v) if isinstance(v, (list, tuple)) else (v, v)


def test_sweep_configs_are_seeded_and_valid():
    a = draw_sweep_configs(3, 25)
    assert a == draw_sweep_configs(3, 25)
    assert a != draw_sweep_configs(4, 25)
    for factory, cfg, _ in a:
        (dh, dw) = _pair(cfg.get("dilation", 1))
        if factory == "conv_case":
            groups = cfg.get("groups", 1)
            assert cfg["C"] % groups == 0 and cfg["FN"] % groups == 0
            if cfg["pad"] == "same":
                assert cfg["stride"] == 1
                continue
            ph, pw = (0, 0) if cfg["pad"] == "valid" else _pair(cfg["pad"])
            assert dh * (cfg["FH"] - 1) + 1 <= cfg["H"] + 2 * ph and dw * (cfg["FW"] - 1) + 1 <= cfg["W"] + 2 * pw
        else:
            ph, pw = _pair(cfg["pad"])
            assert ph <= cfg["ph"] // 2 and pw <= cfg["pw"] // 2
            assert dh * (cfg["ph"] - 1) + 1 <= cfg["H"] + 2 * ph and dw * (cfg["pw"] - 1) + 1 <= cfg["W"] + 2 * pw
    options = {k for _, cfg, _ in a for k in cfg}
    assert {"groups", "dilation", "ceil_mode", "bias"} <= options, "the sweeps draw PyTorch's options too"


def test_report_drives_the_training_module():
    """The contract with reports.mnist.training: run_training calls train_lockstep and gets curves,
    epochs and first-layer filters in the report's shape (a few steps of SimpleConvNet on tiny
    random data; the other nets train in test_training.py), logs a line per run and per epoch,
    and its note says once how the runs were made."""
    rng = np.random.default_rng(0)
    data = ((rng.random((200, 1, 28, 28)), rng.integers(0, 10, 200)),
            (rng.random((50, 1, 28, 28)), rng.integers(0, 10, 50)))
    lines = []
    result = REPORT.run_training(seed=1, quick=True, data=data, steps=2, log=lines.append,
                                 runs=REPORT.TRAINING_RUNS[:1])
    curves, epochs = result["curves"], result["epochs"]
    assert {"net", "optimizer", "dtype", "framework", "epoch", "step", "loss"} <= set(curves.columns)
    assert set(curves.dtype) == {"float64", "float32"} and curves.step.max() == 2
    assert {"train_acc", "test_acc"} <= set(epochs.columns)
    filters = REPORT.normalise_filters(result["filters"])
    assert filters["before"]["torch"].shape == filters["after"]["reference"].shape == (30, 1, 5, 5)
    assert filters["dtype"] == "float64"
    assert [line.split(":")[0].split(" (")[0] for line in lines] == [
        "    simple float64 epoch 1/1", "  training simple float64", "    simple float32 epoch 1/1",
        "  training simple float32"]
    note = result["note"]
    assert note.count("--quick") == 1 and note.count("first 1,000 training images") == 1, note
    assert note.startswith("Seed 1; --quick: 2 steps on the first 1,000 training images of the given data: "
                           "simple: adam (lr 0.001), batch 100, accuracy on the first 200 training and 50 test "
                           "images. Both"), note


def test_training_note_names_capped_runs_once():
    """Without --quick: the epochs once, and the step cap of the runs that have one."""
    rng = np.random.default_rng(0)
    data = ((rng.random((300, 1, 28, 28)), rng.integers(0, 10, 300)),
            (rng.random((20, 1, 28, 28)), rng.integers(0, 10, 20)))
    runs = [("simple", "sgd", 0.01, 100, None, 2000), ("lenet5", "sgd", 0.01, 100, 2, 10)]
    result = REPORT.run_training(data=data, epochs=1, dtypes=("float32",), log=lambda *a: None, runs=runs)
    note = result["note"]
    assert note.startswith("Seed 0; 1 epoch on the given data: simple: sgd (lr 0.01), batch 100, accuracy on "
                           "the first 300 training and 20 test images; lenet5: sgd (lr 0.01), batch 100, 2 steps, "
                           "accuracy on the first 10 training and 10 test images. Both"), note
    steps = result["curves"].groupby("net").step.max().to_dict()
    assert steps == {"simple": 3, "lenet5": 2}


# ------------------------------------------------------------------------------------------
# HTML, statically
# ------------------------------------------------------------------------------------------

class _Collector(HTMLParser):
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


def test_html_is_self_contained_with_sections_in_order(quick_report):
    out, _ = quick_report
    html = (out / "index.html").read_text(encoding="utf-8")
    parser = _Collector()
    parser.feed(html)
    assert parser.section_ids == SECTIONS
    assert "script" not in parser.tags and "link" not in parser.tags and "iframe" not in parser.tags
    for tag, attr, url in parser.urls:
        ok = url.startswith("#") or url.startswith("data:image/png;base64,") or (
            tag == "a" and re.fullmatch(r"[\w.-]+\.(csv|json|npz)", url))     # the files beside it
        assert ok, f"<{tag} {attr}={url[:80]!r}> may load something"
    lowered = html.lower()
    for needle in ("http:", "https:", "ftp:", "//cdn", "@import", "@font-face", "<script", "<link"):
        assert needle not in lowered, needle
    assert all(m.startswith("data:") for m in re.findall(r"url\(\s*['\"]?([^)'\"]*)", lowered))
    assert parser.tags.count("svg") >= 5 and parser.tags.count("img") == 4      # charts, 4 filter mosaics
    assert "✓" in html and "PyTorch and the NumPy reference agree" in html


def test_html_escapes_text():
    evil = "<script>alert('x')</script> & \"quotes\""
    html = report_html.render_html(_small_inputs(note=evil, case=evil))
    assert "<script" not in html
    escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &#34;quotes&#34;"     # markupsafe's escapes
    assert html.count(escaped) >= 3           # the case name (chart, table) and the note


def test_training_sections_only_with_training_data():
    inputs = _small_inputs()
    html = report_html.render_html(inputs)
    for sid in ("training", "accuracy", "filters"):
        assert f'id="{sid}"' not in html
    t = synthetic_training()
    inputs.curves, inputs.epochs = t["curves"], t["epochs"]
    inputs.filters = REPORT.normalise_filters(t["filters"])
    html = report_html.render_html(inputs)
    for sid in ("training", "accuracy", "filters"):
        assert f'id="{sid}"' in html
    assert html.count("<title>Loss per step") == 2 and html.count("<title>|Loss difference| per step") == 2


def test_failures_are_shown_first():
    inputs = _small_inputs()
    bad = compare("Affine", "dW", np.ones(3), np.ones(3) * 1.5, 1e-12, config={"M": 3})
    inputs.records.append(bad)
    html = report_html.render_html(inputs)
    verdict = html[html.index('id="verdict"'):html.index('id="layers"')]
    assert "✗" in verdict and "1 of 4 comparisons fail" in verdict and "Affine" in verdict


def test_network_trace_names_the_first_divergence():
    inputs = _small_inputs()
    a = np.linspace(1, 2, 8)
    for quantity, err in (("Conv1.out", 0), ("Relu1.out", 0), ("Affine1.out", 1e-3), ("Affine1.grad", 1e-3),
                          ("Conv1.grad", 1e-3)):
        inputs.records.append(compare("SimpleConvNet", quantity, a, a + err, 1e-12, config={"N": 2}, group="trace"))
    html = report_html.render_html(inputs)
    nets = html[html.index('id="nets"'):]
    assert "first divergence at <strong>Affine1.out</strong>" in nets and "✗" in nets


def test_normalise_filters_accepts_both_forms():
    W0, Wr, Wt = np.zeros((2, 1, 3, 3)), np.ones((2, 1, 3, 3)), np.full((2, 1, 3, 3), 2.0)
    a = REPORT.normalise_filters({"before": W0, "reference": Wr, "torch": Wt})
    b = REPORT.normalise_filters({"before": {"reference": W0, "torch": W0}, "after": {"reference": Wr, "torch": Wt}})
    for f in (a, b):
        assert set(f["before"]) == set(f["after"]) == {"reference", "torch"}
        assert (f["after"]["torch"] == 2).all() and (f["before"]["reference"] == 0).all()
    assert REPORT.normalise_filters(None) is None


# ------------------------------------------------------------------------------------------
# Speed: the results of a separate benchmark run
# ------------------------------------------------------------------------------------------

def test_speed_section_shows_the_benchmark_results(tmp_path):
    results = synthetic_benchmarks(tmp_path / "results")
    inputs = _small_inputs()
    inputs.speed = REPORT.load_benchmarks(results)
    out = tmp_path / "report"
    REPORT.write_report(out, inputs)
    html = (out / "index.html").read_text(encoding="utf-8")
    parser = _Collector()
    parser.feed(html)
    assert parser.section_ids == ["verdict", "layers", "speed", "im2col", "environment"]
    assert '<a href="#speed">Speed</a>' in html
    speed = html[html.index('id="speed"'):html.index('id="im2col"')]
    # the run's machine, from the CSV's columns
    for text in ("OpenBLAS 9.9.9 (TestCore)", "9.8.7", "6.5.4+cpu", "1, 2", "0.42", str(results),
                 "measured 2000-01-02 03:04 UTC", "Test CPU, 2 cores"):
        assert text in speed, text
    # 1 thread, float32: fast, book, torch milliseconds and both ratios of forward + backward
    fb = speed[speed.index("Convolution"):]
    for text in ("3.21", "12.3", "6.42", ">0.50<", ">1.92<", "1.11", "4.44", "2.22"):
        assert text in fb, text
    assert ">6.42<" in speed and ">12.8<" in speed                   # float64 (times 2)
    assert "14.5 <span" in speed and "one path" in speed and ">11.0<" in speed   # Relu: 14.47 / 1.32
    assert "11.4 s" in speed and "9.5 s" in speed and "test accuracy reference 0.9616" in speed   # the epoch
    assert "training step" in speed and "18.4" in speed
    assert "The same measurements at 2 threads" in speed
    assert "<title>Reference (fast path) ÷ PyTorch time" in speed and speed.count("<svg") == 1
    assert "24.5 MB" in speed and "18.0 MB" in speed and "71.0 MB" in speed   # memory.csv beside it
    assert "below 1 the NumPy reference is faster" in speed and "not from the run that made this report" in speed
    # the CSV copies: the benchmark files byte for byte
    assert (out / "speed.csv").read_bytes() == results.read_bytes()
    assert (out / "speed_memory.csv").read_bytes() == results.with_name("memory.csv").read_bytes()
    assert 'href="speed.csv"' in html and 'href="speed_memory.csv"' in html


def test_speed_section_without_the_default_file_says_how_to_make_it(tmp_path, monkeypatch):
    from . import conftest

    monkeypatch.setattr(BENCH, "DEFAULT_BENCHMARKS", tmp_path / "benchmarks" / "results" / "latest.csv")
    records = _small_inputs().records + _small_inputs().sweeps
    monkeypatch.setattr(conftest, "RECORD_LOG", records)
    out = tmp_path / "session"
    conftest.write_session_report(out, seed=None)          # the pytest --parity-report path
    html = (out / "index.html").read_text(encoding="utf-8")
    speed = html[html.index('id="speed"'):html.index('id="catalog"')]
    assert "No benchmark results to show" in speed and "does not exist" in speed
    assert "<code>python -m benchmarks</code>" in speed and "--benchmarks FILE" in speed
    assert not (out / "speed.csv").exists() and not (out / "speed_memory.csv").exists()
    assert len(pd.read_csv(out / "layers.csv")) == 2, "the rest of the report as before"


def test_parity_report_includes_the_default_benchmark_results(tmp_path, monkeypatch):
    from . import conftest

    results = synthetic_benchmarks(tmp_path / "results", memory=False)
    monkeypatch.setattr(BENCH, "DEFAULT_BENCHMARKS", results)
    monkeypatch.setattr(conftest, "RECORD_LOG", _small_inputs().records)
    out = tmp_path / "session"
    conftest.write_session_report(out, seed=None)
    html = (out / "index.html").read_text(encoding="utf-8")
    assert 'id="speed"' in html and ">0.50<" in html
    assert (out / "speed.csv").read_bytes() == results.read_bytes() and not (out / "speed_memory.csv").exists()


def test_unusable_default_benchmark_file_is_shown_not_raised(tmp_path, monkeypatch):
    bad = tmp_path / "latest.csv"
    bad.write_text("layer,config\nConvolution,x\n")
    monkeypatch.setattr(BENCH, "DEFAULT_BENCHMARKS", bad)
    inputs = REPORT.report_from_records(_small_inputs().records)
    html = report_html.render_html(inputs)
    assert "could not be used" in html and "missing columns pass, dtype, method" in html


@pytest.mark.parametrize("content, expected", [
    (None, "does not exist; give an existing file"),
    ("layer,config,pass\nConvolution,x,forward\n", "missing columns dtype, method, reference_ms, torch_ms, threads"),
    ("layer,config,pass,dtype,method,reference_ms,torch_ms,threads\nRelu,x,forward,float32,-,fast,1,1\n",
     "column reference_ms must hold numbers (line 2: 'fast')"),
    ("", "not a readable CSV file"),
])
def test_unusable_benchmarks_file_fails_clearly_before_any_work(tmp_path, monkeypatch, capsys, content, expected):
    _forbid_work(monkeypatch)
    given = tmp_path / "bench.csv"
    if content is not None:
        given.write_text(content)
    before = sorted(os.listdir(tmp_path))
    message = _cli_error(["report", "--out", str(tmp_path / "report"), "--benchmarks", str(given)], capsys)
    assert str(given) in message and expected in message and "--benchmarks" in message
    assert sorted(os.listdir(tmp_path)) == before, "nothing written"


def test_report_reads_the_columns_the_benchmarks_write():
    from benchmarks import memory, speed

    assert speed.COLUMNS == BENCH_COLUMNS and memory.MEMORY_COLUMNS == BENCH_MEMORY_COLUMNS
    assert set(REPORT.SPEED_COLUMNS) <= set(speed.COLUMNS)
    assert set(REPORT.MEMORY_COLUMNS) <= set(memory.MEMORY_COLUMNS)


# ------------------------------------------------------------------------------------------
# Atomic writing and clear errors
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_failed_build_keeps_the_previous_report(tmp_path, monkeypatch, exc):
    out = tmp_path / "report"
    REPORT.write_report(out, _small_inputs())
    before, listing = _snapshot(out), sorted(os.listdir(tmp_path))

    def explode(*args, **kwargs):
        raise exc
    monkeypatch.setattr(report_html.section("catalog"), "context", explode)     # a section, mid-build
    with pytest.raises(type(exc)):
        REPORT.write_report(out, _small_inputs(note="new"))
    assert _snapshot(out) == before
    assert sorted(os.listdir(tmp_path)) == listing, "no temporary folder left behind"


def test_interrupted_cli_run_keeps_the_previous_report(tmp_path, monkeypatch, capsys):
    out = tmp_path / "report"
    REPORT.write_report(out, _small_inputs())
    before, listing = _snapshot(out), sorted(os.listdir(tmp_path))

    def interrupted(**kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(REPORT, "collect_report", interrupted)
    assert main(["report", "--out", str(out), "--no-training"]) == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"cnn-parity report: interrupted; nothing was written, {out} is as it was")
    assert _snapshot(out) == before
    assert sorted(os.listdir(tmp_path)) == listing


def test_replacing_a_report_swaps_it_whole(tmp_path):
    out = tmp_path / "report"
    REPORT.write_report(out, _small_inputs())
    (out / "stale.txt").write_text("from an older version")
    REPORT.write_report(out, _small_inputs(note="second"))
    assert "stale.txt" not in os.listdir(out) and "second" in (out / "layers.csv").read_text()
    assert sorted(os.listdir(tmp_path)) == ["report"]


def _forbid_work(monkeypatch):
    def no(*args, **kwargs):
        raise AssertionError("computation started before the output folder was checked")
    monkeypatch.setattr(REPORT, "collect_report", no)
    monkeypatch.setattr(REPORT, "parity_records", no)


def _cli_error(args, capsys) -> str:
    """The one line ``cnn-parity report`` prints for a usage error (exit status 2)."""
    try:
        status = main(args)
    except SystemExit as exc:                  # argparse's own checks (the argument types)
        status = exc.code
    assert status == 2
    return one_line(capsys.readouterr().err, "report")


def test_unwritable_out_fails_clearly_before_any_work(tmp_path, monkeypatch, capsys):
    _forbid_work(monkeypatch)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    message = _cli_error(["report", "--out", str(blocker / "report")], capsys)
    assert str(blocker) in message and "is a file, not a folder" in message
    message = _cli_error(["report", "--out", str(blocker)], capsys)
    assert str(blocker) in message and "not a folder" in message
    assert sorted(os.listdir(tmp_path)) == ["a-file"]


def test_out_folder_with_other_files_is_never_replaced(tmp_path, monkeypatch, capsys):
    _forbid_work(monkeypatch)
    (tmp_path / "notes.txt").write_text("precious")
    message = _cli_error(["report", "--out", str(tmp_path)], capsys)
    assert str(tmp_path) in message and "not an earlier report" in message
    assert (tmp_path / "notes.txt").read_text() == "precious"


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="running as root: chmod does not stop root from writing (the regular-file "
                           "parent test covers the error path)")
def test_read_only_parent_fails_clearly_before_any_work(tmp_path, monkeypatch, capsys):
    _forbid_work(monkeypatch)
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        message = _cli_error(["report", "--out", str(parent / "report")], capsys)
    finally:
        parent.chmod(0o755)
    assert str(parent) in message and "Permission denied" in message


def test_missing_parents_are_created_and_removed_on_failure(tmp_path, monkeypatch):
    out = tmp_path / "a" / "b" / "report"
    monkeypatch.setattr(report_html.section("verdict"), "context", lambda *a: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        REPORT.write_report(out, _small_inputs())
    assert os.listdir(tmp_path) == []
    monkeypatch.undo()
    REPORT.write_report(out, _small_inputs())
    assert (out / "index.html").is_file()


# ------------------------------------------------------------------------------------------
# pytest --parity-report
# ------------------------------------------------------------------------------------------

def test_parity_report_option_writes_the_session_records(tmp_path, monkeypatch):
    from . import conftest

    records = _small_inputs().records + _small_inputs().sweeps
    monkeypatch.setattr(conftest, "RECORD_LOG", records)
    out = tmp_path / "session"
    conftest.write_session_report(out, seed=None)
    layers = pd.read_csv(out / "layers.csv")
    assert len(layers) == 2 and set(layers.quantity) == {"output", "dx"}
    assert len(pd.read_csv(out / "sweeps.csv")) == 1
    assert "pytest parity_tests" in (out / "index.html").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------
# A real browser
# ------------------------------------------------------------------------------------------

def _chromium() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"),
                      shutil.which("google-chrome")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


class DevTools:
    """A minimal Chrome DevTools Protocol client over ``--remote-debugging-pipe`` (fds 3 and 4,
    NUL-separated JSON), so no websocket library is needed."""

    def __init__(self, chromium: str, user_data_dir: str):
        import fcntl

        def high(fd):
            new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
            os.close(fd)
            return new
        r_cmd, w_cmd = map(high, os.pipe())
        r_res, w_res = map(high, os.pipe())

        def child_fds():                      # the browser reads fd 3, writes fd 4
            os.dup2(r_cmd, 3)
            os.dup2(w_res, 4)
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
             "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={user_data_dir}",
             "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.stderr,
            preexec_fn=child_fds, close_fds=False)
        os.close(r_cmd)
        os.close(w_res)
        self.w, self.r = w_cmd, r_res
        self.buf, self.next_id, self.events = b"", 0, []

    def send(self, method, params=None, session=None, timeout=30):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        reply = self.wait(lambda m: m.get("id") == self.next_id, timeout)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def wait(self, predicate, timeout=30):
        end = time.monotonic() + timeout
        while True:
            while b"\0" in self.buf:
                raw, self.buf = self.buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" not in msg:
                    self.events.append(msg)
                if predicate(msg):
                    return msg
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from Chromium")
            ready, _, _ = select.select([self.r], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(self.r, 1 << 20)
                if not chunk:
                    raise RuntimeError("Chromium closed the DevTools pipe")
                self.buf += chunk

    def close(self):
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self.w, self.r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.stderr.close()


def open_in_chromium(page: Path, screenshot: Path, width=1280, max_height=None) -> dict:
    """Load ``page`` from disk; return what happened (requests, console errors, exceptions, DOM facts)
    and write a PNG screenshot of the whole page (or of its top ``max_height`` pixels)."""
    chromium = _chromium()
    with tempfile.TemporaryDirectory(prefix="cnn-parity-chromium-") as profile:
        dt = DevTools(chromium, profile)
        try:
            target = dt.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            sid = dt.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Runtime", "Log", "Network", "Page"):
                dt.send(f"{domain}.enable", session=sid)
            dt.send("Emulation.setDeviceMetricsOverride",
                    {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session=sid)
            start = len(dt.events)
            url = page.resolve().as_uri()
            dt.send("Page.navigate", {"url": url}, session=sid)
            dt.wait(lambda m: m.get("method") == "Page.loadEventFired", timeout=60)
            facts = dt.send("Runtime.evaluate", {"returnByValue": True, "expression": """({
                sections: [...document.querySelectorAll('main > section')].map(s => s.id),
                offsets: [...document.querySelectorAll('main > section')].map(s => s.offsetTop),
                svgs: document.querySelectorAll('svg').length,
                images: [...document.images].map(i => [i.complete, i.naturalWidth]),
                title: document.title,
                height: document.documentElement.scrollHeight,
                width: document.documentElement.scrollWidth,
                text: document.body.innerText.length,
                resources: performance.getEntriesByType('resource').map(r => r.name)
            })"""}, session=sid)["result"]["value"]
            height = int(facts["height"]) if max_height is None else min(int(facts["height"]), max_height)
            dt.send("Emulation.setDeviceMetricsOverride",
                    {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=sid)
            shot = dt.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                      "clip": {"x": 0, "y": 0, "width": width, "height": height,
                                                               "scale": 1}}, session=sid, timeout=60)
            import base64
            screenshot.write_bytes(base64.b64decode(shot["data"]))
            events = dt.events[start:]
        finally:
            dt.close()
    requests = [ev["params"]["request"]["url"] for ev in events if ev.get("method") == "Network.requestWillBeSent"]
    errors = [ev["params"] for ev in events if ev.get("method") == "Runtime.exceptionThrown"]
    errors += [ev["params"] for ev in events if ev.get("method") == "Runtime.consoleAPICalled"
               and ev["params"].get("type") in ("error", "warning", "assert")]
    errors += [ev["params"]["entry"] for ev in events if ev.get("method") == "Log.entryAdded"
               and ev["params"]["entry"].get("level") in ("error", "warning")]
    failed = [ev["params"] for ev in events if ev.get("method") == "Network.loadingFailed"]
    return {"url": url, "requests": requests, "errors": errors, "failed": failed, **facts}


@pytest.mark.skipif(_chromium() is None, reason="Chromium is not installed (Debian package `chromium`; "
                                                 ".ci/run installs it): the browser check cannot run here")
def test_report_renders_in_headless_chromium_without_network(quick_report, tmp_path):
    out, inputs = quick_report
    shot = tmp_path / "screenshot.png"
    keep = os.environ.get("CNN_PARITY_SCREENSHOT", "")
    seen = open_in_chromium(out / "index.html", shot, max_height=None if keep else 4000)   # full page if kept

    assert seen["errors"] == [], f"console errors or exceptions: {seen['errors']}"
    assert seen["failed"] == [], f"failed loads: {seen['failed']}"
    outside = [u for u in seen["requests"] if u != seen["url"] and not u.startswith("data:")]
    assert outside == [], f"the page requested {outside}"
    assert all(u.startswith("data:") for u in seen["resources"]), seen["resources"]
    assert seen["sections"] == SECTIONS
    assert seen["svgs"] >= 5 and seen["text"] > 2000
    assert seen["images"] and all(ok and w > 0 for ok, w in seen["images"]), "every image decoded"
    assert seen["width"] <= 1280, "nothing wider than the window (no horizontal scrolling)"
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000

    # CNN_PARITY_SCREENSHOT=1: keep this report and its full-page screenshot in reports/out/
    # (index.html, CSVs, screenshot.png; replaced whole like any report); =PATH: the PNG to PATH.
    if keep in ("1", "true", "yes"):
        dest = Path(__file__).resolve().parent.parent / REPORT.DEFAULT_OUT
        with REPORT.atomic_output(dest) as staging:
            REPORT.write_report_files(staging, inputs)
            shutil.copyfile(shot, staging / "screenshot.png")
    elif keep:
        Path(keep).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, keep)


# ------------------------------------------------------------------------------------------
# Slow tier: the CLI end to end, with real training
# ------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_cli_quick_report_twice_is_byte_identical(tmp_path, capsys):
    """`cnn-parity report --quick` twice (real lockstep training when reports.mnist.training exists)."""
    for name in ("a", "b"):
        assert main(["report", "--quick", "--seed", "3", "--out", str(tmp_path / name)]) == 0
    measured = {"environment.csv", "speed.csv", "speed_memory.csv"}     # dates and timings: not part of the guarantee
    files = sorted(p.name for p in (tmp_path / "a").iterdir() if p.suffix == ".csv" and p.name not in measured)
    assert {"layers.csv", "sweeps.csv"} <= set(files)
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
