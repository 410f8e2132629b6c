"""`cnn-parity explain im2col`: the book's 4×4 example, computed (not typed in) and explained."""
import numpy as np
import pytest

from reports.cli import main
from reports.explain import BOOK_FILTER, BOOK_INPUT, format_im2col, im2col_steps


def test_book_example_pad_0():
    s = im2col_steps()
    assert s.col.shape == (4, 9) and s.w_col.shape == (9, 1)
    np.testing.assert_array_equal(s.col[0], np.ravel(np.asarray(BOOK_INPUT)[:3, :3]))    # window (0,0)
    np.testing.assert_array_equal(s.col[3], np.ravel(np.asarray(BOOK_INPUT)[1:, 1:]))    # window (1,1)
    np.testing.assert_array_equal(s.w_col[:, 0], np.ravel(BOOK_FILTER))
    np.testing.assert_array_equal(s.out, [[15, 16], [6, 15]])          # the book's answer (§7.2)
    assert s.matches_convolution


def test_book_example_pad_1():
    s = im2col_steps(pad=1)
    assert s.col.shape == (16, 9) and s.x_padded.shape == (6, 6)
    np.testing.assert_array_equal(s.out, [[7, 12, 10, 2], [4, 15, 16, 10], [10, 6, 15, 6], [8, 10, 4, 3]])
    assert s.matches_convolution


def test_text_walks_through_every_step():
    text = format_im2col(im2col_steps())
    for needle in ("The input x", "The filter W", "OH = (H + 2P − FH) / S + 1 = (4 + 2·0 − 3) / 1 + 1 = 2",
                   "window (1,1)", "(4, 9)", "W.reshape(1, -1).T", "(9, 1)",
                   "1·2 + 2·0 + 3·1 + 0·0 + 1·1 + 2·2 + 3·1 + 0·0 + 1·2 = 15", "the same output ✓"):
        assert needle in text, needle
    assert "      15  16\n       6  15" in text


@pytest.mark.parametrize("args, last_grid", [([], "6  15"), (["--pad", "1"], "8  10   4   3")])
def test_cli(capsys, args, last_grid):
    assert main(["explain", "im2col", *args]) == 0
    out = capsys.readouterr().out
    assert last_grid in out and "the same output ✓" in out


def test_cli_rejects_a_bad_pad(capsys):
    """A usage error: exit status 2 (not 0, not 1) and a message naming the option and the value."""
    with pytest.raises(SystemExit) as info:
        main(["explain", "im2col", "--pad", "5"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--pad" in err and "5" in err and "0, 1, 2" in err, err
