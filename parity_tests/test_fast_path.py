"""The fast path (``method="fast"``, the default) against the book's path and against torch.

- every registered Convolution / Pooling / AvgPooling case, run with ``method="book"``, still
  agrees with torch (the default-method runs are in ``test_layers.py`` and ``test_sweeps.py``);
- fast and book agree with each other, case by case and on hypothesis-drawn configurations
  (max pooling and average-pooling gradients to the bit: they select / add the same numbers
  in the same order);
- the fast path keeps the dtype, is deterministic to the bit, and keeps the book's NaN / ties
  conventions;
- the building blocks: ``unfold`` is ``im2col`` in another layout, ``fold`` is its adjoint and
  equals ``col2im``, ``window_view`` copies nothing.
Timings are in ``benchmarks/``, never here.
"""
import copy
import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings

import reference as R
from reference import util as U
from reference import alexnet as RA
from reports.parity.cases import LAYER_CASES, avgpool_case, conv_case, pool_case
from reports.parity.harness import case_tolerance, run_layer_case
from reports.parity.records import DTYPES
from reports.parity.records import compare, reduction_tolerance

from . import strategies as S
from .conftest import assert_dtype_preserved, check

TWO_PATH_LAYERS = ("Convolution", "Pooling", "AvgPooling")
# The fast-path cases of the registry (its book-path cases are already the book's path; a
# "large" case would cost seconds on the book's path)
TWO_PATH_CASES = [c for c in LAYER_CASES if c.layer in TWO_PATH_LAYERS
                  and c.config.get("method", "fast") == "fast" and "large" not in c.tags]


def book_variant(case):
    """The same parity case with the reference layer switched to the book's im2col/col2im."""
    def build(rng, dtype):
        ref, module = case.build(rng, dtype)
        ref.method = "book"
        return ref, module
    return dataclasses.replace(case, build=build, config={**case.config, "method": "book"})


def fast_vs_book_records(ref, x, dout, tol, name, config=None):
    """Forward and backward of ``ref`` with each path; the book's result is the yardstick."""
    book = copy.deepcopy(ref)
    ref.method, book.method = "fast", "book"
    records = [compare(name, "output", ref.forward(x), book.forward(x), tol, config=config, group="fast-vs-book"),
               compare(name, "dx", ref.backward(dout), book.backward(dout), tol, config=config, group="fast-vs-book")]
    for attr in ("dW", "db"):
        if getattr(ref, attr, None) is not None:
            records.append(compare(name, attr, getattr(ref, attr), getattr(book, attr), tol,
                                   config=config, group="fast-vs-book"))
    return records


def _run_both(ref, x, dout, book=None):
    book = copy.deepcopy(ref) if book is None else book
    ref.method, book.method = "fast", "book"
    return (ref.forward(x), ref.backward(dout)), (book.forward(x), book.backward(dout))


# ------------------------------------------------------------------------------------------
# Registered cases: book path vs torch, fast vs book
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", TWO_PATH_CASES, ids=lambda c: c.id)
def test_book_path_still_matches_torch(case, dtype):
    assert_dtype_preserved(check(run_layer_case(book_variant(case), dtype)), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", TWO_PATH_CASES, ids=lambda c: c.id)
def test_fast_matches_book(case, dtype):
    rng = np.random.default_rng(7)
    ref, _ = case.build(rng, np.dtype(dtype))
    x = case.inputs(rng, np.dtype(dtype))["x"]
    fast_out = ref.forward(x)
    dout = rng.standard_normal(fast_out.shape).astype(dtype)
    check(fast_vs_book_records(ref, x, dout, case_tolerance(case, dtype), case.layer, case.config))


# ------------------------------------------------------------------------------------------
# Hypothesis sweeps (no torch: cheap), the same strategies as test_sweeps.py
# ------------------------------------------------------------------------------------------

def _sweep_layer(case, rng, dtype):
    """The reference layer and input of a drawn case (its torch twin is not used here)."""
    ref, _ = case.build(rng, np.dtype(dtype))
    return ref, case.inputs(rng, np.dtype(dtype))["x"]


@settings(max_examples=60)
@given(config=S.conv_configs())
def test_conv_fast_vs_book_sweep(config):
    """Includes groups, dilation, per-axis stride/pad, "same"/"valid" and no bias."""
    case = conv_case(**config)
    rng = np.random.default_rng(1)
    for dtype in (np.float64, np.float32):
        ref, x = _sweep_layer(case, rng, dtype)
        dout = rng.standard_normal(ref.forward(x).shape).astype(dtype)
        check(fast_vs_book_records(ref, x, dout, case_tolerance(case, dtype), "Convolution", config))


@settings(max_examples=60)
@given(config=S.pool_configs())
def test_maxpool_fast_equals_book_sweep(config):
    """Max pooling selects, it does not round: both paths agree to the bit (ties, dilation and
    ceil mode included), and so do their ``flat_indices``."""
    case = pool_case(**config)
    rng = np.random.default_rng(2)
    for dtype in (np.float64, np.float32):
        ref, x = _sweep_layer(case, rng, dtype)
        dout = rng.standard_normal(ref.forward(x).shape).astype(dtype)
        book = copy.deepcopy(ref)
        (y_f, dx_f), (y_b, dx_b) = _run_both(ref, x, dout, book)
        assert y_f.dtype == dx_f.dtype == dtype
        np.testing.assert_array_equal(y_f, y_b)
        np.testing.assert_array_equal(dx_f, dx_b)
        np.testing.assert_array_equal(ref.flat_indices(), book.flat_indices())


@settings(max_examples=60)
@given(config=S.avgpool_configs())
def test_avgpool_fast_vs_book_sweep(config):
    """The gradient is bit-identical (same shares added in the same order); the forward sum may
    round differently for windows of 8 or more (NumPy's pairwise sum in the book's path).
    Includes ceil mode and divisor_override."""
    case = avgpool_case(**config)
    rng = np.random.default_rng(3)
    for dtype in (np.float64, np.float32):
        ref, x = _sweep_layer(case, rng, dtype)
        dout = rng.standard_normal(ref.forward(x).shape).astype(dtype)
        (y_f, dx_f), (y_b, dx_b) = _run_both(ref, x, dout)
        check([compare("AvgPooling", "output", y_f, y_b,
                       reduction_tolerance(dtype, config["ph"] * config["pw"]), config=config,
                       group="fast-vs-book")])
        np.testing.assert_array_equal(dx_f, dx_b)
        assert y_f.dtype == dx_f.dtype == dtype


# ------------------------------------------------------------------------------------------
# dtype, determinism, conventions
# ------------------------------------------------------------------------------------------

def _conv(dtype, rng, **kw):
    W = rng.standard_normal((4, 3, 3, 3)).astype(dtype)
    return R.Convolution(W, rng.standard_normal(4).astype(dtype), **kw)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_path_keeps_the_dtype(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 9, 8)).astype(dtype)
    for layer in (_conv(dtype, rng, stride=2, pad=1), R.Pooling(3, 3, 2, 1), R.AvgPooling(3, 3, 2, 1),
                  R.AvgPooling(2, 2, 2, count_include_pad=False), R.Pooling(2, 2, 2)):
        y = layer.forward(x)
        dx = layer.backward(np.ones_like(y))
        assert y.dtype == dx.dtype == dtype, type(layer).__name__
        for attr in ("dW", "db"):
            if hasattr(layer, attr):
                assert getattr(layer, attr).dtype == dtype


def test_fast_path_is_deterministic_to_the_bit():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 3, 16, 16)).astype(np.float32)
    conv = _conv(np.float32, rng, pad=1)
    dout = rng.standard_normal((8, 4, 16, 16)).astype(np.float32)
    runs = []
    for _ in range(3):
        layer = copy.deepcopy(conv)
        y = layer.forward(x)
        runs.append([a.tobytes() for a in (y, layer.backward(dout), layer.dW, layer.db)])
    assert runs[0] == runs[1] == runs[2]


def test_simple_convnet_uses_the_fast_path_and_both_paths_agree():
    net = R.SimpleConvNet(dtype=np.float32, rng=0)
    assert all(layer.method == "fast" for layer in net.layers.values() if hasattr(layer, "method"))
    rng = np.random.default_rng(0)
    x = rng.random((6, 1, 28, 28)).astype(np.float32)
    t = rng.integers(0, 10, 6)
    fast = net.gradient(x, t)
    book_net = copy.deepcopy(net)
    for layer in book_net.layers.values():
        if hasattr(layer, "method"):
            layer.method = "book"
    book = book_net.gradient(x, t)
    tol = reduction_tolerance(np.float32, 6 * 24 * 24)
    check([compare("SimpleConvNet", "d" + key, fast[key], book[key], tol, group="fast-vs-book")
           for key in fast])
    assert all(g.dtype == np.float32 for g in fast.values())


def test_maxpool_nan_and_inf_like_the_book():
    """NaN wins a window (the first NaN gets the gradient); ±inf in x or in dout is exact."""
    x = np.arange(2 * 3 * 6 * 6, dtype=np.float64).reshape(2, 3, 6, 6) % 7 - 3
    x[0, 0, 1, 1] = np.nan
    x[1, 2, 2, 3] = x[1, 2, 3, 3] = np.nan
    x[0, 1, 4, 4] = np.inf
    x[1, 1, 0, :] = -np.inf
    for pool in (R.Pooling(2, 2, 2), R.Pooling(3, 3, 2, 1), R.Pooling(2, 2, 1)):
        y = pool.forward(x)
        dout = np.ones_like(y)
        dout[0, 0, 0, 0] = np.nan
        dout[1, 1, 0, 0] = np.inf
        (y_f, dx_f), (y_b, dx_b) = _run_both(pool, x, dout)
        np.testing.assert_array_equal(y_f, y_b)
        np.testing.assert_array_equal(dx_f, dx_b)


def test_maxpool_ties_go_to_the_first_maximum():
    x = np.zeros((1, 1, 4, 4))
    pool = R.Pooling(2, 2, 2)
    pool.forward(x)
    dx = pool.backward(np.ones((1, 1, 2, 2)))
    assert dx[0, 0].tolist() == [[1, 0, 1, 0], [0, 0, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]]


def test_large_pool_window_index_fits():
    """More than 256 offsets in a window: the index type grows (uint16)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 2, 17, 17))
    x[0, 1, 16, 16] = 99.0                     # the last offset, 288
    (y_f, dx_f), (y_b, dx_b) = _run_both(R.Pooling(17, 17, 1), x, np.ones((1, 2, 1, 1)))
    np.testing.assert_array_equal(y_f, y_b)
    np.testing.assert_array_equal(dx_f, dx_b)
    assert dx_f[0, 1, 16, 16] == 1


def test_method_must_be_fast_or_book():
    with pytest.raises(ValueError, match=r'method must be "fast".*or "book".*got \'im2col\''):
        R.Convolution(np.zeros((1, 1, 2, 2)), np.zeros(1), method="im2col")
    with pytest.raises(ValueError, match="method must be"):
        R.Pooling(2, 2, method=None)
    pool = R.AvgPooling(2, 2)
    pool.method = "Book"
    with pytest.raises(ValueError, match="method must be"):
        pool.forward(np.zeros((1, 1, 4, 4)))


# ------------------------------------------------------------------------------------------
# Building blocks
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stride, pad", [(1, 0), (2, 1), (3, 2)])
def test_unfold_is_im2col_in_another_layout(stride, pad):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 2, 9, 7)).astype(np.float32)
    col = U.unfold(x, 3, 2, stride, pad)
    book = U.im2col(x, 3, 2, stride, pad)
    N, K, L = col.shape
    assert col.dtype == np.float32 and col.flags.c_contiguous
    np.testing.assert_array_equal(col.transpose(0, 2, 1).reshape(N * L, K), book)
    # fold is col2im in the same layout, added in the same order: equal to the bit
    c = rng.standard_normal(col.shape).astype(np.float32)
    np.testing.assert_array_equal(U.fold(c, x.shape, 3, 2, stride, pad),
                                  U.col2im(c.transpose(0, 2, 1).reshape(N * L, K), x.shape, 3, 2, stride, pad))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fold_is_the_adjoint_of_unfold(dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 7, 6)).astype(dtype)
    col = U.unfold(x, 3, 2, stride=2, pad=1)
    c = rng.standard_normal(col.shape).astype(dtype)
    back = U.fold(c, x.shape, 3, 2, stride=2, pad=1)
    assert back.dtype == dtype
    lhs, rhs = float(np.sum(col.astype(np.float64) * c)), float(np.sum(x.astype(np.float64) * back))
    assert abs(lhs - rhs) <= (1e-4 if dtype == np.float32 else 1e-12) * abs(lhs)


@pytest.mark.parametrize("shape, k, stride, pad", [((2, 3, 8, 8), 2, 2, 0), ((2, 3, 7, 9), 3, 2, 1),
                                                   ((1, 2, 9, 9), 3, 3, 0), ((1, 1, 5, 5), 2, 1, 0)])
def test_fold_offsets_is_the_adjoint_of_the_window_slices(shape, k, stride, pad):
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape)
    out_h, out_w = (U.conv_output_size(n, k, stride, pad) for n in shape[2:])
    padded = U.pad_images(x, pad)
    cols = np.stack([padded[s] for s in U.window_slices(k, k, stride, out_h, out_w)])
    assert cols.shape == (k * k,) + shape[:2] + (out_h, out_w)
    # the k-th view is the k-th (row-major) element of every window
    np.testing.assert_array_equal(cols.transpose(1, 2, 3, 4, 0),
                                  U.window_view(x, k, k, stride, pad).reshape(cols.shape[1:] + (k * k,)))
    c = rng.standard_normal(cols.shape)
    back = U.fold_offsets(c, shape, k, k, stride, pad)
    assert back.shape == shape
    assert np.isclose(np.sum(cols * c), np.sum(x * back), rtol=1e-12)
    # the generator form gives the same result
    np.testing.assert_array_equal(U.fold_offsets((b for b in c), shape, k, k, stride, pad), back)


def test_window_view_copies_nothing():
    x = np.arange(2 * 3 * 6 * 5, dtype=np.float64).reshape(2, 3, 6, 5)
    w = U.window_view(x, 3, 2, stride=2)
    assert w.shape == (2, 3, 2, 2, 3, 2) and np.shares_memory(w, x)
    np.testing.assert_array_equal(w[1, 2, 1, 1], x[1, 2, 2:5, 2:4])


@pytest.mark.parametrize("chunk_bytes", [1, 3000])
def test_conv_in_blocks_of_images_matches_the_whole_batch(monkeypatch, chunk_bytes):
    """A large input is convolved a few images at a time (``CHUNK_BYTES``) and unfolded again in
    backward: same results as the whole batch at once (dW summed in another order)."""
    import reference.layers as L
    rng = np.random.default_rng(5)
    x = rng.standard_normal((7, 3, 9, 8))
    conv = _conv(np.float64, rng, stride=2, pad=1)
    dout = rng.standard_normal(conv.forward(x).shape)
    whole = copy.deepcopy(conv)
    y_whole, dx_whole = whole.forward(x), whole.backward(dout)
    monkeypatch.setattr(L, "CHUNK_BYTES", chunk_bytes)   # 1 byte: one image per block
    y, dx = conv.forward(x), conv.backward(dout)
    assert conv.col is None                              # the windows were not kept
    np.testing.assert_array_equal(y, y_whole)
    np.testing.assert_array_equal(dx, dx_whole)
    np.testing.assert_allclose(conv.dW, whole.dW, rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(conv.db, whole.db)


def test_non_contiguous_inputs_and_gradients():
    """Views (a transposed or sliced x, a transposed dout) give the same results as copies."""
    rng = np.random.default_rng(6)
    base = rng.standard_normal((3, 2, 10, 9))
    x = base.transpose(0, 1, 3, 2)[:, :, ::1, 1:]          # (3, 2, 9, 9), not contiguous
    conv = R.Convolution(rng.standard_normal((4, 2, 3, 3)), rng.standard_normal(4), stride=2, pad=1)
    for layer in (conv, R.Pooling(2, 2, 2), R.Pooling(3, 3, 2, 1), R.AvgPooling(3, 3, 2, 1)):
        y = layer.forward(x)
        dout = np.ascontiguousarray(rng.standard_normal(y.shape[::-1])).T   # a transposed view
        dx = layer.backward(dout)
        twin = copy.deepcopy(layer)
        y2, dx2 = twin.forward(np.ascontiguousarray(x)), twin.backward(np.ascontiguousarray(dout))
        np.testing.assert_array_equal(y, y2)
        np.testing.assert_array_equal(dx, dx2)


@pytest.mark.parametrize("build", [
    lambda: R.SimpleConvNet(dtype=np.float64, rng=0),
    lambda: R.LeNet5(c3_table=True, dtype=np.float64, rng=0),
    lambda: R.AlexNet(**RA.MNIST, dtype=np.float64, rng=0),
], ids=["SimpleConvNet", "LeNet5", "AlexNet-mnist"])
def test_gradient_skips_only_the_images_gradient(build, monkeypatch):
    """``net.gradient`` never computes dx of the first layer (as torch skips it for an input
    that does not require grad), and every dW, db is bit for bit the full backward pass's."""
    net = build()
    rng = np.random.default_rng(0)
    x = rng.random((3,) + net.input_dim)
    t = rng.integers(0, net.output_size, 3)
    masks = {"masks": net.dropout_masks(3, np.random.default_rng(1))} if hasattr(net, "dropout_masks") else {}
    full = copy.deepcopy(net)
    dx = full.backward_layers(x, t, **masks)
    assert dx.shape == x.shape

    first = next(iter(net.layers.values()))
    calls = []
    original = type(first).input_gradient
    monkeypatch.setattr(type(first), "input_gradient",
                        lambda self, dout: calls.append(self) or original(self, dout))
    grads = net.gradient(x, t, **masks)
    assert first not in calls                      # later convolutions still get their dx
    assert len(calls) == sum(isinstance(layer, R.Convolution) for layer in net.layers.values()) - 1
    full_grads = full._layer_gradients()
    assert grads.keys() == full_grads.keys()
    for key in grads:
        assert grads[key].tobytes() == full_grads[key].tobytes(), key
