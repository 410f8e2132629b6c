"""``python -m benchmarks``: see ``benchmarks/__init__.py``.

The thread counts are pinned through the environment *before* NumPy and torch are imported
(``--threads N``, first value), and again at run time for each value of ``--threads``.
``--native-blas`` restarts the command without ``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE``
(set on some machines for older OpenBLAS builds; they force a slower kernel on a current one).
"""
import os
import sys


def _early_threads(argv):
    if "--threads" in argv:
        i = argv.index("--threads")
        if i + 1 < len(argv) and argv[i + 1].isdigit():
            return argv[i + 1]
    return str(os.cpu_count() or 1)


if __name__ == "__main__":
    if "--native-blas" in sys.argv[1:] and ({"OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"} & set(os.environ)):
        # OpenBLAS reads these when it loads: start again without them (this process only).
        env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
        os.execve(sys.executable, [sys.executable, "-m", "benchmarks"] + sys.argv[1:], env)
    n = _early_threads(sys.argv[1:])
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = n
    from .speed import main
    sys.exit(main())
