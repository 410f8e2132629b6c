"""The machine a benchmark runs on: its threads, its BLAS, its name; and when a measurement began.

``set_threads(n)`` pins NumPy's BLAS and torch to ``n`` threads; ``machine()`` is the header of
the table (CPU, cores, versions, BLAS kernel); ``measurement_started()`` the load average and the time a
measurement begins with (the ``load`` and ``date`` columns).
"""
from __future__ import annotations

import ctypes
import glob
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

try:
    from threadpoolctl import threadpool_limits
except ImportError:                  # optional: without it, NumPy's OpenBLAS is pinned through ctypes
    threadpool_limits = None

__all__ = ["set_threads", "blas_description", "machine", "describe_machine", "measurement_started"]


def _openblas():
    """NumPy's bundled OpenBLAS (scipy-openblas) through ctypes, or None."""
    here = Path(np.__file__).resolve().parent
    candidates = glob.glob(str(here.parent / "numpy.libs" / "libscipy_openblas*.so*"))
    candidates += glob.glob(str(here / ".dylibs" / "libscipy_openblas*"))
    for path in candidates:
        lib = ctypes.CDLL(path)
        for prefix, suffix in (("scipy_openblas_", "64_"), ("scipy_openblas_", ""), ("openblas_", "")):
            if hasattr(lib, f"{prefix}set_num_threads{suffix}"):
                return lib, prefix, suffix
    return None


def set_threads(n: int) -> int:
    """Pin NumPy's BLAS and torch (intra-op, MKL, OpenMP) to ``n`` threads; return n."""
    torch.set_num_threads(n)
    if threadpool_limits is not None:
        threadpool_limits(n)
        return n
    found = _openblas()
    if found is not None:
        lib, prefix, suffix = found
        getattr(lib, f"{prefix}set_num_threads{suffix}")(ctypes.c_int(n))
    return n


def blas_description() -> str:
    """NumPy's BLAS and the kernel it runs ("Haswell" where OPENBLAS_CORETYPE forces it)."""
    found = _openblas()
    if found is None:
        return "unknown BLAS"
    lib, prefix, suffix = found
    core = getattr(lib, f"{prefix}get_corename{suffix}", None)
    config = getattr(lib, f"{prefix}get_config{suffix}", None)
    name = "OpenBLAS"
    if config is not None:
        config.restype = ctypes.c_char_p
        parts = config().decode().split()
        name = " ".join(parts[:2])
    if core is not None:
        core.restype = ctypes.c_char_p
        name += f" ({core().decode()})"
    return name


def machine() -> dict:
    """CPU model, cores, versions, BLAS: the header of the table."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "torch": torch.__version__, "blas": blas_description(),
            "torch_blas": "MKL" if torch.backends.mkl.is_available() else "other",
            "torch_mkldnn": torch.backends.mkldnn.is_available(),
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "")}


def describe_machine(info=None) -> str:
    """The machine in one line (the first line of ``python -m benchmarks``)."""
    info = info or machine()
    core = info["OPENBLAS_CORETYPE"]
    return (f"{info['cpu']}, {info['cores']} cores; Python {info['python']}, numpy {info['numpy']} "
            f"({info['blas']}{', OPENBLAS_CORETYPE=' + core if core else ''}), torch {info['torch']} "
            f"(BLAS {info['torch_blas']}, oneDNN {'on' if info['torch_mkldnn'] else 'off'})")


def measurement_started() -> tuple:
    """(1-minute load average, "YYYY-MM-DD HH:MM UTC"), taken as a measurement begins."""
    return os.getloadavg()[0], time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
