"""Lockstep training: the reference and torch train from the same weights on the same batches."""
import os

import numpy as np
import pytest

from reports.mnist.data import full_mnist_dir, load_mnist
from reports.mnist.training import LOCKSTEP_TOL, train_lockstep, training_records, write_training_csvs

from .conftest import check


@pytest.fixture(scope="module")
def small_data():
    """The embedded sample, cut to 2,000 training / 500 test images to keep the tier fast."""
    (x_train, t_train), (x_test, t_test) = load_mnist()
    return (x_train[:2000], t_train[:2000]), (x_test[:500], t_test[:500])


@pytest.mark.parametrize("optimizer,lr", [("sgd", 0.1), ("adam", 0.001)])
def test_float64_lockstep_200_steps(small_data, optimizer, lr):
    result = train_lockstep(small_data, optimizer=optimizer, lr=lr, batch_size=10, steps=200,
                            dtype="float64", param_every=50, train_eval_limit=500, progress=False)
    records = check(training_records(result))
    ref = result.curves[result.curves.framework == "reference"]
    assert len(ref) == 200 and ref.step.tolist() == list(range(1, 201))
    assert ref.loss_rel_diff.max() <= LOCKSTEP_TOL["float64"]["loss"].rtol       # every step
    assert result.final_param_rel_diff <= LOCKSTEP_TOL["float64"]["params"].rtol
    assert records[0].quantity == "loss per step (steps 1–200)"
    accs = result.epochs.set_index("framework")
    assert accs.loc["reference", "test_acc"] == accs.loc["torch", "test_acc"]
    assert ref.loss.iloc[-20:].mean() < ref.loss.iloc[:20].mean()   # it learns


@pytest.mark.parametrize("net", ["lenet5", "alexnet-mnist"])
def test_lenet5_and_alexnet_mnist_lockstep_float64(small_data, net):
    """The book's §7.7 nets: sigmoid + average pooling (LeNet-5); LRN + dropout with one set of
    masks per step given to both frameworks (the MNIST AlexNet-style net)."""
    (x, t), (xs, ts) = small_data
    data = ((x[:600], t[:600]), (xs[:200], ts[:200]))
    result = train_lockstep(data, net=net, optimizer="adam", lr=0.001, batch_size=10, steps=40,
                            dtype="float64", param_every=10, progress=False)
    check(training_records(result))
    tol = LOCKSTEP_TOL["float64"]
    assert result.curves.loss_rel_diff.max() <= tol["loss"].rtol
    assert result.final_param_rel_diff <= tol["params"].rtol


def test_alexnet_mnist_float32_first_steps_in_lockstep(small_data):
    """float32, dropout masks shared, LRN and pooling in float32: the first 10 steps stay within
    float32 rounding (later a ReLU/max-pool decision may flip and the runs drift apart)."""
    (x, t), (xs, ts) = small_data
    data = ((x[:600], t[:600]), (xs[:200], ts[:200]))
    result = train_lockstep(data, net="alexnet-mnist", optimizer="sgd", lr=0.01, batch_size=20,
                            steps=10, dtype="float32", param_every=5, progress=False)
    records = training_records(result)
    check(records[:1])
    assert result.curves.loss_rel_diff.max() <= 1e-5 and result.final_param_rel_diff <= 1e-5


def test_float32_lockstep_first_steps_then_outcome(small_data):
    """float32: the first 10 steps agree to ~1e-5 relative; then rounding differences are
    amplified by training, so the runs are compared by outcome (accuracy within 1 point)."""
    result = train_lockstep(small_data, optimizer="adam", lr=0.001, batch_size=10, steps=80,
                            dtype="float32", param_every=40, train_eval_limit=500, progress=False)
    check(training_records(result))
    accs = result.epochs.set_index("framework").test_acc
    assert abs(accs["reference"] - accs["torch"]) <= 0.01
    assert result.curves.loss.dtype == np.float64        # the CSV stores losses as float64 numbers


def test_same_seed_gives_byte_identical_csv(small_data, tmp_path):
    (x, t), (xs, ts) = small_data
    small_data = ((x[:300], t[:300]), (xs[:100], ts[:100]))
    paths = []
    for run in ("a", "b"):
        result = train_lockstep(small_data, optimizer="momentum", lr=0.01, batch_size=25, steps=12,
                                seed=7, param_every=4, progress=False)
        paths.append(write_training_csvs(result, tmp_path / run))
    for a, b in zip(paths[0][:2], paths[1][:2]):
        assert open(a, "rb").read() == open(b, "rb").read()
    other = train_lockstep(small_data, optimizer="momentum", lr=0.01, batch_size=25, steps=12,
                           seed=8, param_every=4, progress=False)
    write_training_csvs(other, tmp_path / "c")
    assert open(paths[0][0], "rb").read() != open(tmp_path / "c" / "training_curves.csv", "rb").read()


def test_a_failed_write_leaves_no_csv_behind(small_data, tmp_path, monkeypatch):
    """An error while writing the second file: none of the three CSVs (and no temporary file)
    is left in --out; the earlier run's files there stay as they were."""
    import pandas as pd
    result = train_lockstep(small_data, optimizer="sgd", lr=0.01, batch_size=50, steps=2,
                            param_every=1, progress=False)
    out = tmp_path / "out"
    out.mkdir()
    (out / "training_curves.csv").write_text("earlier run\n")
    real = pd.DataFrame.to_csv
    calls = []

    def failing(self, path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(self, path, *args, **kwargs)
    monkeypatch.setattr(pd.DataFrame, "to_csv", failing)
    with pytest.raises(OSError, match="No space"):
        write_training_csvs(result, out)
    assert sorted(p.name for p in out.iterdir()) == ["training_curves.csv"]
    assert (out / "training_curves.csv").read_text() == "earlier run\n"
    monkeypatch.setattr(pd.DataFrame, "to_csv", real)
    paths = write_training_csvs(result, out)
    assert sorted(p.name for p in out.iterdir()) == sorted(os.path.basename(p) for p in paths)


def test_csv_schema(small_data, tmp_path):
    result = train_lockstep(small_data, optimizer="adagrad", lr=0.01, batch_size=50, steps=3,
                            param_every=1, progress=False)
    curves, epochs, _ = write_training_csvs(result, tmp_path)
    header = open(curves).readline().strip().split(",")
    assert header[:7] == ["net", "optimizer", "dtype", "framework", "epoch", "step", "loss"]
    assert open(epochs).readline().strip() == "net,optimizer,dtype,framework,epoch,train_acc,test_acc"
    assert sorted(result.curves.framework.unique()) == ["reference", "torch"]


def test_book_sampling_with_replacement_still_lockstep(small_data):
    result = train_lockstep(small_data, optimizer="sgd", lr=0.05, batch_size=20, steps=15,
                            sampling="replacement", progress=False)
    assert result.curves.loss_rel_diff.max() <= LOCKSTEP_TOL["float64"]["loss"].rtol


@pytest.mark.parametrize("kwargs,match", [
    ({"optimizer": "book_adam"}, "exact torch.optim counterpart"),
    ({"net": "resnet"}, "net must be one of"),
    ({"batch_size": 5000}, "larger than the 2000 training images"),
    ({"sampling": "bootstrap"}, "sampling must be"),
])
def test_bad_arguments(small_data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        train_lockstep(small_data, steps=1, progress=False, **kwargs)


@pytest.mark.slow
def test_full_mnist_one_epoch_book_hyperparameters():
    """SimpleConvNet, full MNIST, one epoch of Adam (lr 0.001, batch 100), the book's init (std 0.01).

    Measured here (seed 0, float64): 96.40 % test accuracy for both after one epoch, 97.62 %
    after two, 98.81 % after ten. The 97.5 % one might hope for after one epoch is not reached
    with the book's hyper-parameters, so the bar is 96 %; the frameworks within 0.3 points."""
    folder = full_mnist_dir()
    if folder is None:
        pytest.skip("full MNIST not found: set CNN_PARITY_MNIST_DIR to a folder with the four original .gz files")
    result = train_lockstep(load_mnist(folder), optimizer="adam", lr=0.001, batch_size=100, epochs=1,
                            dtype="float64", param_every=100, progress=False)
    check(training_records(result))
    accs = result.epochs.set_index("framework").test_acc
    assert accs["reference"] >= 0.96 and accs["torch"] >= 0.96
    assert abs(accs["reference"] - accs["torch"]) <= 0.003
