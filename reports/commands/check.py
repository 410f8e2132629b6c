"""``cnn-parity check FILE.py``: grade a student's own layers with the parity suite
(``reports.classroom``; the work is in ``isolation``, ``verdicts`` and ``signatures``)."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import RunError, UsageError
from .common import examples, existing_file, positive_number

__all__ = ["add_parser", "run", "book_names", "NAMES", "TIME_LIMIT"]

# The grader's names and default time limit, repeated from reports.classroom without importing it
# here (help stays light); parity_tests/test_classroom.py checks that they agree.
NAMES = ("im2col", "col2im", "Convolution", "Pooling", "Relu", "Sigmoid", "Affine", "SoftmaxWithLoss",
         "Dropout", "SimpleConvNet", "SGD", "Momentum", "AdaGrad", "Adam")
TIME_LIMIT = 60.0

DESCRIPTION = """\
Grade your own layers: every one of the book's names that FILE defines goes through the parity
cases of the suite (and the book's worked examples) that its signature can express, in float64
and float32, against PyTorch, with the suite's tolerances. For each name: pass, or the first
failing comparison with its numbers and a diagnosis (the known bug, or the book's own convention,
whose failures look most like yours, with how close, and the book-vs-PyTorch difference that
explains it). Names whose code raises NotImplementedError are "to do".

FILE's code is run, as pytest runs a test file: it is imported (its top-level code runs) in a
child process, with its own folder and the folder above it first on sys.path (so that it can
import its neighbours, e.g. `from common.functions import softmax`, and a folder with an
__init__.py is imported as a package). Each name, and the import, gets --time-limit seconds;
a name that takes longer is reported "did not finish", one that ends the process "exited".
The file's own output is not shown.

The names: im2col, col2im, Convolution, Pooling, Relu, Sigmoid, Affine, SoftmaxWithLoss, Dropout,
SimpleConvNet, SGD, Momentum, AdaGrad, Adam.
Exit status: 0 every name the file defines passes; 1 one fails; 2 usage (no such file, a file that
does not import or defines none of the names); 3 nothing fails but some names are still to do."""


def _python_file(text: str) -> str:
    existing_file(text)
    if Path(text).suffix != ".py":
        raise argparse.ArgumentTypeError(f"{text} is not a Python file (.py); give the file with your layers")
    return text


def book_names(text: str) -> list:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in NAMES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"{text!r}: {', '.join(unknown) or 'no name'} is not one of the "
                                         f"book's names ({', '.join(NAMES)})")
    return names


def add_parser(sub):
    p = sub.add_parser("check", help="grade a student's own layers (the file's code is run)",
                       description=DESCRIPTION,
                       epilog=examples("cnn-parity exercise my_cnn            # writes my_cnn/layers.py to fill in",
                                       "cnn-parity check my_cnn/layers.py     # grade it",
                                       "cnn-parity check layers.py --names Convolution,Pooling --verbose"))
    p.add_argument("file", type=_python_file, metavar="FILE.py", help="the Python file with your layers")
    p.add_argument("--time-limit", type=positive_number, default=TIME_LIMIT, metavar="S",
                   help="seconds each name (and the import of the file) may take")
    p.add_argument("--names", type=book_names, default=None, metavar="A,B",
                   help="grade only these of the names the file defines (default: all of them)")
    p.add_argument("--verbose", action="store_true",
                   help="list every failing comparison and every skipped case, not only the first")
    return p


def run(args) -> int:
    # the classroom (it starts the child process) is imported once the options are checked
    from ..classroom.isolation import ImportFailure, StartFailure, grade_file
    from ..classroom.verdicts import exit_status, format_file, load_signatures, verdict_of

    try:
        result = grade_file(args.file, args.time_limit, args.names)
    except ImportFailure as exc:
        raise UsageError(f"{args.file} does not import: {exc}; fix the file (run it with python) and "
                         "check it again") from None
    except StartFailure as exc:
        raise RunError(f"{exc}; run 'cnn-parity parity' to see whether the project itself works") from None
    missing = [n for n in args.names or () if n not in result.defined]
    if missing:
        raise UsageError(f"{args.file} does not define {', '.join(missing)}; --names takes the names it defines"
                         f" ({', '.join(result.defined) or 'none'})")
    if not result.defined:
        raise UsageError(f"{args.file} defines none of the book's names ({', '.join(NAMES)}); define one, "
                         "or start from 'cnn-parity exercise DIR'")
    signatures, missing = load_signatures()
    verdicts = [verdict_of(r, signatures, missing) for r in result.names]
    print(format_file(args.file, result, verdicts, args.time_limit, args.verbose), flush=True)
    return exit_status(verdicts)
