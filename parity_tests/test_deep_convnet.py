"""DeepConvNet (the book's §8.1) and the book's trained weights as known answers.

The parity of the registered DeepConvNet case (forward, backward, every gradient, float64 and
float32, dropout masks shared) runs in ``test_nets.py``. This file checks the structure, the
weight loader (``reference.read_params``, the same for the book's ``params.pkl`` and
``deep_convnet_params.pkl``), the two dropout conventions with the book's weights, the known
answer (the book's accuracy 0.9797 on the full MNIST test set: slow tier) and the half-precision
measurements of ``reports.mnist.precision``. Tests that need the book's files skip without them
(they live outside the project: ``../shared/book`` or ``$CNN_PARITY_BOOK_DIR``).
"""
import importlib.util
import os
import pickle
import sys

import numpy as np
import pytest
import torch

import reference as R
import torch_impl
from reports.mnist import book, precision
from reports.mnist.data import full_mnist_dir
from reports.parity import configs
from torch_impl.transfer import load_params

from .conftest import check

BOOK = book.book_dir()
needs_book = pytest.mark.skipif(BOOK is None, reason="the book's code and weights (../shared/book) are absent")

#: The book's own accuracy with its DeepConvNet weights on the 10,000 test images (SOURCE.md).
BOOK_ACCURACY = 0.9797


@pytest.fixture(scope="module")
def book_code():
    """Import a module of the book's own code by its path under the book's folder (its files
    import ``common.*`` from the folder above them), then forget ``common`` again."""
    added = [str(BOOK)]
    sys.path[:0] = added
    before = set(sys.modules)

    def load(relative):
        path = BOOK / relative
        sys.path.insert(0, str(path.parent))
        added.append(str(path.parent))
        spec = importlib.util.spec_from_file_location(f"book_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    yield load
    for entry in added:
        sys.path.remove(entry)
    for name in set(sys.modules) - before:
        if name == "common" or name.startswith("common.") or name.startswith("book_"):
            del sys.modules[name]


@pytest.fixture(scope="module")
def slice_():
    """The first 10 test images of the embedded sample, read as the book reads them."""
    return book.book_test_set(n=10)


@pytest.fixture(scope="module")
def book_scores(book_code, slice_):
    """The book's own DeepConvNet, with its own load_params, at test time on the slice."""
    theirs = book_code("ch08/deep_convnet.py").DeepConvNet()
    theirs.load_params(str(book.book_file(book.DEEP_CONVNET_PARAMS)))
    return theirs.predict(slice_[0], train_flg=False)


# ---------------------------------------------------------------------------------------------
# Structure
# ---------------------------------------------------------------------------------------------

def test_layers_shapes_and_parameter_count_are_the_books():
    ref = R.DeepConvNet(weight_init_std=0.0)
    twin = torch_impl.DeepConvNet(weight_init_std=0.0)
    assert list(ref.layers) == [
        "Conv1", "Relu1", "Conv2", "Relu2", "Pool1", "Conv3", "Relu3", "Conv4", "Relu4", "Pool2",
        "Conv5", "Relu5", "Conv6", "Relu6", "Pool3", "Affine1", "Relu7", "Dropout1", "Affine2", "Dropout2"]
    assert [n for n, _ in twin.named_children() if n != "Flatten"] == list(ref.layers)
    assert ref.output_shapes["Conv4"] == (32, 16, 16) and ref.output_shapes["Pool3"] == (64, 4, 4)
    assert ref.params["W7"].shape == (64 * 4 * 4, 50)           # the book's hand-written 64*4*4
    # the book's sizes: 6 convolutions 3×3 (16, 16, 32, 32, 64, 64 filters), 1024 -> 50 -> 10
    assert sum(a.size for a in ref.params.values()) == 123_552
    assert sum(p.numel() for p in twin.parameters()) == 123_552
    assert set(twin.book_params) == set(ref.params) == set(ref.PARAM_LAYERS)
    assert ref.dropout_shapes == {"Dropout1": (50,), "Dropout2": (10,)}


def test_he_init_seeded_and_dtype_preserved():
    a = R.DeepConvNet(dtype=np.float32, rng=3)
    b = R.DeepConvNet(dtype=np.float32, rng=np.random.default_rng(3))
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert all(v.dtype == np.float32 for v in a.params.values())
    x = np.random.default_rng(0).random((2, 1, 28, 28)).astype(np.float32)
    assert a.predict(x).dtype == np.float32
    # He: std sqrt(2 / fan_in); W7 has 51,200 draws, fan_in 1024
    assert abs(a.params["W7"].std() / np.sqrt(2 / 1024) - 1) < 0.02


def test_other_input_sizes_and_bad_arguments():
    ref = R.DeepConvNet(input_dim=(3, 20, 20), hidden_size=8, output_size=4)
    assert ref.output_shapes["Pool3"] == (64, 3, 3) and ref.params["W7"].shape == (576, 8)
    twin = torch_impl.DeepConvNet(input_dim=(3, 20, 20), hidden_size=8, output_size=4)
    assert twin.Affine1.in_features == 576
    with pytest.raises(ValueError, match="smaller than the 2×2 pool"):
        R.DeepConvNet(input_dim=(1, 3, 3))
    with pytest.raises(ValueError, match="conv_param_3"):
        R.DeepConvNet(conv_param_3={"filter_num": 4})
    with pytest.raises(ValueError, match="dropout_ratio"):
        torch_impl.DeepConvNet(dropout_ratio=1.0)


# ---------------------------------------------------------------------------------------------
# The loader of the book's weight files
# ---------------------------------------------------------------------------------------------

def test_read_params_round_trip_and_refusals(tmp_path):
    params = {"W1": np.arange(6.0).reshape(2, 3), "b1": np.zeros(3, np.float32)}
    good = tmp_path / "params.pkl"
    good.write_bytes(pickle.dumps(params))
    back = R.read_params(good)
    assert back.keys() == params.keys() and all(np.array_equal(back[k], params[k]) for k in params)
    assert back["b1"].dtype == np.float32
    # a pickle may name any function: one that names something other than NumPy's is refused
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps({"W1": np.zeros(2), "b1": os.getcwd}))
    with pytest.raises(ValueError, match="refers to .*getcwd"):
        R.read_params(evil)
    not_dict = tmp_path / "list.pkl"
    not_dict.write_bytes(pickle.dumps([np.zeros(2)]))
    with pytest.raises(ValueError, match="dict of named NumPy arrays"):
        R.read_params(not_dict)


def test_load_params_copies_into_the_shared_arrays_and_checks_names_and_shapes():
    net = R.SimpleConvNet(rng=0)
    other = R.SimpleConvNet(rng=1, dtype=np.float32)
    W1 = net.params["W1"]
    assert net.load_params(other.params) is net
    assert net.params["W1"] is W1 and net.layers["Conv1"].W is W1       # same arrays, new values
    assert np.array_equal(W1, other.params["W1"].astype(np.float64)) and W1.dtype == np.float64
    with pytest.raises(ValueError, match=r"missing \['b3'\]"):
        net.load_params({k: v for k, v in other.params.items() if k != "b3"})
    with pytest.raises(ValueError, match="W2 has shape"):
        net.load_params({**other.params, "W2": np.zeros((3, 3))})


@needs_book
def test_the_books_simple_convnet_weights_through_the_same_loader(book_code, slice_):
    """``params.pkl`` through ``read_params`` / ``load_params``: the book's own SimpleConvNet
    with its own ``load_params`` predicts the same classes (and the same scores, to rounding)."""
    x, t = slice_
    ref = book.book_simple_convnet()
    theirs = book_code("ch07/simple_convnet.py").SimpleConvNet()
    theirs.load_params(str(book.book_file(book.SIMPLE_CONVNET_PARAMS)))
    np.testing.assert_allclose(ref.predict(x), theirs.predict(x), rtol=1e-12, atol=1e-12)
    assert ref.accuracy(x, t) >= 0.9


# ---------------------------------------------------------------------------------------------
# The book's DeepConvNet weights: two dropout conventions, one prediction
# ---------------------------------------------------------------------------------------------

@needs_book
def test_book_weights_identical_predictions_reference_twin_and_book(slice_, book_scores):
    """On a slice: the reference and the twin (inverted dropout, W8 folded) predict the same
    classes as the book's own code, with scores exactly 1/(1 − p) = 2 times the book's; the
    reference with the book's dropout convention and the file unchanged gives the book's scores."""
    x, t = slice_
    answer = book.deep_convnet_answer(x, t)
    check([answer.record])
    assert answer.disagreements == 0 and answer.accuracy == answer.twin_accuracy
    np.testing.assert_allclose(answer.scores, 2 * book_scores, rtol=1e-12, atol=1e-12)
    assert np.array_equal(answer.scores.argmax(axis=1), book_scores.argmax(axis=1))
    assert answer.accuracy == float(np.mean(book_scores.argmax(axis=1) == t))
    as_book = R.DeepConvNet(inverted_dropout=False).load_book_params(book.book_file(book.DEEP_CONVNET_PARAMS))
    np.testing.assert_allclose(as_book.predict(x[:4]), book_scores[:4], rtol=1e-12, atol=1e-12)


@needs_book
def test_book_weights_unfolded_are_not_a_multiple_of_the_books_scores(slice_, book_scores):
    """The published weights put unchanged into an inverted-dropout net: h·W8 + b8 against the
    book's (1 − p)·((1 − p)·h·W8 + b8). The bias is not scaled, so the ratio is not one factor
    (the twin stands for the inverted net here: it is the cheaper one to run)."""
    x, _ = slice_
    unfolded = _twin_with(R.read_params(book.book_file(book.DEEP_CONVNET_PARAMS)))
    ratio = book.scores(unfolded, x) / book_scores
    assert np.ptp(ratio[np.abs(book_scores) > 1]) > 0.1, "the ratio would be one factor only if b8 were 0"
    folded = _twin_with(R.book_to_inverted(R.read_params(book.book_file(book.DEEP_CONVNET_PARAMS))))
    np.testing.assert_allclose(book.scores(folded, x) / book_scores, 2.0, rtol=1e-9)


def _twin_with(params):
    return load_params(torch_impl.DeepConvNet(weight_init_std=0.0), params).eval()


@pytest.mark.slow
@pytest.mark.skipif(BOOK is None or full_mnist_dir() is None,
                    reason="needs the book's weights (../shared/book) and full MNIST ($CNN_PARITY_MNIST_DIR)")
def test_book_accuracy_on_the_full_test_set():
    """The known answer: 0.9797 on the 10,000 test images, through the reference and the twin,
    with identical predictions; the unfolded weights change some predictions."""
    x, t = book.book_test_set(full_mnist_dir())
    assert len(x) == 10_000
    answer = book.deep_convnet_answer(x, t)
    check([answer.record])
    assert answer.accuracy == answer.twin_accuracy == BOOK_ACCURACY
    assert answer.disagreements == 0
    unfolded = _twin_with(R.read_params(book.book_file(book.DEEP_CONVNET_PARAMS)))
    _, twin = book.book_deep_convnet()
    changed = book.scores(unfolded, x).argmax(axis=1) != book.scores(twin, x).argmax(axis=1)
    assert changed.any(), "with b8 unscaled some image should change class (see reference.deep_convnet)"


# ---------------------------------------------------------------------------------------------
# Half precision, really
# ---------------------------------------------------------------------------------------------

@needs_book
def test_autocast_computes_each_layer_in_half_precision(slice_):
    _, twin32 = book.book_deep_convnet(dtype=np.float32)
    x = slice_[0][:2].astype(np.float32)
    for dtype, config in (("float16", "autocast-fp16"), ("bfloat16", "autocast-bf16")):
        if configs.unavailable(configs.by_name(config)):
            continue
        seen = precision.layer_dtypes(twin32, x, dtype)
        assert seen[0] == ("Conv1", "float32", dtype)              # the images come in float32
        assert all(out == dtype for _, _, out in seen), seen       # every layer's output is half
    assert all(out == "float32" for _, _, out in precision.layer_dtypes(twin32, x))


@needs_book
def test_precision_study_judges_against_float64(slice_, monkeypatch):
    """Book-style rounding (float64 arithmetic) errs less than computing in the same format;
    every flip sits at a float64 margin within twice the score error; a variant that cannot run
    says why."""
    x, t = slice_[0][:6], slice_[1][:6]
    names = ("float64", "float32", "book-bfloat16", "autocast-bf16")
    res = {r.variant: r for r in precision.precision_study(x, t, names)}
    assert all(r.unavailable is None for r in res.values()), res
    assert res["float64"].agreement == 1.0 and res["float64"].max_abs_err == 0.0
    assert res["float32"].max_abs_err < 1e-4 * res["float32"].scale
    assert res["float32"].max_abs_err < res["book-bfloat16"].max_abs_err < res["autocast-bf16"].max_abs_err
    for r in res.values():
        assert r.widest_flip_margin <= 2 * r.max_abs_err
        assert r.agreement == 1 - r.flips / r.n
    given = precision.precision_study(x, t, names, oracle=book.deep_convnet_answer(x, t).scores)
    assert {r.variant: r for r in given} == res                    # the answer's scores are the oracle
    monkeypatch.setattr(configs, "unavailable", lambda cfg: "no autocast here")
    (r,) = precision.precision_study(x[:2], t[:2], ("autocast-fp16",))
    assert r.unavailable == "no autocast here" and r.accuracy is None
    assert "unavailable: no autocast here" in precision.format_precision([r])
    with pytest.raises(ValueError, match="unknown variants"):
        precision.precision_study(x, t, ("float8",))


@pytest.mark.slow
@needs_book
def test_precision_study_on_a_thousand_images():
    """All variants on the first 1,000 test images (the float16 CPU kernels are slow: the full
    set is the documented command, docs/deepconvnet.md)."""
    x, t = book.book_test_set(n=1000)
    res = {r.variant: r for r in precision.precision_study(x, t)}
    for name in ("float16", "bfloat16"):
        assert res["book-" + name].max_abs_err < res[name].max_abs_err
    assert res["book-float16"].max_abs_err < res["autocast-fp16"].max_abs_err
    assert res["book-bfloat16"].max_abs_err < res["autocast-bf16"].max_abs_err
    for r in res.values():
        if r.unavailable is None:
            assert r.widest_flip_margin <= 2 * r.max_abs_err
            assert abs(r.accuracy - res["float64"].accuracy) <= r.flips / r.n
