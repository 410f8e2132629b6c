"""The report's speed section: it shows the results of a separate benchmark run (``python -m
benchmarks``), read and checked by ``reports.benchmark_results``; it never times anything."""
from __future__ import annotations

import os

import pandas as pd
import pytest

from benchmarks import memory, table
from reports import benchmark_results as BENCH
from reports import report as REPORT
from reports.html import page as report_html

from . import conftest
from .report_helpers import (BENCH_COLUMNS, BENCH_MEMORY_COLUMNS, PageStructure, forbid_work,
                             report_usage_error, small_inputs, synthetic_benchmarks)


# ------------------------------------------------------------------------------------------
# Speed: the results of a separate benchmark run
# ------------------------------------------------------------------------------------------

def test_speed_section_shows_the_benchmark_results(tmp_path):
    results = synthetic_benchmarks(tmp_path / "results")
    inputs = small_inputs()
    inputs.speed = REPORT.load_benchmarks(results)
    out = tmp_path / "report"
    REPORT.write_report(out, inputs)
    html = (out / "index.html").read_text(encoding="utf-8")
    parser = PageStructure()
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
    monkeypatch.setattr(BENCH, "DEFAULT_BENCHMARKS", tmp_path / "benchmarks" / "results" / "latest.csv")
    records = small_inputs().records + small_inputs().sweeps
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
    results = synthetic_benchmarks(tmp_path / "results", memory=False)
    monkeypatch.setattr(BENCH, "DEFAULT_BENCHMARKS", results)
    monkeypatch.setattr(conftest, "RECORD_LOG", small_inputs().records)
    out = tmp_path / "session"
    conftest.write_session_report(out, seed=None)
    html = (out / "index.html").read_text(encoding="utf-8")
    assert 'id="speed"' in html and ">0.50<" in html
    assert (out / "speed.csv").read_bytes() == results.read_bytes() and not (out / "speed_memory.csv").exists()


def test_unusable_default_benchmark_file_is_shown_not_raised(tmp_path, monkeypatch):
    bad = tmp_path / "latest.csv"
    bad.write_text("layer,config\nConvolution,x\n")
    monkeypatch.setattr(BENCH, "DEFAULT_BENCHMARKS", bad)
    inputs = REPORT.report_from_records(small_inputs().records)
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
    forbid_work(monkeypatch)
    given = tmp_path / "bench.csv"
    if content is not None:
        given.write_text(content)
    before = sorted(os.listdir(tmp_path))
    message = report_usage_error(["report", "--out", str(tmp_path / "report"), "--benchmarks", str(given)], capsys)
    assert str(given) in message and expected in message and "--benchmarks" in message
    assert sorted(os.listdir(tmp_path)) == before, "nothing written"


def test_report_reads_the_columns_the_benchmarks_write():
    assert table.COLUMNS == BENCH_COLUMNS and memory.MEMORY_COLUMNS == BENCH_MEMORY_COLUMNS
    assert set(REPORT.SPEED_COLUMNS) <= set(table.COLUMNS)
    assert set(REPORT.MEMORY_COLUMNS) <= set(memory.MEMORY_COLUMNS)
