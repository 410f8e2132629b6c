"""The child process of ``cnn-parity check``: imports the student's file and grades its names.

``python -m reports.classroom.worker FD FILE [NAME ...]`` writes one JSON object per line to the
file descriptor FD (the student's code keeps standard output and error to itself):

``{"event": "ready"}``  the harness is imported: the file's import starts (its time limit too);
``{"event": "imported", "defined": [...], "imported": {name: module}}``  the file imported: the
    book's names it defines, and those it imports from elsewhere (not graded);
``{"event": "import_error", "message": ...}``  it did not import (one line);
``{"event": "start", "name": N}`` then ``{"event": "done", "name": N, "records": [...], "skipped":
    [...], "ran": [...]}`` for each name graded (the given NAMEs, else every name it defines);
``{"event": "exited", "name": N, "status": K}``  the student's code called ``sys.exit(K)``;
``{"event": "internal", "name": N, "message": ...}``  the grader itself failed on N.

The harness (and torch) is imported before the student's file, so that the file's folder, put at
the front of ``sys.path``, cannot shadow the project's modules.
"""
from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import json
import os
import sys
from pathlib import Path

from . import NAMES, OPTIMIZER_NAMES
from .calls import StudentExit, one_line
from .grading import grade_name

__all__ = ["load_student", "defined_names", "preload_optimizers", "main"]


def load_student(path: Path):
    """Import the student's file as its author would: its folder and the folder above on
    ``sys.path`` (front), and, when its folder is a package (``__init__.py``), as ``package.module``
    so that ``from .functions import ...`` works too."""
    path = path.resolve()
    folder = path.parent
    for entry in (str(folder.parent), str(folder)):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    if (folder / "__init__.py").exists() and folder.name.isidentifier() and folder.name not in sys.modules:
        name = f"{folder.name}.{path.stem}"
        module = importlib.import_module(name)
        if Path(module.__file__).resolve() == path:
            return module
    name = path.stem if path.stem.isidentifier() and path.stem not in sys.modules else "student_file"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None:
        raise ImportError(f"{path.name} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def preload_optimizers(path: Path):
    """torch.optim's first optimizer imports torch._dynamo and much more, lazily: import it now, with
    the student's folders off ``sys.path``, so that none of their modules can stand in for one of
    torch's (a student's ``sympy.py``, say)."""
    theirs = {str(path.resolve().parent), str(path.resolve().parent.parent)}
    saved = list(sys.path)
    sys.path[:] = [p for p in sys.path if p not in theirs]
    try:
        import torch._dynamo  # noqa: F401  (what torch.optim.Optimizer.__init__ imports on first use)
    finally:
        sys.path[:] = saved


def defined_names(module):
    """(the book's names the file defines, {name: module} of those it imports from elsewhere)."""
    defined, imported = [], {}
    for name in NAMES:
        obj = getattr(module, name, None)
        if obj is None:
            continue
        origin = getattr(obj, "__module__", module.__name__)
        if origin == module.__name__:
            defined.append(name)
        else:
            imported[name] = origin
    return defined, imported


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    fd, path, wanted = int(argv[0]), Path(argv[1]), argv[2:]
    channel = os.fdopen(fd, "w", encoding="utf-8")

    def send(**message):
        channel.write(json.dumps(message) + "\n")
        channel.flush()

    send(event="ready")
    try:
        module = load_student(path)
    except SystemExit as exc:
        send(event="import_error", message=f"importing it called sys.exit({exc.code!r})")
        return 0
    except BaseException as exc:           # the student's file: one line, no traceback
        if isinstance(exc, KeyboardInterrupt):
            raise
        send(event="import_error", message=f"importing it raises {one_line(exc)}")
        return 0
    defined, imported = defined_names(module)
    if any(name in OPTIMIZER_NAMES for name in defined):
        preload_optimizers(path)
    send(event="imported", defined=defined, imported=imported)
    for name in [n for n in wanted if n in defined] if wanted else defined:
        send(event="start", name=name)
        try:
            graded = grade_name(getattr(module, name), name)
        except StudentExit as exc:
            send(event="exited", name=name, status=exc.code)
            continue
        except Exception as exc:             # the grader's own failure, named for the lead to fix
            send(event="internal", name=name, message=one_line(exc))
            continue
        send(event="done", name=name, records=[dataclasses.asdict(r) for r in graded.records],
             skipped=graded.skipped, ran=graded.ran)
    return 0


if __name__ == "__main__":
    sys.exit(main())
