"""``cnn-parity exercise DIR``: write the starter file for ``cnn-parity check``
(``reports.classroom.exercise``: the book's names, signatures and shape docstrings, bodies to write)."""
from __future__ import annotations

from pathlib import Path

from ..errors import UsageError
from ..files import OutputError, check_creatable
from .check import NAMES, book_names
from .common import examples

__all__ = ["add_parser", "run"]


def add_parser(sub):
    p = sub.add_parser(
        "exercise", help="write a starter file of the book's layers to fill in (graded by 'check')",
        description="Write DIR/layers.py: the book's names (" + ", ".join(NAMES) + ") with their signatures "
                    "and docstrings (shapes), each body a 'raise NotImplementedError' with a one-line hint.\n"
                    "Fill them in and grade the file with 'cnn-parity check DIR/layers.py': names not written "
                    "yet are reported as \"to do\". DIR is created if needed; an existing layers.py is never "
                    "overwritten.",
        epilog=examples("cnn-parity exercise my_cnn                       # every name",
                        "cnn-parity exercise lesson1 --names im2col,col2im"))
    p.add_argument("dir", metavar="DIR", help="the folder to write layers.py into")
    p.add_argument("--names", type=book_names, default=None, metavar="A,B",
                   help="only these names (default: all of them)")
    return p


def run(args) -> int:
    from ..classroom.exercise import STARTER_NAME, starter

    try:
        check_creatable(args.dir)
    except OutputError as exc:
        raise UsageError(f"{exc}; choose another folder") from None
    target = Path(args.dir).expanduser() / STARTER_NAME
    if target.exists():
        raise UsageError(f"{target} exists (it may hold your work); remove it or choose another folder")
    names = [n for n in NAMES if n in (args.names or NAMES)]
    text = starter(names)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{STARTER_NAME}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(target)
    print(f"wrote {target}: {len(names)} name(s) to write ({', '.join(names)})\n"
          f"grade it with: cnn-parity check {target}")
    return 0
