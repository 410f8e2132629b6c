"""``cnn-parity diff A B``: two reports side by side — which comparisons moved, and which side moved
away from the reference.

The work is ``reports.diff`` (reading, matching, judging); the page is ``reports.html``
(``render_diff_html``). This module checks the inputs, prints, writes ``diff.csv`` and
``diff.html`` and returns the exit status: 1 when B has a comparison that got worse, else 0.
"""
from __future__ import annotations

import time
from pathlib import Path

from ..errors import RunError
from ..files import OutputError, replace_files
from .common import check_writable_folder, examples

__all__ = ["add_parser", "run"]


def add_parser(sub):
    p = sub.add_parser(
        "diff", help="compare two reports (or parity CSVs): what moved, and which side moved away",
        description="Match two reports' comparisons by case, configuration, dtype and quantity, and say for each\n"
                    "the bits of agreement with the reference in A and in B, the verdicts, and whether the torch\n"
                    "results are bit-identical (from the saved outputs, outputs.json). B is the new one.\n"
                    "Exit status 1 when a comparison of B is worse: its verdict got worse, or its error against\n"
                    "the reference grew beyond noise (more than 3 times A's plus 16 eps); 0 otherwise.",
        epilog=examples("cnn-parity diff old-report new-report            # what changed",
                        "cnn-parity diff old new --all --out diff-out     # every row; diff.csv and diff.html",
                        "cnn-parity diff a.csv b.csv                      # two `cnn-parity parity --csv` files"))
    p.add_argument("a", metavar="A", help="the earlier report: a report folder, or a `cnn-parity parity --csv` file")
    p.add_argument("b", metavar="B", help="the new report, the same kinds")
    p.add_argument("--all", action="store_true", help="list every comparison, not only those that changed")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="also write diff.csv (every row) and diff.html (the page) into DIR")
    return p


def run(args) -> int:
    """Exit status 1 when B has a comparison that got worse, else 0."""
    if args.out is not None:
        check_writable_folder(args.out)
    from ..diff import check_input, diff_reports, diff_frame, format_diff   # pandas: once the options are checked
    from ..html.page import render_diff_html

    check_input(args.a, "A")
    check_input(args.b, "B")
    t0 = time.perf_counter()
    result = diff_reports(args.a, args.b)
    print(format_diff(result, show_all=args.all))
    if args.out is not None:
        csv = diff_frame(result).to_csv(index=False, lineterminator="\n")
        html = render_diff_html(result)
        try:
            written = replace_files([(_path(args.out, name), _writer(text))
                                     for name, text in (("diff.csv", csv), ("diff.html", html))])
        except (OSError, OutputError) as exc:
            raise RunError(f"cannot write into {args.out}: {exc}") from None
        for name in written:
            print(f"wrote {name}")
    print(f"({time.perf_counter() - t0:.1f} s)")
    return result.status


def _path(folder, name) -> Path:
    path = Path(folder).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path / name


def _writer(text: str):
    return lambda tmp: Path(tmp).write_text(text, encoding="utf-8")
