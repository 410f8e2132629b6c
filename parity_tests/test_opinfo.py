"""PyTorch's OpInfo samples through the reference (reports.parity.opinfo, issue 12).

Default tier: a seeded subset of the corpus (a few samples per entry and dtype), the runner's
bookkeeping (unsupported samples counted with their reason, one-line failure when the private
corpus is missing, torch's backend flags left mutable, a byte-identical CSV for the same seed)
and the command line. The whole corpus — 1,709 samples per dtype — runs under ``-m opinfo``
(also part of ``-m slow``): every sample in both dtypes, with the fast path and the book's path.
"""
from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from reports.cli import main
from reports.parity import opinfo as O
from reports.report import report_from_records

from .conftest import check, one_line


@pytest.fixture(scope="module")
def corpus():
    """Skip (with the runner's one-line reason) where this torch cannot provide the corpus."""
    try:
        return O.load_op_db()
    except O.CorpusUnavailable as exc:
        pytest.skip(str(exc))


def _records(run):
    return [r for res in run.results for r in res.records]


def test_seeded_subset_of_the_corpus_agrees(corpus):
    """Two samples per entry and dtype, drawn with seed 0 from each entry's first 48 (the
    max-pool generator makes 1,440, seconds' worth): all run, and every record passes."""
    run = O.run_corpus(subset=2, seed=0)
    assert len(run.results) == 2 * 2 * len(O.OPS)
    assert all(res.ran for res in run.results), [res.reason for res in run.results if not res.ran]
    records = check(_records(run))
    quantities = {(r.case, r.quantity) for r in records}
    assert ("nn.functional.conv2d", "grad weight") in quantities      # parameters' VJP too
    assert {r.dtype for r in records} == {"float64", "float32"}
    rows = O.summarize(run)
    assert all(row["agree"] == row["run"] == row["samples"] == 2 for row in rows)


def _sample(input, *args, **kwargs):
    return types.SimpleNamespace(input=input, args=args, kwargs=kwargs)


def test_a_sample_the_reference_cannot_express_is_counted_with_its_reason():
    x = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    t = torch.tensor([0, 1, 3])
    smoothed = O.run_sample(F.cross_entropy, "nn.functional.cross_entropy",
                            _sample(x, t, label_smoothing=0.1), 7, "float64")
    plain = O.run_sample(F.cross_entropy, "nn.functional.cross_entropy", _sample(x, t), 8, "float64")
    assert not smoothed.ran and smoothed.reason == "label_smoothing" and not smoothed.records
    assert plain.ran and plain.agrees and {r.quantity for r in plain.records} == {"output", "grad input"}
    run = O.CorpusRun([smoothed, plain], torch.__version__, 0.0)
    (row,) = O.summarize(run)
    assert (row["samples"], row["run"], row["agree"], row["not_run"]) == (2, 1, 1, 1)
    assert row["why_not"] == "1× label_smoothing"
    csv_rows = O.sample_rows(run)
    assert [r["reason"] for r in csv_rows if r["verdict"] == "not run"] == ["label_smoothing"]
    assert all(r["torch_version"] == torch.__version__ for r in csv_rows)


def test_a_sample_the_reference_refuses_is_a_failure_not_a_skip():
    """Dilation that steps over the whole input: the reference raises (torch returns −inf and a
    bad index, see the catalog); the runner records a failure, it does not hide the sample."""
    x = torch.randn(1, 1, 1, 5, dtype=torch.float64, requires_grad=True)
    res = O.run_sample(F.max_pool2d, "nn.functional.max_pool2d",
                       _sample(x, kernel_size=(2, 1), stride=1, padding=(1, 0), dilation=(2, 1)), 0, "float64")
    assert res.ran and not res.agrees
    assert "the reference raised ValueError" in res.records[0].note


def test_unbatched_and_k_dimensional_samples_are_reshaped_and_say_so():
    rng = torch.Generator().manual_seed(0)
    x = torch.randn(4, 6, 6, dtype=torch.float32, generator=rng, requires_grad=True)
    w = torch.randn(8, 1, 3, 3, dtype=torch.float32, generator=rng, requires_grad=True)
    conv = O.run_sample(F.conv2d, "nn.functional.conv2d", _sample(x, w, None, groups=4), 0, "float32")
    check(conv.records)
    assert conv.records[0].note == "unbatched: batch axis added and removed"
    assert {r.quantity for r in conv.records} == {"output", "grad input", "grad weight"}
    scores = torch.randn(2, 3, 1, 2, dtype=torch.float64, generator=rng, requires_grad=True)
    probs = torch.softmax(torch.randn(2, 3, 1, 2, dtype=torch.float64, generator=rng), 1).requires_grad_(True)
    ce = O.run_sample(F.cross_entropy, "nn.functional.cross_entropy", _sample(scores, probs, reduction="none"),
                      0, "float64")
    check(ce.records)
    assert {r.quantity for r in ce.records} == {"output", "grad input", "grad target"}
    assert ce.records[0].note.startswith("K-dimensional")


def test_a_session_report_shows_the_opinfo_samples_it_asserted():
    """pytest --parity-report: the opinfo records a session checked become the report's corpus
    section and opinfo.csv, not rows of the layer tables."""
    x = torch.randn(5, dtype=torch.float64, requires_grad=True)
    res = O.run_sample(torch.sigmoid, "sigmoid", _sample(x), 4, "float64")
    inputs = report_from_records(res.records, benchmarks=False)
    assert inputs.records == [] and inputs.opinfo is not None
    (sample,) = inputs.opinfo.results
    assert (sample.op, sample.dtype, sample.index, sample.description) == ("sigmoid", "float64", 4, "(5,)")
    assert O.opinfo_frame(inputs.opinfo).quantity.tolist() == ["output", "grad input"]


def test_missing_corpus_is_one_line_and_the_command_reports_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch.testing._internal.common_methods_invocations", None)
    O._samples.cache_clear()
    try:
        with pytest.raises(O.CorpusUnavailable) as info:
            O.load_op_db()
        assert "\n" not in str(info.value) and "expecttest" in str(info.value)
        assert main(["opinfo", "--op", "sigmoid"]) == 1
    finally:
        O._samples.cache_clear()
    err = capsys.readouterr().err.strip()
    assert err.startswith("cnn-parity opinfo: cannot import torch.testing._internal") and "\n" not in err


def test_loading_the_corpus_leaves_backend_flags_mutable(corpus):
    """PyTorch's test utilities freeze torch.backends flags when imported; the runner undoes it,
    so configurations that set e.g. torch.backends.mkldnn.enabled still work afterwards."""
    O.load_op_db()
    assert not torch.backends.flags_frozen()
    saved = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = saved                # raises when the flags are frozen


def test_same_seed_same_csv_and_the_command(corpus, tmp_path, capsys):
    runs = [O.run_corpus(ops=["nn.functional.cross_entropy", "sigmoid"], dtypes=("float32",), seed=3)
            for _ in range(2)]
    csvs = [O.opinfo_frame(run).to_csv(index=False, lineterminator="\n") for run in runs]
    assert csvs[0] == csvs[1]
    out = tmp_path / "opinfo.csv"
    assert main(["opinfo", "--op", "nn.functional.local_response_norm", "--dtype", "float64",
                 "--csv", str(out)]) == 0
    text = capsys.readouterr().out
    assert "nn.functional.local_response_norm  float64" in text and "11 samples, 11 run (100.0 %), 11 agree" in text
    lines = out.read_text().splitlines()
    assert lines[0].startswith("torch_version,op,dtype,sample,args,quantity")
    assert len(lines) == 1 + 11 * 2 and all(line.startswith(torch.__version__) for line in lines[1:])


def test_bad_command_lines_are_one_line_usage_errors(capsys, tmp_path):
    assert main(["opinfo", "--op", "nn.functional.conv3d"]) == 2
    assert "--op nn.functional.conv3d: not an entry" in one_line(capsys.readouterr().err, "opinfo")
    for argv, says in ((["--csv", str(tmp_path / "missing" / "x.csv")], "argument --csv"),
                       (["--subset", "0"], "argument --subset")):            # argparse's checks
        with pytest.raises(SystemExit) as exit_:
            main(["opinfo", *argv])
        assert exit_.value.code == 2 and says in one_line(capsys.readouterr().err, "opinfo")


# ------------------------------------------------------------------------------------------
# The whole corpus: pytest -m opinfo (or -m slow)
# ------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.opinfo
@pytest.mark.parametrize("method", ["fast", "book"])
def test_whole_corpus(corpus, method):
    """Issue 12's bar: ≥ 95 % of every entry's samples run (all of them do), and all agree, in
    float64 and float32 — with the fast path and with the book's im2col/col2im path."""
    run = O.run_corpus(method=method)
    rows = O.summarize(run)
    assert {row["op"] for row in rows} == set(O.OPS)
    for row in rows:
        assert row["run"] >= 0.95 * row["samples"], row
    assert sum(row["run"] for row in rows) >= 1615 * 2
    check(_records(run))
    assert all(res.agrees for res in run.results if res.ran)
    assert np.isfinite([row["worst"] for row in rows if row["worst"] != float("inf")]).all()
