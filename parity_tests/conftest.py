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


@pytest.fixture
def rng():
    return np.random.default_rng(0)
