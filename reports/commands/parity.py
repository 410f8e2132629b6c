"""``cnn-parity parity``: every parity case, the table of their worst headroom; with ``--config``
the configuration matrix, with ``--seeds`` the false-alarm check over many seeds.

The work is the harness's (``reports.parity.harness.all_parity_records``), the matrix's
(``reports.parity.matrix.run_matrix``, shown by ``reports.configurations``) and the seeds'
(``reports.seeds``); this module checks the options, prints and writes.
"""
from __future__ import annotations

import sys

import numpy as np

from ..errors import UsageError
from ..parity.cells import cells
from ..parity.records import records_to_frame, short_config, worst_record
from .common import DTYPE_CHOICES, examples, new_file, seed

__all__ = ["add_parser", "run", "parse_seeds", "format_table"]


def add_parser(sub):
    p = sub.add_parser(
        "parity", help="run every parity case and print the table",
        description="Run every registered parity case (each layer in several configurations, the networks,\n"
                    "the book's worked examples) with the reference and its torch twin, and print one row\n"
                    "per case: the quantity with the least headroom, its error, the tolerance, the verdict.\n"
                    "Exit status 1 if any comparison fails.",
        epilog=examples("cnn-parity parity                       # float64 and float32, on the CPU",
                        "cnn-parity parity --dtype float32 --csv parity.csv --all",
                        "cnn-parity parity --device cuda         # the torch twins on a GPU",
                        "cnn-parity parity --seeds 0-19          # the false-alarm check over 20 seeds",
                        "cnn-parity parity --config channels_last,threads-1 --dtype float32"))
    p.add_argument("--dtype", choices=sorted(DTYPE_CHOICES), default="both", help="which dtypes to compare")
    p.add_argument("--seed", type=seed, default=0, metavar="S", help="seed of every random input")
    p.add_argument("--seeds", metavar="LIST", help="the false-alarm check: every case and the property sweep "
                   "under each seed of LIST (e.g. 0-19 or 0,3,7); worst headroom over all seeds")
    p.add_argument("--csv", metavar="FILE", type=new_file, help="also write every comparison record to FILE")
    p.add_argument("--save-arrays", action="store_true",
                   help="with --csv: also save every torch result compared as arrays (FILE's name with "
                        ".outputs.npz); FILE's name with .outputs.json, a hash of each, is always written")
    p.add_argument("--all", action="store_true", help="also list the per-layer trace rows")
    p.add_argument("--device", default="cpu", metavar="DEV", help="where the torch twins run: cpu, cuda, cuda:1, ...")
    p.add_argument("--config", metavar="NAME[,NAME...]|all", default=None,
                   help="run the cases under these configurations (eager, compile, channels_last, no-mkldnn, "
                        "threads-1, deterministic, autocast-bf16, autocast-fp16, cuda, cuda-tf32, ...) and "
                        "print the matrix; --csv then writes configurations.csv's columns")
    return p


def run(args) -> int:
    """Exit status 0 when every comparison passes (every cell agrees, with ``--config``), else 1."""
    if args.save_arrays and not args.csv:
        raise UsageError("--save-arrays saves the outputs beside the --csv file; add --csv FILE")
    if args.save_arrays and args.seeds is not None:
        raise UsageError("--save-arrays cannot be combined with --seeds (one run per seed); leave one out")
    if args.config:
        return _run_matrix(args, DTYPE_CHOICES[args.dtype])
    if args.seeds is not None:
        seeds = parse_seeds(args.seeds)      # a bad list: one line, before torch is imported
        _check_device(args.device)
        return _run_seeds(args, seeds)
    _check_device(args.device)
    return _run_cases(args)


def parse_seeds(text: str) -> list[int]:
    """``"0-19"`` -> 0…19, ``"1,5,9"`` -> [1, 5, 9], ``"0-3,10"`` -> [0, 1, 2, 3, 10]."""
    seeds = []
    for part in str(text).split(","):
        part = part.strip()
        try:
            if "-" in part[1:]:
                lo, hi = map(int, part.split("-", 1))      # "-3-5": int("") raises, as it should
                if hi < lo:
                    raise ValueError
                seeds += range(lo, hi + 1)
            else:
                seeds.append(int(part))
        except ValueError:
            raise UsageError(f"--seeds {text}: {part!r} is not a seed or a range; write e.g. "
                             "--seeds 0-19 or --seeds 0,3,7") from None
    if any(s < 0 for s in seeds):
        raise UsageError(f"--seeds {text}: seeds must be ≥ 0; write e.g. --seeds 0-19")
    return sorted(set(seeds))


# ------------------------------------------------------------------------------------------
# The three modes
# ------------------------------------------------------------------------------------------

def _run_cases(args) -> int:
    """Every case once, with ``--seed``."""
    # here, not at the top: --help answers before torch is imported
    from ..parity.harness import all_parity_records

    with _recorder(args) as recorder:
        records = all_parity_records(DTYPE_CHOICES[args.dtype], seed=args.seed, device=args.device)
    print(_environment_line(args.device))
    print(format_table(records, show_all=args.all))
    if args.csv:
        records_to_frame(records).to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")
        _write_bundle(args, records, recorder)
    return 0 if all(r.passed for r in records) else 1


def _recorder(args):
    """The recorder of the saved outputs (``reports.parity.records.OutputRecorder``) with ``--csv``,
    else a context that records nothing."""
    import contextlib

    from ..parity.records import OutputRecorder

    return OutputRecorder(arrays=args.save_arrays) if args.csv else contextlib.nullcontext()


def _write_bundle(args, records, recorder) -> None:
    """The saved outputs beside the --csv file: ``<name>.outputs.json`` (and ``.outputs.npz``)."""
    from pathlib import Path

    from ..environment import collect_environment
    from ..parity.outputs import write_bundle

    csv = Path(args.csv)
    env = collect_environment(args.seed, settings={"dtypes": " ".join(DTYPE_CHOICES[args.dtype])})
    for name in write_bundle(csv.parent, records, recorder, env, stem=csv.stem):
        print(f"wrote {csv.parent / name}")


def _run_seeds(args, seeds) -> int:
    """``--seeds``: the false-alarm check (``reports.seeds``) over the parsed ``seeds``."""
    import pandas as pd                                   # here, not at the top: --help answers at once

    from ..seeds import format_seeds, run_seeds

    by_seed = run_seeds(seeds, DTYPE_CHOICES[args.dtype], args.device,
                        log=lambda line: print(line, file=sys.stderr, flush=True))
    print(_environment_line(args.device))
    print(format_seeds(by_seed))
    if args.csv:
        frames = [records_to_frame(recs).assign(seed=seed) for seed, recs in by_seed.items()]
        pd.concat(frames, ignore_index=True).to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")
    return 0 if all(r.passed for recs in by_seed.values() for r in recs) else 1


def _run_matrix(args, dtypes) -> int:
    """``--config``: run the matrix, print it; exit 1 if a cell does not agree or fails to run
    (skipped cells are not failures)."""
    # here, not at the top: --help answers before torch is imported
    from ..configurations import configurations_frame, format_matrix
    from ..parity import configs as C
    from ..parity.matrix import matrix_cases, run_matrix

    configs = C.resolve(args.config)
    if args.device != "cpu":
        raise UsageError("--device cannot be combined with --config: each configuration names its "
                         "own device (the cuda-* configurations run on the GPU)")
    why_not = {cfg.name: C.unavailable(cfg) or next((C.not_applicable(cfg, d) for d in dtypes), None)
               for cfg in configs if C.unavailable(cfg) or all(C.not_applicable(cfg, d) for d in dtypes)}
    if len(why_not) == len(configs):             # nothing would run: say so before any work
        raise UsageError(f"--config {args.config}: nothing can run here with --dtype {args.dtype} ("
                         + "; ".join(f"{name}: {why}" for name, why in why_not.items())
                         + "); choose a configuration this machine runs (eager, channels_last, ...) or another --dtype")
    cases = matrix_cases()
    print(f"cnn-parity parity --config {args.config}: {len(configs)} configurations × {len(cases)} cases × "
          f"{len(dtypes)} dtypes (the full-size AlexNets are left out; `cnn-parity parity` runs them in eager)",
          file=sys.stderr, flush=True)
    with _recorder(args) as recorder:
        result = run_matrix(configs, cases, dtypes, args.seed, log=lambda m: print(m, file=sys.stderr, flush=True))
    print(format_matrix(result))
    if args.csv:
        configurations_frame(result.records).to_csv(args.csv, index=False, lineterminator="\n")
        print(f"wrote {args.csv}")
        _write_bundle(args, [r for r in result.records if r.configuration], recorder)
    bad = [c for c in cells(result.records).values() if c.verdict not in ("agrees", "skipped")]
    return 1 if bad else 0


# ------------------------------------------------------------------------------------------
# The terminal
# ------------------------------------------------------------------------------------------

def _summary_rows(records):
    """Group records by (group, case, config, dtype): worst headroom and verdict of each."""
    rows = {}
    for r in records:
        key = (r.group, r.case, r.config, r.dtype)
        row = rows.setdefault(key, {"n": 0, "fail": 0, "worst": None})
        row["n"] += 1
        row["fail"] += not r.passed
        if row["worst"] is None or r.headroom < row["worst"].headroom:
            row["worst"] = r
    return rows


def format_table(records, show_all=False) -> str:
    """A plain-text table a terminal (or a teacher's slide) can show."""
    lines = [f"{'case':<16} {'dtype':<8} {'n':>3} {'worst quantity':<22} {'max rel err':>11} "
             f"{'tolerance':>9} {'headroom':>9}  verdict  configuration"]
    lines.append("-" * len(lines[0]))
    for (group, case, config, dtype), row in _summary_rows(records).items():
        if group == "trace" and not show_all and not row["fail"]:
            continue
        w = row["worst"]
        verdict = "PASS" if not row["fail"] else f"FAIL {row['fail']}/{row['n']}"
        lines.append(f"{case:<16} {dtype:<8} {row['n']:>3} {w.quantity[:22]:<22} {w.max_rel:>11.2e} "
                     f"{w.tol:>9.1e} {w.headroom:>9.3g}  {verdict:<7}  {short_config(config)}")
    n_fail = sum(not r.passed for r in records)
    worst = worst_record(records)
    lines.append("")
    lines.append(f"{len(records)} comparisons, {len(records) - n_fail} pass, {n_fail} fail"
                 + (f"; worst headroom {worst.headroom:.3g} ({worst.case} {worst.quantity} {worst.dtype})"
                    if worst else ""))
    return "\n".join(lines)


def _check_device(device: str) -> None:
    # here, not at the top: --help answers before torch is imported
    import torch

    try:
        torch.empty(0, device=device)
    except (RuntimeError, AssertionError, ValueError) as err:  # unknown name, or a build without that backend
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UsageError(f"--device {device} is not usable here ({first}); use --device cpu") from None


def _environment_line(device="cpu") -> str:
    # here, not at the top: --help answers before torch is imported
    import torch

    return (f"numpy {np.__version__}, torch {torch.__version__}, device {device}, "
            f"threads {torch.get_num_threads()}")
