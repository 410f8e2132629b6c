"""Lockstep training: the reference and torch train from the same weights on the same batches."""
import os

import numpy as np
import pandas as pd
import pytest

from reports.mnist.data import full_mnist_dir, load_mnist
from reports.mnist.training import (LOCKSTEP_TOL, epoch_line, train_lockstep, training_records,
                                    write_training_csvs)

from .conftest import check


@pytest.fixture(scope="module")
def small_data(mnist_sample):
    """The embedded sample, cut to 2,000 training / 500 test images."""
    (x_train, t_train), (x_test, t_test) = mnist_sample
    return (x_train[:2000], t_train[:2000]), (x_test[:500], t_test[:500])


@pytest.fixture(scope="module")
def tiny_data(mnist_sample):
    """120 training / 40 test images: for tests about the plumbing, not about learning."""
    (x_train, t_train), (x_test, t_test) = mnist_sample
    return (x_train[:120], t_train[:120]), (x_test[:40], t_test[:40])


# The default tier runs the reference optimizers with fused=False (a*b + c rounded twice,
# ~3× cheaper than the exact emulation of torch's fused multiply-add, and as close to torch as
# float64 rounding: the loss still agrees to ~1e-16 per step). Bit-exactness of the fused
# update is tested once per optimizer in test_optimizers.py (test_parity_with_torch_optim,
# test_bit_exact_with_torch_sqrt); the slow tier keeps the 200-step lockstep runs with it.

def _assert_float64_lockstep(result, steps):
    """Every step's loss and the final parameters within the float64 lockstep tolerances, the
    same test accuracy in both frameworks, and a loss that falls (the net learns)."""
    records = check(training_records(result))
    ref = result.curves[result.curves.framework == "reference"]
    assert len(ref) == steps and ref.step.tolist() == list(range(1, steps + 1))
    assert ref.loss_rel_diff.max() <= LOCKSTEP_TOL["float64"]["loss"].rtol       # every step
    assert result.final_param_rel_diff <= LOCKSTEP_TOL["float64"]["params"].rtol
    assert records[0].quantity == f"loss per step (steps 1–{steps})"
    accs = result.epochs.set_index("framework")
    assert accs.loc["reference", "test_acc"] == accs.loc["torch", "test_acc"]
    window = steps // 4
    assert ref.loss.iloc[-window:].mean() < ref.loss.iloc[:window].mean()   # it learns


@pytest.mark.parametrize("optimizer,lr", [pytest.param("sgd", 0.3, marks=pytest.mark.slow), ("adam", 0.001)])
def test_float64_lockstep(small_data, optimizer, lr):
    """40 steps of batch 10, every step's loss and the final parameters compared. Adam here; SGD
    (lr 0.3: with 0.1 it needs ~130 steps to leave the plateau of the book's small initial
    weights) in the slow tier, as plain SGD's float64 lockstep is checked at a smaller size by
    test_book_sampling_with_replacement_still_lockstep."""
    (x, t), (xs, ts) = small_data
    result = train_lockstep(((x, t), (xs[:200], ts[:200])), optimizer=optimizer, lr=lr, batch_size=10, steps=40,
                            dtype="float64", param_every=20, train_eval_limit=200, progress=False,
                            fused=False)
    _assert_float64_lockstep(result, steps=40)


@pytest.mark.slow
@pytest.mark.parametrize("optimizer,lr", [("sgd", 0.1), ("adam", 0.001)])
def test_float64_lockstep_200_steps_with_exact_fma(small_data, optimizer, lr):
    """The slow tier: 200 steps with the reference's exact emulation of torch's fused multiply-add."""
    result = train_lockstep(small_data, optimizer=optimizer, lr=lr, batch_size=10, steps=200,
                            dtype="float64", param_every=50, train_eval_limit=500, progress=False)
    _assert_float64_lockstep(result, steps=200)


@pytest.mark.parametrize("net", ["lenet5", "alexnet-mnist"])
def test_lenet5_and_alexnet_mnist_lockstep_float64(tiny_data, net):
    """The book's §7.7 nets: sigmoid + average pooling (LeNet-5); LRN + dropout with one set of
    masks per step given to both frameworks (the MNIST AlexNet-style net)."""
    result = train_lockstep(tiny_data, net=net, optimizer="adam", lr=0.001, batch_size=10, steps=8,
                            dtype="float64", param_every=4, progress=False, fused=False)
    check(training_records(result))
    tol = LOCKSTEP_TOL["float64"]
    assert result.curves.loss_rel_diff.max() <= tol["loss"].rtol
    assert result.final_param_rel_diff <= tol["params"].rtol


def test_alexnet_mnist_float32_first_steps_in_lockstep(tiny_data):
    """float32, dropout masks shared, LRN and pooling in float32: the first 10 steps stay within
    float32 rounding (later a ReLU/max-pool decision may flip and the runs drift apart)."""
    result = train_lockstep(tiny_data, net="alexnet-mnist", optimizer="sgd", lr=0.01, batch_size=10,
                            steps=10, dtype="float32", param_every=5, progress=False, fused=False)
    records = training_records(result)
    check(records[:1])
    assert result.curves.loss_rel_diff.max() <= 1e-5 and result.final_param_rel_diff <= 1e-5


def test_float32_lockstep_first_steps_then_outcome(small_data):
    """float32: the first 10 steps agree to ~1e-5 relative; then rounding differences are
    amplified by training, so the runs are compared by outcome (accuracy within 1 point)."""
    (x, t), (xs, ts) = small_data
    result = train_lockstep(((x, t), (xs[:200], ts[:200])), optimizer="adam", lr=0.001, batch_size=10,
                            steps=30, dtype="float32", param_every=30, train_eval_limit=200, progress=False,
                            fused=False)
    check(training_records(result))
    accs = result.epochs.set_index("framework").test_acc
    assert abs(accs["reference"] - accs["torch"]) <= 0.01
    assert result.curves.loss.dtype == np.float64        # the CSV stores losses as float64 numbers


def test_steps_means_steps_through_as_many_epochs_as_needed(tiny_data):
    """--steps 10 with 4 steps per epoch: 10 steps in 3 epochs (the last one partial, with its
    accuracy row), and ``on_epoch`` sees every completed epoch with everything so far."""
    (x, t), test = tiny_data
    tiny_data = ((x[:100], t[:100]), test)
    seen = []

    def on_epoch(result, epoch, n_epochs, seconds):
        seen.append((epoch, n_epochs, int(result.curves.step.max()), sorted(set(result.epochs.epoch))))
        assert seconds >= 0 and epoch_line(result, epoch, n_epochs, seconds).startswith(f"epoch {epoch}/3 (")
    result = train_lockstep(tiny_data, optimizer="sgd", lr=0.05, batch_size=25, steps=10, epochs=1,
                            param_every=5, progress=False, dtype="float32", fused=False, on_epoch=on_epoch)
    ref = result.curves[result.curves.framework == "reference"]
    assert ref.step.tolist() == list(range(1, 11)) and ref.epoch.tolist() == [1] * 4 + [2] * 4 + [3] * 2
    assert sorted(set(result.epochs.epoch)) == [1, 2, 3]
    assert seen == [(1, 3, 4, [1]), (2, 3, 8, [1, 2]), (3, 3, 10, [1, 2, 3])]
    assert len(train_lockstep(tiny_data, optimizer="sgd", lr=0.05, batch_size=25, epochs=2, param_every=5,
                              progress=False, dtype="float32", fused=False).curves) == 2 * 8


def test_same_seed_gives_byte_identical_csv(tiny_data, tmp_path):
    paths = []
    for run in ("a", "b"):
        result = train_lockstep(tiny_data, optimizer="momentum", lr=0.01, batch_size=20, steps=4,
                                seed=7, param_every=2, progress=False)
        paths.append(write_training_csvs(result, tmp_path / run))
    for a, b in zip(paths[0][:2], paths[1][:2]):
        assert open(a, "rb").read() == open(b, "rb").read()
    other = train_lockstep(tiny_data, optimizer="momentum", lr=0.01, batch_size=20, steps=4,
                           seed=8, param_every=2, progress=False)
    write_training_csvs(other, tmp_path / "c")
    assert open(paths[0][0], "rb").read() != open(tmp_path / "c" / "training_curves.csv", "rb").read()


def test_a_failed_write_leaves_no_csv_behind(tiny_data, tmp_path, monkeypatch):
    """An error while writing the second file: none of the three CSVs (and no temporary file)
    is left in --out; the earlier run's files there stay as they were."""
    result = train_lockstep(tiny_data, optimizer="sgd", lr=0.01, batch_size=50, steps=2,
                            param_every=1, progress=False, fused=False)
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


def test_csv_schema(tiny_data, tmp_path):
    result = train_lockstep(tiny_data, optimizer="adagrad", lr=0.01, batch_size=50, steps=3,
                            param_every=1, progress=False, fused=False)
    curves, epochs, _ = write_training_csvs(result, tmp_path)
    header = open(curves).readline().strip().split(",")
    assert header[:7] == ["net", "optimizer", "dtype", "framework", "epoch", "step", "loss"]
    assert open(epochs).readline().strip() == "net,optimizer,dtype,framework,epoch,train_acc,test_acc"
    assert sorted(result.curves.framework.unique()) == ["reference", "torch"]


def test_book_sampling_with_replacement_still_lockstep(tiny_data):
    result = train_lockstep(tiny_data, optimizer="sgd", lr=0.05, batch_size=20, steps=8,
                            sampling="replacement", progress=False, fused=False)
    assert result.curves.loss_rel_diff.max() <= LOCKSTEP_TOL["float64"]["loss"].rtol


@pytest.mark.parametrize("kwargs,match", [
    ({"optimizer": "book_adam"}, "exact torch.optim counterpart"),
    ({"net": "resnet"}, "net must be one of"),
    ({"batch_size": 5000}, "larger than the 120 training images"),
    ({"sampling": "bootstrap"}, "sampling must be"),
])
def test_bad_arguments(tiny_data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        train_lockstep(tiny_data, steps=1, progress=False, **kwargs)


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
