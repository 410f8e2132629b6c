"""The harness checks itself: inputs whose verdict is known, run through ``compare()``.

A checker can be wrong too. A ``compare()`` blind to NaN in different positions, or every
tolerance 1000× too loose, would let the whole suite pass — every case would still report
"pass". So the comparison is checked on inputs whose right answer is known: arrays that must
fail (shapes (2, 3) against (3, 2) with the same values, a dtype mismatch, NaN or ±inf in
different positions, +inf against −inf, an error just outside the tolerance, an error of
100·eps against the element-wise tolerance) and arrays that must pass (identical arrays, NaN in
the same positions, an error just inside the tolerance); the error measure against a known
answer (relative to torch's array); the tolerance formula against its definition.

:data:`SELF_CHECKS` is the table (declared once); :func:`self_check_records` expands it for both
dtypes into records of group "selfcheck": a record passes when ``compare()`` gave the expected
verdict (and, where given, the expected measure). Its ``max_abs``/``max_rel``/``tol`` are those
``compare()`` computed; a self-check is yes or no, so its headroom is inf when it holds and 0
when it does not. ``parity_tests/test_records.py`` asserts on the same table, and the bug zoo
(``reports.parity.bugs``, group "harness") counts a harness bug as caught when a self-check fails.

``compare`` and ``reduction_tolerance`` are looked up in ``reports.parity.records`` at each call,
so that the checks see the functions as they are at that moment.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import records as _records
from .records import DTYPES, Record

__all__ = ["SelfCheck", "SELF_CHECKS", "self_check_records"]



def _other(dtype):
    return np.float64 if np.dtype(dtype) == np.float32 else np.float32


def _ones_off_by(m: float):
    """torch = [1, 0.5, −0.25], ref = the same with the first entry off by ``m`` ulps of 1
    (exactly representable): max_rel = m·eps exactly."""
    def make(dtype):
        b = np.array([1.0, 0.5, -0.25], dtype=dtype)
        a = b.copy()
        a[0] = dtype.type(1.0 + m * _records.float_eps(dtype))
        return a, b
    return make


def _tol(k: int):
    """The tolerance of a reduction of length ``k`` in the check's dtype (16·√k·eps)."""
    return lambda dtype: _records.reduction_tolerance(dtype, k)


def _fixed(rtol: float):
    return lambda dtype: rtol


def _arrays(a, b, b_dtype=None):
    """Fixed arrays in the check's dtype (``b`` in ``b_dtype(dtype)`` when given)."""
    def make(dtype):
        return (np.array(a, dtype=dtype),
                np.array(b, dtype=dtype if b_dtype is None else b_dtype(dtype)))
    return make


NAN, INF = math.nan, math.inf


@dataclass(frozen=True)
class SelfCheck:
    """One known answer: ``make(dtype) -> (ref, torch)``; ``tol(dtype)`` the tolerance given to
    ``compare()``; ``expect`` its verdict ("pass" / "fail"); ``measure`` (optional) the exact
    (max_abs, max_rel) ``compare()`` must report, as a function of the dtype's eps."""

    name: str
    make: Callable
    tol: Callable
    expect: str
    measure: Callable | None = None


SELF_CHECKS: list[SelfCheck] = [
    SelfCheck("identical arrays", _arrays([1.0, -2.0, 3.5], [1.0, -2.0, 3.5]), _fixed(0.0), "pass",
              lambda eps: (0.0, 0.0)),
    SelfCheck("same values, shapes (2, 3) vs (3, 2)",
              lambda dt: (np.zeros((2, 3), dt), np.zeros((3, 2), dt)), _fixed(0.1), "fail"),
    SelfCheck("same values, shapes (3, 1) vs (3,) (broadcastable)",
              lambda dt: (np.ones((3, 1), dt), np.ones(3, dt)), _fixed(0.1), "fail"),
    SelfCheck("same values, dtype mismatch", _arrays([1.0, 2.0], [1.0, 2.0], _other), _fixed(0.1), "fail"),
    SelfCheck("NaN in the same positions", _arrays([NAN, 1.0, 2.0], [NAN, 1.0, 2.0]), _fixed(0.0), "pass"),
    SelfCheck("NaN in different positions", _arrays([NAN, 1.0, 2.0], [1.0, NAN, 2.0]), _fixed(0.1), "fail"),
    SelfCheck("+inf against -inf", _arrays([INF, 1.0], [-INF, 1.0]), _fixed(0.1), "fail"),
    SelfCheck("NaN against +inf", _arrays([NAN, 1.0], [INF, 1.0]), _fixed(0.1), "fail"),
    SelfCheck("+inf against a finite value", _arrays([INF, 1.0], [1.0, 1.0]), _fixed(0.1), "fail"),
    SelfCheck("error 15 eps, element-wise tolerance 16 eps (just inside)", _ones_off_by(15), _tol(1), "pass",
              lambda eps: (15 * eps, 15 * eps)),
    SelfCheck("error 17 eps, element-wise tolerance 16 eps (just outside)", _ones_off_by(17), _tol(1), "fail",
              lambda eps: (17 * eps, 17 * eps)),
    SelfCheck("error 100 eps, element-wise tolerance", _ones_off_by(100), _tol(1), "fail"),
    SelfCheck("error 1599 eps, reduction of 10,000 (tolerance 1600 eps, just inside)", _ones_off_by(1599),
              _tol(10_000), "pass"),
    SelfCheck("error 1601 eps, reduction of 10,000 (tolerance 1600 eps, just outside)", _ones_off_by(1601),
              _tol(10_000), "fail"),
    SelfCheck("max_rel is max|ref − torch| / max|torch| (ref [2, 1], torch [1, 1])",
              _arrays([2.0, 1.0], [1.0, 1.0]), _fixed(0.75), "fail", lambda eps: (1.0, 1.0)),
    SelfCheck("reduction_tolerance(dtype, 100) is 16·√100·eps",
              lambda dt: (np.array(_records.reduction_tolerance(dt, 100).rtol), np.array(160 * _records.float_eps(dt))),
              _fixed(0.0), "pass"),
]


def self_check_records(dtypes=DTYPES) -> list[Record]:
    """Every self-check in every dtype, as records of group "selfcheck" (see the module docstring)."""
    records = []
    for dtype in dtypes:
        dtype = np.dtype(dtype)
        for chk in SELF_CHECKS:
            a, b = chk.make(dtype)
            tol = chk.tol(dtype)
            inner = _records.compare("compare()", chk.name, a, b, tol, group="selfcheck")
            problems = []
            if inner.verdict != chk.expect:
                problems.append(f"compare() said {inner.verdict.upper()}")
            if chk.measure is not None:
                want = chk.measure(_records.float_eps(dtype))
                if (inner.max_abs, inner.max_rel) != want:
                    problems.append(f"measured max_abs {inner.max_abs:.6g}, max_rel {inner.max_rel:.6g} "
                                    f"instead of {want[0]:.6g}, {want[1]:.6g}")
            note = f"expected {chk.expect.upper()}" + (": " + "; ".join(problems) if problems else ", as it did")
            records.append(Record(
                case="harness self-check", quantity=chk.name, dtype=dtype.name, config="{}",
                ref_shape=inner.ref_shape, torch_shape=inner.torch_shape, max_abs=inner.max_abs,
                max_rel=inner.max_rel, tol=inner.tol, headroom=0.0 if problems else math.inf,
                verdict="fail" if problems else "pass", group="selfcheck", note=note,
                tol_why="a known answer of compare() (a yes/no check: headroom inf when it holds)"))
    return records
