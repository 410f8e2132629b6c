"""The plants of the bugs in the judges: the configuration matrix, its registry and cells, and the
OpInfo corpus's counting (see ``catalog.py``, group "judges").

Each would leave every record looking fine — a verdict, a ratio or a count quietly wrong — so the
parity cases cannot see them; the judges' own known answers (``reports.parity.judgecheck``, the
bug zoo's ``judges`` check) must. Wrappers of the real function where the fault is in what it is
given or returns; otherwise short ``MODIFIED COPY`` functions with the changed line marked ``# BUG``.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from .. import matrix as M
from ..records import PRECISIONS, Tolerance

# ---------------------------------------------------------------------------------------------
# The oracle
# ---------------------------------------------------------------------------------------------


def oracle_own_draws(original):
    # MODIFIED COPY of reports.parity.matrix._oracle_layer
    def _oracle_layer(case, ref, module, dtype, seed):
        if dtype == np.float64:
            return ref
        ref64, _ = case.build(np.random.default_rng(seed), np.float64)
        return ref64                     # BUG: the run's float32 parameters never copied in
    return _oracle_layer


def not_upcast(original):
    return lambda v: v                   # BUG: "astype(float64) is a no-op" — not for float32 arrays


# ---------------------------------------------------------------------------------------------
# The judgement of a run
# ---------------------------------------------------------------------------------------------

def eager_tolerance_max(original):
    # MODIFIED COPY of reports.parity.matrix.eager_tolerance
    def eager_tolerance(tol, base_tol, baseline):
        return Tolerance(max(tol.rtol, base_tol.rtol),          # BUG: was the sum of the two
                         f"sum of the two tolerances: {tol.why}; {baseline}: {base_tol.why}")
    return eager_tolerance


def verdict_scale_inverted(original):
    # MODIFIED COPY of reports.parity.matrix.judge_verdict
    def judge_verdict(err, within_tol, floor, base_err, scale=1.0):
        if not within_tol:
            return "disagrees"
        if base_err is None or not math.isfinite(base_err):
            return "agrees"
        return "worse than eager" if err > M.MULTIPLE * base_err / scale + floor else "agrees"   # BUG: / scale
    return judge_verdict


def verdict_without_floor(judge_verdict, err, within_tol, floor, base_err, scale=1.0):
    return judge_verdict(err, within_tol, 0.0, base_err, scale)      # BUG: no floor of one rounding


def ratio_swapped(ratio, err, base_err):
    return ratio(base_err, err)                                      # BUG: eager's error over the run's


def determinism_of_itself(determinism, a, b):
    return determinism(a, None if b is None else a)                  # BUG: the first run against itself


def run_case_memoised():
    """``run_case`` behind a cache keyed without ``fresh``: the repeat is the first run."""
    cache = {}

    def wrapper(run_case, case, cfg, dtype="float32", seed=0, oracle=None, fresh=True):
        key = (id(case), cfg.name, str(dtype), seed)                 # BUG: a repeat hits the first run
        if key not in cache:
            cache[key] = run_case(case, cfg, dtype, seed, oracle, fresh)
        return cache[key]
    return wrapper


def failure_as_skipped(status, case, cfg, dtype, verdict, note):
    return status(case, cfg, dtype, "skipped", note)                 # BUG: every status "skipped"


# ---------------------------------------------------------------------------------------------
# The registry and the cells
# ---------------------------------------------------------------------------------------------

#: BUG: "worse than eager" after "disagrees" in the order of verdicts (was agrees, worse, disagrees, ...)
VERDICTS_REORDERED = ("agrees", "disagrees", "worse than eager", "failed", "skipped")


def precision_from_autocast(original):
    # MODIFIED COPY of reports.parity.configs.precision_of
    def precision_of(cfg, dtype):
        dtype = np.dtype(dtype).name
        if cfg.autocast and dtype == "float32":          # BUG: computes_in ignored (TF32 forgotten)
            return PRECISIONS[cfg.computes_in]
        return PRECISIONS[dtype]
    return precision_of


def eps_unit_roundoff(original):
    return property(lambda self: 2.0 ** -self.bits)  # BUG: the unit roundoff 2^-p, not eps = 2^(1-p)


def baseline_in_config_precision(original):
    def plan(cfg, dtype, baselines=None):
        p = original(cfg, dtype, baselines)
        return p if p.baseline is None else replace(p, baseline_precision=p.precision)  # BUG: the config's own
    return plan


# ---------------------------------------------------------------------------------------------
# The OpInfo corpus
# ---------------------------------------------------------------------------------------------

def agrees_without_running(original):
    return property(lambda self: all(r.passed for r in self.records))   # BUG: not run: no records: all() is True


def worst_over_passing(original):
    # MODIFIED COPY of reports.parity.opinfo.summarize
    def summarize(run):
        rows = {}
        for res in run.results:
            row = rows.setdefault((res.op, res.dtype), {"op": res.op, "dtype": res.dtype, "samples": 0, "run": 0,
                                                        "agree": 0, "reasons": {}, "worst": math.inf,
                                                        "worst_quantity": ""})
            row["samples"] += 1
            if not res.ran:
                row["reasons"][res.reason] = row["reasons"].get(res.reason, 0) + 1
                continue
            row["run"] += 1
            row["agree"] += res.agrees
            for r in res.records:
                if r.passed and r.headroom < row["worst"]:      # BUG: the failing records left out
                    row["worst"], row["worst_quantity"] = r.headroom, f"{r.quantity} (sample {res.index})"
        out = list(rows.values())
        for row in out:
            row["not_run"] = row["samples"] - row["run"]
            row["why_not"] = "; ".join(f"{n}× {why}" for why, n in sorted(row["reasons"].items())) or "—"
        return out
    return summarize


def not_run_disagree(totals, rows):
    out = totals(rows)
    return {**out, "disagree": out["samples"] - out["agree"]}        # BUG: was run − agree
