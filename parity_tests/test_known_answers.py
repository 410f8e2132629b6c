"""Known answers from the book (§7.2 convolution, §7.3 pooling, §7.4 im2col shapes), and
PyTorch's options on the book's examples worked out by hand (harness.option_answer_records)."""
import numpy as np
import pytest

import reference as R
from reports.parity.harness import known_answer_records

from .conftest import check


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_book_examples_in_both_frameworks(dtype):
    records = check(known_answer_records(dtype))
    assert len(records) == 38 and all(r.dtype == dtype for r in records)
    exact = [r for r in records if r.tol == 0]            # all but the cross-entropy answers
    assert len(exact) == 28 and all(r.max_abs == 0 for r in exact)


def test_im2col_shapes_from_the_book():
    rng = np.random.default_rng(0)
    assert R.im2col(rng.random((1, 3, 7, 7)), 5, 5, stride=1, pad=0).shape == (9, 75)
    assert R.im2col(rng.random((10, 3, 7, 7)), 5, 5, stride=1, pad=0).shape == (90, 75)


def test_im2col_layout_rows_n_oh_ow_columns_c_fh_fw():
    x = np.arange(2 * 2 * 3 * 3, dtype=np.float64).reshape(2, 2, 3, 3)
    col = R.im2col(x, 2, 2)
    # row (n=1, oh=1, ow=0), column (c=1, fh=0, fw=1) is x[1, 1, 1+0, 0+1]
    row = (1 * 2 + 1) * 2 + 0
    column = (1 * 2 + 0) * 2 + 1
    assert col[row, column] == x[1, 1, 1, 1]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_col2im_is_the_adjoint_of_im2col(dtype):
    """<im2col(x), c> == <x, col2im(c)> for every x and c: col2im is im2col's transpose."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 7, 6)).astype(dtype)
    col = R.im2col(x, 3, 2, stride=2, pad=1)
    c = rng.standard_normal(col.shape).astype(dtype)
    back = R.col2im(c, x.shape, 3, 2, stride=2, pad=1)
    assert col.dtype == back.dtype == dtype
    lhs, rhs = float(np.sum(col.astype(np.float64) * c)), float(np.sum(x.astype(np.float64) * back))
    assert abs(lhs - rhs) <= 1e-4 * abs(lhs) if dtype == np.float32 else abs(lhs - rhs) <= 1e-12 * abs(lhs)


def test_output_size_formula_floor_and_strict():
    assert R.conv_output_size(28, 5) == 24
    assert R.conv_output_size(7, 3, stride=2, pad=0) == 3
    assert R.conv_output_size(8, 3, stride=2, pad=0) == 3          # (8 − 3)/2 + 1 = 3.5 → 3
    with pytest.raises(ValueError, match="not an integer"):
        R.conv_output_size(8, 3, stride=2, pad=0, strict=True)
    assert R.conv_output_size(7, 3, stride=2, pad=0, strict=True) == 3
