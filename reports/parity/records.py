"""Comparison records: the one source of truth for tests and reports.

Every comparison between the NumPy reference and its PyTorch twin is computed once, by
:func:`compare`, and returned as a :class:`Record`. Tests assert on records
(``record.passed``); the CSV and HTML reports render the very same records.

The error measure
-----------------
``max_abs`` is ``max |ref - torch|`` over all elements. ``max_rel`` is *normwise*:
``max_abs / max |torch|`` (the error relative to the largest value of the result). A
normwise measure is used because element-wise relative errors explode for entries that are
near zero by cancellation, while a wrong implementation produces errors at the scale of the
result itself. A record passes when ``max_rel <= tol`` and NaN/inf appear in exactly the
same positions in both arrays. ``headroom = tol / max_rel`` says how far inside the
tolerance the result is (``inf`` when the two agree to the bit).

Precision convention
--------------------
``p`` is the significand precision *counting the implicit leading bit*: float64 53, float32 24,
TF32 11 (10 stored mantissa bits), bfloat16 8, float16 11. The tolerance rule of the whole
project is ``16 * sqrt(k) * eps`` (:func:`reduction_tolerance`) with ``eps = 2**(1 - p)``, the
machine epsilon (the spacing of floats at 1: ``np.finfo(np.float32).eps`` = 1.19e-7), which is
twice the unit roundoff ``u = 2**-p``. :func:`config_tolerance` is the same rule in the precision a
configuration really computes in (``reports.parity.configs``): for float32 and float64 exactly
:func:`reduction_tolerance`'s; TF32 gives eps = 9.8e-4, bfloat16 7.8e-3, float16 9.8e-4.
"""
from __future__ import annotations

import contextvars
import hashlib
import json
import math
from dataclasses import dataclass, field, fields, replace

import numpy as np

__all__ = ["DTYPES", "Tolerance", "Precision", "PRECISIONS", "config_tolerance", "Record", "bits_of", "compare", "config_str",
           "short_config", "float_eps", "reduction_tolerance", "records_to_frame", "dedupe", "first_divergence",
           "worst_record", "CONFIGURATION_FIELDS", "case_id", "output_key", "record_key", "OUTPUT_KEY_FIELDS",
           "SavedOutput", "OutputRecorder", "saved_output", "amend", "array_digest"]

#: The dtypes the project compares, the float64 oracle first (``--dtype both``, every default).
DTYPES = ("float64", "float32")
#: The Record fields of the configuration matrix (empty/NaN on every other record).
CONFIGURATION_FIELDS = ("configuration", "compared_with", "ratio", "deterministic", "run_diff")


def float_eps(dtype) -> float:
    """Machine epsilon of a floating dtype (2.2e-16 for float64, 1.2e-7 for float32)."""
    return float(np.finfo(np.dtype(dtype)).eps)


@dataclass(frozen=True)
class Tolerance:
    """A normwise relative tolerance and the sentence that justifies it."""

    rtol: float
    why: str


def reduction_tolerance(dtype, k: int, factor: float = 16.0) -> Tolerance:
    """Tolerance for a result built from sums of ``k`` products.

    Two correct implementations that sum in different orders differ by rounding errors that
    grow like ``sqrt(k) * eps`` for random data (the worst case is ``k * eps``). We allow
    ``factor * sqrt(k) * eps``, with a floor of ``factor * eps`` for element-wise layers.
    """
    eps = float_eps(dtype)
    k = max(int(k), 1)
    rtol = factor * math.sqrt(k) * eps
    name = np.dtype(dtype).name
    return Tolerance(rtol, f"{name}: {factor:g}*sqrt(k)*eps with reduction length k={k}, eps={eps:.2e}")


@dataclass(frozen=True)
class Precision:
    """A floating-point format by its significand precision ``bits`` (implicit bit counted)."""

    name: str
    bits: int

    @property
    def eps(self) -> float:
        """Machine epsilon 2**(1 - p): np.finfo(dtype).eps for float32 and float64."""
        return 2.0 ** (1 - self.bits)

    @property
    def unit_roundoff(self) -> float:
        """u = 2**-p, the largest relative error of one rounding to nearest."""
        return 2.0 ** -self.bits


PRECISIONS = {p.name: p for p in (Precision("float64", 53), Precision("float32", 24),
                                  Precision("tf32", 11), Precision("bfloat16", 8),
                                  Precision("float16", 11))}


def config_tolerance(precision: Precision, k: int, factor: float = 16.0) -> Tolerance:
    """``factor * sqrt(k) * eps`` with eps = 2**(1-p) of ``precision`` (today's rule; for
    float32/float64 identical to ``reduction_tolerance``)."""
    k = max(int(k), 1)
    rtol = factor * float(np.sqrt(k)) * precision.eps
    return Tolerance(rtol, f"{precision.name} (p={precision.bits} bits): {factor:g}*sqrt(k)*eps with "
                           f"reduction length k={k}, eps=2^(1-p)={precision.eps:.2e}")


def bits_of(max_rel: float) -> float:
    """Bits of agreement, −log2(max_rel): inf when identical (max_rel 0), NaN when not measured."""
    if math.isnan(max_rel):
        return math.nan
    return math.inf if max_rel == 0 else -math.log2(max_rel)

@dataclass
class Record:
    """One comparison: what was compared, how far apart, and the verdict."""

    case: str               # e.g. "Convolution" or "SimpleConvNet"
    quantity: str           # "output", "dx", "dW", "db", "loss", "Conv1.out", ...
    dtype: str              # "float32" / "float64"
    config: str             # JSON of the case configuration (in declaration order)
    ref_shape: str
    torch_shape: str
    max_abs: float
    max_rel: float
    tol: float
    headroom: float
    verdict: str            # "pass" or "fail"
    group: str = "layer"    # "layer", "net", "trace", "sweep", "known", "training", ...
    note: str = ""
    tol_why: str = field(default="", repr=False)
    # Set only by the configuration matrix (reports.parity.matrix); empty/NaN elsewhere.
    configuration: str = ""     # the configuration's name ("eager", "compile", ...)
    compared_with: str = ""     # "oracle" (the float64 reference) or "eager" (torch, same dtype)
    ratio: float = math.nan     # error vs the oracle ÷ eager's error vs the oracle
    deterministic: str = ""     # "yes" (two runs bit-identical), "no", "" (not checked)
    run_diff: float = math.nan  # largest difference between the two runs

    @property
    def passed(self) -> bool:
        """"pass", or "agrees" for a configuration record ("worse than eager" does not pass)."""
        return self.verdict in ("pass", "agrees")

    @property
    def bits(self) -> float:
        """Bits of agreement, −log2(max_rel): inf when identical, NaN when not measured."""
        return bits_of(self.max_rel)

    def describe(self) -> str:
        """One readable line, used in assertion messages and on the terminal."""
        where = f" under {self.configuration} vs {self.compared_with}" if self.configuration else ""
        return (f"{self.case} [{self.dtype}{where}] {self.quantity}: max_abs={self.max_abs:.3e} "
                f"max_rel={self.max_rel:.3e} tol={self.tol:.1e} headroom={self.headroom:.3g} "
                f"-> {self.verdict.upper()}" + (f" ({self.note})" if self.note else "")
                + f" config={self.config}")


def config_str(config) -> str:
    """A case configuration as a record's ``config``: JSON in declaration order (a string as it is)."""
    if isinstance(config, str):
        return config
    return json.dumps(config or {}, default=str, ensure_ascii=False)


def short_config(config: str) -> str:
    """A record's JSON configuration as ``k=v k=v`` for a reader (the text as it is when it is not JSON)."""
    try:
        cfg = json.loads(config) if config else {}
    except ValueError:
        return config
    if not isinstance(cfg, dict):
        return str(cfg)
    return " ".join(f"{k}={v}" for k, v in cfg.items())


def compare(case: str, quantity: str, ref, torch_value, tol: Tolerance | float, *,
            config=None, group: str = "layer", note: str = "", dtype=None) -> Record:
    """Compare a reference array with the torch result and return a :class:`Record`.

    ``ref`` and ``torch_value`` are array-likes (a torch tensor is converted with
    ``.detach().cpu().numpy()``). Shapes must agree exactly; non-finite values (NaN, ±inf)
    must sit in the same positions with the same value; the finite part is measured.
    ``dtype`` names the record's dtype when the arrays are not in it (e.g. losses gathered
    as Python floats from a float32 run); by default it is the reference array's dtype.
    """
    a = _as_numpy(ref)
    b = _as_numpy(torch_value)
    if isinstance(tol, Tolerance):
        rtol, why = tol.rtol, tol.why
    else:
        rtol, why = float(tol), ""
    dtype = str(a.dtype) if dtype is None else str(dtype)
    verdict_notes = []
    if a.shape != b.shape:
        max_abs = max_rel = math.inf
        verdict_notes.append(f"shape mismatch {a.shape} vs {b.shape}")
    else:
        if a.dtype != b.dtype:
            verdict_notes.append(f"dtype mismatch {a.dtype} vs {b.dtype}")
        if all(np.isfinite(x).all() for pair in _blocks(a, b) for x in pair):
            # The common case, kept lean for the 62-M-parameter AlexNet: block by block, each
            # block cast to float64 on its own, so no temporary is larger than one block.
            max_abs, high, low = 0.0, -math.inf, math.inf
            for block_a, block_b in _blocks(a, b):
                if block_a.size:
                    diff = np.abs(np.subtract(block_a, block_b, dtype=np.float64))
                    max_abs = max(max_abs, float(diff.max()))
                    high, low = max(high, float(block_b.max())), min(low, float(block_b.min()))
            scale = max(abs(high), abs(low)) if b.size else 0.0
            max_rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else math.inf)
            return _saved(_record(case, quantity, dtype, config, a, b, max_abs, max_rel, rtol, why,
                                  group, note, verdict_notes), b)
        a64 = a.astype(np.float64, copy=False)
        b64 = b.astype(np.float64, copy=False)
        fa, fb = np.isfinite(a64), np.isfinite(b64)
        same_nonfinite = np.array_equal(fa, fb) and np.array_equal(
            np.where(fa, 0.0, np.nan_to_num(a64, nan=1.0, posinf=2.0, neginf=3.0)),
            np.where(fb, 0.0, np.nan_to_num(b64, nan=1.0, posinf=2.0, neginf=3.0)))
        if not same_nonfinite:
            verdict_notes.append("NaN/inf in different positions")
        both = fa & fb
        if both.any():
            diff = np.abs(a64[both] - b64[both])
            max_abs = float(diff.max())
            scale = float(np.abs(b64[both]).max())
            max_rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else math.inf)
        else:
            max_abs = max_rel = 0.0
        n_nonfinite = int((~fa).sum())
        if n_nonfinite:
            verdict_notes.append(f"{n_nonfinite} non-finite values")
    return _saved(_record(case, quantity, dtype, config, a, b, max_abs, max_rel, rtol, why, group, note,
                          verdict_notes), b)


#: :func:`compare` measures large arrays in blocks of about this many values.
BLOCK_VALUES = 1 << 20


def _blocks(a, b):
    """Matching views of ``a`` and ``b`` (same shape), block by block along the first axis."""
    if a.ndim == 0 or a.size <= BLOCK_VALUES:
        yield a, b
        return
    rows = max(1, BLOCK_VALUES // max(1, a.size // a.shape[0]))
    for start in range(0, a.shape[0], rows):
        yield a[start:start + rows], b[start:start + rows]


def _record(case, quantity, dtype, config, a, b, max_abs, max_rel, rtol, why, group, note,
            verdict_notes) -> Record:
    ok = (max_rel <= rtol) and not any(n.startswith(("shape", "dtype", "NaN/inf in different"))
                                       for n in verdict_notes)
    headroom = math.inf if max_rel == 0 else (rtol / max_rel if math.isfinite(max_rel) else 0.0)
    note = "; ".join([n for n in [note] + verdict_notes if n])
    return Record(case=case, quantity=quantity, dtype=dtype, config=config_str(config),
                  ref_shape=str(tuple(a.shape)), torch_shape=str(tuple(b.shape)),
                  max_abs=max_abs, max_rel=max_rel, tol=rtol, headroom=headroom,
                  verdict="pass" if ok else "fail", group=group, note=note, tol_why=why)


def _as_numpy(value) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor, without importing torch here
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def records_to_frame(records):
    """The records as a pandas DataFrame, one row per record, columns in declaration order."""
    import pandas as pd             # here: the command line imports this module for --help

    records = list(records)
    defaults = {f.name: f.default for f in fields(Record) if f.name in CONFIGURATION_FIELDS}
    used = {name for r in records for name, d in defaults.items()
            if not _same_default(getattr(r, name), d)}
    # The configuration columns appear only when some record has them, so that the CSV of
    # records without a configuration stays as it was.
    cols = [f.name for f in fields(Record) if f.name not in CONFIGURATION_FIELDS or f.name in used]
    return pd.DataFrame([{c: getattr(r, c) for c in cols} for r in records], columns=cols)


def _same_default(value, default) -> bool:
    if isinstance(default, float) and math.isnan(default):
        return isinstance(value, float) and math.isnan(value)
    return value == default


def worst_record(records):
    """The record with the least headroom among those with a finite one (a comparison with a
    tolerance and an error), or None."""
    finite = [r for r in records if r.headroom != math.inf]
    return min(finite, key=lambda r: r.headroom) if finite else None


def dedupe(records) -> list:
    """One record per (group, case, config, dtype, quantity[, configuration, compared_with]), in
    order of first appearance.

    A pytest session may compare the same thing twice (with different seeds); the worst of
    the two is kept (a failure, else the lower headroom), so the report never hides a failure.
    """
    best: dict = {}
    for r in records:
        key = (r.group, r.case, r.config, r.dtype, r.quantity, r.configuration, r.compared_with)
        old = best.get(key)
        if old is None or (r.passed, r.headroom) < (old.passed, old.headroom):
            best[key] = r
    return list(best.values())


def first_divergence(records) -> Record | None:
    """The first failing trace record, in execution order (forward, then backward), or None."""
    for rec in records:
        if rec.group == "trace" and not rec.passed:
            return rec
    return None


# ------------------------------------------------------------------------------------------
# Saved outputs: what compare() was given as the torch result, for `cnn-parity diff`
# ------------------------------------------------------------------------------------------

def case_id(case: str, config: str) -> str:
    """``Convolution[N=2 C=3 ...]``: a case with its configuration (a record's JSON ``config``), as
    in test names and the ``case_id`` column of the CSV files; the case alone without one."""
    try:
        cfg = json.loads(config) if config else {}
    except ValueError:
        cfg = {}
    cfg = cfg if isinstance(cfg, dict) else {}
    return f"{case}[{' '.join(f'{k}={v}' for k, v in cfg.items())}]" if cfg else case


#: What identifies a comparison across two reports: the record's group, its case with the case's
#: configuration, the configuration of the matrix ("" outside it), what it was compared with
#: ("" outside the matrix, "oracle" or "eager"), the dtype and the quantity.
OUTPUT_KEY_FIELDS = ("group", "case_id", "configuration", "compared_with", "dtype", "quantity")


def output_key(group, case_id, configuration, compared_with, dtype, quantity) -> tuple:
    """The identity of one comparison (:data:`OUTPUT_KEY_FIELDS`), as the saved outputs' manifest
    and ``cnn-parity diff`` match it: a tuple of strings (an empty or missing value is "")."""
    return tuple(v if type(v) is str else "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
                 for v in (group, case_id, configuration, compared_with, dtype, quantity))


def record_key(r: Record) -> tuple:
    """:func:`output_key` of a record."""
    return output_key(r.group, case_id(r.case, r.config), r.configuration, r.compared_with, r.dtype, r.quantity)


def array_digest(value: np.ndarray) -> str:
    """SHA-256 of an array's bytes in C order (the dtype and shape are kept beside it), hashed
    block by block so that a large array is never copied whole."""
    h = hashlib.sha256()
    flat = value if value.flags.c_contiguous else None
    if flat is not None and flat.size:
        h.update(memoryview(flat.reshape(-1)).cast("B"))
    elif value.size:
        for block, _ in _blocks(value, value):
            h.update(memoryview(np.ascontiguousarray(block).reshape(-1)).cast("B"))
    return h.hexdigest()


@dataclass(frozen=True)
class SavedOutput:
    """The torch result of one comparison: its dtype, shape, the SHA-256 of its bytes, and the
    array itself when the recorder keeps arrays (else None)."""

    dtype: str
    shape: tuple
    sha256: str
    array: np.ndarray | None = field(default=None, repr=False, compare=False)


_RECORDER: contextvars.ContextVar = contextvars.ContextVar("cnn_parity_output_recorder", default=None)


class OutputRecorder:
    """While active (``with OutputRecorder(arrays=...) as rec:``), every :func:`compare` saves the
    torch result it was given: its hash always, a copy of the array with ``arrays=True``. The
    records themselves do not change. :func:`saved_output` then finds a record's saved result
    (:func:`amend` carries it over to a changed copy of the record).

    A float result handed over upcast (the configuration matrix passes float64 copies of float32
    or bfloat16 results) is saved in the record's dtype when that holds it exactly, so a float32
    comparison saves float32 values wherever it comes from. Identical arrays are kept once."""

    def __init__(self, arrays: bool = False):
        self.arrays = bool(arrays)
        self._saved: dict = {}           # id(record) -> (record, SavedOutput)
        self._arrays: dict = {}          # sha256 -> array (arrays=True)
        self._token = None

    def __enter__(self):
        self._token = _RECORDER.set(self)
        return self

    def __exit__(self, *exc):
        _RECORDER.reset(self._token)
        self._token = None
        return False

    def save(self, record: Record, value: np.ndarray) -> None:
        value = _narrowest(value, record.dtype)
        digest = array_digest(value)
        array = None
        if self.arrays:
            array = self._arrays.get(digest)
            if array is None:
                array = self._arrays[digest] = np.array(value, copy=True)   # torch may reuse its buffer
        self._saved[id(record)] = (record, SavedOutput(value.dtype.name, tuple(int(n) for n in value.shape),
                                                       digest, array))

    def carry(self, old: Record, new: Record) -> None:
        entry = self._saved.get(id(old))
        if entry is not None and entry[0] is old:
            self._saved[id(new)] = (new, entry[1])

    def get(self, record: Record) -> SavedOutput | None:
        entry = self._saved.get(id(record))
        return entry[1] if entry is not None and entry[0] is record else None


def saved_output(record: Record, recorder: OutputRecorder | None = None) -> SavedOutput | None:
    """The torch result saved for ``record`` by ``recorder`` (default: the active one), or None."""
    recorder = recorder or _RECORDER.get()
    return None if recorder is None else recorder.get(record)


def amend(record: Record, **changes) -> Record:
    """``dataclasses.replace(record, **changes)``, keeping the torch result the active recorder
    saved for ``record`` (the matrix sets a verdict and the configuration after comparing)."""
    new = replace(record, **changes)
    recorder = _RECORDER.get()
    if recorder is not None:
        recorder.carry(record, new)
    return new


def _saved(record: Record, torch_value: np.ndarray) -> Record:
    recorder = _RECORDER.get()
    if recorder is not None:
        recorder.save(record, torch_value)
    return record


def _narrowest(value: np.ndarray, dtype: str) -> np.ndarray:
    """``value`` in ``dtype`` when it is a wider float array that ``dtype`` holds exactly."""
    try:
        target = np.dtype(dtype)
    except TypeError:
        return value
    if value.dtype.kind != "f" or target.kind != "f" or target.itemsize >= value.dtype.itemsize:
        return value
    with np.errstate(over="ignore", invalid="ignore"):
        narrow = value.astype(target)
    return narrow if np.array_equal(narrow.astype(value.dtype), value, equal_nan=True) else value
