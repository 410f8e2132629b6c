"""What the commands share: the parser's shape, the argument types, the dtype choices and the
checks of an output folder.

Light on purpose: every command module imports it at the top, ``cnn-parity --help`` builds every
parser from it, and nothing here imports torch, pandas or the harness, so that ``--help`` and a
bad option answer at once. Each argument type raises ``argparse.ArgumentTypeError``: argparse
adds the option's name, and :class:`CommandParser` makes it one line with a fix.
"""
from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

from ..errors import UsageError
from ..files import OutputError, check_creatable, check_output_dir
from ..parity.records import DTYPES

__all__ = ["PROG", "DTYPE_CHOICES", "HelpFormatter", "CommandParser", "examples", "count", "seed",
           "positive_number", "existing_folder", "existing_file", "new_file", "check_new_folder",
           "check_report_folder"]

PROG = "cnn-parity"
#: ``--dtype`` of the commands that compare: each dtype alone, or ``both`` (every one of DTYPES).
DTYPE_CHOICES = {**{d: (d,) for d in DTYPES}, "both": DTYPES}


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


# ------------------------------------------------------------------------------------------
# Output folders, checked before any work
# ------------------------------------------------------------------------------------------

def check_new_folder(out: str) -> None:
    """``--out`` of a command that writes files into a folder: one that exists or can be created,
    and is writable (:class:`UsageError` otherwise)."""
    try:
        check_creatable(out)
    except OutputError as exc:
        raise UsageError(f"--out {out}: {exc}; choose another folder") from None


def check_report_folder(out: str) -> None:
    """``--out`` of ``report``: a folder that may be replaced as a whole (empty, or an earlier report)."""
    try:
        check_output_dir(out)
    except OutputError as exc:
        fix = "" if ";" in str(exc) else "; choose another --out folder"
        raise UsageError(f"--out {out}: cannot write the report: {exc}{fix}") from None
