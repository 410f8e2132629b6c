"""``cnn-parity bugs``: plant each bug of the zoo in turn and see which comparison catches it
(the planting and the checks are ``reports.bugzoo``'s; ``--csv`` writes ``bugs.csv``, which the
report's bug zoo section reads)."""
from __future__ import annotations

import sys

from ..errors import UsageError
from ..files import replace_files
from .common import examples, new_file

__all__ = ["add_parser", "run"]


def add_parser(sub):
    p = sub.add_parser(
        "bugs", help="plant each catalogued bug in turn and report which comparison catches it",
        description="Plant each bug of the bug zoo in turn (in-process, restored afterwards) and run the parity\n"
                    "cases, the optimizer and lockstep checks or the harness self-check through the test harness.\n"
                    "Exit status 1 if a bug is missed or the clean run fails.",
        epilog=examples("cnn-parity bugs --list                                   # the bugs' names",
                        "cnn-parity bugs --bug conv_kernel_flipped --bug maxpool_zero_padding",
                        "cnn-parity bugs --csv benchmarks/results/bugs.csv        # every bug, minutes"))
    p.add_argument("--bug", action="append", metavar="NAME", help="run only this bug (repeatable; default: every bug)")
    p.add_argument("--list", action="store_true", help="list the catalogued bugs, one name per line")
    p.add_argument("--csv", metavar="FILE", type=new_file,
                   help="write the results (bugs.csv: one row per bug and the baseline)")
    return p


def run(args) -> int:
    """Exit status 0 when the clean baseline passes and every bug run is caught, else 1."""
    from ..bugzoo import format_results, results_frame, run_catalog   # torch: once the options are checked
    from ..parity.bugs import CATALOG, bug_by_name

    if args.list:
        for bug in CATALOG:
            print(bug.name)
        return 0
    bugs = None
    if args.bug:
        try:
            bugs = [bug_by_name(name) for name in args.bug]
        except KeyError as exc:
            raise UsageError(f"--bug: {exc.args[0]}; see cnn-parity bugs --list") from None
    results = run_catalog(bugs, log=lambda msg: print(msg, file=sys.stderr, flush=True))
    print(format_results(results))
    if args.csv:                                 # under a temporary name, renamed when complete
        frame = results_frame(results)
        replace_files([(args.csv, lambda tmp: frame.to_csv(tmp, index=False, lineterminator="\n"))])
        print(f"wrote {args.csv}")
    baseline, bugs_run = results[0], results[1:]
    return 0 if baseline.verdict == "pass" and all(r.caught for r in bugs_run) else 1
