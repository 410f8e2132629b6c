"""The ``cnn-parity`` command line.

    cnn-parity parity [--dtype float64|float32|both] [--seed S] [--csv FILE] [--all] [--config NAME,...|all]
        run every registered parity case and print the table (one row per case and dtype);
        with --config, the configuration matrix (reports/configurations.py)
    cnn-parity report [--out DIR] [--data-dir DIR] [--epochs N] [--dtype ...] [--seed S] [--quick]
        write the CSV files and the self-contained HTML report (reports/report.py)
    cnn-parity explain im2col [--pad P] [--stride S]
        the book's 4×4 convolution example, step by step (reports/explain.py)
    cnn-parity opinfo [--op NAME] [--dtype ...] [--csv FILE]
        PyTorch's own OpInfo samples through the reference (reports/opinfo_cmd.py)
"""
from __future__ import annotations

import argparse
import sys

DTYPE_CHOICES = {"float64": ("float64",), "float32": ("float32",), "both": ("float64", "float32")}


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
                     f"{w.tol:>9.1e} {w.headroom:>9.3g}  {verdict:<7}  {_short_config(config)}")
    n_fail = sum(not r.passed for r in records)
    finite = [r for r in records if r.headroom != float("inf")]
    worst = min(finite, key=lambda r: r.headroom) if finite else None
    lines.append("")
    lines.append(f"{len(records)} comparisons, {len(records) - n_fail} pass, {n_fail} fail"
                 + (f"; worst headroom {worst.headroom:.3g} ({worst.case} {worst.quantity} {worst.dtype})"
                    if worst else ""))
    return "\n".join(lines)


def _short_config(config: str) -> str:
    """'{"C": 3, "H": 9}' -> 'C=3 H=9' for the terminal."""
    import json

    try:
        return " ".join(f"{k}={v}" for k, v in json.loads(config).items())
    except ValueError:
        return config


def cmd_parity(args) -> int:
    from .parity.harness import all_parity_records
    from .parity.records import records_to_frame

    if args.csv:
        _check_writable_file(args.csv)
    if args.config:                          # the configuration matrix (reports/configurations.py)
        from .configurations import cmd_parity_configs

        return cmd_parity_configs(args, DTYPE_CHOICES[args.dtype])
    _check_device(args.device)
    if args.seeds is not None:
        return _cmd_parity_seeds(args)
    records = all_parity_records(DTYPE_CHOICES[args.dtype], seed=args.seed, device=args.device)
    print(_environment_line(args.device))
    print(format_table(records, show_all=args.all))
    if args.csv:
        records_to_frame(records).to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")
    return 0 if all(r.passed for r in records) else 1


def _cmd_parity_seeds(args) -> int:
    """``parity --seeds``: the false-alarm check (``reports.seeds``)."""
    from .parity.records import records_to_frame
    from .seeds import format_seeds, parse_seeds, run_seeds

    seeds = parse_seeds(args.seeds)
    by_seed = run_seeds(seeds, DTYPE_CHOICES[args.dtype], args.device,
                        log=lambda line: print(line, file=sys.stderr, flush=True))
    print(_environment_line(args.device))
    print(format_seeds(by_seed))
    if args.csv:
        import pandas as pd

        frames = [records_to_frame(recs).assign(seed=seed) for seed, recs in by_seed.items()]
        pd.concat(frames, ignore_index=True).to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")
    return 0 if all(r.passed for recs in by_seed.values() for r in recs) else 1


def _check_device(device: str) -> None:
    import torch

    try:
        torch.empty(0, device=device)
    except (RuntimeError, AssertionError) as err:   # unknown name, or a build without that backend
        raise SystemExit(f"cnn-parity: --device {device} is not usable here ({err}); "
                         f"use --device cpu") from None


def _environment_line(device="cpu") -> str:
    import numpy
    import torch

    return (f"numpy {numpy.__version__}, torch {torch.__version__}, device {device}, "
            f"threads {torch.get_num_threads()}")


def _check_writable_file(path):
    import os

    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise SystemExit(f"cnn-parity: --csv {path}: folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK):
        raise SystemExit(f"cnn-parity: --csv {path}: folder {folder} is not writable")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cnn-parity", description=
                                     "Compare a from-scratch NumPy CNN with PyTorch, layer by layer and in training.")
    parser.add_argument("--debug", action="store_true",
                        help="show the Python traceback of an error (also: CNN_PARITY_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("parity", help="run every parity case and print the table")
    p.add_argument("--dtype", choices=sorted(DTYPE_CHOICES), default="both")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seeds", metavar="LIST", help="the false-alarm check: every case and the property sweep "
                   "under each seed of LIST (e.g. 0-19 or 0,3,7); worst headroom over all seeds")
    p.add_argument("--csv", metavar="FILE", help="also write every comparison record to FILE")
    p.add_argument("--all", action="store_true", help="also list the per-layer trace rows")
    p.add_argument("--device", default="cpu", help="where the torch twins run: cpu (default), cuda, cuda:1, ...")
    p.add_argument("--config", metavar="NAME[,NAME...]|all", default=None,
                   help="run the cases under these configurations (eager, compile, channels_last, no-mkldnn, "
                        "threads-1, deterministic, autocast-bf16, autocast-fp16, cuda, cuda-tf32, ...) and "
                        "print the matrix; --csv then writes configurations.csv's columns")
    p.set_defaults(func=cmd_parity)
    # Other subcommands live beside the code they run; each module adds its own parser here.
    for module in _subcommand_modules():
        module.add_subcommand(sub)
    return parser


def _subcommand_modules():
    """Modules that provide ``add_subcommand(subparsers)`` (setting ``func`` to the handler)."""
    from . import bugzoo, explain, opinfo_cmd, report
    from .mnist import training

    return [training, report, explain, opinfo_cmd, bugzoo]


def main(argv=None) -> int:
    """Run one subcommand. A :class:`reports.errors.CommandError` it raises becomes one line on
    standard error, ``cnn-parity <command>: <message>``, and its exit status (2 usage, 1 run);
    with ``--debug`` or ``CNN_PARITY_DEBUG=1`` the traceback is shown as well."""
    import os

    from .errors import CommandError

    args = build_parser().parse_args(argv)
    debug = getattr(args, "debug", False) or os.environ.get("CNN_PARITY_DEBUG", "") not in ("", "0")
    try:
        return args.func(args)
    except CommandError as exc:
        if debug:
            raise
        print(f"cnn-parity {args.command}: {exc}", file=sys.stderr)
        return exc.status


if __name__ == "__main__":
    sys.exit(main())
