"""The book's lines of ``reference/`` compute what the book's code computes, and the extensions
reduce to them: the claims of ``docs/book-and-reference.md``, checked to the bit.

- Each layer's ``method="book"`` path against the book's own ``common/layers.py`` and each of
  the book's optimizers against its ``common/optimizer.py`` (from ``../shared/book``; skipped
  where that copy is absent), in float64 — the book's code upcasts float32.
- ``reference.extensions`` at its defaults against the book's lines: the grouped products with
  one group, the cross-entropy's general path on the book's targets, the NaN/−inf fix-up of
  max pooling on plain numbers.
- The page's line map: every ``file.py:Name.method:A-B`` it names lies inside that function.
"""
from __future__ import annotations

import ast
import contextlib
import importlib
import re
import sys

import numpy as np
import pytest

import reference as R
from reference import extensions as E
from reference import optimizer as O

from .conftest import BOOK, ROOT, needs_book_code


@contextlib.contextmanager
def book_common():
    """The book's ``common`` package, imported from ../shared/book and forgotten afterwards."""
    saved = {k: v for k, v in sys.modules.items() if k == "common" or k.startswith("common.")}
    for k in saved:
        del sys.modules[k]
    sys.path.insert(0, str(BOOK))
    try:
        yield importlib.import_module("common.layers"), importlib.import_module("common.optimizer")
    finally:
        sys.path.remove(str(BOOK))
        for k in [k for k in sys.modules if k == "common" or k.startswith("common.")]:
            del sys.modules[k]
        sys.modules.update(saved)


def same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@needs_book_code
@pytest.mark.parametrize("stride, pad", [(1, 0), (2, 1), (1, 2)])
def test_convolution_book_path_is_the_books_convolution(stride, pad):
    rng = np.random.default_rng(0)
    x, W, b = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 2)), rng.standard_normal(4)
    ours = R.Convolution(W, b, stride, pad, method="book")
    with book_common() as (L, _):
        book = L.Convolution(W, b, stride, pad)
        y_book = book.forward(x)
        dout = rng.standard_normal(y_book.shape)
        dx_book = book.backward(dout)
    y, dx = ours.forward(x), ours.backward(dout)
    assert same_bits(y, y_book) and same_bits(dx, dx_book)
    assert same_bits(ours.dW, book.dW) and same_bits(ours.db, book.db)


@needs_book_code
def test_pooling_book_path_is_the_books_pooling():
    """Without padding (the book pads max pooling with 0 and its backward fails with pad > 0)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 6, 6))
    x[0, 0, :2, :2] = 0.0                                    # an all-zero window: a tie
    ours = R.Pooling(2, 2, stride=2, method="book")
    with book_common() as (L, _):
        book = L.Pooling(2, 2, stride=2)
        y_book = book.forward(x)
        dout = rng.standard_normal(y_book.shape)
        dx_book = book.backward(dout)
    assert same_bits(ours.forward(x), y_book) and same_bits(ours.backward(dout), dx_book)
    assert same_bits(ours.arg_max, book.arg_max)


@needs_book_code
def test_softmax_with_loss_gradient_is_the_books():
    """The loss differs on purpose (log-sum-exp against log(y + 1e-7)); the gradient (y − t)/N is
    the book's up to the rounding of 1/N and of softmax."""
    rng = np.random.default_rng(2)
    x, t = rng.standard_normal((5, 4)) * 3, rng.integers(0, 4, 5)
    ours = R.SoftmaxWithLoss(eps=1e-7)
    with book_common() as (L, _):
        book = L.SoftmaxWithLoss()
        loss_book, dx_book = book.forward(x, t), book.backward()
    loss, dx = ours.forward(x, t), ours.backward()
    np.testing.assert_allclose(loss, loss_book, rtol=1e-14)
    np.testing.assert_allclose(dx, dx_book, rtol=1e-14, atol=1e-16)


def _trajectory(opt, steps=5):
    rng = np.random.default_rng(3)
    params = {"W": rng.standard_normal((4, 3)), "b": rng.standard_normal(3)}
    out = []
    for _ in range(steps):
        grads = {k: rng.standard_normal(v.shape) * 1e-3 for k, v in params.items()}
        opt.update(params, grads)
        out += [params["W"].copy(), params["b"].copy()]
    return out


@needs_book_code
@pytest.mark.parametrize("ours, book_name", [(lambda: O.SGD(0.1, fused=False), "SGD"),
                                             (lambda: O.BookMomentum(0.1, 0.9), "Momentum"),
                                             (lambda: O.BookAdaGrad(0.1), "AdaGrad"),
                                             (lambda: O.BookAdam(0.01), "Adam")],
                         ids=["SGD", "Momentum", "AdaGrad", "Adam"])
def test_the_books_optimizers_are_the_books_code(ours, book_name):
    with book_common() as (_, BO):
        book = getattr(BO, book_name)(**({"lr": 0.1, "momentum": 0.9} if book_name == "Momentum" else
                                         {"lr": 0.01} if book_name == "Adam" else {"lr": 0.1}))
        expected = _trajectory(book)
    assert all(same_bits(a, b) for a, b in zip(_trajectory(ours()), expected))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_grouped_products_with_one_group_are_the_books_products(dtype):
    rng = np.random.default_rng(4)
    col, col_W = rng.standard_normal((12, 8)).astype(dtype), rng.standard_normal((5, 8)).astype(dtype).T
    dout = rng.standard_normal((12, 5)).astype(dtype)
    assert same_bits(E.grouped_forward(col, col_W, 1), col @ col_W)
    assert same_bits(E.grouped_weight_gradient(col, dout, 1), col.T @ dout)
    assert same_bits(E.grouped_input_gradient(dout, col_W, 1), dout @ col_W.T)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_extension_reduces_to_the_books_lines(dtype):
    """One-hot targets and all-ones class weights take the general path; class indices the book's:
    the same loss and gradient, bit for bit."""
    rng = np.random.default_rng(5)
    x, t = (rng.standard_normal((7, 5)) * 3).astype(dtype), rng.integers(0, 5, 7)
    book = R.SoftmaxWithLoss()
    loss, dx = book.forward(x, t), book.backward(2.5)
    assert not book.beyond_the_book
    for other, target in [(R.SoftmaxWithLoss(), np.eye(5, dtype=dtype)[t]),
                          (R.SoftmaxWithLoss(weight=np.ones(5, dtype=dtype)), t)]:
        assert same_bits(other.forward(x, target), loss) and other.beyond_the_book
        assert same_bits(other.backward(2.5), dx)


def test_nan_and_minus_inf_fixup_leaves_plain_windows_alone():
    rng = np.random.default_rng(6)
    col = rng.standard_normal((10, 4))
    arg_max, out = np.argmax(col, axis=1), np.max(col, axis=1)
    fixed = E.nan_and_minus_inf_windows(col, out, arg_max.copy(), np.zeros((1, 5), dtype=np.int64), (2, 1, 5, 1))
    assert same_bits(fixed, arg_max)
    col[3] = [np.nan, 1.0, np.nan, 0.0]                     # the last NaN wins, as in PyTorch
    col[7] = -np.inf                                        # the window's first element inside
    arg_max, out = np.argmax(col, axis=1), np.max(col, axis=1)
    fixed = E.nan_and_minus_inf_windows(col, out, arg_max, np.full((1, 5), 2, dtype=np.int64), (2, 1, 5, 1))
    assert fixed[3] == 2 and fixed[7] == 2


DOC = ROOT / "docs" / "book-and-reference.md"
LINE_REF = re.compile(r"`((?:common|reference)/\w+\.py):([\w.]+):(\d+)-(\d+)`")


def _spans(path):
    """Qualified name ("Class", "Class.method", "function") -> (first line, last line)."""
    spans = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            spans[node.name] = (node.lineno, node.end_lineno)
            for member in getattr(node, "body", []) if isinstance(node, ast.ClassDef) else []:
                if isinstance(member, ast.FunctionDef):
                    spans[f"{node.name}.{member.name}"] = (member.lineno, member.end_lineno)
    return spans


def stale_references(text):
    """The ``file.py:Name:A-B`` references of ``text`` whose lines are not inside ``Name``, and how
    many were checked (a reference to the book is skipped where its copy is absent)."""
    wrong, checked = [], 0
    for file, name, first, last in LINE_REF.findall(text):
        path = (BOOK if file.startswith("common/") else ROOT) / file
        if not path.is_file():
            continue
        span = _spans(path).get(name)
        if span is None or not span[0] <= int(first) <= int(last) <= span[1]:
            wrong.append(f"{file}:{name}:{first}-{last} (the function spans {span})")
        checked += 1
    return wrong, checked


def test_the_line_map_points_inside_the_functions_it_names():
    text = DOC.read_text(encoding="utf-8")
    assert len(LINE_REF.findall(text)) > 40, "the page's line map"
    wrong, checked = stale_references(text)
    assert checked and wrong == [], wrong


def test_the_line_map_check_catches_a_stale_reference():
    first, last = _spans(ROOT / "reference" / "layers.py")["Relu.forward"]
    assert stale_references(f"`reference/layers.py:Relu.forward:{first}-{last}`") == ([], 1)
    assert stale_references(f"`reference/layers.py:Relu.backward:{first}-{last}`")[0]
    assert stale_references("`reference/layers.py:Relu.nothing:1-2`")[0]
