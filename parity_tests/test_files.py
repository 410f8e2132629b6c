"""reports.files: the output of ``report`` and ``train`` gets the permissions of a plain mkdir/open
under the user's umask, and a set of files is renamed into place whole, even on Ctrl-C."""
from __future__ import annotations

import os
import signal
import stat

import pandas as pd
import pytest

from reports.files import atomic_output, current_umask, deferred_interrupt
from reports.mnist.training import TrainingResult, write_training_csvs


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
