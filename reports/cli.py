"""The ``cnn-parity`` console script: parses the command line and runs one command.

The commands are ``reports.commands`` (one module per command, and how to add one); this module
only runs them and reports their errors. A bad option or value is one line from argparse; a
:class:`reports.errors.CommandError` raised by a command is one line on standard error,
``cnn-parity <command>: <what is wrong>; <how to fix it>``, with its exit status (2 usage, 1 run
or data, 130 after Ctrl-C). No traceback unless ``--debug`` (before or after the command) or
``CNN_PARITY_DEBUG=1``.
"""
from __future__ import annotations

import os
import sys

from .commands import build_parser
from .commands.common import PROG
from .errors import CommandError, Interrupted

__all__ = ["main"]


def main(argv=None) -> int:
    """Run one command; its exit status."""
    args = build_parser().parse_args(argv)
    debug = args.debug or os.environ.get("CNN_PARITY_DEBUG", "") not in ("", "0")
    try:
        try:
            return args.run(args)
        except KeyboardInterrupt:
            raise Interrupted("interrupted (Ctrl-C)") from None
    except CommandError as exc:
        if debug:
            raise
        print(f"{PROG} {args.command}: {exc}", file=sys.stderr, flush=True)
        return exc.status


if __name__ == "__main__":
    sys.exit(main())
