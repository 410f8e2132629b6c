"""The ``cnn-parity`` command line.

    cnn-parity parity   [--dtype D] [--seed S | --seeds LIST] [--csv FILE] [--all] [--device DEV]
                        [--config NAME,...|all]
    cnn-parity train    [--net NET] [--optimizer OPT] [--lr LR] [--epochs N | --steps N] ... [--out DIR]
    cnn-parity report   [--out DIR] [--data-dir DIR] [--epochs N] [--dtype D] [--quick] [--configs ...] ...
    cnn-parity explain  im2col [--pad P] [--stride S]
    cnn-parity opinfo   [--op NAME] [--dtype D] [--csv FILE] [--subset N]
    cnn-parity bugs     [--bug NAME] [--list] [--csv FILE]

``cnn-parity <command> --help`` lists every option with its default and ends with examples.

Conventions (a new subcommand follows them)
-------------------------------------------
* **Declared here.** Each subcommand is one ``_add_<command>(sub)`` function below, listed in
  :data:`SUBCOMMANDS`: every option gets one line of help, :class:`HelpFormatter` adds its
  default, and ``epilog=examples(...)`` ends ``--help`` with one to three example command lines.
  An option shared by several commands is one ``_add_<option>(p)`` helper that each of them
  calls. This module imports nothing heavy (choices come from light modules such as
  ``reports.mnist``), so ``--help`` and a bad option answer at once, before torch is imported.
* **Handlers by name.** ``p.set_defaults(handler="reports.mnist.training:cmd_train")``: the module
  is imported only once the command line has been parsed and checked; the handler gets the
  parsed ``args`` and returns the exit status.
* **Checked before any work.** Option values are checked by the argument types below
  (:func:`count`, :func:`seed`, :func:`positive_number`, :func:`existing_folder`,
  :func:`existing_file`, :func:`new_file`; a type raises ``argparse.ArgumentTypeError``); checks
  that need the file system go into ``p.set_defaults(check=...)``, a function of ``args`` run
  before the handler is imported (output folders, for example); checks that need the data come
  first in the handler, before any computation.
* **One line per error**, on standard error: ``cnn-parity <command>: <what is wrong>; <how to fix
  it>``. Exit status 2 for usage errors (argparse's own, and :class:`reports.errors.UsageError`),
  1 for data or run errors (:class:`reports.errors.RunError`), 130 after Ctrl-C (the handler may
  raise :class:`reports.errors.Interrupted` to say what it kept). No traceback unless ``--debug``
  (before or after the command) or ``CNN_PARITY_DEBUG=1``.
* **Tested** by ``parity_tests/test_cli.py``: help text, defaults and examples of every option of
  every subcommand are checked automatically; add the command's bad inputs to ``LIGHT_ERRORS``
  there (one fresh interpreter runs them all and checks that torch was not imported).
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

from .errors import CommandError, Interrupted, UsageError

__all__ = ["main", "build_parser", "HelpFormatter", "CommandParser", "DTYPE_CHOICES", "SUBCOMMANDS",
           "format_table", "count", "seed", "positive_number", "existing_folder", "existing_file",
           "new_file", "examples"]

DTYPE_CHOICES = {"float64": ("float64",), "float32": ("float32",), "both": ("float64", "float32")}
PROG = "cnn-parity"


# ------------------------------------------------------------------------------------------
# The parser: one-line errors, help with defaults and examples
# ------------------------------------------------------------------------------------------

class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """``--help`` with each option's default (argparse's ArgumentDefaultsHelpFormatter, but not for
    flags and options whose default is "not given" — their help says what happens then), and the
    description and the examples kept as written."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False or action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


class CommandParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, ``cnn-parity <command>: <problem>; <fix>``,
    and exit status 2 (as argparse's)."""

    def error(self, message):
        if ";" not in message:
            message += "; " + self._fix(message)
        self.exit(2, f"{self.prog}: {message}\n")

    def _fix(self, message: str) -> str:
        """How to fix an argparse message: the option's default as an example, or the help."""
        if "not allowed with argument" in message:
            return "give only one of the two"
        if message.startswith("argument "):
            option = message[len("argument "):].split(":", 1)[0].split("/")[0]
            for action in self._actions:
                default = action.default
                if option in action.option_strings and not (default is None or default is False
                                                            or default is argparse.SUPPRESS):
                    return f"for example {option} {default} (the default)"
        return f"see '{self.prog} --help'"


def examples(*lines: str) -> str:
    """The epilog of a subcommand's ``--help``: example command lines with a comment each."""
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


# ------------------------------------------------------------------------------------------
# Argument types: a bad value becomes one line naming the option (argparse adds the name)
# ------------------------------------------------------------------------------------------

def count(text: str) -> int:
    """A whole number ≥ 1 (epochs, steps, batch size, ...)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1 or str(value) != text.strip().lstrip("+"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number ≥ 1")
    return value


def seed(text: str) -> int:
    """A seed for ``numpy.random.default_rng``: a whole number ≥ 0."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number ≥ 0 (a seed)")
    return value


def positive_number(text: str) -> float:
    """A finite number > 0 (a learning rate)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number > 0")
    return value


def existing_folder(text: str) -> str:
    """A folder that exists (an input folder: what is inside it is checked by the command)."""
    path = Path(text).expanduser()
    if not path.is_dir():
        what = "is not a folder" if path.exists() else "does not exist"
        raise argparse.ArgumentTypeError(f"{text} {what}; give an existing folder")
    return text


def existing_file(text: str) -> str:
    """A file that exists (its content is checked by the command)."""
    path = Path(text).expanduser()
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise argparse.ArgumentTypeError(f"{text} {what}; give an existing file")
    return text


def new_file(text: str) -> str:
    """A file to write: its folder must exist and be writable."""
    folder = os.path.dirname(os.path.abspath(os.path.expanduser(text)))
    if os.path.isdir(os.path.abspath(os.path.expanduser(text))):
        raise argparse.ArgumentTypeError(f"{text} is a folder; give a file name")
    if not os.path.isdir(folder):
        raise argparse.ArgumentTypeError(f"the folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK):
        raise argparse.ArgumentTypeError(f"the folder {folder} is not writable; choose another place")
    return text


def _check_creatable_out(args) -> None:
    """--out of ``train``: a folder that exists or can be created, and is writable."""
    from .files import OutputError, check_creatable

    try:
        check_creatable(args.out)
    except OutputError as exc:
        raise UsageError(f"--out {args.out}: {exc}; choose another folder") from None


def _check_report_out(args) -> None:
    """--out of ``report``: a folder that may be replaced (empty, or an earlier report)."""
    from .files import OutputError, check_output_dir

    try:
        check_output_dir(args.out)
    except OutputError as exc:
        fix = "" if ";" in str(exc) else "; choose another --out folder"
        raise UsageError(f"--out {args.out}: cannot write the report: {exc}{fix}") from None


# ------------------------------------------------------------------------------------------
# The subcommands
# ------------------------------------------------------------------------------------------

def _add_parity(sub):
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
    p.add_argument("--all", action="store_true", help="also list the per-layer trace rows")
    p.add_argument("--device", default="cpu", metavar="DEV", help="where the torch twins run: cpu, cuda, cuda:1, ...")
    p.add_argument("--config", metavar="NAME[,NAME...]|all", default=None,
                   help="run the cases under these configurations (eager, compile, channels_last, no-mkldnn, "
                        "threads-1, deterministic, autocast-bf16, autocast-fp16, cuda, cuda-tf32, ...) and "
                        "print the matrix; --csv then writes configurations.csv's columns")
    p.set_defaults(handler="reports.cli:cmd_parity")


def _add_train(sub):
    from reports.mnist import LOCKSTEP_OPTIMIZERS, NET_NAMES

    p = sub.add_parser(
        "train", help="train the reference and its torch twin in lockstep on MNIST",
        description="Train the reference net and its torch twin side by side: same initial weights, same\n"
                    "minibatches, same dropout masks, the same optimizer mathematics. Prints one line per\n"
                    "epoch and brings training_curves.csv, training_epochs.csv and training_timing.csv in\n"
                    "--out up to date after every epoch; Ctrl-C keeps the completed epochs (exit status 130).",
        epilog=examples("cnn-parity train                                   # SimpleConvNet, Adam, 1 epoch of the sample",
                        "cnn-parity train --data-dir ../shared/datasets/mnist --epochs 3",
                        "cnn-parity train --net lenet5 --optimizer sgd --lr 0.1 --steps 500 --dtype float32",
                        "cnn-parity train --train-images 1000 --test-images 500 --epochs 5   # a quick look"))
    p.add_argument("--net", choices=NET_NAMES, default="simple", help="which network")
    p.add_argument("--optimizer", choices=LOCKSTEP_OPTIMIZERS, default="adam",
                   help="the optimizer (those with an exact torch.optim counterpart)")
    p.add_argument("--lr", type=positive_number, default=0.001, metavar="LR", help="learning rate")
    p.add_argument("--batch-size", type=count, default=100, metavar="N", help="images per step")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=count, default=1, metavar="N", help="passes over the training images")
    length.add_argument("--steps", type=count, default=None, metavar="N",
                        help="train exactly N steps, through as many epochs as that takes (instead of --epochs)")
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64", help="the dtype of both nets")
    p.add_argument("--seed", type=seed, default=0, metavar="S", help="seed of the initial weights and the batches")
    p.add_argument("--sampling", choices=["permutation", "replacement"], default="permutation",
                   help="permutation: each image once per epoch; replacement: the book's Trainer")
    p.add_argument("--param-every", type=count, default=10, metavar="K", help="compare all parameters every K steps")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--data-dir", metavar="DIR", type=existing_folder,
                        help="folder with the four original MNIST .gz files (default: the embedded "
                             "10,000/2,000-image sample)")
    source.add_argument("--download", action="store_true", help="let torchvision download MNIST (needs a network)")
    p.add_argument("--train-images", type=count, metavar="N", help="train on the first N training images only (default: all)")
    p.add_argument("--test-images", type=count, metavar="N",
                   help="measure test accuracy on the first N test images only (default: all)")
    p.add_argument("--out", metavar="DIR", default="reports/training_out", help="folder for the three CSV files")
    p.add_argument("--config", metavar="NAME", default=None,
                   help="train the twin under this configuration (compile, channels_last, autocast-bf16, ...; "
                        "see cnn-parity parity --config); the curves get a config column")
    p.set_defaults(handler="reports.mnist.training:cmd_train", check=_check_creatable_out)


def _add_report(sub):
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
    p.set_defaults(handler="reports.report:cmd_report", check=_check_report_out)


def _add_explain(sub):
    p = sub.add_parser(
        "explain", help="explain how a piece of the CNN works, step by step",
        description="Explain, with the book's own small example, how the reference computes a convolution.\n"
                    "Every number is computed, not typed in.",
        epilog=examples("cnn-parity explain im2col              # the book's 4×4 example",
                        "cnn-parity explain im2col --pad 1      # with one ring of zero padding"))
    from .explain import TOPICS

    p.add_argument("topic", choices=TOPICS, help="im2col: the 4×4 example of the book's §7.2–7.4")
    p.add_argument("--pad", type=int, default=0, choices=range(0, 3), metavar="P",
                   help="zero padding around the input (0, 1 or 2)")
    p.add_argument("--stride", type=int, default=1, choices=range(1, 3), metavar="S", help="stride (1 or 2)")
    p.set_defaults(handler="reports.explain:cmd_explain")


def _add_opinfo(sub):
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
    p.set_defaults(handler="reports.opinfo_cmd:cmd_opinfo")


def _add_bugs(sub):
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
    p.set_defaults(handler="reports.bugzoo:cmd_bugs")


#: Every subcommand, in the order ``cnn-parity --help`` lists them.
SUBCOMMANDS = [_add_parity, _add_train, _add_report, _add_explain, _add_opinfo, _add_bugs]


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog=PROG, formatter_class=HelpFormatter,
                           description="Compare a from-scratch NumPy CNN with PyTorch, layer by layer and in training.",
                           epilog=examples("cnn-parity parity", "cnn-parity report --quick",
                                           "cnn-parity train --help"))
    debug_help = "show the Python traceback of an error (also: CNN_PARITY_DEBUG=1)"
    parser.add_argument("--debug", action="store_true", help=debug_help)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=CommandParser)
    real_add = sub.add_parser

    def add_parser(name, **kwargs):                     # every subcommand: the formatter and --debug
        p = real_add(name, formatter_class=HelpFormatter, **kwargs)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=debug_help)
        return p
    sub.add_parser = add_parser
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def _handler(spec: str):
    import importlib

    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def main(argv=None) -> int:
    """Run one subcommand; see the module docstring for the error and exit-status conventions."""
    args = build_parser().parse_args(argv)
    debug = args.debug or os.environ.get("CNN_PARITY_DEBUG", "") not in ("", "0")
    try:
        try:
            if getattr(args, "check", None):
                args.check(args)
            return _handler(args.handler)(args)
        except KeyboardInterrupt:
            raise Interrupted("interrupted (Ctrl-C)") from None
    except CommandError as exc:
        if debug:
            raise
        print(f"{PROG} {args.command}: {exc}", file=sys.stderr, flush=True)
        return exc.status


# ------------------------------------------------------------------------------------------
# cnn-parity parity
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
    from .parity.records import worst_record

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
    worst = worst_record(records)
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
    if args.config:                          # the configuration matrix (reports/configurations.py)
        from .configurations import cmd_parity_configs

        return cmd_parity_configs(args, DTYPE_CHOICES[args.dtype])
    if args.seeds is not None:
        from .seeds import parse_seeds

        seeds = parse_seeds(args.seeds)      # a bad list: one line, before torch is imported
        _check_device(args.device)
        return _cmd_parity_seeds(args, seeds)
    _check_device(args.device)
    from .parity.harness import all_parity_records
    from .parity.records import records_to_frame

    records = all_parity_records(DTYPE_CHOICES[args.dtype], seed=args.seed, device=args.device,
                                 log=lambda line: print(line, file=sys.stderr, flush=True))
    print(_environment_line(args.device))
    print(format_table(records, show_all=args.all))
    if args.csv:
        records_to_frame(records).to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")
    return 0 if all(r.passed for r in records) else 1


def _cmd_parity_seeds(args, seeds) -> int:
    """``parity --seeds``: the false-alarm check (``reports.seeds``) over the parsed ``seeds``."""
    from .parity.records import records_to_frame
    from .seeds import format_seeds, run_seeds

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
    except (RuntimeError, AssertionError, ValueError) as err:  # unknown name, or a build without that backend
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UsageError(f"--device {device} is not usable here ({first}); use --device cpu") from None


def _environment_line(device="cpu") -> str:
    import numpy
    import torch

    return (f"numpy {numpy.__version__}, torch {torch.__version__}, device {device}, "
            f"threads {torch.get_num_threads()}")


if __name__ == "__main__":
    sys.exit(main())
