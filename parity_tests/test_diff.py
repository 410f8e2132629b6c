"""Saved outputs and ``cnn-parity diff``: the bundle, the key, and every number the diff judges.

Cheap: the reports here are made from a few ``compare()`` calls on tiny arrays (the same writers
the report uses: ``layers_frame`` and ``write_bundle``), never by running the harness.
"""
from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pandas as pd
import pytest

from reports import diff as D
from reports.cli import main
from reports.html.page import DIFF_SECTIONS, environment, render_diff_html
from reports.parity.outputs import BundleError, read_bundle, write_bundle
from reports.parity.records import (OutputRecorder, amend, array_digest, compare, float_eps, record_key,
                                    saved_output)
from reports.report import layers_frame

EPS32 = float_eps("float32")


# ------------------------------------------------------------------------------------------
# A tiny report: four comparisons whose torch values the test chooses
# ------------------------------------------------------------------------------------------

REF = {q: np.linspace(-1.0, 1.0, n, dtype=np.float32).reshape(shape)
       for q, n, shape in (("output", 24, (2, 3, 4)), ("dx", 12, (3, 4)), ("dW", 6, (6,)), ("db", 2, (2,)))}
TOL = 1e-5


def torch_values(**changes) -> dict:
    """The torch results: the reference plus one float32 ulp-ish of noise, with ``changes`` added."""
    out = {}
    for q, ref in REF.items():
        value = ref + np.float32(2 ** -22) * np.sign(ref)
        out[q] = (value + changes.get(q, 0)).astype(np.float32)
    return out


def make_report(folder, values, *, arrays=True, bundle=True, seed=0, case="Convolution", drop=()):
    """A report folder with layers.csv, environment.csv and (with ``bundle``) the saved outputs."""
    folder.mkdir(parents=True)
    with OutputRecorder(arrays=arrays) as rec:
        records = [compare(case, q, REF[q], values[q], TOL, config={"N": 2}) for q in REF if q not in drop]
    layers_frame(records).to_csv(folder / "layers.csv", index=False, lineterminator="\n")
    env = [("torch", "2.14.1"), ("seed", str(seed)), ("date (UTC)", "today")]
    pd.DataFrame(env, columns=["key", "value"]).to_csv(folder / "environment.csv", index=False)
    if bundle:
        write_bundle(folder, records, rec, env)
    return records


@pytest.fixture
def pair(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    make_report(a, torch_values())
    return a, b


# ------------------------------------------------------------------------------------------
# The recorder and the bundle
# ------------------------------------------------------------------------------------------

def test_the_recorder_saves_what_compare_was_given_and_changes_no_record():
    ref, value = REF["output"], torch_values()["output"]
    plain = compare("Conv", "output", ref, value, TOL)
    with OutputRecorder(arrays=True) as rec:
        seen = compare("Conv", "output", ref, value, TOL)
        upcast = compare("Conv", "dx", ref, value.astype(np.float64), TOL, dtype="float32")
        changed = amend(seen, verdict="agrees", configuration="eager", compared_with="oracle")
    assert seen == plain                                     # the record is the same, field by field
    saved = saved_output(seen, rec)
    assert saved.sha256 == hashlib.sha256(value.tobytes()).hexdigest() and saved.shape == (2, 3, 4)
    assert saved.dtype == "float32" and np.array_equal(saved.array, value)
    assert saved_output(changed, rec) == saved               # amend() carries it over
    assert saved_output(upcast, rec).dtype == "float32"      # an exact float64 copy is saved in float32
    assert saved_output(upcast, rec).sha256 == saved.sha256
    assert saved_output(plain, rec) is None                  # compared before the recorder was active
    value[0, 0, 0] = 7                                       # torch reusing its buffer later ...
    assert saved.array[0, 0, 0] != 7                         # ... does not change the saved copy


def test_array_digest_is_the_bytes_in_c_order_whatever_the_layout():
    a = np.arange(24, dtype=np.float32).reshape(4, 6)
    assert array_digest(a) == hashlib.sha256(a.tobytes()).hexdigest()
    t = np.asfortranarray(a)
    assert array_digest(t) == array_digest(a)
    assert array_digest(a.T) == hashlib.sha256(np.ascontiguousarray(a.T).tobytes()).hexdigest() != array_digest(a)


def test_bundle_round_trip_keys_and_hashes(tmp_path):
    records = make_report(tmp_path / "r", torch_values())
    bundle = read_bundle(tmp_path / "r" / "outputs.json")
    assert list(bundle.entries) == [record_key(r) for r in records]
    key = record_key(records[1])
    assert key == ("layer", "Convolution[N=2]", "", "", "float32", "dx")
    dtype, shape, sha = bundle.entries[key]
    assert (dtype, shape) == ("float32", (3, 4))
    assert np.array_equal(bundle.array(sha), torch_values()["dx"])
    manifest = json.loads((tmp_path / "r" / "outputs.json").read_text())
    assert manifest["environment"]["torch"] == "2.14.1" and manifest["arrays"] == "outputs.npz"
    (tmp_path / "r" / "outputs.json").write_text('{"format": "something else"}')
    with pytest.raises(BundleError, match="is not a cnn-parity outputs manifest"):
        read_bundle(tmp_path / "r" / "outputs.json")


# ------------------------------------------------------------------------------------------
# Known answers of every judgement
# ------------------------------------------------------------------------------------------

def test_the_noise_margin_at_its_edge():
    floor = D.FLOOR_FACTOR * EPS32
    a = 1e-6
    edge = D.MULTIPLE * a + floor
    assert D.judge_move(a, edge, "float32") == "within noise"                 # not more than the margin
    assert D.judge_move(a, np.nextafter(edge, 1), "float32") == "away"
    assert D.judge_move(edge, a, "float32") == "within noise"
    assert D.judge_move(np.nextafter(edge, 1), a, "float32") == "closer"
    assert D.judge_move(0.0, floor, "float32") == "within noise"              # an exact result, a few ulps later
    assert D.judge_move(0.0, 2 * floor, "float32") == "away"
    assert D.judge_move(0.0, 2 * floor, "float64") == "away"
    assert D.judge_move(0.0, 16 * float_eps("float64"), "float64") == "within noise"
    assert D.judge_move(math.nan, 1.0, "float32") == ""


@pytest.mark.parametrize("a, b, change", [
    ("pass", "fail", "worse"), ("fail", "pass", "better"), ("agrees", "worse than eager", "worse"),
    ("worse than eager", "agrees", "better"), ("agrees", "disagrees", "worse"), ("disagrees", "failed", "worse"),
    ("worse than eager", "disagrees", "worse"), ("agrees", "skipped", "changed"), ("skipped", "agrees", "changed"),
    ("pass", "pass", ""), ("pass", "agrees", ""),
])
def test_verdict_transitions(a, b, change):
    assert D.verdict_change(a, b) == change


def test_bits_and_the_row_properties():
    assert D.bits_of(0.0) == math.inf and D.bits_of(0.25) == 2.0 and math.isnan(D.bits_of(math.nan))
    key = ("layer", "C[N=2]", "", "", "float32", "dx")
    row = D.DiffRow(key, "C", "both", max_rel_a=2 ** -14, max_rel_b=2 ** -12, verdict_a="pass", verdict_b="pass")
    row.movement = D.judge_move(row.max_rel_a, row.max_rel_b, "float32")
    assert row.bits_change == -2.0 and row.movement == "away" and row.worse and not row.new_failure
    exact = D.DiffRow(key, "C", "both", max_rel_a=0.0, max_rel_b=0.0)
    assert exact.bits_change == 0.0
    eager = D.DiffRow(key[:3] + ("eager",) + key[4:], "C", "both", 2 ** -20, 2 ** -18, verdict_a="agrees",
                      verdict_b="agrees", movement="away")
    assert not eager.worse                               # one torch path against another: shown, not judged
    eager.verdict_b, eager.verdict_change = "disagrees", "worse"
    assert eager.worse and eager.new_failure
    fixed = D.DiffRow(key, "C", "both", verdict_a="fail", verdict_b="pass", verdict_change="better")
    assert fixed.fixed_failure and not fixed.worse and fixed.changed
    assert not D.DiffRow(key, "C", "A only", verdict_a="pass").worse


# ------------------------------------------------------------------------------------------
# Whole diffs
# ------------------------------------------------------------------------------------------

def test_a_planted_change_is_exactly_the_row_found_and_exits_1(pair, tmp_path, capsys):
    a, b = pair
    planted = np.zeros((3, 4), np.float32)
    planted[1, 2] = 1e-3
    make_report(b, torch_values(dx=planted))
    result = D.diff_reports(a, b)
    changed = [r for r in result.rows if r.changed]
    assert [r.quantity for r in changed] == ["dx"]
    row = changed[0]
    assert (row.identical, row.movement, row.verdict_a, row.verdict_b, row.verdict_change) == \
        ("no", "away", "pass", "fail", "worse")
    expected = float(np.float32(torch_values(dx=planted)["dx"][1, 2]) - np.float32(torch_values()["dx"][1, 2]))
    assert row.ab_max_abs == pytest.approx(abs(expected), rel=0, abs=0)
    assert row.ab_tol == 2 * TOL
    assert [r.identical for r in result.rows if r is not row] == ["yes"] * 3
    s = result.summary()
    assert (s["matched"], s["hashed"], s["identical"], s["away"], s["new_failures"], s["worse"]) == (4, 4, 3, 1, 1, 1)
    assert s["largest"] is row

    out = tmp_path / "d"
    assert main(["diff", str(a), str(b), "--out", str(out)]) == 1
    frame = pd.read_csv(out / "diff.csv", keep_default_na=False)
    assert list(frame.columns) == D.DIFF_COLUMNS
    worse = frame[frame.worse == "yes"]
    assert worse[["case_id", "quantity", "verdict_change"]].values.tolist() == [["Convolution[N=2]", "dx", "worse"]]
    text = capsys.readouterr().out
    assert "bit-identical torch results: 3 of 4 (75.0 %)" in text and "new failures 1" in text
    assert "exit status 1" in text


def test_the_same_report_twice_is_bit_identical_and_exits_0(pair):
    a, _ = pair
    assert main(["diff", str(a), str(a)]) == 0
    result = D.diff_reports(a, a)
    assert result.summary()["identical"] == 4 and not any(r.changed for r in result.rows)


def test_a_move_within_noise_is_not_worse(pair):
    a, b = pair
    make_report(b, torch_values(db=np.float32([2 ** -22, 0])))         # another ulp: not identical, not moved
    (row,) = [r for r in D.diff_reports(a, b).rows if r.identical == "no"]
    assert row.quantity == "db" and row.movement == "within noise" and not row.worse
    assert main(["diff", str(a), str(b)]) == 0


def test_rows_in_one_side_are_listed_and_mismatches_said(pair):
    a, b = pair
    make_report(b, torch_values(), seed=1, drop=("db",))
    result = D.diff_reports(a, b)
    assert [(r.quantity, r.present) for r in result.rows if r.present != "both"] == [("db", "A only")]
    assert any("different seeds (0 / 1)" in n for n in result.notes)
    assert any("1 comparisons are only in A and 0 only in B" in n for n in result.notes)
    assert result.status == 0


def test_an_older_report_without_a_bundle_diffs_on_its_csv(pair, tmp_path):
    a, _ = pair
    old = tmp_path / "old"
    make_report(old, torch_values(), bundle=False)
    result = D.diff_reports(old, a)
    assert {r.identical for r in result.rows} == {"unknown"}
    assert any("A has no saved outputs" in n and "bit-identity is unknown" in n for n in result.notes)
    assert result.summary()["hashed"] == 0 and result.status == 0


def test_hashes_without_arrays_give_identity_but_no_difference(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    make_report(a, torch_values(), arrays=False)
    make_report(b, torch_values(dW=np.float32([1e-6] * 6)), arrays=False)
    (row,) = [r for r in D.diff_reports(a, b).rows if r.identical == "no"]
    assert row.quantity == "dW" and math.isnan(row.ab_max_abs)
    assert not (a / "outputs.npz").exists()


def test_bad_inputs_are_one_line(pair, tmp_path, capsys):
    a, _ = pair
    (tmp_path / "empty").mkdir()
    (tmp_path / "x.txt").write_text("x")
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    for argv, expected in ([str(tmp_path / "nowhere"), str(a)], "A {} does not exist"), \
                          ([str(a), str(tmp_path / "empty")], "B {} is not a cnn-parity report folder"), \
                          ([str(tmp_path / "x.txt"), str(a)], "neither a report folder nor a CSV file"), \
                          ([str(tmp_path / "x.csv"), str(a)], "is not a CSV of `cnn-parity parity --csv`"):
        assert main(["diff", *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("cnn-parity diff: ")
        assert expected.format(argv[0] if "A" in expected else argv[1]) in err


def test_diff_html_renders_every_section_and_escapes(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    evil = "<script>alert(1)</script>"
    make_report(a, torch_values(), case=evil)
    make_report(b, torch_values(output=np.full((2, 3, 4), 1e-2, np.float32)), case=evil, drop=("db",))
    html = render_diff_html(D.diff_reports(a, b))
    assert "<script>" not in html and "&lt;script&gt;" in html
    for s in DIFF_SECTIONS:
        assert f'<section id="{s.id}">' in html
    assert "1 comparisons of B are worse" in html and "http" not in html.replace("https://", "")


def test_every_diff_section_has_its_template_and_every_template_is_registered():
    root = environment().loader.get_source(environment(), "diff/page.html")[1]
    from pathlib import Path

    on_disk = sorted(p.stem for p in Path(root).parent.glob("*.html") if p.stem != "page")
    assert on_disk == sorted(s.id for s in DIFF_SECTIONS)


@pytest.mark.slow                        # a browser start: seconds (the render itself is checked above)
def test_diff_html_renders_in_headless_chromium_without_network(tmp_path):
    from .test_report import _chromium, open_in_chromium

    if _chromium() is None:
        pytest.skip("Chromium is not installed (Debian package `chromium`; .ci/run installs it)")
    a, b = tmp_path / "a", tmp_path / "b"
    make_report(a, torch_values())
    make_report(b, torch_values(dx=np.full((3, 4), 1e-3, np.float32)), drop=("db",))
    assert main(["diff", str(a), str(b), "--out", str(tmp_path / "d")]) == 1
    seen = open_in_chromium(tmp_path / "d" / "diff.html", tmp_path / "shot.png")
    assert seen["errors"] == [] and seen["failed"] == []
    assert [u for u in seen["requests"] if u != seen["url"] and not u.startswith("data:")] == []
    assert seen["sections"] == [s.id for s in DIFF_SECTIONS]
    assert seen["width"] <= 1280, "nothing wider than the window"


def test_report_compare_with_adds_the_compared_section(pair, tmp_path):
    from reports.report import ReportInputs, write_report_files

    a, _ = pair
    moved = torch_values(dx=np.full((3, 4), 1e-3, np.float32))
    with OutputRecorder() as rec:
        records = [compare("Convolution", q, REF[q], moved[q], TOL, config={"N": 2}) for q in REF]
    inputs = ReportInputs(records=records, sweeps=[], environment=[("seed", "0")], catalog=[], im2col={})
    inputs.outputs, inputs.compare_with = rec, str(a)
    out = tmp_path / "new"
    out.mkdir()
    names = write_report_files(out, inputs)
    assert "outputs.json" in names and "outputs.npz" not in names
    assert inputs.compared.summary()["worse"] == 1 and inputs.compared.summary()["identical"] == 3
    html = (out / "index.html").read_text(encoding="utf-8")
    section = html[html.index('<section id="compared">'):html.index('<section id="layers">')]
    assert "Compared with an earlier report" in section and str(a) in section
    assert section.count("<tr>") == 2 and ">dx<" in section           # the header and the one moved row


def test_every_count_of_the_summary():
    """Known rows, one of each kind, and the summary's every count."""
    def row(q, a, b, va="pass", vb="pass", present="both", identical="no", cw=""):
        r = D.DiffRow(("layer", "C", "", cw, "float32", q), "C", present, a, b, 1e-4, 1e-4, va, vb)
        if present == "both":
            r.movement, r.verdict_change = D.judge_move(a, b, "float32"), D.verdict_change(va, vb)
        r.identical = identical
        return r
    rows = [row("same", 1e-7, 1e-7, identical="yes"),                      # bit-identical
            row("noise", 1e-7, 2e-7),                                     # changed within noise
            row("away", 1e-5, 1e-4, vb="fail"),                           # away, and a new failure
            row("closer", 1e-4, 1e-6, va="fail"),                         # closer, and a fixed failure
            row("eager", 1e-5, 1e-4, cw="eager"),                         # away against eager: not worse
            row("skip", 1e-7, math.nan, vb="skipped", identical=""),      # a verdict changed, not ranked
            row("gone", 1e-7, math.nan, present="A only", identical=""),
            row("new", math.nan, 1e-7, present="B only", identical="")]
    result = D.DiffResult(None, None, rows, [], [])
    s = result.summary()
    assert s.pop("largest") is rows[3]                                   # +6.6 bits, the largest move
    assert s == {"matched": 6, "only_a": 1, "only_b": 1, "hashed": 5, "identical": 1, "bits_changed": 4,
                 "closer": 1, "away": 2, "within_noise": 1, "verdict_worse": 1, "verdict_better": 1,
                 "verdict_changed": 3, "new_failures": 1, "fixed_failures": 1, "worse": 1}
    assert result.status == 1 and [r.quantity for r in rows if r.worse] == ["away"]
