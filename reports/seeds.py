"""``cnn-parity parity --seeds 0-19``: the false-alarm check — every parity case and the property
sweep under many seeds, none of which may fail.

A tolerance is only right if it holds for inputs it was not tuned on. Each seed draws other
weights and inputs for every registered case (``reports.parity.harness.all_parity_records``)
and other configurations for the seeded property sweep (``reports.parity.sweeps.sweep_records``,
the same sweeps as the hypothesis tests). The target is 0 failures; the worst headroom over all seeds
says how close the closest call came. A seed that needs a looser tolerance is a finding: it is
printed with its case.
"""
from __future__ import annotations

import time

from .parity.harness import all_parity_records
from .parity.records import DTYPES, worst_record
from .parity.sweeps import SWEEP_EXAMPLES, sweep_records

__all__ = ["run_seeds", "format_seeds"]


def run_seeds(seeds, dtypes=DTYPES, device="cpu", sweep_examples=None, log=None):
    """{seed: records} — every parity case and the seeded sweep under each seed."""
    n = SWEEP_EXAMPLES if sweep_examples is None else sweep_examples
    out = {}
    for seed in seeds:
        t0 = time.perf_counter()
        records = all_parity_records(tuple(dtypes), seed=seed, device=device)
        records += sweep_records(seed, n, tuple(dtypes))
        out[seed] = records
        if log:
            log(_seed_line(seed, records) + f" ({time.perf_counter() - t0:.0f} s)")
    return out


def _seed_line(seed, records) -> str:
    n_fail = sum(not r.passed for r in records)
    w = worst_record(records)
    where = f"; worst headroom {w.headroom:.3g} ({w.case} {w.quantity} {w.dtype})" if w else ""
    return f"seed {seed}: {len(records)} comparisons, {n_fail} fail{where}"


def format_seeds(by_seed) -> str:
    """One line per seed, the failures (a finding each), the worst headroom over all seeds."""
    lines = [_seed_line(seed, recs) for seed, recs in by_seed.items()]
    failures = [(seed, r) for seed, recs in by_seed.items() for r in recs if not r.passed]
    total = sum(len(recs) for recs in by_seed.values())
    lines.append("")
    for seed, r in failures:
        lines.append(f"FAIL seed {seed}: {r.describe()}")
    worst = [(seed, w) for seed, recs in by_seed.items() if (w := worst_record(recs))]
    seeds = f"{min(by_seed)}–{max(by_seed)}" if len(by_seed) > 1 else str(next(iter(by_seed)))
    summary = f"{len(by_seed)} seeds ({seeds}), {total} comparisons, {len(failures)} fail"
    if worst:
        seed, w = min(worst, key=lambda p: p[1].headroom)
        summary += (f"; worst headroom over all seeds {w.headroom:.3g}: seed {seed}, {w.case} {w.quantity} "
                    f"{w.dtype} (max_rel {w.max_rel:.2e}, tol {w.tol:.1e}) config={w.config}")
    lines.append(summary)
    return "\n".join(lines)
