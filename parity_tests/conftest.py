"""Shared test helpers: ``check(records)`` asserts on harness records and logs them.

Every record any test checks is kept in ``RECORD_LOG`` for the session, so that
``pytest parity_tests --parity-report DIR`` can write the report of exactly what was asserted.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

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
    RECORD_LOG.extend(records)
    failed = [r for r in records if not r.passed]
    assert not failed, "parity failures:\n" + "\n".join(r.describe() for r in failed)
    return records


def check_against_oracle(records):
    """Assert the oracle records (every one logged for --parity-report). The comparisons with
    eager are logged, not asserted: when both runs agree with the oracle they agree with each
    other within the sum of the tolerances, unless the two runs drew different random numbers
    (dropout under compile or channels_last: see test_channels_last_dropout_draws_another_mask)."""
    RECORD_LOG.extend(r for r in records if r.compared_with == "eager")
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


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# ------------------------------------------------------------------------------------------
# pytest parity_tests --parity-report DIR: the report of exactly what this session asserted
# ------------------------------------------------------------------------------------------

def pytest_addoption(parser):
    parser.addoption("--parity-report", metavar="DIR", default=None,
                     help="after the run, write the comparison report (CSV + index.html) of every "
                          "record the tests asserted into DIR (replaced whole, atomically)")
    parser.addoption("--config", metavar="NAME[,NAME...]|all", default=None,
                     help="run the configuration tests (parity_tests/test_configs.py) under these "
                          "configurations on every case of the matrix, instead of the cheap CPU "
                          "configurations on a representative subset (see reports/parity/configs.py)")


def pytest_configure(config):
    spec = config.getoption("--config", default=None)
    if spec:
        from reports.errors import UsageError
        from reports.parity.configs import resolve

        try:                                   # an unknown name: one line, before any test runs
            resolve(spec)
        except UsageError as exc:
            raise pytest.UsageError(str(exc)) from None
    out = config.getoption("--parity-report", default=None)
    if out and not hasattr(config, "workerinput"):
        from reports.report import ReportOutputError, check_output_dir

        if config.getoption("numprocesses", default=None):
            raise pytest.UsageError("--parity-report cannot be combined with -n (pytest-xdist): the "
                                    "records stay in the worker processes; run without -n")

        try:                                   # fail now, not after the whole run
            check_output_dir(out)
        except ReportOutputError as exc:
            raise pytest.UsageError(f"--parity-report: cannot write the report: {exc}") from None


def write_session_report(out, seed=None):
    """Write the report of ``RECORD_LOG`` (the records every ``check`` call saw) into ``out``."""
    from reports.report import report_from_records, write_report

    return write_report(out, report_from_records(RECORD_LOG, seed=seed, source="pytest parity_tests"))


_WRITTEN: list = []


def pytest_sessionfinish(session, exitstatus):
    out = session.config.getoption("--parity-report", default=None)
    if not out or hasattr(session.config, "workerinput"):     # xdist workers: nothing to write
        return
    _WRITTEN.append(write_session_report(out))


def pytest_terminal_summary(terminalreporter):
    for path in _WRITTEN:
        terminalreporter.write_line(f"parity report ({len(RECORD_LOG)} records): {path / 'index.html'}")
