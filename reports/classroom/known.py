"""What a student's failure is compared with: the bug zoo's bugs and the book's own conventions.

A :class:`Candidate` is one known way of being wrong. Its failure signature (``signatures``) is what
the grader gives when the answer key (``answer_key``) carries it:

- a bug of the zoo (``reports.parity.bugs.CATALOG``) is planted in the reference the answer key
  runs on (``with bug.plant():``), as ``cnn-parity bugs`` plants it;
- a book convention (:data:`BOOK_WAYS`) replaces names of the answer key with a variant that does
  what the book's own code does (computes float32 in float64, sizes pooling's output without the
  padding, drops out without scaling, the book's AdaGrad and Adam), built from the reference's
  public classes and options.

Each candidate names the entry of the book-vs-PyTorch catalog that explains it, where one does
(:data:`BUG_EXPLAINED_BY` for the bugs): ``reports.parity.catalog.CATALOG`` by key, or an optimizer
of ``reference.optimizer.TORCH_EQUIVALENT`` ("book_adagrad", ...) by name.
"""
from __future__ import annotations

import contextlib
import importlib.util
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

import reference as R
from reference import optimizer as O

from . import NAMES, OPTIMIZER_NAMES

__all__ = ["Candidate", "BOOK_WAYS", "BUG_EXPLAINED_BY", "candidates", "answer_namespace", "names_reached"]

#: The bugs of the zoo whose failures a catalog entry explains (the book's way, or PyTorch's other option).
BUG_EXPLAINED_BY = {
    "maxpool_zero_padding": "pool_padding", "softmax_book_eps": "loss_epsilon",
    "dropout_not_inverted": "dropout_scaling", "dropout_eval_scaled": "dropout_scaling",
    "conv_float32_in_float64": "dtype", "adam_eps_uncorrected": "adam_eps", "output_size_ceil": "output_rounding",
    "avgpool_exclude_pad_ignored": "avgpool_padding", "avgpool_include_pad_ignored": "avgpool_padding",
    "lrn_alpha_not_divided": "lrn_alpha",
}


@dataclass(frozen=True)
class Candidate:
    """A known way of being wrong. kind: "bug" (the zoo) or "book" (the book's own code).

    plant() -> a context manager that plants it in the reference (bugs); overrides: answer-key
    names replaced by variants, each ``make(namespace) -> object`` (the book's ways); names: the
    names it can change (its signature is computed for these); explained_by: a catalog key or ""."""

    name: str
    kind: str
    describes: str
    names: tuple
    explained_by: str = ""
    plant: Callable = contextlib.nullcontext
    overrides: dict = field(default_factory=dict)


# ------------------------------------------------------------------------------------------
# The answer key as a fresh namespace, with some of its names replaced
# ------------------------------------------------------------------------------------------

_KEY_FILE = Path(__file__).with_name("answer_key.py")
_fresh = itertools.count()


def answer_namespace(method="book", overrides=None):
    """A fresh copy of the answer key (its own module object), ``METHOD`` set, ``overrides`` applied:
    ``{name: make(namespace)}``. The key's SimpleConvNet then builds its layers from the replaced
    classes, as a student's network uses the student's layers."""
    spec = importlib.util.spec_from_file_location(f"reports.classroom.answer_key_{next(_fresh)}", _KEY_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.METHOD = method
    for name, make in (overrides or {}).items():
        setattr(module, name, make(module))
    return module


# ------------------------------------------------------------------------------------------
# The book's ways
# ------------------------------------------------------------------------------------------

def _up(value):
    return value.astype(np.float64) if isinstance(value, np.ndarray) and value.dtype == np.float32 else value


def _upcast_function(name):
    def make(ns):
        original = getattr(ns, name)
        return lambda data, *args, **kwargs: original(_up(data), *args, **kwargs)
    return make


def _upcast_class(name):
    """The layer computing in float64 whatever it is given (its parameters too), as the book's
    im2col/col2im (``np.zeros`` allocates float64) make its Convolution and Pooling do."""
    def make(ns):
        base = getattr(ns, name)

        class Upcast(base):
            def forward(self, x, *args, **kwargs):
                saved = {k: getattr(self, k) for k in ("W", "b") if hasattr(self, k)}
                for k, v in saved.items():
                    setattr(self, k, _up(v))
                try:
                    return super().forward(_up(x), *args, **kwargs)
                finally:
                    for k, v in saved.items():
                        setattr(self, k, v)

            def backward(self, dout=1):
                dx = super().backward(_up(dout))
                if getattr(self, "db", None) is not None:     # the book's db = Σ dout meets no float64
                    self.db = self.db.astype(np.asarray(dout).dtype)
                return dx

        Upcast.__name__ = name
        return Upcast
    return make


def _pooling_without_pad(ns):
    class Pooling(ns.Pooling):
        def forward(self, x):
            N, C, H, W = x.shape
            out_h, out_w = 1 + (H - self.pool_h) // self.stride, 1 + (W - self.pool_w) // self.stride
            if self.pad:     # the padded windows do not fit the unpadded size: the book's reshape fails
                raise ValueError(f"cannot reshape the windows into (N, {out_h}, {out_w}, C): the output size "
                                 "was computed without the padding")
            return super().forward(x)
    return Pooling


def _book_dropout(ns):
    class Dropout(ns.Dropout):
        def __init__(self, dropout_ratio=0.5):
            self.layer = R.Dropout(dropout_ratio, inverted=False, rng=np.random.default_rng(0))

        def backward(self, dout):
            if self.layer.mask is None:        # after inference the book has no mask to multiply by
                raise TypeError("unsupported operand type(s) for *: 'numpy.ndarray' and 'NoneType'")
            return super().backward(dout)
    return Dropout


def _book_optimizer(cls):
    def make(ns):
        class Book:
            def __init__(self, **hyperparameters):
                self.opt = cls(**hyperparameters)

            def update(self, params, grads):
                self.opt.update(params, grads)
        return Book
    return make


_LAYERS = ("Convolution", "Pooling", "Relu", "Sigmoid", "Affine", "SoftmaxWithLoss", "Dropout")

BOOK_WAYS = [
    Candidate("book_dtype", "book",
              "float32 computed and returned in float64, as the book's code does (its im2col and col2im "
              "allocate with np.zeros, float64)", ("im2col", "col2im", *_LAYERS, "SimpleConvNet"), "dtype",
              overrides={**{n: _upcast_function(n) for n in ("im2col", "col2im")},
                         **{n: _upcast_class(n) for n in _LAYERS}}),
    Candidate("book_pooling_pad", "book",
              "the book's Pooling: its output size ignores the padding, (H − FH)/S + 1, so every case with "
              "pad > 0 raises (and im2col pads with 0, where max pooling needs −inf)", ("Pooling",),
              "pool_padding", overrides={"Pooling": _pooling_without_pad}),
    Candidate("book_dropout", "book",
              "the book's Dropout: not inverted (x·mask in training, x·(1 − p) at inference), and its "
              "backward after an inference forward has no mask", ("Dropout",), "dropout_scaling",
              overrides={"Dropout": _book_dropout}),
    Candidate("book_adagrad", "book", "the book's AdaGrad: eps = 1e-7 where torch's default is 1e-10",
              ("AdaGrad",), "book_adagrad", overrides={"AdaGrad": _book_optimizer(O.BookAdaGrad)}),
    Candidate("book_adam", "book", "the book's Adam: eps = 1e-7 added to the uncorrected √v, the bias "
              "correction folded into lr", ("Adam",), "adam_eps", overrides={"Adam": _book_optimizer(O.BookAdam)}),
]

#: The names a parity case of a layer (a bug's ``reaches``) leads to.
_REACHED = {"Convolution": ("im2col", "col2im", "Convolution", "SimpleConvNet"),
            "Pooling": ("im2col", "col2im", "Pooling", "SimpleConvNet"),
            "Affine": ("Affine", "SimpleConvNet"), "Relu": ("Relu", "SimpleConvNet"),
            "SoftmaxWithLoss": ("SoftmaxWithLoss", "SimpleConvNet"), "SimpleConvNet": ("SimpleConvNet",),
            "Sigmoid": ("Sigmoid",), "Dropout": ("Dropout",)}


def names_reached(bug) -> tuple:
    """The graded names a bug of the zoo can change: those of the layers it reaches, the optimizers
    for an optimizer bug; none for a bug of the harness (its checks are the self-check alone)."""
    if "optimizer" in bug.checks:
        return OPTIMIZER_NAMES
    reached = {n for layer in bug.reaches for n in _REACHED.get(layer, ())}
    return tuple(n for n in NAMES if n in reached)


def candidates() -> list[Candidate]:
    """The bugs of the zoo that reach a graded name, then the book's ways."""
    from ..parity.bugs import CATALOG          # plants wrap the reference's internals: imported when needed
    bugs = [Candidate(b.name, "bug", b.models, names_reached(b), BUG_EXPLAINED_BY.get(b.name, ""), b.plant)
            for b in CATALOG if names_reached(b)]
    return bugs + list(BOOK_WAYS)
