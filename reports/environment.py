"""The environment a report was made in: versions, BLAS, CPU/GPU, threads, dtype flags, git, date.

``collect_environment(...)`` returns ``[(key, value), ...]`` (strings), written as
``environment.csv`` (columns ``key, value``) and shown as the report's last section. It is the
only output that changes from run to run (the date lives here), so it is kept apart from the
byte-identical CSVs.
"""
from __future__ import annotations

import datetime as _dt
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

__all__ = ["collect_environment", "numpy_blas", "torch_build_info", "cpu_model", "cpu_flags", "git_commit",
           "VECTOR_FLAGS"]

#: The CPU flags that decide which kernels torch and the BLAS libraries pick (x86: AVX2, AVX-512
#: and its extensions, AMX; aarch64: SVE, ASIMD); cpu_flags() lists those the CPU has.
VECTOR_FLAGS = ("avx", "avx2", "fma", "f16c", "avx512", "amx", "sve", "asimd")

REPO_ROOT = Path(__file__).resolve().parent.parent


def numpy_blas() -> str:
    """numpy's BLAS, from ``numpy.show_config(mode="dicts")`` (numpy ≥ 1.25), e.g.
    ``scipy-openblas 0.3.27 (OpenBLAS 0.3.27 DYNAMIC_ARCH Haswell MAX_THREADS=64)``."""
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
    except (TypeError, AttributeError, ValueError):     # numpy < 1.25: no mode argument
        return "unknown"
    name = blas.get("name", "unknown")
    version = blas.get("version", "")
    detail = blas.get("openblas configuration", "")
    text = f"{name} {version}".strip()
    return f"{text} ({detail.strip()})" if detail and detail != "unknown" else text


def torch_build_info() -> dict[str, str]:
    """BLAS, LAPACK and CPU capability from ``torch.__config__.show()``."""
    text = torch.__config__.show()
    info = {}
    for key in ("BLAS_INFO", "LAPACK_INFO"):
        m = re.search(rf"{key}=([^,\s]+)", text)
        info[key.lower()] = m.group(1) if m else "unknown"
    m = re.search(r"Math Kernel Library Version ([^\n]+)", text)
    if m and info["blas_info"] == "mkl":
        info["blas_info"] = f"mkl (Intel oneMKL {m.group(1).split('-')[0].strip()})"
    m = re.search(r"CPU capability usage: (\S+)", text)
    info["cpu_capability"] = m.group(1) if m else "unknown"
    return info


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo, else platform.processor())."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def cpu_flags() -> str:
    """The CPU's vector flags (:data:`VECTOR_FLAGS`, e.g. ``avx2 avx512f avx512_bf16 amx_tile``) from
    Linux /proc/cpuinfo, "unknown" elsewhere."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith(("flags", "features")):
                    flags = line.split(":", 1)[1].split()
                    return " ".join(sorted(f for f in set(flags) if f.startswith(VECTOR_FLAGS))) or "none"
    except OSError:
        pass
    return "unknown"


def _detected_capability() -> str:
    """torch.backends.cpu.get_cpu_capability(): the kernels torch picked (ATEN_CPU_CAPABILITY lowers it)."""
    try:
        return str(torch.backends.cpu.get_cpu_capability())
    except (AttributeError, RuntimeError):           # torch < 2.1
        return "unknown"


def git_commit(root: Path = REPO_ROOT) -> tuple[str, str]:
    """(commit hash, "yes"/"no" for uncommitted changes) of the checkout holding this package,
    or ("unknown", "unknown") outside a git checkout or without git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                              timeout=10)
        if head.returncode != 0:
            return "unknown", "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10)
        return head.stdout.strip(), ("yes" if dirty.stdout.strip() else "no") if dirty.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown", "unknown"


def _version(module: str) -> str:
    try:
        mod = __import__(module)
        return str(getattr(mod, "__version__", "unknown"))
    except ImportError:
        return "not installed"
    except Exception as exc:  # noqa: BLE001 - e.g. a torchvision built for another torch
        return f"installed, does not import ({type(exc).__name__})"


def collect_environment(seed=None, *, settings: dict | None = None, now: _dt.datetime | None = None) -> list[tuple[str, str]]:
    """Everything needed to reproduce or compare a report, as (key, value) strings.

    ``settings``: extra run settings shown after the seed (dtypes, quick, epochs, data, ...).
    """
    build = torch_build_info()
    gpu = "none"
    cuda = "not available"
    if torch.cuda.is_available():
        n = torch.cuda.device_count()
        gpu = "; ".join(torch.cuda.get_device_name(i) for i in range(n))
        cuda = f"CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}"
    commit, dirty = git_commit()
    now = now or _dt.datetime.now(_dt.timezone.utc)
    rows = [
        ("python", f"{platform.python_version()} ({platform.python_implementation()})"),
        ("platform", platform.platform()),
        ("numpy", np.__version__),
        ("torch", torch.__version__),
        ("torchvision", _version("torchvision")),
        ("pandas", _version("pandas")),
        ("numpy BLAS", numpy_blas()),
        ("torch BLAS", build["blas_info"]),
        ("torch LAPACK", build["lapack_info"]),
        ("torch CPU capability", build["cpu_capability"]),
        ("torch.backends.cpu.get_cpu_capability()", _detected_capability()),
        ("ATEN_CPU_CAPABILITY", os.environ.get("ATEN_CPU_CAPABILITY", "not set")),
        ("CPU", cpu_model()),
        ("CPU flags", cpu_flags()),
        ("CPU cores (os.cpu_count)", str(os.cpu_count())),
        ("GPU", gpu),
        ("CUDA", cuda),
        ("device used for torch", "cpu"),
        ("torch threads", str(torch.get_num_threads())),
        ("torch interop threads", str(torch.get_num_interop_threads())),
        ("seed", "" if seed is None else str(seed)),
    ]
    rows += [(str(k), str(v)) for k, v in (settings or {}).items()]
    rows += [
        ("torch.backends.cuda.matmul.allow_tf32", str(torch.backends.cuda.matmul.allow_tf32)),
        ("torch.backends.cudnn.allow_tf32", str(torch.backends.cudnn.allow_tf32)),
        ("torch.get_float32_matmul_precision()", torch.get_float32_matmul_precision()),
        ("torch.are_deterministic_algorithms_enabled()", str(torch.are_deterministic_algorithms_enabled())),
        ("git commit", commit),
        ("uncommitted changes", dirty),
        ("command", " ".join([Path(sys.argv[0]).name] + sys.argv[1:]) if sys.argv and sys.argv[0] else "unknown"),
        ("date (UTC)", now.strftime("%Y-%m-%d %H:%M:%S")),
    ]
    return rows
