"""Writing output safely: a report folder replaced atomically, files renamed into place when complete.

The lowest layer of ``reports`` (it imports nothing of the project), shared by ``cnn-parity
report`` and ``cnn-parity train``:

* :func:`atomic_output` — ``with atomic_output(DIR) as tmp:`` the body writes into a hidden
  temporary folder beside ``DIR``, which replaces ``DIR`` only when the body completes. A failed
  or interrupted run (Ctrl-C included) leaves the previous ``DIR`` as it was.
* :func:`check_output_dir` — the same checks, made before any work starts.
* :func:`nearest_existing` / :func:`check_creatable` — the "nearest existing folder" check for an
  output folder that is created (not replaced): it must be a folder, and writable.
* :func:`replace_files` — several files written under temporary names and renamed into place
  only when all are complete (Ctrl-C held back during the renames: :func:`deferred_interrupt`).

Folders and files get the permissions a plain ``mkdir`` / ``open`` gives under the user's umask
(the temporary folder of :func:`atomic_output` too, although ``tempfile`` makes it private).

A folder is only ever replaced when it is empty or an earlier report (it holds :data:`MARKER`),
never a folder of other files. Every problem is :class:`OutputError`, one line naming the path
and why.
"""
from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

__all__ = ["OutputError", "ReportOutputError", "MARKER", "absolute", "atomic_output", "check_output_dir",
           "nearest_existing", "check_creatable", "replace_files", "current_umask", "deferred_interrupt"]

#: An empty file that marks a folder as a cnn-parity report, so that an existing ``--out``
#: folder is only ever replaced when it is one (or empty) — never a folder of other files.
MARKER = ".cnn-parity-report"


class OutputError(Exception):
    """An output folder or file cannot be used; the message is one line naming the path and why."""


#: The name the report's code and tests know it by.
ReportOutputError = OutputError


def nearest_existing(path: Path) -> Path:
    """``path`` itself if it exists, else its nearest existing parent folder (or file)."""
    probe = Path(path)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe


def check_creatable(out) -> Path:
    """Raise :class:`OutputError` unless the folder ``out`` exists or can be created, and is
    writable: its nearest existing ancestor must be a folder we may write in. Creates nothing."""
    out = absolute(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out} exists and is not a folder")
    probe = nearest_existing(out)
    if not probe.is_dir():
        raise OutputError(f"{probe} is a file, not a folder, so {out} cannot be created")
    if not os.access(probe, os.W_OK):
        raise OutputError(f"{probe} is not writable, so nothing can be written in {out}")
    return out


@contextmanager
def deferred_interrupt():
    """Hold Ctrl-C (SIGINT) back while the body runs; it takes effect as soon as the body ends.

    For short steps that must not be cut in half, such as renaming a set of finished files
    into place. The SIGINT handler is swapped for one that only notes the signal, and the
    previous handler runs after the body if one came. Only in the main thread (elsewhere the
    body just runs: Python delivers signals to the main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append((signum, frame)))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received and callable(previous):
            previous(*received[0])             # Python's default handler raises KeyboardInterrupt
        elif received and previous == signal.SIG_DFL:
            os.kill(os.getpid(), signal.SIGINT)


def replace_files(items) -> list[str]:
    """Write several files so that none is ever half-written: ``items`` is [(path, write)] where
    ``write(tmp_path)`` writes the content. Each goes to ``path + ".partial"`` first; only when all
    are complete are they renamed into place. On any error the partial files are removed and the
    previous files are left as they were."""
    staged = []
    try:
        for path, write in items:
            staged.append((str(path) + ".partial", str(path)))
            write(staged[-1][0])
    except BaseException:
        for partial, _ in staged:
            if os.path.exists(partial):
                os.remove(partial)
        raise
    with deferred_interrupt():                  # all renamed, or none
        for partial, path in staged:
            os.replace(partial, path)
    return [path for _, path in staged]



def absolute(out) -> Path:
    return Path(os.path.abspath(os.path.expanduser(str(out))))


def _prepare(out: Path) -> tuple[Path, list]:
    """Check ``out`` and create the hidden staging folder next to it. Returns (tmp, created
    parent folders). Raises :class:`OutputError` with a one-line reason."""
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise OutputError(f"{out} exists and is not a folder")
        try:
            entries = [p.name for p in out.iterdir()]
        except OSError as exc:
            raise OutputError(f"cannot read the folder {out}: {exc.strerror or exc}") from None
        if entries and MARKER not in entries:
            raise OutputError(f"{out} is a folder that holds other files and is not an earlier report "
                                    f"(no {MARKER} in it); choose a new or empty folder")
    parent = out.parent
    probe = nearest_existing(parent)
    if not probe.is_dir():
        raise OutputError(f"{probe} is a file, not a folder, so {out} cannot be created")
    created = []
    for folder in reversed([p for p in [parent, *parent.parents] if not p.exists()]):
        try:
            folder.mkdir()
        except OSError as exc:
            _remove_created(created)
            raise OutputError(f"cannot create the folder {folder}: {exc.strerror or exc}") from None
        created.append(folder)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
        # mkdtemp makes the folder private (0700); the report gets what a plain mkdir would
        # give under the user's umask, so that it can be served or shared.
        os.chmod(tmp, 0o777 & ~current_umask())
    except OSError as exc:
        _remove_created(created)
        raise OutputError(f"cannot write in {parent}: {exc.strerror or exc}") from None
    return tmp, created


def current_umask() -> int:
    """The process's umask (read by setting it and setting it back: there is no getter)."""
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _remove_created(created):
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            break


def check_output_dir(out) -> Path:
    """Raise :class:`OutputError` (one line: the path and why) unless a report can be
    written to ``out``. Creates and removes a probe folder next to it; changes nothing else."""
    out = absolute(out)
    tmp, created = _prepare(out)
    shutil.rmtree(tmp, ignore_errors=True)
    _remove_created(created)
    return out


def _commit(tmp: Path, out: Path):
    """Move the finished folder into place: old report aside, new one in, old one deleted."""
    if out.exists() or out.is_symlink():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.rmdir(old)
        os.rename(out, old)
        try:
            os.rename(tmp, out)
        except BaseException:
            os.rename(old, out)
            raise
        if old.is_symlink():
            old.unlink()                    # --out was a link to a report folder: drop the link only
        else:
            shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, out)


@contextmanager
def atomic_output(out):
    """``with atomic_output(DIR) as tmp:`` write the report into ``tmp``; on success ``tmp``
    replaces ``DIR``; on any exception (KeyboardInterrupt included) ``tmp`` is deleted and
    ``DIR`` is left as it was. The check of ``DIR`` happens on entry, before the body runs."""
    out = absolute(out)
    tmp, created = _prepare(out)
    try:
        yield tmp
        _commit(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        _remove_created(created)
        raise
