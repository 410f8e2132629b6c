"""The errors a ``cnn-parity`` command reports to its user: one line, an exit status, no traceback.

Lowest layer of ``reports`` (it imports nothing of the project), so that every package can raise
them. A command raises :class:`UsageError` (exit status 2: the command line asks for something
impossible — a bad option value, a missing folder) or :class:`RunError` (exit status 1: the data
or the run failed — a corrupt MNIST file, a folder that cannot be written). ``reports.cli.main``
prints ``cnn-parity <command>: <message>`` on standard error and exits with the status; the
message says what is wrong and how to fix it. ``--debug`` (or ``CNN_PARITY_DEBUG=1``) shows the
traceback too. :class:`Interrupted` (exit status 130, as a shell reports Ctrl-C) says what an
interrupted command kept.
"""
from __future__ import annotations

__all__ = ["CommandError", "UsageError", "RunError", "Interrupted"]


class CommandError(Exception):
    """A problem to report in one line; ``status`` is the exit status."""

    status = 1


class UsageError(CommandError):
    """The command line asks for something that cannot work (exit status 2, like argparse)."""

    status = 2


class RunError(CommandError):
    """The data, the files or the run failed (exit status 1)."""

    status = 1


class Interrupted(CommandError):
    """Ctrl-C (exit status 130 = 128 + SIGINT); the message says what was kept."""

    status = 130
