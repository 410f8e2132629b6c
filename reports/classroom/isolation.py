"""Grading a student's file in a child process, with a time limit per name.

The student's code may hang, call ``sys.exit`` or ``os._exit``, or crash the interpreter. It runs
in a child process (``python -m reports.classroom.worker``, in its own process group, standard
input closed, its output thrown away) that reports each name's records on a pipe. For every name
the parent allows ``time_limit`` seconds (the import of the file too): a name that takes longer is
reported "did not finish in N s" and the child is killed; a child that dies reports "exited with
status K" (or the signal) for the name it was grading. Either way a new child grades the names
left. The parent never imports the student's file, nor torch.
"""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..parity.records import Record

__all__ = ["NameResult", "FileResult", "ImportFailure", "StartFailure", "grade_file", "DEFAULT_TIME_LIMIT", "WORKER",
           "STARTUP_LIMIT"]

#: Seconds each name (and the import of the file) may take.
DEFAULT_TIME_LIMIT = 60
_ROOT = Path(__file__).resolve().parents[2]


class ImportFailure(Exception):
    """The file did not import (the message is one line)."""


class StartFailure(Exception):
    """The grader's own child process did not start (torch or the project is broken)."""


@dataclass
class NameResult:
    """One name: "graded" (records, skipped items, the items run), or "timeout", "exited",
    "internal" (the grader's own failure) with a message."""

    name: str
    status: str
    records: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    ran: list = field(default_factory=list)
    message: str = ""


@dataclass
class FileResult:
    defined: list
    imported: dict
    names: list                       # NameResult, in the order of ``defined``


def _exit_words(status: int) -> str:
    if status < 0:
        try:
            return f"was killed by signal {signal.Signals(-status).name} (the interpreter crashed)"
        except ValueError:
            return f"was killed by signal {-status}"
    return f"exited with status {status}"


class _Child:
    """One worker process and its pipe."""

    def __init__(self, worker, path: Path, names):
        read, write = os.pipe()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(_ROOT), os.environ.get("PYTHONPATH")])))
        self.proc = subprocess.Popen([*worker, str(write), str(path), *names], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(write,),
                                     env=env, start_new_session=True)
        os.close(write)
        self.fd, self.buffer = read, b""

    def events(self, deadline):
        """The child's messages (dicts), then "eof" when it closed the pipe — or "timeout" as soon as
        ``deadline()`` (a time.monotonic() value, asked again after every message) has passed."""
        while True:
            while b"\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\n", 1)
                yield json.loads(line)
            wait = deadline() - time.monotonic()
            if wait <= 0:
                yield "timeout"
                return
            ready, _, _ = select.select([self.fd], [], [], wait)
            if ready:
                chunk = os.read(self.fd, 1 << 16)
                if not chunk:
                    yield "eof"
                    return
                self.buffer += chunk

    def stop(self) -> int:
        """Kill the child's whole process group (if still there); its exit status."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        return self.proc.wait()


#: The child: ``WORKER FD FILE [NAME ...]`` (``reports.classroom.worker``).
WORKER = (sys.executable, "-m", "reports.classroom.worker")
#: Seconds the child may take to start (import the harness and torch) before the file's import.
STARTUP_LIMIT = 300


class _State:
    """What the parent knows: the file's names once it imported, the results so far."""

    def __init__(self, names):
        self.asked, self.defined, self.imported, self.results = names, None, {}, {}

    def todo(self):
        if self.defined is None:
            return None
        return [n for n in self.asked if n in self.defined] if self.asked else list(self.defined)

    def left(self):
        todo = self.todo()
        return list(self.asked or []) if todo is None else [n for n in todo if n not in self.results]


def grade_file(path, time_limit: float = DEFAULT_TIME_LIMIT, names=None, worker=WORKER) -> FileResult:
    """Grade the names of the book that the file defines (or those of ``names`` it defines), each
    within ``time_limit`` seconds; :class:`ImportFailure` when the file does not import."""
    state = _State(list(names) if names else None)
    while state.todo() is None or state.left():
        _run_child(_Child(worker, Path(path), state.left()), state, time_limit)
    return FileResult(state.defined, state.imported, [state.results[n] for n in state.todo()])


def _run_child(child, state, time_limit):
    """Read one child's messages into ``state`` until it ends, or a name (or the import) overruns."""
    phase, current = "startup", None
    limit_at = time.monotonic() + STARTUP_LIMIT
    try:
        for event in child.events(lambda: limit_at):
            if event in ("timeout", "eof"):
                status = child.stop() if event == "timeout" else child.proc.wait()
                words = f"did not finish in {time_limit:g} s" if event == "timeout" else _exit_words(status)
                if phase == "startup":
                    raise StartFailure(f"the grader's child process {words} while starting" if event == "eof"
                                       else f"the grader's child process did not start in {STARTUP_LIMIT} s")
                if phase == "import":
                    raise ImportFailure(f"importing it {words}")
                if current is not None:
                    state.results[current] = NameResult(current, "timeout" if event == "timeout" else "exited",
                                                        message=words)
                return
            kind = event["event"]
            if kind == "ready":
                phase = "import"
            elif kind == "import_error":
                raise ImportFailure(event["message"])
            elif kind == "imported":
                phase = "names"
                if state.defined is None:
                    state.defined, state.imported = event["defined"], event["imported"]
            elif kind == "start":
                current = event["name"]
            elif kind == "done":
                state.results[current] = NameResult(current, "graded", [Record(**r) for r in event["records"]],
                                                    [tuple(s) for s in event["skipped"]], event["ran"])
                current = None
            elif kind in ("exited", "internal"):
                message = (f"exited with status {event['status']!r} (it called sys.exit)" if kind == "exited"
                           else event["message"])
                state.results[current] = NameResult(current, kind, message=message)
                current = None
            limit_at = time.monotonic() + time_limit
    finally:
        child.stop()
