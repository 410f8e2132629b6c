"""The comparison report: its CSV files, the self-contained HTML page, ``pytest --parity-report``,
a real browser.

One quick report is generated per module (``quick_report``) with a small synthetic training
run, so the training sections are exercised without training for real (that is the slow tier:
``test_cli_quick_report_twice_is_byte_identical``). The browser test opens the page from disk
in headless Chromium, driven through the DevTools protocol over a pipe (no extra package). The
speed section is ``test_report_speed.py``; atomic writing and the command's errors
``test_report_output.py``.
"""
from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from reports import report as REPORT
from reports.cli import main
from reports.html import page as report_html
from reports.parity.opinfo import OPINFO_COLUMNS, OPS
from reports.parity.records import compare
from reports.parity.sweeps import SWEEP_EXAMPLES_QUICK, draw_sweep_configs

from . import conftest
from .report_helpers import PageStructure, small_inputs, synthetic_training

SECTIONS = ["verdict", "layers", "nets", "opinfo", "training", "accuracy", "filters", "speed", "catalog",
            "bugzoo", "findings", "im2col", "environment"]
CSV_FILES = ["layers.csv", "sweeps.csv", "training_curves.csv", "training_epochs.csv"]


# ------------------------------------------------------------------------------------------
# Fixtures
# ------------------------------------------------------------------------------------------

def _quick_inputs():
    return REPORT.collect_report(seed=0, quick=True, training=synthetic_training())


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "out"
    inputs = _quick_inputs()
    REPORT.write_report(out, inputs)
    return out, inputs


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

def test_html_is_self_contained_with_sections_in_order(quick_report):
    out, _ = quick_report
    html = (out / "index.html").read_text(encoding="utf-8")
    parser = PageStructure()
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
    html = report_html.render_html(small_inputs(note=evil, case=evil))
    assert "<script" not in html
    escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &#34;quotes&#34;"     # markupsafe's escapes
    assert html.count(escaped) >= 3           # the case name (chart, table) and the note


def test_training_sections_only_with_training_data():
    inputs = small_inputs()
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
    inputs = small_inputs()
    bad = compare("Affine", "dW", np.ones(3), np.ones(3) * 1.5, 1e-12, config={"M": 3})
    inputs.records.append(bad)
    html = report_html.render_html(inputs)
    verdict = html[html.index('id="verdict"'):html.index('id="layers"')]
    assert "✗" in verdict and "1 of 4 comparisons fail" in verdict and "Affine" in verdict


def test_network_trace_names_the_first_divergence():
    inputs = small_inputs()
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
# pytest --parity-report
# ------------------------------------------------------------------------------------------

def test_parity_report_option_writes_the_session_records(tmp_path, monkeypatch):
    records = small_inputs().records + small_inputs().sweeps
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
