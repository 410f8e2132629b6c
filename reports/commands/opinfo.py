"""``cnn-parity opinfo``: PyTorch's own OpInfo samples run through the reference (issue 12).

Prints, per OpInfo entry and dtype: samples, run, agreeing, not run (with reasons) and the worst
headroom; ``--csv`` writes ``opinfo.csv`` (one row per sample × quantity, a ``reason`` for the
samples not run, the torch version in every row). The runner is :mod:`reports.parity.opinfo`;
this module only checks, prints and writes. Exit status 0 when every sample that ran agrees
(``totals()["disagree"] == 0``, the count the table prints), 1 otherwise (and for a corpus this torch cannot provide), 2 for a bad command line.
"""
from __future__ import annotations

import math

from ..errors import RunError, UsageError
from ..files import replace_files
from .common import DTYPE_CHOICES, count, examples, new_file, seed

__all__ = ["add_parser", "run", "format_opinfo_table", "write_opinfo_csv"]


def add_parser(sub):
    p = sub.add_parser(
        "opinfo", help="run PyTorch's own OpInfo sample inputs through the reference",
        description="Turn every sample of PyTorch's OpInfo database (op.sample_inputs, torch.testing._internal)\n"
                    "for the operations the reference implements into a reference call, and compare the forward\n"
                    "output and the gradients (a VJP with a seeded random cotangent) with torch. Prints per entry:\n"
                    "samples, run, agreeing, not run (with reasons), worst headroom.",
        epilog=examples("cnn-parity opinfo                                   # the whole corpus, about half a minute",
                        "cnn-parity opinfo --op nn.functional.max_pool2d --dtype float32",
                        "cnn-parity opinfo --csv opinfo.csv"))
    p.add_argument("--op", metavar="NAME", action="append", default=None,
                   help="only this OpInfo entry (repeatable), e.g. nn.functional.conv2d (default: every entry)")
    p.add_argument("--dtype", choices=sorted(DTYPE_CHOICES), default="both", help="which dtypes to compare")
    p.add_argument("--csv", metavar="FILE", type=new_file, help="also write one row per sample and quantity to FILE")
    p.add_argument("--seed", type=seed, default=0, metavar="S", help="seed of the samples and the cotangents")
    p.add_argument("--method", choices=["fast", "book"], default="fast",
                   help="the reference's path: fast, or the book's im2col/col2im")
    p.add_argument("--subset", type=count, metavar="N", default=None,
                   help="only N samples per entry and dtype, drawn with --seed from each entry's first 48 "
                        "(default: every sample)")
    return p


def run(args) -> int:
    # here, not at the top: --help answers before torch is imported
    from ..parity.opinfo import OPS, CorpusUnavailable, run_corpus, summarize, totals

    for name in args.op or ():
        if name not in OPS:
            raise UsageError(f"--op {name}: not an entry of the corpus; use one of {', '.join(OPS)}")
    try:
        corpus = run_corpus(ops=args.op, dtypes=DTYPE_CHOICES[args.dtype], seed=args.seed,
                            subset=args.subset, method=args.method)
    except CorpusUnavailable as exc:
        raise RunError(f"{exc}") from None
    rows = summarize(corpus)
    print(format_opinfo_table(rows, corpus))
    if args.csv:
        print(f"wrote {write_opinfo_csv(corpus, args.csv)}")
    return 0 if totals(rows)["disagree"] == 0 else 1


def _headroom(value) -> str:
    return "exact" if value == math.inf else f"{value:.3g}"


def format_opinfo_table(rows, run) -> str:
    """The per-entry table of :func:`reports.parity.opinfo.summarize` as plain text, and its
    :func:`~reports.parity.opinfo.totals`."""
    # here, not at the top: --help answers before torch is imported
    from ..parity.opinfo import totals

    head = (f"{'OpInfo entry':<34} {'dtype':<8} {'samples':>7} {'run':>5} {'agree':>5} {'not run':>7} "
            f"{'worst headroom':>14}  why not run")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['op']:<34} {r['dtype']:<8} {r['samples']:>7} {r['run']:>5} {r['agree']:>5} "
                     f"{r['not_run']:>7} {_headroom(r['worst']):>14}  {r['why_not']}")
    t = totals(rows)
    share = f" ({t['share']:.1f} %)" if t["samples"] else ""
    lines += ["", f"{t['samples']} samples, {t['run']} run{share}, {t['agree']} agree, {t['disagree']} disagree, "
                  f"{t['not_run']} not run; torch {run.torch_version}, reference path {run.method}, "
                  f"{run.seconds:.1f} s"]
    return "\n".join(lines)


def write_opinfo_csv(run, path) -> str:
    """Write ``opinfo.csv`` to ``path`` (under a temporary name, renamed when complete)."""
    # here, not at the top: --help answers before torch is imported
    from ..parity.opinfo import opinfo_frame

    frame = opinfo_frame(run)
    return replace_files([(path, lambda tmp: frame.to_csv(tmp, index=False, lineterminator="\n"))])[0]
