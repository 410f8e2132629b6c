"""reports.files: the output of ``report`` and ``train`` gets the permissions of a plain mkdir/open
under the user's umask; a set of files is renamed into place whole, even on Ctrl-C; and the error
branches of an output folder that cannot be created or written.

As root, chmod does not stop a write, so ``test_report.py``'s read-only-parent test skips there;
the last tests reach the same branches everywhere by making ``mkdir`` and ``mkdtemp`` raise
PermissionError, as they would for a user without write permission.
"""
from __future__ import annotations

import errno
import os
import signal
import stat
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from reports import files, report
from reports.cli import main
from reports.files import atomic_output, current_umask, deferred_interrupt
from reports.mnist.training import TrainingResult, write_training_csvs

from .conftest import one_line


@pytest.fixture(params=[0o022, 0o027], ids=["umask-022", "umask-027"])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_report_folder_gets_the_mode_of_a_plain_mkdir(tmp_path, umask):
    assert current_umask() == umask
    (tmp_path / "plain").mkdir()
    with atomic_output(tmp_path / "report") as tmp:
        (tmp / "index.html").write_text("<p>x</p>")
        (tmp / "sub").mkdir()
    assert _mode(tmp_path / "report") == _mode(tmp_path / "plain") == 0o777 & ~umask
    assert _mode(tmp_path / "report" / "sub") == 0o777 & ~umask
    assert _mode(tmp_path / "report" / "index.html") == 0o666 & ~umask


def test_training_csvs_get_the_mode_of_plain_files(tmp_path, umask):
    frame = pd.DataFrame({"a": [1]})
    paths = write_training_csvs(TrainingResult(frame, frame, frame), tmp_path / "out" / "run")
    assert _mode(tmp_path / "out") == _mode(tmp_path / "out" / "run") == 0o777 & ~umask
    assert {_mode(p) for p in paths} == {0o666 & ~umask}


@pytest.fixture
def python_sigint_handler():
    """Python's own SIGINT handler (a shell starts background jobs with SIGINT ignored)."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


def test_ctrl_c_waits_for_the_end_of_a_deferred_block(python_sigint_handler):
    done = []
    with pytest.raises(KeyboardInterrupt):
        with deferred_interrupt():
            os.kill(os.getpid(), signal.SIGINT)
            done.append("renamed")                 # still runs: the signal is held back
        done.append("after")                       # never runs: the interrupt comes first
    assert done == ["renamed"]
    done.clear()
    with pytest.raises(KeyboardInterrupt):
        with deferred_interrupt():                 # nested: the outer block holds it back too
            with deferred_interrupt():
                os.kill(os.getpid(), signal.SIGINT)
            done.append("outer body")
    assert done == ["outer body"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


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
    monkeypatch.setattr(tempfile, "mkdtemp", _denied)
    monkeypatch.setattr(report, "collect_report", lambda *a, **k: pytest.fail("work started"))
    assert main(["report", "--out", str(tmp_path / "report")]) == 2
    assert f"cannot write in {tmp_path}: Permission denied" in one_line(capsys.readouterr().err, "report")
    assert os.listdir(tmp_path) == []
