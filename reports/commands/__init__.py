"""The ``cnn-parity`` subcommands: one module per command, each in the same shape.

``parity``   every parity case; ``--config``: the configuration matrix; ``--seeds``: the false-alarm check
``train``    lockstep training on MNIST
``report``   the CSV files and the HTML page
``explain``  how a piece of the CNN works, step by step (the topics of ``reports.explain``)
``opinfo``   PyTorch's OpInfo samples through the reference
``bugs``     the bug zoo
``diff``     two reports side by side: what moved, and which side moved away from the reference
``check``    grade a student's own layers (``reports.classroom``)
``exercise`` write the starter file that ``check`` grades
``fuzz``     generated networks judged like the matrix; findings shrunk and written as repros
``findings`` the known findings' scripts rerun against the installed torch
``common``   what they share: the parser's shape (:class:`~reports.commands.common.CommandParser`,
             :class:`~reports.commands.common.HelpFormatter`, ``examples``), the argument types
             (``count``, ``seed``, ``positive_number``, ``existing_folder``, ``existing_file``,
             ``new_file``), ``DTYPE_CHOICES`` and the output-folder checks

A command module declares ``add_parser(sub)``, which adds its parser to the subparsers ``sub``
(``sub.add_parser(name, help=..., description=..., epilog=examples(...))``, one line of help per
option; the formatter adds each default, and ``--debug`` is added for it) and returns it, and
``run(args) -> int``, which does the command and returns its exit status. Its top imports stay
light (``common``, ``reports.errors``, ``reports.files``, ``reports.mnist``'s names): every module
is imported to build ``--help``. Torch and the harness are imported inside ``run`` (and the
helpers it calls), after the options are checked, each with a comment saying so; the work itself
lives in the modules below (``reports.report``, ``reports.parity.*``, ``reports.mnist.*``, ...),
never here.

Errors: a bad value is caught by an argument type of ``common`` (argparse names the option); a
check that needs the file system or the data comes first in ``run``, before any work; either way
one line ``cnn-parity <command>: <what is wrong>; <how to fix it>`` — :class:`reports.errors.UsageError`
(exit 2) or :class:`~reports.errors.RunError` (exit 1), printed by ``reports.cli.main``.

Adding a command (``cnn-parity diff``, say) is one module and one line:

1. ``reports/commands/diff.py`` with ``add_parser(sub)`` and ``run(args)`` as above;
2. the module in :data:`COMMANDS` below (``from . import diff``), where ``cnn-parity --help``
   should list it.

Its tests: its bad inputs in ``LIGHT_ERRORS`` of ``parity_tests/test_cli.py`` (run in a fresh
interpreter that must not import torch), and its name in the set of commands that
``test_every_option_has_help_and_its_default`` checks (help, defaults and examples of every option).
``docs/ARCHITECTURE.md`` ("Adding a command") says the same with an example.
"""
from __future__ import annotations

import argparse

from . import bugs, check, diff, exercise, explain, findings, fuzz, opinfo, parity, report, train
from .common import PROG, CommandParser, HelpFormatter, examples

__all__ = ["COMMANDS", "build_parser", "common", "parity", "train", "report", "diff", "explain", "opinfo", "bugs", "fuzz",
           "findings", "check", "exercise"]

#: Every subcommand, in the order ``cnn-parity --help`` lists them.
COMMANDS = [parity, train, report, diff, explain, opinfo, bugs, fuzz, findings, check, exercise]

DEBUG_HELP = "show the Python traceback of an error (also: CNN_PARITY_DEBUG=1)"


def build_parser() -> argparse.ArgumentParser:
    """The ``cnn-parity`` parser: every command of :data:`COMMANDS`, its ``run`` as ``args.run``."""
    parser = CommandParser(prog=PROG, formatter_class=HelpFormatter,
                           description="Compare a from-scratch NumPy CNN with PyTorch, layer by layer and in training.",
                           epilog=examples("cnn-parity parity", "cnn-parity report --quick",
                                           "cnn-parity train --help"))
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=CommandParser)
    real_add = sub.add_parser

    def add_parser(name, **kwargs):                     # every subcommand: the formatter and --debug
        p = real_add(name, formatter_class=HelpFormatter, **kwargs)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
        return p
    sub.add_parser = add_parser
    for command in COMMANDS:
        command.add_parser(sub).set_defaults(run=command.run)
    return parser
