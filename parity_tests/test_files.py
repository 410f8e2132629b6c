"""reports.files: the error branches of an output folder that cannot be created or written.

As root, chmod does not stop a write, so ``test_report.py``'s read-only-parent test skips there;
these tests reach the same branches everywhere by making ``mkdir`` and ``mkdtemp`` raise
PermissionError, as they would for a user without write permission.
"""
import errno
import os
import tempfile
from pathlib import Path

import pytest

from reports import files
from reports.cli import main


def _denied(*args, **kwargs):
    raise PermissionError(errno.EACCES, "Permission denied")


def test_a_parent_that_cannot_be_created_is_one_clear_error(tmp_path, monkeypatch):
    out = tmp_path / "a" / "b" / "report"
    real_mkdir = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if self.name == "b":                      # "a" can be made, "b" cannot
            _denied()
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    with pytest.raises(files.OutputError) as info:
        files.check_output_dir(out)
    assert str(info.value) == f"cannot create the folder {tmp_path / 'a' / 'b'}: Permission denied"
    assert os.listdir(tmp_path) == []             # "a", created on the way, is removed again


def test_a_parent_that_cannot_be_written_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "mkdtemp", _denied)
    for out in (tmp_path / "report", tmp_path / "new" / "report"):
        with pytest.raises(files.OutputError) as info:
            with files.atomic_output(out):
                pytest.fail("the body must not run")
        assert str(info.value) == f"cannot write in {out.parent}: Permission denied"
        assert os.listdir(tmp_path) == []         # nothing half-made, "new" removed too


def test_report_cli_reports_an_unwritable_parent_in_one_line_before_any_work(tmp_path, monkeypatch, capsys):
    from reports import report

    monkeypatch.setattr(tempfile, "mkdtemp", _denied)
    monkeypatch.setattr(report, "collect_report", lambda *a, **k: pytest.fail("work started"))
    try:
        status = main(["report", "--out", str(tmp_path / "report")])
        message = capsys.readouterr().err
    except SystemExit as exc:                      # (older cli: the message is the exit code)
        status, message = 1 if isinstance(exc.code, str) else exc.code, str(exc.code)
    assert status != 0
    assert f"cannot write in {tmp_path}: Permission denied" in message and message.count("\n") <= 1
    assert os.listdir(tmp_path) == []
