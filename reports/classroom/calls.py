"""Calling a student's code: every exception turned into a one-line :class:`Failure` (or
:class:`StudentExit`), every array it returns checked, every array it is given a copy; and the
records of a run, with failing ones for the quantities it never reached (``reports.classroom.grading``)."""
from __future__ import annotations

import math

import numpy as np

from ..parity.records import Record, compare, config_str

__all__ = ["Failure", "StudentExit", "Skip", "obj_name", "one_line", "call", "method", "as_array", "copy_of",
           "error_record",
           "Records", "Guarded"]


class Failure(Exception):
    """The student's code raised (``todo``: NotImplementedError) or returned something unusable."""

    def __init__(self, message: str, todo: bool = False):
        super().__init__(message)
        self.todo = todo


class StudentExit(BaseException):
    """The student's code called ``sys.exit(code)``: the name ends there."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


class Skip(Exception):
    """The case needs an option the student's class does not take."""


def obj_name(obj) -> str:
    return getattr(obj, "__name__", type(obj).__name__)


def one_line(exc: BaseException) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= 160 else text[:159].rsplit(" ", 1)[0] + " …"


def call(what: str, fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, the student's code: an exception becomes a :class:`Failure` saying
    where (``what``); ``sys.exit`` a :class:`StudentExit`. Ctrl-C goes through."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError as exc:
        raise Failure(f"{what} raises NotImplementedError" + (f" ({exc})" if str(exc) else ""), todo=True) from None
    except SystemExit as exc:
        raise StudentExit(exc.code) from None
    except Exception as exc:           # the student's exception, reported in one line
        raise Failure(f"{what} raises {one_line(exc)}") from None


def method(obj, name: str):
    """``obj.name`` looked up when it is called, so that a missing method raises inside :func:`call`."""
    return lambda *args, **kwargs: getattr(obj, name)(*args, **kwargs)


def as_array(value, what: str, dtype) -> np.ndarray:
    """What the student returned, as an array; a Python number (a loss) takes the run's dtype."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return np.asarray(value, dtype=dtype)
    if value is None or not isinstance(value, (np.ndarray, np.generic)):
        raise Failure(f"{what} returned {type(value).__name__}, not a NumPy array")
    array = np.asarray(value)
    if array.dtype.kind not in "fiub":
        raise Failure(f"{what} returned an array of {array.dtype}, not of numbers")
    return array


def copy_of(value):
    return value.copy() if isinstance(value, np.ndarray) else value


def error_record(case: str, quantity: str, dtype, config, message: str, todo=False, group="error") -> Record:
    """A failing record for a quantity the student's code did not produce (its note says why)."""
    return Record(case=case, quantity=quantity, dtype=np.dtype(dtype).name, config=config_str(config),
                  ref_shape="", torch_shape="", max_abs=math.inf, max_rel=math.inf, tol=0.0, headroom=0.0,
                  verdict="fail", group="todo" if todo else group, note=message)


class Records:
    """The records of one run, and the failing records of the quantities it never reached."""

    def __init__(self, case, config, dtype, quantities):
        self.case, self.config, self.dtype, self.left = case, config, np.dtype(dtype), list(quantities)
        self.records = []

    def compare(self, quantity, mine, theirs, tol, group="layer"):
        self.records.append(compare(self.case, quantity, mine, theirs, tol, config=self.config, group=group,
                                    dtype=self.dtype))
        if quantity in self.left:
            self.left.remove(quantity)

    def fail_rest(self, failure: Failure, group="error") -> list[Record]:
        self.records += [error_record(self.case, q, self.dtype, self.config, str(failure), failure.todo, group)
                         for q in self.left]
        self.left = []
        return self.records


class Guarded:
    """A student's layer as ``run_net_case`` sees it: arrays in are copies, arrays out are checked,
    an exception is a :class:`Failure`; every other attribute is the layer's own."""

    def __init__(self, name, layer, dtype):
        object.__setattr__(self, "_where", (name, layer, dtype))

    def forward(self, *args):
        name, layer, dtype = self._where
        out = call(f"{name}.forward", method(layer, "forward"), *map(copy_of, args))
        return as_array(out, f"{name}.forward", dtype)

    def backward(self, dout=1):
        name, layer, dtype = self._where
        return as_array(call(f"{name}.backward", method(layer, "backward"), copy_of(dout)), f"{name}.backward", dtype)

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        name, layer, _ = self._where
        return call(f"{name}.{attr}", getattr, layer, attr)     # a missing dW is the student's failure

    def __setattr__(self, attr, value):
        setattr(self._where[1], attr, value)
