"""Speed and memory benchmarks: the NumPy reference against PyTorch CPU, in the same process.

Run from the repository root::

    python -m benchmarks                 # layer table + training step, float32 and float64
    python -m benchmarks --threads 1 2   # the same, once per thread count
    python -m benchmarks --epoch         # + one full MNIST epoch of SimpleConvNet per framework
    python -m benchmarks --memory        # + peak memory of the convolution layer (subprocesses)

Timing lives here, never in the pass/fail tests (``parity_tests``). Each measurement runs the
reference (both computational paths, ``method="fast"`` and ``method="book"``) and its torch
twin *interleaved* in one loop — rep 1 of each, rep 2 of each, ... — so that load from other
processes hits all contenders alike; the result is the median of ``reps`` timed runs after
``warmup`` untimed ones, with NumPy's BLAS and torch pinned to the same number of threads.

Python API (for ``reports``): ``run(...)`` and ``run_memory(...)`` return pandas DataFrames
(and write the CSVs); ``load_results()`` / ``load_memory()`` read the CSVs back. The columns
are documented in ``benchmarks.table`` (``COLUMNS``) and ``benchmarks.memory`` (``MEMORY_COLUMNS``).
"""
from __future__ import annotations

# The functions import numpy/torch lazily, so that ``python -m benchmarks`` can pin the thread
# counts through the environment before either library is loaded.
__all__ = ["run", "run_memory", "run_epoch", "load_results", "load_memory", "COLUMNS",
           "MEMORY_COLUMNS", "RESULTS", "MEMORY_RESULTS"]

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "latest.csv"
MEMORY_RESULTS = Path(__file__).resolve().parent / "results" / "memory.csv"


def run(*args, **kwargs):
    """Layer and training-step timings -> DataFrame (see ``benchmarks.speed.run``)."""
    from .speed import run as _run
    return _run(*args, **kwargs)


def run_epoch(*args, **kwargs):
    """One MNIST epoch per framework -> DataFrame (see ``benchmarks.speed.run_epoch``)."""
    from .speed import run_epoch as _run_epoch
    return _run_epoch(*args, **kwargs)


def run_memory(*args, **kwargs):
    """Peak memory of the convolution layer -> DataFrame (see ``benchmarks.memory.run_memory``)."""
    from .memory import run_memory as _run_memory
    return _run_memory(*args, **kwargs)


def load_results(path=RESULTS):
    """The timing CSV written by ``run`` as a DataFrame (columns ``table.COLUMNS``)."""
    import pandas as pd
    return pd.read_csv(path)


def load_memory(path=MEMORY_RESULTS):
    """The memory CSV written by ``run_memory`` as a DataFrame (columns ``memory.MEMORY_COLUMNS``)."""
    import pandas as pd
    return pd.read_csv(path)


def __getattr__(name):
    if name == "COLUMNS":
        from .table import COLUMNS
        return COLUMNS
    if name == "MEMORY_COLUMNS":
        from .memory import MEMORY_COLUMNS
        return MEMORY_COLUMNS
    raise AttributeError(name)
