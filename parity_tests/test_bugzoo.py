"""The bug zoo: every catalogued bug is caught, planting leaves no trace, an unseen bug is "missed".

The default tier plants a fast subset, each checked only against the cases that reach it
(``Bug.reaches``) in float64; the whole catalog, with every check of each bug in both dtypes and
the clean baseline first, runs under ``pytest -m bugzoo`` (also part of ``-m slow``) — it is what
``cnn-parity bugs`` runs, minutes on two cores.
"""
import math

import numpy as np
import pytest

import reference as R
from reports import bugzoo, report
from reports.cli import main
from reports.commands.parity import parse_seeds
from reports.html import page
from reports.parity import harness
from reports.parity.bugs import CATALOG, GROUPS, Bug, around, bug_by_name, snapshot
from reports.parity.cases import conv_case, pool_case
from reports.parity.optim import run_parity
from reports.parity.records import DTYPES, compare
from reports.parity.selfcheck import self_check_records
from reports.report import ReportInputs
from reports.seeds import format_seeds

from .conftest import one_line


def _name(case):
    return getattr(case, "layer", getattr(case, "net", None))


def _reaches(bug):
    return lambda case: _name(case) in bug.reaches


# ------------------------------------------------------------------------------------------
# The catalog as data
# ------------------------------------------------------------------------------------------

def test_catalog_is_declared_once_as_data():
    names = [b.name for b in CATALOG]
    assert len(CATALOG) >= 35 and len(set(names)) == len(names)
    assert {b.group for b in CATALOG} == set(GROUPS)
    for bug in CATALOG:
        assert isinstance(bug, Bug) and bug.where and len(bug.models) > 20, bug.name
        assert bug.checks and set(bug.checks) <= set(bugzoo.SUITES), bug.name
        assert ("parity" in bug.checks) == bool(bug.reaches), f"{bug.name}: parity bugs name the cases that reach them"
        assert bug_by_name(bug.name) is bug
    assert {b.name for b in CATALOG if b.group == "harness"} == {
        b.name for b in CATALOG if b.checks == ("selfcheck",)}
    assert {b.name for b in CATALOG if b.group == "judges"} == {
        b.name for b in CATALOG if b.checks == ("judges",)}


# ------------------------------------------------------------------------------------------
# Caught: a fast subset here, the whole catalog under -m bugzoo
# ------------------------------------------------------------------------------------------

# bug -> the one parity case (or none: the self-check) that the fast test runs it against
FAST = {
    "col2im_assigns": lambda c: _name(c) == "Convolution" and c.config.get("method") == "book",
    "conv_kernel_flipped": lambda c: _name(c) == "Convolution" and c.config == conv_case().config,
    "maxpool_zero_padding": lambda c: _name(c) == "Pooling" and c.config["kind"] == "negative"
    and "ceil_mode" not in c.config,
    "maxpool_nan_dropped": lambda c: _name(c) == "Pooling" and c.config["kind"] == "nan",
    "softmax_no_max_shift": lambda c: _name(c) == "SoftmaxWithLoss" and c.config.get("kind") == "extreme",
    "lrn_backward_not_mirrored": lambda c: _name(c) == "LRN" and c.config["size"] % 2 == 0,
    "transfer_linear_reshaped": lambda c: _name(c) == "Affine" and c.config.get("x") == "3×5×5",
    "c3_unconnected_gradient": lambda c: _name(c) == "LeNet5" and c.config["c3_table"],
    "compare_blind_to_nonfinite": None,
    "tolerances_1000x_loose": None,
    "eager_tolerance_max": None,
    "corpus_not_run_agrees": None,
}


def test_the_clean_baseline_of_the_fast_subset_passes():
    chosen = [select for select in FAST.values() if select is not None]
    baseline, records = bugzoo.run_baseline(("selfcheck", "judges", "parity"), ("float64",),
                                            select=lambda c: any(select(c) for select in chosen))
    assert baseline.verdict == "pass", baseline.symptom
    assert len({(r.case, r.config) for r in records if r.group != "selfcheck"}) >= len(chosen)


@pytest.mark.parametrize("name", FAST)
def test_fast_subset_is_caught(name):
    result = bugzoo.run_bug(bug_by_name(name), ("float64",), select=FAST[name])
    assert result.caught, f"{name} missed: {result.records} records, none failed"
    assert result.first_quantity and result.symptom


def test_an_optimizer_bug_is_caught_by_the_trajectories():
    bug = bug_by_name("lr_rounded_to_float32")
    with bug.plant():
        ref, tor, config, _ = run_parity("sgd", "float64", steps=5)
    assert not np.array_equal(ref["W0"], tor["W0"])               # the bit-exact record fails
    ref, tor, config, _ = run_parity("sgd", "float64", steps=5)
    assert np.array_equal(ref["W0"], tor["W0"])                   # and without it, it passes


@pytest.fixture(scope="module")
def baseline_failures():
    baseline, records = bugzoo.run_baseline()
    assert baseline.verdict == "pass", baseline.symptom
    return frozenset(bugzoo._key(r) for r in records if not r.passed)


@pytest.mark.slow
@pytest.mark.bugzoo
@pytest.mark.parametrize("bug", CATALOG, ids=lambda b: b.name)
def test_every_catalogued_bug_is_caught(bug, baseline_failures):
    result = bugzoo.run_bug(bug, baseline_failing=baseline_failures)
    assert result.caught, f"{bug.name} missed by {bug.checks}: {result.records} records, none failed"


# ------------------------------------------------------------------------------------------
# Planting leaves no trace
# ------------------------------------------------------------------------------------------

def _fingerprint():
    """Bytes of a fresh computation through every planted kind of code: the layers, a net's
    gradient, the transfer, the optimizers, the harness."""
    rng = np.random.default_rng(3)
    parts = []
    for case in (conv_case(method="book"), conv_case(), pool_case(H=9, W=7, ph=3, pw=3, stride=2, pad=1)):
        parts += [(r.quantity, r.max_abs, r.max_rel, r.tol, r.verdict) for r in harness.run_layer_case(case)]
        ref, _ = case.build(np.random.default_rng(0), np.dtype("float64"))
        x = case.inputs(np.random.default_rng(1), np.dtype("float64"))["x"]
        out = ref.forward(x)
        parts += [out.tobytes(), ref.backward(np.ones_like(out)).tobytes()]
    net = R.LeNet5(c3_table=True, rng=0)
    grads = net.gradient(rng.random((2, 1, 28, 28)), np.array([1, 7]))
    parts += [g.tobytes() for g in grads.values()]
    ref, tor, _, _ = run_parity("adam", "float32", steps=3)
    parts += [ref[k].tobytes() + tor[k].tobytes() for k in ref]
    parts += [(r.quantity, r.verdict, r.max_rel) for r in self_check_records()]
    return parts


def test_planting_leaves_no_trace():
    before, ids = _fingerprint(), snapshot()
    for bug in CATALOG:
        with bug.plant():
            pass
        with pytest.raises(RuntimeError), bug.plant():
            raise RuntimeError("inside the planted block")
    assert snapshot() == ids, "a plant left an attribute changed"
    assert _fingerprint() == before, "a fresh computation differs after planting"


def test_a_plant_restores_its_temporary_attributes_when_the_wrapped_call_raises():
    layer = R.Convolution(np.ones((2, 3, 3, 3)), np.arange(2.0))
    b = layer.b
    with bug_by_name("conv_bias_ignored").plant(), pytest.raises(ValueError):
        layer.forward(np.ones((1, 4, 5, 5)))                       # 4 channels: refused
    assert layer.b is b and layer.forward(np.ones((1, 3, 5, 5)))[0, 1, 0, 0] == 27 + 1


def test_a_planted_bug_is_active_inside_the_block_only():
    layer = R.Relu()
    x = np.array([-1.0, 0.0, 2.0])
    layer.forward(x)
    clean = layer.backward(np.ones(3))
    with bug_by_name("relu_grad_at_zero").plant():
        layer.forward(x)
        planted = layer.backward(np.ones(3))
    layer.forward(x)
    assert clean.tolist() == [0, 0, 1] and planted.tolist() == [0, 1, 1]
    assert layer.backward(np.ones(3)).tolist() == [0, 0, 1]


# ------------------------------------------------------------------------------------------
# A bug no case can see is reported as missed
# ------------------------------------------------------------------------------------------

def _draw_mask_with_ge(forward, self, x, train_flg=True, mask=None):
    if train_flg and mask is None:       # the reference draws its own mask: no parity case does this
        mask = self.rng.random(x.shape) >= self.dropout_ratio      # ">=" for ">"
    return forward(self, x, train_flg, mask)


UNSEEN = Bug("dropout_own_mask_ge", "dropout", "reference.layers.Dropout.forward",
             "the reference's own mask drawn with >= p: every case gives both frameworks one mask",
             lambda: around(R.Dropout, "forward", _draw_mask_with_ge), ("parity",), ("Dropout",))


def test_a_bug_in_a_path_no_case_reaches_is_reported_missed():
    layer = R.Dropout(0.5, rng=np.random.default_rng(0))
    with UNSEEN.plant():                                   # the bug is real ...
        x = np.full(10_000, 0.5)
        kept_with_bug = (layer.forward(x) != 0).mean()
    assert kept_with_bug == pytest.approx(0.5, abs=0.02)
    result = bugzoo.run_bug(UNSEEN, select=_reaches(UNSEEN))   # ... and every Dropout case passes
    assert result.verdict == "missed" and result.failed == 0 and result.records > 0
    assert result.symptom == "no comparison failed"


@pytest.mark.parametrize("results, status", [
    ([("clean", "pass"), ("a", "caught"), ("b", "caught")], 0),
    ([("clean", "pass"), ("a", "caught"), ("b", "missed")], 1),
    ([("clean", "FAIL"), ("a", "caught")], 1),
])
def test_cnn_parity_bugs_exits_non_zero_on_a_miss_or_a_failing_baseline(monkeypatch, capsys, results, status):
    fake = [bugzoo.BugResult(name, "baseline" if name == "clean" else "conv", verdict=v) for name, v in results]
    monkeypatch.setattr(bugzoo, "run_catalog", lambda bugs, log=None: fake)
    assert main(["bugs"]) == status
    out = capsys.readouterr().out
    caught = sum(v == "caught" for _, v in results)
    assert f"detection rate: {caught}/{len(results) - 1} caught" in out


def test_cnn_parity_bugs_list_and_bad_names(capsys):
    assert main(["bugs", "--list"]) == 0
    assert capsys.readouterr().out.split("\n")[:-1] == [b.name for b in CATALOG]
    assert main(["bugs", "--bug", "no_such_bug"]) == 2
    err = one_line(capsys.readouterr().err, "bugs")
    assert err.startswith("cnn-parity bugs: --bug: no bug 'no_such_bug'") and "--list" in err


def test_cnn_parity_bugs_csv(tmp_path, capsys, monkeypatch):
    with pytest.raises(SystemExit) as exit_:                # argparse's usage error, before any work
        main(["bugs", "--csv", str(tmp_path / "missing" / "bugs.csv")])
    assert exit_.value.code == 2 and "does not exist" in capsys.readouterr().err
    out = tmp_path / "bugs.csv"
    assert main(["bugs", "--bug", "tolerances_1000x_loose", "--csv", str(out)]) == 0
    frame = __import__("pandas").read_csv(out)
    assert frame.name.tolist() == ["clean", "tolerances_1000x_loose"]
    assert frame.verdict.tolist() == ["pass", "caught"] and list(frame.columns) == bugzoo.CSV_COLUMNS
    assert math.isnan(frame.weakest_ratio[1])              # a self-check is yes or no
    assert "self-check fails" in frame.symptom[1]


def test_weakest_catch_is_the_smallest_ratio_among_the_failures():
    bug = bug_by_name("conv_dW_off_1e-4")
    result = bugzoo.run_bug(bug, DTYPES, select=FAST["conv_kernel_flipped"])
    ratios = [r.max_rel / r.tol for r in result.failures]
    assert result.caught and {r.quantity for r in result.failures} == {"dW"}
    assert result.weakest_ratio == min(ratios) and result.weakest.startswith("Convolution dW")
    assert "forward right, gradients wrong (dW)" in result.symptom
    assert result.failing_dtypes in ("float64 only", "float64 and float32")


# ------------------------------------------------------------------------------------------
# The report's bug zoo section: reads the latest results, plants nothing
# ------------------------------------------------------------------------------------------

def _results_csv(folder, missed=False):
    rows = [bugzoo.BugResult("clean", "baseline", verdict="pass", records=10, checks="parity",
                             symptom="all 10 comparisons pass"),
            bugzoo.BugResult("conv_<flip>", "conv", where="reference.layers.Convolution.forward",
                             models="a true convolution", verdict="caught", records=10, failed=3,
                             first_case="Convolution", first_quantity="output", first_dtype="float64",
                             first_max_rel=0.25, first_tol=4e-14, weakest_ratio=12.5,
                             weakest="Convolution dx (float32)", symptom="forward wrong (output)"),
            bugzoo.BugResult("nan_blind", "harness", where="reports.parity.records.compare",
                             models="blind to NaN", verdict="missed" if missed else "caught", records=32,
                             failed=0 if missed else 4, symptom="the harness's self-check fails")]
    path = folder / "bugs.csv"
    bugzoo.results_frame(rows, date="2026-01-02 03:04 UTC").to_csv(path, index=False, lineterminator="\n")
    return path


def _page(results):
    return page.render_html(ReportInputs(records=[], sweeps=[], environment=[], bugzoo=results), files=[])


def test_the_report_section_shows_each_bug_the_rate_and_the_baseline(tmp_path):
    results = bugzoo.load_bug_results(_results_csv(tmp_path, missed=True))
    assert results.frame is not None and results.made == "2026-01-02 03:04 UTC"
    html = _page(results)
    section = html[html.index('<section id="bugzoo">'):]
    section = section[:section.index("</section>")]
    assert "1 / 2" in section and "Missed: nan_blind" in section and "made 2026-01-02 03:04 UTC" in section
    assert "conv_&lt;flip&gt;" in section and "<flip>" not in section          # text is escaped
    assert "forward wrong (output)" in section and "12.5×" in section and "yes/no check" not in section
    assert section.index("Convolution") < section.index("The harness itself")  # the harness group last
    assert "all 10 comparisons pass" in section


def test_the_report_section_says_how_to_make_missing_results(tmp_path):
    results = bugzoo.load_bug_results(tmp_path / "bugs.csv")
    assert results.frame is None and results.problem == "missing"
    assert "cnn-parity bugs --csv" in _page(results)
    (tmp_path / "bugs.csv").write_text("name,group\nx,y\n")
    bad = bugzoo.load_bug_results(tmp_path / "bugs.csv")
    assert bad.frame is None and "missing columns" in bad.problem
    assert "cannot be used" in _page(bad)


def test_the_report_copies_the_results_it_shows(tmp_path):
    results = bugzoo.load_bug_results(_results_csv(tmp_path))
    settings = {}
    assert report._bug_results(results, settings) is results and report._bug_results(False, settings) is None
    assert settings["bug zoo results"].endswith("(read, not run by this report)")
    (tmp_path / "out").mkdir()
    inputs = report.ReportInputs(records=[], sweeps=[], environment=[], bugzoo=results)
    assert "bugs.csv" in report.write_report_files(tmp_path / "out", inputs)
    assert (tmp_path / "out" / "bugs.csv").read_bytes() == (tmp_path / "bugs.csv").read_bytes()


# ------------------------------------------------------------------------------------------
# cnn-parity parity --seeds (the false-alarm check)
# ------------------------------------------------------------------------------------------

def test_seed_lists():
    assert parse_seeds("0-19") == list(range(20))
    assert parse_seeds("3, 1,1") == [1, 3] and parse_seeds("0-2,10") == [0, 1, 2, 10]


@pytest.mark.parametrize("text", ["0-x", "5-2", "a", "-3", ""])
def test_bad_seed_lists_are_usage_errors(capsys, text):
    assert main(["parity", "--seeds", text]) == 2
    err = one_line(capsys.readouterr().err, "parity")
    assert err.startswith("cnn-parity parity: --seeds") and "--seeds 0-19" in err


def test_the_seed_summary_names_the_worst_headroom_over_all_seeds():
    a = np.array([1.0, 2.0])
    by_seed = {0: [compare("X", "out", a, a * (1 + 1e-15), 1e-13)], 1: [compare("Y", "dx", a, a * (1 + 1e-14), 1e-13)],
               2: [compare("Z", "dW", a, a * 1.1, 1e-13)]}
    text = format_seeds(by_seed)
    assert "3 seeds (0–2), 3 comparisons, 1 fail" in text and "FAIL seed 2: Z" in text
    assert "worst headroom over all seeds" in text and "seed 2, Z dW" in text
