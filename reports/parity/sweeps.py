"""The property sweeps without hypothesis: seeded configurations drawn from the same case factories.

``parity_tests/test_sweeps.py`` draws layer configurations with hypothesis; the commands (``cnn-parity
report``, ``parity --seeds``) draw them from a ``numpy.random.Generator`` through the very same
drawers (``reports.parity.cases.draw_conv_config``, ``draw_pool_config``, ``draw_avgpool_config``),
so that a seed names one sweep and the CSV is byte-identical for it.
"""
from __future__ import annotations

import numpy as np

from . import cases
from .harness import run_layer_case
from .records import DTYPES, Record

__all__ = ["SWEEP_EXAMPLES", "SWEEP_EXAMPLES_QUICK", "draw_sweep_configs", "sweep_records"]

#: Sweep examples per sweep (as the hypothesis profile's max_examples) and in ``report --quick``.
SWEEP_EXAMPLES, SWEEP_EXAMPLES_QUICK = 40, 10


def _numpy_pickers(rng):
    """``integer(lo, hi)`` and ``choice(seq)`` drawing from ``rng``, for the shared configuration
    drawers of ``reports.parity.cases`` (which hypothesis uses in parity_tests/strategies.py)."""
    return (lambda lo, hi: int(rng.integers(lo, hi + 1))), (lambda seq: seq[int(rng.integers(0, len(seq)))])


def draw_sweep_configs(seed: int, n: int) -> list[tuple[str, dict, tuple]]:
    """``n`` configurations per sweep, as [(factory name, config, dtypes)] — the same sweeps
    as ``parity_tests/test_sweeps.py`` (conv and max-pool in both dtypes, avg-pool in float64)."""
    rng = np.random.default_rng([seed, 7])
    out = []
    for _ in range(n):
        out.append(("conv_case", cases.draw_conv_config(*_numpy_pickers(rng)), DTYPES))
    for _ in range(n):
        out.append(("pool_case", cases.draw_pool_config(*_numpy_pickers(rng)), DTYPES))
    for _ in range(n):
        out.append(("avgpool_case", cases.draw_avgpool_config(*_numpy_pickers(rng)), ("float64",)))
    return out


def sweep_records(seed: int = 0, n: int = SWEEP_EXAMPLES, dtypes=DTYPES) -> list[Record]:
    """Run the seeded sweep: each drawn configuration through ``run_layer_case`` (group "sweep")."""
    records = []
    configs = draw_sweep_configs(seed, n)
    for dtype in DTYPES:
        if dtype not in dtypes:
            continue
        for factory, cfg, case_dtypes in configs:
            if dtype in case_dtypes:
                records += run_layer_case(getattr(cases, factory)(**cfg), dtype, seed=seed, group="sweep")
    return records
