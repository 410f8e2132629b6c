"""``pytest parity_tests -n N`` (pytest-xdist) with ``--parity-report DIR``: the report holds the
records of every worker, in the order a serial run gives them.

The default tier checks the merge in-process (the controller's side, with workers' outputs as
xdist hands them over); the slow tier runs pytest itself, serial and with two workers, and
compares the two reports row for row (``.ci/run`` runs it on every CI run).
"""
from __future__ import annotations

import pickle
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from reports.parity.records import Tolerance, compare

from . import conftest

def _record(case, quantity):
    a = np.arange(4.0)
    return compare(case, quantity, a, a, Tolerance(1e-12, "test"), config={"n": 1})


def _worker(name, tagged):
    """A finished xdist worker node as the controller sees it (``workeroutput``, ``gateway.id``)."""
    return SimpleNamespace(gateway=SimpleNamespace(id=name),
                           workeroutput={conftest.WORKER_KEY: pickle.dumps(tagged)})


def test_controller_merges_the_workers_records_in_collection_order(monkeypatch):
    """Two workers ran tests 0, 2, 3 and 1, 4 of the collection; the merged records come back in
    the order of a serial run (test by test; within a test, as logged), and a node without
    records (a crashed worker, or one that ran no parity test) is skipped."""
    monkeypatch.setattr(conftest, "_FROM_WORKERS", [])
    recs = {i: [_record(f"case{i}", q) for q in ("output", "dx")] for i in range(5)}
    conftest.pytest_testnodedown(_worker("gw1", [(1, r) for r in recs[1]] + [(4, r) for r in recs[4]]), None)
    conftest.pytest_testnodedown(SimpleNamespace(gateway=SimpleNamespace(id="gw2"), workeroutput={}), None)
    conftest.pytest_testnodedown(_worker("gw0", [(i, r) for i in (0, 2, 3) for r in recs[i]]), None)
    merged = conftest.session_records()
    assert [(r.case, r.quantity) for r in merged] == [(r.case, r.quantity) for i in range(5) for r in recs[i]]


def test_a_worker_hands_its_records_over_tagged_with_their_tests(monkeypatch, tmp_path):
    """The worker side: pytest_sessionfinish puts (test index, record) pairs into workeroutput."""
    recs = [_record("a", "output"), _record("b", "dx")]
    monkeypatch.setattr(conftest, "RECORD_LOG", recs)
    monkeypatch.setattr(conftest, "_TAGGED", [7, 9])
    config = SimpleNamespace(workerinput={"workerid": "gw0"}, workeroutput={},
                             getoption=lambda name, default=None: str(tmp_path / "report"))
    conftest.pytest_sessionfinish(SimpleNamespace(config=config), 0)
    tagged = pickle.loads(config.workeroutput[conftest.WORKER_KEY])
    assert [(i, r.case) for i, r in tagged] == [(7, "a"), (9, "b")]
    assert not (tmp_path / "report").exists(), "a worker writes no report"


def _pytest(*args, env=None):
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:randomly", "-q", *args], cwd=conftest.ROOT,
                          capture_output=True, text=True, timeout=600, env=env)


@pytest.mark.slow
def test_serial_and_parallel_reports_hold_the_same_rows(tmp_path):
    pytest.importorskip("xdist")
    # Both runs with the threads each of two workers gets (conftest: its share of the cores), so
    # that torch and BLAS sum in the same order and the two reports are byte-identical.
    share = str(max(1, conftest._cpu_count() // 2))
    env = conftest.cli_env(OMP_NUM_THREADS=share, OPENBLAS_NUM_THREADS=share, MKL_NUM_THREADS=share)
    tests = ["parity_tests/test_layers.py", "parity_tests/test_known_answers.py", "parity_tests/test_sweeps.py"]
    serial = _pytest(*tests, "-n", "0", "--parity-report", str(tmp_path / "serial"), env=env)
    assert serial.returncode == 0, serial.stdout[-3000:] + serial.stderr[-3000:]
    parallel = _pytest(*tests, "-n", "2", "--parity-report", str(tmp_path / "parallel"), env=env)
    assert parallel.returncode == 0, parallel.stdout[-3000:] + parallel.stderr[-3000:]
    for name in ("layers.csv", "sweeps.csv"):
        a = (tmp_path / "serial" / name).read_bytes()
        b = (tmp_path / "parallel" / name).read_bytes()
        assert a.count(b"\n") > 20 and a == b, name
    count = [line for line in parallel.stdout.splitlines() if line.startswith("parity report (")]
    assert count and count[0].split(" records")[0] == next(
        line for line in serial.stdout.splitlines() if line.startswith("parity report (")).split(" records")[0]
