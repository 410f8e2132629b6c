"""compare() and reduction_tolerance(), table-driven: the checker checked (the bug zoo's
"harness" group seen from the test side).

Every row says what compare() must answer for a pair of arrays — shape mismatch, dtype
mismatch, NaN/inf in the same or in different positions, +inf against −inf, an error just
inside and just outside the tolerance — in float64 and float32. The rows of
``reports.parity.selfcheck.SELF_CHECKS`` (which ``cnn-parity bugs`` runs as the harness's own
check) are asserted here too.
"""
import math

import numpy as np
import pytest

from reports.parity.records import DTYPES, Tolerance, compare, float_eps, reduction_tolerance
from reports.parity.selfcheck import SELF_CHECKS, self_check_records

NAN, INF = math.nan, math.inf


def _pair(a, b, dtype, b_dtype=None):
    return np.array(a, dtype=dtype), np.array(b, dtype=b_dtype or dtype)


def _off_by(m, dtype):
    """[1, 0.5] against the same with the 1 off by m ulps (exact): max_rel = m·eps."""
    dt = np.dtype(dtype)
    b = np.array([1.0, 0.5], dtype=dt)
    a = b.copy()
    a[0] = dt.type(1 + m * float_eps(dt))
    return a, b


def _eps(m):
    """(max_abs, max_rel) = (m·eps, m·eps) of the dtype: the exact measure of ``_off_by(m)``."""
    return lambda d: (m * float_eps(d), m * float_eps(d))


def _exactly(max_abs, max_rel):
    return lambda d: (max_abs, max_rel)


# (name, make(dtype) -> (ref, torch), tol(dtype), verdict, words in the note,
#  measure(dtype) -> the exact (max_abs, max_rel), or None)
ROWS = [
    ("equal", lambda d: _pair([1.0, -2.0], [1.0, -2.0], d), lambda d: 0.0, "pass", [], _exactly(0.0, 0.0)),
    ("shape (2, 3) vs (3, 2), same values", lambda d: (np.zeros((2, 3), d), np.zeros((3, 2), d)),
     lambda d: 1.0, "fail", ["shape mismatch (2, 3) vs (3, 2)"], _exactly(INF, INF)),
    ("shape (3, 1) vs (3,)", lambda d: (np.ones((3, 1), d), np.ones(3, d)), lambda d: 1.0, "fail",
     ["shape mismatch"], _exactly(INF, INF)),
    ("torch side in the other dtype", lambda d: _pair([1.0], [1.0], d, "float32" if d == "float64" else "float64"),
     lambda d: 1.0, "fail", ["dtype mismatch"], _exactly(0.0, 0.0)),
    ("NaN in the same positions", lambda d: _pair([NAN, 1.0, 3.0], [NAN, 1.0, 2.0], d), lambda d: 0.5, "pass",
     ["1 non-finite values"], _exactly(1.0, 0.5)),
    ("NaN in different positions", lambda d: _pair([NAN, 1.0], [1.0, NAN], d), lambda d: 1.0, "fail",
     ["NaN/inf in different positions"], None),
    ("+inf against -inf", lambda d: _pair([INF, 1.0], [-INF, 1.0], d), lambda d: 1.0, "fail",
     ["NaN/inf in different positions"], _exactly(0.0, 0.0)),
    ("+inf in the same position", lambda d: _pair([INF, 1.0], [INF, 1.0], d), lambda d: 0.0, "pass", [],
     _exactly(0.0, 0.0)),
    ("NaN against inf", lambda d: _pair([NAN, 1.0], [INF, 1.0], d), lambda d: 1.0, "fail",
     ["NaN/inf in different positions"], None),
    ("just inside: 15 eps against 16 eps", lambda d: _off_by(15, d), lambda d: reduction_tolerance(d, 1), "pass",
     [], _eps(15)),
    ("exactly at the tolerance passes (<=)", lambda d: _off_by(16, d), lambda d: 16 * float_eps(d), "pass", [],
     _eps(16)),
    ("just outside: 17 eps against 16 eps", lambda d: _off_by(17, d), lambda d: reduction_tolerance(d, 1), "fail",
     [], _eps(17)),
    ("100 eps against the element-wise tolerance", lambda d: _off_by(100, d), lambda d: reduction_tolerance(d, 1),
     "fail", [], _eps(100)),
    ("relative to max|torch|, not max|ref|", lambda d: _pair([2.0, 1.0], [1.0, 1.0], d), lambda d: 0.75, "fail", [],
     _exactly(1.0, 1.0)),
    ("torch all zero, ref not", lambda d: _pair([0.5, 0.0], [0.0, 0.0], d), lambda d: 1e3, "fail", [],
     _exactly(0.5, INF)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,make,tol,verdict,words,measure", ROWS, ids=[r[0] for r in ROWS])
def test_compare_table(name, make, tol, verdict, words, measure, dtype):
    a, b = make(dtype)
    rec = compare("unit", name, a, b, tol(dtype))
    assert rec.verdict == verdict, rec.describe()
    assert rec.passed == (verdict == "pass")
    for w in words:
        assert w in rec.note, rec.note
    if measure is not None:
        assert (rec.max_abs, rec.max_rel) == measure(dtype)
    assert rec.dtype == str(a.dtype)                          # the record's dtype is the reference's
    assert rec.headroom == (INF if rec.max_rel == 0 else (rec.tol / rec.max_rel if math.isfinite(rec.max_rel) else 0.0))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k,factor", [(1, 16.0), (0, 16.0), (100, 16.0), (10_000, 16.0), (9, 2.0)])
def test_reduction_tolerance_is_its_formula(dtype, k, factor):
    tol = reduction_tolerance(dtype, k, factor)
    assert isinstance(tol, Tolerance)
    assert tol.rtol == factor * math.sqrt(max(k, 1)) * float_eps(dtype)
    assert f"k={max(k, 1)}" in tol.why and np.dtype(dtype).name in tol.why


def test_reduction_tolerance_orders_the_dtypes():
    """float32's tolerance is 2**29 times float64's (the ratio of their eps), for every k."""
    for k in (1, 77, 4096):
        assert reduction_tolerance("float32", k).rtol == 2 ** 29 * reduction_tolerance("float64", k).rtol


def test_a_float32_error_of_100_eps_fails_every_case_tolerance_below_it():
    """Where the reduction is short (k < 39: 16·√k < 100) an error of 100 eps must fail."""
    for k in (1, 4, 25, 38):
        a, b = _off_by(100, "float32")
        assert not compare("unit", "x", a, b, reduction_tolerance("float32", k)).passed


@pytest.fixture(scope="module")
def self_checks():
    return self_check_records()


@pytest.mark.parametrize("check", SELF_CHECKS, ids=lambda c: c.name)
def test_self_check_table_holds(check, self_checks):
    """Each row of the harness's own self-check gives its expected answer in both dtypes."""
    records = [r for r in self_checks if r.quantity == check.name]
    assert len(records) == 2 and {r.dtype for r in records} == set(DTYPES)
    failed = [r for r in records if not r.passed]
    assert not failed, "; ".join(f"{r.dtype}: {r.note}" for r in failed)
