"""Shared test helpers: ``check(records)`` asserts on harness records and logs them.

Every record any test checks is kept in ``RECORD_LOG`` for the session, so that
``pytest parity_tests --parity-report DIR`` can write the report of exactly what was asserted
(also under pytest-xdist: the workers send their records to the controller; see below).
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from reports.errors import UsageError
from reports.files import ReportOutputError, check_output_dir

# Hypothesis: reproducible (same examples every run, no example database on disk), no deadline
# (the first call of a torch op can be slow), and a modest number of examples per sweep so the
# default tier stays within its time budget.
settings.register_profile("parity", max_examples=40, deadline=None, derandomize=True,
                          database=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("parity")

RECORD_LOG: list = []


def check(records):
    """Assert that every record passes; the message lists each failing record in full."""
    records = list(records)
    assert records, "the harness returned no records: nothing was compared"
    log_records(records)
    failed = [r for r in records if not r.passed]
    assert not failed, "parity failures:\n" + "\n".join(r.describe() for r in failed)
    return records


def log_records(records):
    """Keep records for --parity-report, tagged with the test that made them (see below)."""
    records = list(records)
    RECORD_LOG.extend(records)
    _TAGGED.extend([_TEST_INDEX["current"]] * len(records))


def check_against_oracle(records):
    """Assert the oracle records (every one logged for --parity-report). The comparisons with
    eager are logged, not asserted: when both runs agree with the oracle they agree with each
    other within the sum of the tolerances, unless the two runs drew different random numbers
    (dropout under compile or channels_last: see test_channels_last_dropout_draws_another_mask)."""
    log_records([r for r in records if r.compared_with == "eager"])
    return check([r for r in records if r.compared_with != "eager"])


def assert_dtype_preserved(records, dtype):
    """float32 in, float32 out — on both sides. ``Record.dtype`` is the reference array's dtype;
    the torch array's is checked by ``compare()``, which notes (and fails) any difference between
    the two (``parity_tests/test_records.py``)."""
    dtype = str(dtype)
    wrong_ref = [r.describe() for r in records if r.dtype != dtype]
    wrong_torch = [r.describe() for r in records if "dtype mismatch" in r.note]
    assert not wrong_ref, f"the reference did not keep {dtype}: " + "; ".join(wrong_ref)
    assert not wrong_torch, f"torch did not keep {dtype}: " + "; ".join(wrong_torch)


#: The checkout's root (where ``cnn-parity`` subprocesses run).
ROOT = Path(__file__).resolve().parents[1]

#: The book's own code and weights (../shared/book beside the checkout; see its SOURCE.md).
BOOK = ROOT.parent / "shared" / "book"
#: For the tests that import or grade the book's ``common/layers.py``.
needs_book_code = pytest.mark.skipif(not (BOOK / "common" / "layers.py").is_file(),
                                     reason="the book's code (../shared/book) is not here")

#: Folders inside the packages that hold generated output, ignored by git: the default output
#: folder of `cnn-parity report` and `fuzz` (whose repros are .py files), never the project's code.
GENERATED = (ROOT / "reports" / "out",)


def project_py_files(root: Path, folder: str) -> list:
    """The .py files under ``root / folder``, generated output left out."""
    return sorted(p for p in (root / folder).rglob("*.py") if not any(g in p.parents for g in GENERATED))


def cli_env(**extra) -> dict:
    """The environment of a subprocess: this checkout's code first, no debug unless asked."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    env.pop("CNN_PARITY_DEBUG", None)
    env.update(extra)
    return env


def one_line(stderr: str, command: str) -> str:
    """The error convention of every command: one line, ``cnn-parity <command>: ...``, no traceback."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got:\n{stderr}"
    assert lines[0].startswith(f"cnn-parity {command}: "), lines[0]
    assert "Traceback" not in stderr
    return lines[0]


def torchvision_missing() -> str | None:
    """Why torchvision cannot be used here (not installed, or built for another torch), in one
    line, or None (``reports.parity.net_cases.torchvision_unavailable``)."""
    from reports.parity.net_cases import torchvision_unavailable

    return torchvision_unavailable()


def skip_without_torchvision() -> None:
    """Skip the running test, with the one-line reason, where torchvision cannot be used. Tests
    (and parametrized cases) marked ``@pytest.mark.torchvision`` get it before they start."""
    why = torchvision_missing()
    if why:
        pytest.skip(why)


def pytest_runtest_setup(item):
    if item.get_closest_marker("torchvision"):
        skip_without_torchvision()


@pytest.fixture(scope="session")
def mnist_sample():
    """The embedded MNIST sample as ``load_mnist()`` returns it (float64), loaded once per session
    for the tests that train on it (read only)."""
    from reports.mnist.data import load_mnist      # torchvision: only for the tests that train

    return load_mnist()


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# ------------------------------------------------------------------------------------------
# pytest parity_tests --parity-report DIR: the report of exactly what this session asserted,
# serial or under pytest-xdist (-n N): each worker sends its records to the controller through
# xdist's ``workeroutput`` (which works for remote --tx workers too), tagged with the index of
# the test that asserted them, and the controller puts them back in collection order, so that
# a parallel run writes the same rows, in the same order, as a serial one.
# ------------------------------------------------------------------------------------------

#: In each xdist worker: (index of the test in the collection, record), parallel to RECORD_LOG.
_TEST_INDEX = {"current": 0, "of": {}}
_TAGGED: list = []
#: In the xdist controller: the workers' tagged records.
_FROM_WORKERS: list = []
_WRITTEN: list = []
WORKER_KEY = "cnn_parity_records"


def pytest_addoption(parser):
    parser.addoption("--parity-report", metavar="DIR", default=None,
                     help="after the run, write the comparison report (CSV + index.html) of every "
                          "record the tests asserted into DIR (replaced whole, atomically; works "
                          "with -n / pytest-xdist)")
    parser.addoption("--config", metavar="NAME[,NAME...]|all", default=None,
                     help="run the configuration tests (parity_tests/test_configs.py) under these "
                          "configurations on every case of the matrix, instead of the cheap CPU "
                          "configurations on a representative subset (see reports/parity/configs.py)")


def _is_worker(config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config):
    spec = config.getoption("--config", default=None)
    if spec:
        from reports.parity.configs import resolve      # torch: only when --config is given

        try:                                   # an unknown name: one line, before any test runs
            resolve(spec)
        except UsageError as exc:
            raise pytest.UsageError(str(exc)) from None
    workers = getattr(config.option, "numprocesses", None)
    if workers and not _is_worker(config):
        # Each worker gets its share of the cores (at least one thread), for torch and NumPy's
        # BLAS: n workers × all cores each would oversubscribe the machine. Set in the
        # controller, before the workers start, so that they import torch and NumPy with it.
        share = str(max(1, _cpu_count() // int(workers)))
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(name, share)
    out = config.getoption("--parity-report", default=None)
    if out and not _is_worker(config):
        try:                                   # fail now, not after the whole run
            check_output_dir(out)
        except ReportOutputError as exc:
            raise pytest.UsageError(f"--parity-report: cannot write the report: {exc}") from None


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def pytest_collection_finish(session):
    _TEST_INDEX["of"] = {item.nodeid: i for i, item in enumerate(session.items)}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    _TEST_INDEX["current"] = _TEST_INDEX["of"].get(item.nodeid, 0)


def session_records() -> list:
    """The records of this session in collection order: this process's own (serial), or every
    worker's (the xdist controller)."""
    if not _FROM_WORKERS:
        return list(RECORD_LOG)
    return [record for _, _, record in sorted(_FROM_WORKERS, key=lambda t: t[:2])]


def write_session_report(out, seed=None, records=None):
    """Write the report of ``records`` (default: :func:`session_records`) into ``out``."""
    from reports.report import report_from_records, write_report   # everything: only for --parity-report

    records = session_records() if records is None else records
    return write_report(out, report_from_records(records, seed=seed, source="pytest parity_tests"))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """xdist controller: collect a finished worker's records."""
    data = getattr(node, "workeroutput", {}).get(WORKER_KEY)
    if data:
        worker = node.gateway.id
        _FROM_WORKERS.extend((index, (worker, seq), record)
                             for seq, (index, record) in enumerate(pickle.loads(data)))


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    out = config.getoption("--parity-report", default=None)
    if not out:
        return
    if _is_worker(config):                                    # hand the records to the controller
        config.workeroutput[WORKER_KEY] = pickle.dumps(list(zip(_TAGGED, RECORD_LOG)))
        return
    _WRITTEN.append((write_session_report(out), len(session_records())))


def pytest_terminal_summary(terminalreporter):
    for path, n in _WRITTEN:
        terminalreporter.write_line(f"parity report ({n} records): {path / 'index.html'}")
