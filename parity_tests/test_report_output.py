"""Writing the report: a new one replaces the old whole or not at all, and an unusable output
folder is one clear line before any work."""
from __future__ import annotations

import os

import pytest

from reports import report as REPORT
from reports.cli import main
from reports.html import page as report_html

from .report_helpers import forbid_work, report_usage_error, small_inputs, snapshot


# ------------------------------------------------------------------------------------------
# Atomic writing and clear errors
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_failed_build_keeps_the_previous_report(tmp_path, monkeypatch, exc):
    out = tmp_path / "report"
    REPORT.write_report(out, small_inputs())
    before, listing = snapshot(out), sorted(os.listdir(tmp_path))

    def explode(*args, **kwargs):
        raise exc
    monkeypatch.setattr(report_html.section("catalog"), "context", explode)     # a section, mid-build
    with pytest.raises(type(exc)):
        REPORT.write_report(out, small_inputs(note="new"))
    assert snapshot(out) == before
    assert sorted(os.listdir(tmp_path)) == listing, "no temporary folder left behind"


def test_interrupted_cli_run_keeps_the_previous_report(tmp_path, monkeypatch, capsys):
    out = tmp_path / "report"
    REPORT.write_report(out, small_inputs())
    before, listing = snapshot(out), sorted(os.listdir(tmp_path))

    def interrupted(**kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(REPORT, "collect_report", interrupted)
    assert main(["report", "--out", str(out), "--no-training"]) == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"cnn-parity report: interrupted; nothing was written, {out} is as it was")
    assert snapshot(out) == before
    assert sorted(os.listdir(tmp_path)) == listing


def test_replacing_a_report_swaps_it_whole(tmp_path):
    out = tmp_path / "report"
    REPORT.write_report(out, small_inputs())
    (out / "stale.txt").write_text("from an older version")
    REPORT.write_report(out, small_inputs(note="second"))
    assert "stale.txt" not in os.listdir(out) and "second" in (out / "layers.csv").read_text()
    assert sorted(os.listdir(tmp_path)) == ["report"]


def test_unwritable_out_fails_clearly_before_any_work(tmp_path, monkeypatch, capsys):
    forbid_work(monkeypatch)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    message = report_usage_error(["report", "--out", str(blocker / "report")], capsys)
    assert str(blocker) in message and "is a file, not a folder" in message
    message = report_usage_error(["report", "--out", str(blocker)], capsys)
    assert str(blocker) in message and "not a folder" in message
    assert sorted(os.listdir(tmp_path)) == ["a-file"]


def test_out_folder_with_other_files_is_never_replaced(tmp_path, monkeypatch, capsys):
    forbid_work(monkeypatch)
    (tmp_path / "notes.txt").write_text("precious")
    message = report_usage_error(["report", "--out", str(tmp_path)], capsys)
    assert str(tmp_path) in message and "not an earlier report" in message
    assert (tmp_path / "notes.txt").read_text() == "precious"


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="running as root: chmod does not stop root from writing (the regular-file "
                           "parent test covers the error path)")
def test_read_only_parent_fails_clearly_before_any_work(tmp_path, monkeypatch, capsys):
    forbid_work(monkeypatch)
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        message = report_usage_error(["report", "--out", str(parent / "report")], capsys)
    finally:
        parent.chmod(0o755)
    assert str(parent) in message and "Permission denied" in message


def test_missing_parents_are_created_and_removed_on_failure(tmp_path, monkeypatch):
    out = tmp_path / "a" / "b" / "report"
    monkeypatch.setattr(report_html.section("verdict"), "context", lambda *a: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        REPORT.write_report(out, small_inputs())
    assert os.listdir(tmp_path) == []
    monkeypatch.undo()
    REPORT.write_report(out, small_inputs())
    assert (out / "index.html").is_file()
