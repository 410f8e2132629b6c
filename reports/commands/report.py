"""``cnn-parity report``: the comparison report — CSV files and one self-contained HTML page.

Everything is checked before any work (the output folder, the benchmark results, the
configuration names, the MNIST files), then ``reports.report`` builds the report in a hidden
folder that replaces ``--out`` only when complete.
"""
from __future__ import annotations

import sys
import time

from ..errors import Interrupted, RunError, UsageError
from ..files import ReportOutputError, absolute, atomic_output
from .common import DTYPE_CHOICES, check_report_folder, count, examples, existing_file, existing_folder, seed

__all__ = ["add_parser", "run"]


def add_parser(sub):
    p = sub.add_parser(
        "report", help="write the comparison report (CSV + a self-contained HTML page)",
        description="Run every parity case, a seeded property sweep, the catalog of book-vs-PyTorch\n"
                    "differences and lockstep training, and write CSV files and index.html into --out\n"
                    "(replaced as a whole when complete; Ctrl-C leaves the previous report as it was).\n"
                    "Exit status 1 if any comparison fails.",
        epilog=examples("cnn-parity report --quick          # every section, smaller: about 30 s on 2 cores",
                        "cnn-parity report                  # the full report, a few minutes",
                        "cnn-parity report --data-dir ../shared/datasets/mnist --out /tmp/report"))
    p.add_argument("--out", metavar="DIR", default="reports/out",
                   help="output folder: new, empty, or an earlier report")
    p.add_argument("--data-dir", metavar="DIR", type=existing_folder,
                   help="folder with the four original MNIST .gz files (default: the embedded sample)")
    p.add_argument("--epochs", type=count, default=2, metavar="N", help="training epochs of SimpleConvNet")
    p.add_argument("--dtype", choices=sorted(DTYPE_CHOICES), default="both", help="which dtypes to compare and train")
    p.add_argument("--seed", type=seed, default=0, metavar="S", help="seed of every random draw")
    p.add_argument("--quick", action="store_true",
                   help="a smoke-test report: fewer sweep examples, 10 training steps, no full-size AlexNet")
    p.add_argument("--no-training", action="store_true", help="leave out lockstep training")
    p.add_argument("--benchmarks", metavar="FILE", type=existing_file, default=None,
                   help="benchmark results for the speed section, as written by `python -m benchmarks` "
                        "(default: benchmarks/results/latest.csv of the repository, if it exists); "
                        "the report never runs the benchmarks itself")
    p.add_argument("--configs", metavar="NAME[,NAME...]|all|none", default="default",
                   help="the configuration matrix (configurations.csv and its section): default is every CPU "
                        "configuration except compile, on every layer case and the SimpleConvNets (--quick: one "
                        "case per layer kind and the smallest SimpleConvNet); names or all: those, on every "
                        "case but the full-size AlexNets; none: leave it out")
    p.add_argument("--save-arrays", action="store_true",
                   help="also save every torch result compared as arrays (outputs.npz); outputs.json, with "
                        "a hash of each, is always written (`cnn-parity diff` reads both)")
    p.add_argument("--compare-with", metavar="DIR", type=existing_folder,
                   help="an earlier report folder: add a 'Compared with' section (what moved since DIR, as "
                        "`cnn-parity diff DIR OUT` says)")
    return p


def run(args) -> int:
    """Exit status 0 when every comparison passes and every matrix cell agrees, else 1."""
    check_report_folder(args.out)                # before torch is imported
    if args.compare_with is not None:
        from ..diff import check_input           # a folder that is not a report: one line, before any work
        check_input(args.compare_with, "--compare-with")
    # Everything the report runs (torch, pandas, the harness): only once the options are checked.
    from ..benchmark_results import BenchmarkError, benchmark_setting, load_benchmarks
    from ..configurations import matrix_line, report_configs
    from ..mnist.data import MnistDataError, read_mnist
    from ..report import collect_report, write_report_files

    try:
        bench = load_benchmarks(args.benchmarks)
    except BenchmarkError as exc:
        raise UsageError(f"--benchmarks: {exc}; give a file written by `python -m benchmarks`, "
                         f"or leave --benchmarks out") from None
    report_configs(args.configs)                 # an unknown name: one line, before any work
    if not args.no_training:
        try:
            read_mnist(args.data_dir)            # the MNIST files training will read, before any work
        except MnistDataError as exc:
            raise RunError(str(exc)) from None

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    start = time.perf_counter()
    out = absolute(args.out)
    try:
        with atomic_output(args.out) as tmp:
            log(f"cnn-parity report: writing {out}")
            log(f"  speed section: {benchmark_setting(bench)}")
            inputs = collect_report(seed=args.seed, dtypes=DTYPE_CHOICES[args.dtype], quick=args.quick,
                                    epochs=args.epochs, data_dir=args.data_dir,
                                    training=False if args.no_training else None, log=log,
                                    benchmarks=bench, configs=args.configs, save_arrays=args.save_arrays)
            inputs.compare_with = args.compare_with
            names = write_report_files(tmp, inputs)
    except ReportOutputError as exc:
        raise RunError(f"cannot write the report: {exc}") from None
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted; nothing was written, {out} is as it was") from None
    recs = inputs.records + inputs.sweeps
    n_fail = sum(not r.passed for r in recs)
    print(f"{len(recs)} comparisons, {len(recs) - n_fail} pass, {n_fail} fail "
          f"({time.perf_counter() - start:.0f} s)")
    if inputs.matrix is not None:
        line, bad = matrix_line(inputs.matrix)
        print(line)
        n_fail += bad
    for name in names:
        print(f"wrote {out / name}")
    return 0 if n_fail == 0 else 1
