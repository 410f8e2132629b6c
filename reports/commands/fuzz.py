"""``cnn-parity fuzz``: generated networks judged like the configuration matrix; each new finding
shrunk and written as a standalone repro (the engine is ``reports.parity.fuzz``; this module
checks the options, prints and writes).

Exit status 0 when the run found nothing new (no finding, or only the known ones of
``findings/index.json``; decisions at a near-tie are expected, not findings), 1 when it found a
new one, 2 for a bad command line.
"""
from __future__ import annotations

import argparse
import re
import sys
from typing import NamedTuple

from ..errors import UsageError
from .common import check_writable_folder, count, examples, new_file, seed

__all__ = ["add_parser", "run", "budget", "Budget", "DEFAULT_OUT"]

#: Where the repros of a run go unless ``--out`` says otherwise (ignored by git: findings/ holds the
#: repros that are committed, each with its index entry and upstream search).
DEFAULT_OUT = "reports/out/fuzz"
_UNITS = {"s": 1, "m": 60, "h": 3600}


class Budget(NamedTuple):
    networks: int | None
    seconds: float | None
    text: str


def budget(text: str) -> Budget:
    """``"200"`` -> 200 networks; ``"90s"``, ``"10m"``, ``"1h"``, ``"2m30s"`` -> that many seconds."""
    text = text.strip()
    if re.fullmatch(r"\d+", text):
        if int(text) < 1:
            raise argparse.ArgumentTypeError(f"{text!r} is not a budget: give at least 1 network")
        return Budget(int(text), None, text)
    parts = re.findall(r"(\d+(?:\.\d+)?)([smh])", text)
    if not parts or "".join(n + u for n, u in parts) != text or sum(float(n) for n, _ in parts) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a budget: give a number of networks (200) or a time "
                                         "(90s, 10m, 1h, 2m30s)")
    return Budget(None, sum(float(n) * _UNITS[u] for n, u in parts), text)


def add_parser(sub):
    p = sub.add_parser(
        "fuzz", help="generated networks under every configuration; each disagreement shrunk to a repro",
        description="Draw random small networks from the reference's own layers and options (convolutions,\n"
                    "max/average/adaptive pooling, ReLU, Sigmoid, LRN, Linear/Affine, dropout with shared masks,\n"
                    "SoftmaxWithLoss with its options) and inputs with the corners (batch 0 and 1, 1x1 images,\n"
                    "ties, signed zeros, large magnitudes, channels_last and transposed memory). Each network runs\n"
                    "under every configuration and is judged as the configuration matrix judges (the float64\n"
                    "oracle and eager). Each new finding is shrunk to a minimal network and written as a\n"
                    "standalone repro; decisions that flip at a near-tie are expected at the precision, shown\n"
                    "apart. Exit status 1 when a new finding turned up.",
        epilog=examples("cnn-parity fuzz                                  # 200 networks, every CPU configuration",
                        "cnn-parity fuzz --budget 10m --json benchmarks/results/fuzz.json",
                        "cnn-parity fuzz --budget 50 --configs eager,channels_last --seed 3",
                        "cnn-parity fuzz --configs eager,spoiled-conv-tf32 --budget 5   # must find the spoiler"))
    p.add_argument("--budget", type=budget, default="200", metavar="N|TIME",
                   help="how long: a number of networks (the same seed then gives the same findings) or a wall "
                        "time (90s, 10m, 1h); shrinking counts in it")
    p.add_argument("--configs", metavar="NAME[,NAME...]|all", default="all",
                   help="the configurations (all: every one this machine runs; the compiling ones on every "
                        "--compile-every-th network)")
    p.add_argument("--seed", type=seed, default=0, metavar="S", help="seed of the networks drawn")
    p.add_argument("--dtype", choices=["float32", "float64", "both"], default="float32",
                   help="the dtypes the networks run in (float32: where the precision configurations differ)")
    p.add_argument("--compile-every", type=count, default=None, metavar="K",
                   help="run the compiling configurations on every K-th network (a compile takes seconds; "
                        "default: 10) and, with a time budget, only while they took at most a quarter of the "
                        "time so far")
    p.add_argument("--out", metavar="DIR", default=DEFAULT_OUT,
                   help="folder for the repros of new findings (findings/ holds the committed ones)")
    p.add_argument("--json", metavar="FILE", type=new_file,
                   help="write the run's results (counts, findings, expected cases, throughput) to FILE; the "
                        "report reads benchmarks/results/fuzz.json")
    p.add_argument("--no-shrink", action="store_true", help="report findings as drawn, without shrinking them")
    p.add_argument("--threads", type=count, default=None, metavar="N",
                   help="torch's intra-op threads for the run (default: torch's own; threads-1 sets 1 anyway). "
                        "On a busy machine 1 runs these tiny networks several times faster")
    return p


def run(args) -> int:
    check_writable_folder(args.out)
    from ..parity import configs as C                    # torch: once the options are checked
    from ..parity.fuzz.engine import COMPILE_EVERY, format_run, fuzz
    from ..parity.fuzz.repro import MAX_LINES, write_repro
    from ..parity.fuzz.results import write_results

    configs = C.resolve(args.configs, option="--configs")
    cpu = [c for c in configs if c.device == "cpu"]
    if not cpu or all(C.unavailable(c) for c in cpu):
        raise UsageError(f"--configs {args.configs}: no CPU configuration that runs here; use e.g. --configs "
                         "eager,channels_last")
    dtypes = ("float32", "float64") if args.dtype == "both" else (args.dtype,)
    skipped = [f"{c.name} ({C.unavailable(c) or 'not on the CPU'})" for c in configs
               if c.device != "cpu" or C.unavailable(c)]
    if skipped:
        print(f"cnn-parity fuzz: left out: {'; '.join(skipped)}", file=sys.stderr, flush=True)

    def write(finding):
        try:
            path = write_repro(finding, args.out)
        except KeyError as exc:                           # a configuration without a standalone setup
            print(f"  no repro: {exc.args[0]}", file=sys.stderr, flush=True)
            return ""
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MAX_LINES:
            print(f"    {path} has {n} lines: trim it to under 100 before it goes into findings/", file=sys.stderr)
        return path

    if args.threads:
        import torch                                      # loaded with the harness above
        torch.set_num_threads(args.threads)

    result = fuzz(cpu, seed=args.seed, networks=args.budget.networks, seconds=args.budget.seconds, dtypes=dtypes,
                  compile_every=args.compile_every or COMPILE_EVERY, shrink_findings=not args.no_shrink,
                  write=write, log=lambda line: print(line, file=sys.stderr, flush=True), budget_text=args.budget.text)
    print(format_run(result))
    if args.json:
        write_results(args.json, {"command": "cnn-parity " + " ".join(sys.argv[1:]), **result.as_dict()})
        print(f"wrote {args.json}")
    return 1 if any(not f.known for f in result.findings.values()) else 0
