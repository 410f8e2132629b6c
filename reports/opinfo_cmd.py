"""``cnn-parity opinfo``: PyTorch's own OpInfo samples run through the reference (issue 12).

    cnn-parity opinfo [--op NAME ...] [--dtype float64|float32|both] [--csv FILE]
                      [--seed S] [--method fast|book] [--subset N]

prints, per OpInfo entry and dtype: samples, run, agreeing, not run (with reasons) and the worst
headroom; ``--csv`` writes ``opinfo.csv`` (one row per sample × quantity, a ``reason`` for the
samples not run, the torch version in every row). The runner is
:mod:`reports.parity.opinfo`; this module only parses, prints and writes. Exit status 0 when
every sample that ran agrees, 1 otherwise (and for a corpus this torch cannot provide), 2 for a
bad command line.
"""
from __future__ import annotations

import math

from .errors import RunError, UsageError

__all__ = ["cmd_opinfo", "format_opinfo_table", "write_opinfo_csv"]



def _headroom(value) -> str:
    return "exact" if value == math.inf else f"{value:.3g}"


def format_opinfo_table(rows, run) -> str:
    """The per-entry table of :func:`reports.parity.opinfo.summarize` as plain text."""
    head = (f"{'OpInfo entry':<34} {'dtype':<8} {'samples':>7} {'run':>5} {'agree':>5} {'not run':>7} "
            f"{'worst headroom':>14}  why not run")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['op']:<34} {r['dtype']:<8} {r['samples']:>7} {r['run']:>5} {r['agree']:>5} "
                     f"{r['not_run']:>7} {_headroom(r['worst']):>14}  {r['why_not']}")
    samples = sum(r["samples"] for r in rows)
    ran = sum(r["run"] for r in rows)
    agree = sum(r["agree"] for r in rows)
    share = f" ({100 * ran / samples:.1f} %)" if samples else ""
    lines += ["", f"{samples} samples, {ran} run{share}, {agree} agree, {ran - agree} disagree, "
                  f"{samples - ran} not run; torch {run.torch_version}, reference path {run.method}, "
                  f"{run.seconds:.1f} s"]
    return "\n".join(lines)


def write_opinfo_csv(run, path) -> str:
    """Write ``opinfo.csv`` to ``path`` (under a temporary name, renamed when complete)."""
    from .files import replace_files
    from .parity.opinfo import opinfo_frame

    frame = opinfo_frame(run)
    return replace_files([(path, lambda tmp: frame.to_csv(tmp, index=False, lineterminator="\n"))])[0]


def _check_args(args, ops):
    for name in args.op or ():
        if name not in ops:
            raise UsageError(f"--op {name}: not an entry of the corpus; use one of {', '.join(ops)}")


def cmd_opinfo(args) -> int:
    """``cnn-parity opinfo`` (options declared in ``reports.cli``)."""
    from .cli import DTYPE_CHOICES
    from .parity.opinfo import OPS, CorpusUnavailable, run_corpus, summarize

    _check_args(args, list(OPS))
    try:
        run = run_corpus(ops=args.op, dtypes=DTYPE_CHOICES[args.dtype], seed=args.seed,
                         subset=args.subset, method=args.method)
    except CorpusUnavailable as exc:
        raise RunError(f"{exc}") from None
    print(format_opinfo_table(summarize(run), run))
    if args.csv:
        print(f"wrote {write_opinfo_csv(run, args.csv)}")
    disagree = sum(res.ran and not res.agrees for res in run.results)
    return 0 if disagree == 0 else 1
