"""Lockstep training: the reference net and its torch twin train side by side, step by step.

Both start from the same weights (the reference's seeded init, moved by ``load_params``), see
the same minibatches in the same order (one seeded ``numpy.random.Generator`` draws them), and
use the same optimizer mathematics (``reference.optimizer`` reproduces ``torch.optim``). Any
difference in the curves is therefore rounding — or a bug, which is what we are looking for.

``train_lockstep(...)`` returns a :class:`TrainingResult` holding tidy DataFrames:
- ``curves``: one row per step per framework: net, optimizer, dtype, framework, epoch, step,
  loss, loss_abs_diff, loss_rel_diff (the same value on both rows of a step), param_rel_diff
  (every ``param_every`` steps: max over parameters of max|p_ref − p_torch| / max|p_torch|);
- ``epochs``: net, optimizer, dtype, framework, epoch, train_acc, test_acc;
- ``timing``: framework, epoch, step, seconds — kept apart because it is the only part that
  changes from run to run (the CSVs of the other two are byte-identical for the same seed).
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

import reference as R
import torch_impl
from reference.optimizer import OPTIMIZERS, TORCH_EQUIVALENT
from torch_impl.transfer import export_params, load_params

from ..errors import Interrupted, RunError, UsageError
from ..files import absolute, deferred_interrupt, replace_files
from ..parity import configs as C
from ..parity.records import Record, Tolerance, compare
from . import LOCKSTEP_OPTIMIZERS, NET_NAMES

__all__ = ["NETS", "LOCKSTEP_OPTIMIZERS", "TrainingResult", "train_lockstep", "training_records",
           "write_training_csvs", "epoch_line", "cmd_train"]



def _build_simple(input_dim, dtype, rng):
    """The book's SimpleConvNet (default hyper-parameters) and its twin with the same weights."""
    ref = R.SimpleConvNet(input_dim=input_dim, dtype=dtype, rng=rng)
    twin = torch_impl.SimpleConvNet(input_dim=input_dim, conv_param=dict(R.simple_convnet.DEFAULT_CONV_PARAM),
                                    dtype=dtype)
    return ref, load_params(twin, ref.params)


def _build_lenet5(input_dim, dtype, rng):
    """LeNet-5 as the book describes it (sigmoid, average pooling), Xavier init, full C3."""
    ref = R.LeNet5(input_dim=input_dim, dtype=dtype, rng=rng)
    twin = torch_impl.LeNet5(input_dim=input_dim, dtype=dtype)
    return ref, load_params(twin, ref.params)


def _build_alexnet_mnist(input_dim, dtype, rng):
    """The small AlexNet-style net for MNIST (ReLU, LRN, overlapping pooling, dropout), He init."""
    cfg = dict(R.alexnet.MNIST, input_dim=tuple(input_dim))
    ref = R.AlexNet(**cfg, dtype=dtype, rng=rng)
    twin = torch_impl.AlexNet(**cfg, dtype=dtype)
    return ref, load_params(twin, ref.params)


# name -> builder(input_dim, dtype, rng) -> (reference net, torch twin with the same weights)
NETS = {"simple": _build_simple, "lenet5": _build_lenet5, "alexnet-mnist": _build_alexnet_mnist}
assert tuple(NETS) == NET_NAMES, "reports.mnist.NET_NAMES lists the nets of NETS, in order"


@dataclass
class TrainingResult:
    curves: pd.DataFrame
    epochs: pd.DataFrame
    timing: pd.DataFrame
    first_layer: dict = field(default_factory=dict)   # "before", "reference", "torch" -> W1
    final_param_rel_diff: float = float("nan")

    def summary(self) -> dict:
        """The headline numbers: worst per-step loss difference, final accuracies, time per step."""
        c = self.curves[self.curves.framework == "reference"]
        out = {"steps": int(c.step.max()) if len(c) else 0,
               "max_loss_abs_diff": float(c.loss_abs_diff.max()),
               "max_loss_rel_diff": float(c.loss_rel_diff.max()),
               "final_param_rel_diff": self.final_param_rel_diff}
        last = self.epochs[self.epochs.epoch == self.epochs.epoch.max()]
        for row in last.itertuples():
            out[f"{row.framework}_test_acc"] = row.test_acc
            out[f"{row.framework}_train_acc"] = row.train_acc
        for fw, grp in self.timing.groupby("framework"):
            out[f"{fw}_median_step_s"] = float(grp.seconds.median())
        return out


def _param_rel_diff(ref_params: dict, twin) -> float:
    theirs = export_params(twin)
    worst = 0.0
    for key, mine in ref_params.items():
        scale = float(np.max(np.abs(theirs[key]))) or 1.0
        worst = max(worst, float(np.max(np.abs(mine.astype(np.float64) - theirs[key]))) / scale)
    return worst


def _accuracy_torch(run: C.Configured, x, t, batch_size) -> float:
    """The twin's accuracy (eager, eval mode; the forward pass under the configuration's autocast)."""
    with run.autocast():
        return run.module.accuracy(run.input(x), torch.from_numpy(t), batch_size=batch_size)


def _batches(rng, n, batch_size, sampling):
    """Index arrays of one epoch. ``permutation``: each sample once (torch DataLoader's shuffle);
    ``replacement``: the book's Trainer, ``rng.choice(n, batch_size)`` for every step."""
    steps = max(n // batch_size, 1)
    if sampling == "permutation":
        order = rng.permutation(n)
        return [order[i * batch_size:(i + 1) * batch_size] for i in range(steps)]
    if sampling == "replacement":
        return [rng.choice(n, batch_size) for _ in range(steps)]
    raise ValueError(f"sampling must be 'permutation' or 'replacement', got {sampling!r}")


def train_lockstep(data, *, net="simple", optimizer="adam", lr=0.001, batch_size=100, epochs=1,
                   steps=None, dtype="float64", seed=0, sampling="permutation", param_every=10,
                   eval_batch_size=500, train_eval_limit=None, progress=None, fused=True,
                   on_epoch=None, config=None) -> TrainingResult:
    """Train the reference net and its torch twin in lockstep; see the module docstring.

    data: ((x_train, t_train), (x_test, t_test)) as from ``reports.mnist.data.load_mnist`` (x in
    float64 or float32 — it is cast to ``dtype``; t integer labels). ``epochs`` passes over the
    training images, or, when ``steps`` is given, exactly ``steps`` steps through as many epochs
    as that takes (a last, partial epoch still gets its accuracy row). ``progress``: a tqdm bar
    on a terminal by default, nothing otherwise. ``train_eval_limit``: the per-epoch train
    accuracy uses only the first that many training images (the test accuracy always uses all).
    ``fused``: the reference optimizer reproduces torch's fused multiply-adds exactly (the same
    gradients give bit-identical updates); ``False`` rounds ``a*b + c`` twice — faster (float64
    Adam: ~3× on small batches), and the update may differ from torch's in the last bit. ``on_epoch(result, epoch, n_epochs, seconds)`` is called
    after every epoch with the :class:`TrainingResult` of the completed epochs (to write CSVs
    and print progress; see :func:`epoch_line`). ``config``: a ``reports.parity.configs.Configuration``
    the twin trains under, the whole run inside ``configs.configured`` (None: eager on the CPU); the
    curves then get a ``config`` column.
    """
    if net not in NETS:
        raise ValueError(f"net must be one of {sorted(NETS)}, got {net!r}")
    if optimizer not in LOCKSTEP_OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {list(LOCKSTEP_OPTIMIZERS)} (those with an exact "
                         f"torch.optim counterpart), got {optimizer!r}")
    if batch_size < 1 or epochs < 1 or (steps is not None and steps < 1) or param_every < 1:
        raise ValueError("batch_size, epochs, steps and param_every must be ≥ 1")
    if sampling not in ("permutation", "replacement"):
        raise ValueError(f"sampling must be 'permutation' or 'replacement', got {sampling!r}")
    dtype = np.dtype(dtype)
    (x_train, t_train), (x_test, t_test) = data
    x_train, x_test = x_train.astype(dtype, copy=False), x_test.astype(dtype, copy=False)
    t_train, t_test = t_train.astype(np.int64, copy=False), t_test.astype(np.int64, copy=False)
    if batch_size > len(x_train):
        raise ValueError(f"batch_size {batch_size} is larger than the {len(x_train)} training images")

    cfg = config or C.by_name("eager")
    reason = C.unavailable(cfg)
    if reason:
        raise ValueError(f"configuration {cfg.name} cannot run here: {reason}")

    rng = np.random.default_rng(seed)
    # Dropout masks come from their own stream, so adding dropout never changes the batches.
    mask_rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    ref, twin = NETS[net](x_train.shape[1:], dtype, rng)
    has_dropout = bool(getattr(ref, "dropout_shapes", None))
    ref_opt = OPTIMIZERS[optimizer](lr=lr, fused=fused)
    torch_cls = getattr(torch.optim, TORCH_EQUIVALENT[optimizer]["torch_class"].rsplit(".", 1)[1])
    first_layer = {"before": ref.params["W1"].copy()}

    per_epoch = max(len(x_train) // batch_size, 1)
    total = steps if steps else epochs * per_epoch
    n_epochs = -(-total // per_epoch)

    meta = {"net": net, "optimizer": optimizer, "dtype": dtype.name}
    if config is not None:
        meta["config"] = config.name
    curves, epoch_rows, timing = [], [], []
    step = 0
    param_diff = float("nan")

    def result_so_far():
        layer = dict(first_layer, reference=ref.params["W1"].copy(), torch=export_params(twin)["W1"])
        return TrainingResult(pd.DataFrame(curves), pd.DataFrame(epoch_rows), pd.DataFrame(timing),
                              layer, param_diff)

    with C.configured(cfg, twin) as run:        # the whole run under the configuration
        loss_of = run.compiled(run.module.loss)
        torch_opt = torch_cls(run.module.parameters(), **ref_opt.torch_kwargs())
        bar = _progress_bar(total, progress)
        try:
            for epoch in range(1, n_epochs + 1):
                started = time.perf_counter()
                for idx in _batches(rng, len(x_train), batch_size, sampling):
                    if step == total:
                        break
                    step += 1
                    xb, tb = x_train[idx], t_train[idx]

                    # One set of dropout masks per step, drawn once and given to both frameworks.
                    masks = ref.dropout_masks(len(idx), mask_rng) if has_dropout else None
                    extra = {"masks": masks} if has_dropout else {}
                    t0 = time.perf_counter()
                    grads = ref.gradient(xb, tb, **extra)
                    loss_ref = float(ref.last_layer.loss)
                    ref_opt.update(ref.params, grads)
                    t1 = time.perf_counter()
                    loss_t = _torch_step(run, loss_of, torch_opt, xb, tb, masks)
                    t2 = time.perf_counter()

                    loss_torch = float(loss_t.item())
                    abs_diff = abs(loss_ref - loss_torch)
                    rel_diff = abs_diff / abs(loss_torch) if loss_torch else abs_diff
                    if step % param_every == 0 or step == total:
                        param_diff = _param_rel_diff(ref.params, twin)
                        pdiff = param_diff
                    else:
                        pdiff = float("nan")
                    for fw, loss in (("reference", loss_ref), ("torch", loss_torch)):
                        curves.append({**meta, "framework": fw, "epoch": epoch, "step": step, "loss": loss,
                                       "loss_abs_diff": abs_diff, "loss_rel_diff": rel_diff, "param_rel_diff": pdiff})
                    timing += [{"framework": "reference", "epoch": epoch, "step": step, "seconds": t1 - t0},
                               {"framework": "torch", "epoch": epoch, "step": step, "seconds": t2 - t1}]
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix(loss=f"{loss_ref:.4f}", diff=f"{rel_diff:.1e}")
                train_eval = (x_train[:train_eval_limit], t_train[:train_eval_limit])
                epoch_rows += _epoch_accuracy(meta, epoch, ref, run, train_eval, (x_test, t_test), eval_batch_size)
                if on_epoch is not None:
                    on_epoch(result_so_far(), epoch, n_epochs, time.perf_counter() - started)
        finally:
            if bar is not None:
                bar.close()
    return result_so_far()


def _torch_step(run: C.Configured, loss_of, torch_opt, xb, tb, masks) -> torch.Tensor:
    """One step of the twin under its configuration (``run``): the loss of a batch (``loss_of``:
    the twin's loss, compiled when the configuration compiles; the forward pass under autocast),
    its backward pass and the optimizer's update. Returns the loss, a 0-d tensor."""
    torch_opt.zero_grad()
    extra = {} if masks is None else {"masks": {k: run.tensor(m) for k, m in masks.items()}}
    with run.autocast():
        loss = loss_of(run.input(xb), run.tensor(tb), **extra)
    loss.backward()
    torch_opt.step()
    return loss


def epoch_line(result: TrainingResult, epoch: int, n_epochs: int, seconds: float) -> str:
    """One line of progress after an epoch: both frameworks' mean loss over the epoch and
    accuracies, the largest loss difference so far, and the epoch's seconds."""
    c = result.curves[result.curves.epoch == epoch]
    loss = c.groupby("framework").loss.mean()
    acc = result.epochs[result.epochs.epoch == epoch].set_index("framework")
    ref = result.curves[result.curves.framework == "reference"]
    steps = len(c) // 2                                    # one row per framework and step
    return (f"epoch {epoch}/{n_epochs} ({steps} step{'s' * (steps != 1)}, {seconds:.1f} s): "
            f"loss {loss['reference']:.4f} / {loss['torch']:.4f}, "
            f"train accuracy {acc.loc['reference', 'train_acc']:.4f} / {acc.loc['torch', 'train_acc']:.4f}, "
            f"test accuracy {acc.loc['reference', 'test_acc']:.4f} / {acc.loc['torch', 'test_acc']:.4f} "
            f"(reference / torch); largest loss difference so far {ref.loss_abs_diff.max():.2e} "
            f"(relative {ref.loss_rel_diff.max():.2e})")


# Lockstep tolerances. float64: both sides do the same arithmetic up to summation order. One
# pass differs by rounding of the order of the harness's reduction tolerance, 16·√k·eps ≈ 5e-13
# for the longest reduction of these nets (k ≈ 2·10⁴, SimpleConvNet's dW1); measured per-step
# loss differences stay ≤ 2.2e-15 (SimpleConvNet, SGD and Adam, 200 steps; LeNet-5 and the MNIST
# AlexNet, Adam, 40 steps), so 1e-12 per step leaves ≥ 450× headroom. The parameters drift a
# little more: Adam and AdaGrad divide each gradient entry by its own magnitude, so an entry
# that is small by cancellation carries its (large) relative rounding error into a full-size
# step — measured up to 6.9e-13 (MNIST AlexNet, Adam, 40 steps) and 5.5e-13 (AdaGrad, 5 steps).
# 1e-10 leaves ≥ 140× headroom, while an lr off by one float32 rounding (~1e-8 relative, the
# bug zoo's lr_rounded_to_float32) fails it ~100×; the former bounds, 1e-9 and 1e-8, sat a
# million times above the measured 1e-15 and let that bug through. float32: the two runs agree
# to ~1e-7 until the first discrete event — a ReLU or max-pool decision that rounding tips the
# other way in one framework (seen after ~20 steps of the MNIST AlexNet with SGD) — after which
# training amplifies the difference (Adam most: it turns near-zero gradients of either sign into
# full steps). So float32 is compared tightly over its first 10 steps and by outcome after that.
LOCKSTEP_TOL = {
    "float64": {"loss": Tolerance(1e-12, "float64 lockstep, per step: summation order only "
                                         "(16·√k·eps ≈ 5e-13 per pass; measured ≤ 2.2e-15)"),
                "params": Tolerance(1e-10, "float64 lockstep, final parameters: rounding amplified by "
                                           "Adam/AdaGrad's per-entry scaling (measured ≤ 6.9e-13)")},
    "float32": {"loss": Tolerance(1e-5, "float32 lockstep, first 10 steps: ~100·eps, before any "
                                        "ReLU/max-pool decision flips"),
                "accuracy": Tolerance(0.01, "float32: final test accuracies within 1 percentage point")},
}
FLOAT32_TIGHT_STEPS = 10


def training_records(result: TrainingResult) -> list[Record]:
    """Records of a lockstep run. float64: the loss of every step and the final parameters.
    float32: the loss of the first 10 steps and the final test accuracy of both frameworks."""
    c = result.curves
    dtype = c.dtype.iloc[0]
    tol = LOCKSTEP_TOL[dtype]
    ref = c[c.framework == "reference"].sort_values("step")
    tch = c[c.framework == "torch"].sort_values("step")
    if dtype == "float32":
        ref, tch = ref.head(FLOAT32_TIGHT_STEPS), tch.head(FLOAT32_TIGHT_STEPS)
    config = {k: str(c[k].iloc[0]) for k in ("net", "optimizer")} | {"steps": int(c.step.max())}
    name = f"training {c.net.iloc[0]}"
    recs = [compare(name, f"loss per step (steps 1–{int(ref.step.max())})", ref.loss.to_numpy(),
                    tch.loss.to_numpy(), tol["loss"], config=config, group="training", dtype=dtype,
                    note=f"worst step relative difference {ref.loss_rel_diff.max():.2e}")]
    if dtype == "float64":
        quantity, value, why = "final parameters", result.final_param_rel_diff, tol["params"]
        note = "max over parameters of max|p_ref − p_torch| / max|p_torch|"
    else:
        last = result.epochs[result.epochs.epoch == result.epochs.epoch.max()].set_index("framework")
        quantity, why = "final test accuracy", tol["accuracy"]
        value = abs(float(last.loc["reference", "test_acc"]) - float(last.loc["torch", "test_acc"]))
        note = "|test accuracy of the reference − of torch| (a fraction; 0.01 = 1 point)"
    recs.append(Record(case=name, quantity=quantity, dtype=dtype, config=recs[0].config, ref_shape="",
                       torch_shape="", max_abs=value, max_rel=value, tol=why.rtol,
                       headroom=why.rtol / value if value else float("inf"),
                       verdict="pass" if value <= why.rtol else "fail", group="training", note=note,
                       tol_why=why.why))
    return recs


def _epoch_accuracy(meta, epoch, ref, run, train, test, batch_size):
    rows = []
    accs = {"reference": (ref.accuracy(*train, batch_size=batch_size), ref.accuracy(*test, batch_size=batch_size)),
            "torch": (_accuracy_torch(run, *train, batch_size), _accuracy_torch(run, *test, batch_size))}
    for fw, (train_acc, test_acc) in accs.items():
        rows.append({**meta, "framework": fw, "epoch": epoch, "train_acc": train_acc, "test_acc": test_acc})
    return rows


def _progress_bar(total, progress):
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="step", desc="lockstep", file=sys.stderr)


def write_training_csvs(result: TrainingResult, out_dir) -> list[str]:
    """training_curves.csv, training_epochs.csv (byte-identical for the same seed) and
    training_timing.csv (wall times; differs run to run) into ``out_dir``.

    The three are written under temporary names and renamed only when all three are complete
    (:func:`reports.files.replace_files`): an error (disk full, interrupt) leaves no half-written
    CSV behind."""
    os.makedirs(out_dir, exist_ok=True)
    frames = (result.curves, result.epochs, result.timing)
    items = [(os.path.join(out_dir, name), lambda path, frame=frame: frame.to_csv(path, index=False,
                                                                                 lineterminator="\n"))
             for name, frame in zip(CSV_NAMES, frames)]
    return replace_files(items)


#: The files of ``cnn-parity train``, in the order :func:`write_training_csvs` returns them.
CSV_NAMES = ("training_curves.csv", "training_epochs.csv", "training_timing.csv")


# ------------------------------------------------------------------------------------------
# cnn-parity train
# ------------------------------------------------------------------------------------------

def _say(line: str) -> None:
    """A progress line on standard error, above the tqdm bar when there is one."""
    from tqdm import tqdm

    tqdm.write(line, file=sys.stderr)


def load_training_data(data_dir=None, download=False):
    """``load_mnist`` for a command: a data problem becomes one-line :class:`RunError`."""
    from .data import MnistDataError, load_mnist

    try:
        return load_mnist(data_dir, download=download)
    except MnistDataError as exc:
        raise RunError(str(exc)) from None
    except (OSError, RuntimeError) as exc:          # a download that failed (no network, ...)
        if not download:
            raise
        raise RunError(f"could not download MNIST ({exc}); put the four original .gz files in a folder "
                       f"and use --data-dir DIR instead of --download") from None


def cmd_train(args) -> int:
    """``cnn-parity train`` (options declared in ``reports.cli``): train, printing one line per
    epoch and writing the three CSVs after every epoch; Ctrl-C keeps the completed epochs."""
    from .data import describe_source

    config = _train_config(getattr(args, "config", None), args.dtype)
    out = str(absolute(args.out))
    data = load_training_data(args.data_dir, download=args.download)
    source = describe_source(args.data_dir, download=args.download)
    (x_train, t_train), (x_test, t_test) = data
    for option, limit, have, what in (("--train-images", args.train_images, len(x_train), "training"),
                                      ("--test-images", args.test_images, len(x_test), "test")):
        if limit is not None and limit > have:
            raise UsageError(f"{option} {limit}: the {source} has {have} {what} images; give at most {have}")
    data = ((x_train[:args.train_images], t_train[:args.train_images]),
            (x_test[:args.test_images], t_test[:args.test_images]))
    n_train = len(data[0][0])
    if args.batch_size > n_train:
        raise UsageError(f"--batch-size {args.batch_size} is larger than the {n_train} training images of "
                         f"the {source}; give at most {n_train}")
    if args.train_images or args.test_images:
        source += f", the first {n_train} training and {len(data[1][0])} test images"
    _say(f"data: {source}; net {args.net}, optimizer {args.optimizer} lr {args.lr:g}, batch {args.batch_size}, "
         f"{args.dtype}, seed {args.seed}; " + (f"{args.steps} steps" if args.steps else
                                                f"{args.epochs} epoch{'s' * (args.epochs != 1)}")
         + (f"; configuration {config.name} ({config.sets})" if config else ""))
    done = {"epochs": 0, "of": 0}

    def after_epoch(result, epoch, n_epochs, seconds):
        with deferred_interrupt():              # the files and the count agree, even on Ctrl-C
            write_training_csvs(result, out)
            done.update(epochs=epoch, of=n_epochs)
        _say(epoch_line(result, epoch, n_epochs, seconds))
    try:
        result = train_lockstep(data, net=args.net, optimizer=args.optimizer, lr=args.lr,
                                batch_size=args.batch_size, epochs=args.epochs, steps=args.steps,
                                dtype=args.dtype, seed=args.seed, sampling=args.sampling,
                                param_every=args.param_every, on_epoch=after_epoch, config=config)
    except KeyboardInterrupt:
        if not done["epochs"]:
            raise Interrupted(f"interrupted in epoch 1, before any epoch was complete; nothing was "
                              f"written to {out}") from None
        n = done["epochs"]
        raise Interrupted(f"interrupted in epoch {n + 1} of {done['of']}; kept the {n} completed "
                          f"epoch{'s' * (n != 1)} in {out} (training_curves.csv, training_epochs.csv, "
                          f"training_timing.csv)") from None
    for name in CSV_NAMES:
        print(f"wrote {os.path.join(out, name)}")
    print(result.epochs.to_string(index=False))
    s = result.summary()
    print(f"largest per-step loss difference: {s['max_loss_abs_diff']:.3e} (relative {s['max_loss_rel_diff']:.3e}); "
          f"final parameters differ by {s['final_param_rel_diff']:.3e} (relative)")
    print(f"median seconds per step: reference {s['reference_median_step_s']:.4f}, "
          f"torch {s['torch_median_step_s']:.4f}")
    return 0


def _train_config(name, dtype):
    """``--config NAME`` -> one runnable configuration (None without the option); a name that is
    unknown, a list, or a configuration that cannot run here or in ``dtype`` is a usage error."""
    if name is None:
        return None
    from ..errors import UsageError
    from ..parity import configs as C

    configs = C.resolve(name)
    if len(configs) != 1:
        raise UsageError(f"--config {name}: train takes one configuration; give one name")
    reason = C.unavailable(configs[0]) or C.not_applicable(configs[0], dtype)
    if reason:
        raise UsageError(f"--config {name}: cannot train under it here with --dtype {dtype} ({reason}); "
                         f"choose another configuration or dtype")
    return configs[0]
