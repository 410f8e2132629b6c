"""The benchmark results the report's speed section shows: read and checked, never measured here.

``python -m benchmarks`` writes ``benchmarks/results/latest.csv`` (and ``memory.csv`` beside it);
:func:`load_benchmarks` reads them for ``cnn-parity report`` and ``pytest --parity-report``. A
given file that is missing or malformed is :class:`BenchmarkError` (one line); the default file
may be absent, and the page then says how to make one. Nothing is timed: the benchmarks take
minutes, and timing never decides a verdict.
"""
from __future__ import annotations

import io
import os
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

__all__ = ["DEFAULT_BENCHMARKS", "repo_relative", "SPEED_COLUMNS", "MEMORY_COLUMNS", "BenchmarkError", "BenchmarkResults",
           "load_benchmarks", "resolve_benchmarks", "benchmark_setting", "read_results_csv"]

#: The benchmark results the speed section shows by default (written by ``python -m benchmarks``),
#: found from this package, so it does not depend on the working directory.
REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_BENCHMARKS = REPOSITORY / "benchmarks" / "results" / "latest.csv"


def repo_relative(path) -> str:
    """A results file as the page names it: relative to the repository when inside it."""
    try:
        return str(Path(path).relative_to(REPOSITORY))
    except ValueError:
        return str(path)
#: The columns of ``benchmarks.speed.COLUMNS`` the speed section needs (the others —
#: ratio, reps, load, blas, numpy, torch, note — are shown when present).
SPEED_COLUMNS = ["layer", "config", "pass", "dtype", "method", "reference_ms", "torch_ms", "threads"]
SPEED_NUMERIC = ["reference_ms", "torch_ms", "threads"]
#: The columns of ``benchmarks.memory.MEMORY_COLUMNS`` the memory table needs.
MEMORY_COLUMNS = ["layer", "config", "dtype", "method", "numpy_peak_mb", "rss_peak_mb"]
MEMORY_NUMERIC = ["numpy_peak_mb", "rss_peak_mb"]


class BenchmarkError(Exception):
    """A benchmark results file cannot be used; the message is one line naming the file and why."""


@dataclass
class BenchmarkResults:
    """The benchmark results the speed section shows, read from a separate benchmark run.

    ``frame`` is None when there are none: ``problem`` then says why (the file does not exist, or
    cannot be read). ``data`` / ``memory_data`` are the files' bytes, copied into the report as
    ``speed.csv`` / ``speed_memory.csv``; ``modified`` is the file's modification time (UTC).
    """

    path: Path
    frame: pd.DataFrame | None = None
    data: bytes = b""
    modified: str = ""
    memory_path: Path | None = None
    memory: pd.DataFrame | None = None
    memory_data: bytes = b""
    problem: str = ""
    default: bool = True                            # the repository's default file, not --benchmarks

    def display_path(self, path=None) -> str:
        """The file as the page names it (:func:`repo_relative`)."""
        return repo_relative(path or self.path)



def read_results_csv(path: Path, required, numeric, what: str) -> tuple[pd.DataFrame, bytes]:
    """Read and check one results CSV; :class:`BenchmarkError` (one line) if it cannot be used."""
    if not path.exists():
        raise BenchmarkError(f"{path}: no such file")
    if not path.is_file():
        raise BenchmarkError(f"{path}: not a file")
    try:
        data = path.read_bytes()
        frame = pd.read_csv(io.BytesIO(data), keep_default_na=False, na_values=[""])
    except OSError as exc:
        raise BenchmarkError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BenchmarkError(f"{path}: not a readable CSV file ({first})") from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise BenchmarkError(f"{path}: not {what}: missing column{'s' if len(missing) > 1 else ''} "
                             f"{', '.join(missing)} (expected {', '.join(required)}, ...)")
    for col in numeric:
        values = pd.to_numeric(frame[col], errors="coerce")
        bad = frame[col].notna() & values.isna()
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0]) + 2            # + header, counted from 1
            raise BenchmarkError(f"{path}: column {col} must hold numbers (line {row}: {frame[col][bad].iloc[0]!r})")
        frame[col] = values
    for col in frame.columns:
        if col not in numeric and frame[col].dtype == object:
            frame[col] = frame[col].fillna("")
    return frame, data


def load_benchmarks(path=None) -> BenchmarkResults:
    """The benchmark results to show: ``path`` (``--benchmarks FILE``), else :data:`DEFAULT_BENCHMARKS`.

    A given ``path`` that is missing or malformed raises :class:`BenchmarkError` (one line). The
    default file may be absent or unreadable: the result then has no ``frame`` and its
    ``problem`` says why, and the page says how to make one. ``memory.csv`` beside the file, if
    there is one, is read too (the peak-memory table); a malformed one is reported the same way.
    Nothing is measured: the benchmarks take minutes, and timing never decides a verdict.
    """
    default = path is None
    path = Path(os.path.abspath(os.path.expanduser(str(DEFAULT_BENCHMARKS if default else path))))
    out = BenchmarkResults(path=path, default=default)
    if default and not path.exists():
        out.problem = "missing"
        return out
    try:
        out.frame, out.data = read_results_csv(path, SPEED_COLUMNS, SPEED_NUMERIC, "a benchmark results file")
        memory = path.with_name("memory.csv")
        if memory != path and memory.is_file():
            out.memory, out.memory_data = read_results_csv(memory, MEMORY_COLUMNS, MEMORY_NUMERIC,
                                                            "a memory results file")
            out.memory_path = memory
    except BenchmarkError as exc:
        if not default:
            raise
        out.frame, out.data, out.problem = None, b"", str(exc)
        return out
    out.modified = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(path.stat().st_mtime))
    return out


def resolve_benchmarks(benchmarks) -> BenchmarkResults | None:
    """``benchmarks`` argument of collect_report / report_from_records: None (the default file),
    False (no speed section), a path, or :class:`BenchmarkResults`."""
    if benchmarks is False:
        return None
    if isinstance(benchmarks, BenchmarkResults):
        return benchmarks
    return load_benchmarks(benchmarks)


def benchmark_setting(bench: BenchmarkResults | None) -> str | None:
    if bench is None:
        return None
    if bench.frame is None:
        why = "does not exist" if bench.problem == "missing" else "cannot be used"
        return f"none ({bench.display_path()} {why})"
    return f"{bench.display_path()} (read, not measured by this run)"
