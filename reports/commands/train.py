"""``cnn-parity train``: the reference and its torch twin trained in lockstep on MNIST, one line per
epoch, the three CSVs brought up to date after every epoch; Ctrl-C keeps the completed epochs.

The training is ``reports.mnist.training.train_lockstep``; the data ``reports.mnist.data``.
"""
from __future__ import annotations

import os
import sys

from ..errors import Interrupted, RunError, UsageError
from ..files import absolute, deferred_interrupt
from ..mnist import LOCKSTEP_OPTIMIZERS, NET_NAMES
from ..parity.records import DTYPES
from .common import check_new_folder, count, examples, existing_folder, positive_number, seed

__all__ = ["add_parser", "run", "load_training_data"]


def add_parser(sub):
    p = sub.add_parser(
        "train", help="train the reference and its torch twin in lockstep on MNIST",
        description="Train the reference net and its torch twin side by side: same initial weights, same\n"
                    "minibatches, same dropout masks, the same optimizer mathematics. Prints one line per\n"
                    "epoch and brings training_curves.csv, training_epochs.csv and training_timing.csv in\n"
                    "--out up to date after every epoch; Ctrl-C keeps the completed epochs (exit status 130).",
        epilog=examples("cnn-parity train                                   # SimpleConvNet, Adam, 1 epoch of the sample",
                        "cnn-parity train --data-dir ../shared/datasets/mnist --epochs 3",
                        "cnn-parity train --net lenet5 --optimizer sgd --lr 0.1 --steps 500 --dtype float32",
                        "cnn-parity train --train-images 1000 --test-images 500 --epochs 5   # a quick look"))
    p.add_argument("--net", choices=NET_NAMES, default="simple", help="which network")
    p.add_argument("--optimizer", choices=LOCKSTEP_OPTIMIZERS, default="adam",
                   help="the optimizer (those with an exact torch.optim counterpart)")
    p.add_argument("--lr", type=positive_number, default=0.001, metavar="LR", help="learning rate")
    p.add_argument("--batch-size", type=count, default=100, metavar="N", help="images per step")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=count, default=1, metavar="N", help="passes over the training images")
    length.add_argument("--steps", type=count, default=None, metavar="N",
                        help="train exactly N steps, through as many epochs as that takes (instead of --epochs)")
    p.add_argument("--dtype", choices=list(DTYPES), default="float64", help="the dtype of both nets")
    p.add_argument("--seed", type=seed, default=0, metavar="S", help="seed of the initial weights and the batches")
    p.add_argument("--sampling", choices=["permutation", "replacement"], default="permutation",
                   help="permutation: each image once per epoch; replacement: the book's Trainer")
    p.add_argument("--param-every", type=count, default=10, metavar="K", help="compare all parameters every K steps")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--data-dir", metavar="DIR", type=existing_folder,
                        help="folder with the four original MNIST .gz files (default: the embedded "
                             "10,000/2,000-image sample)")
    source.add_argument("--download", action="store_true", help="let torchvision download MNIST (needs a network)")
    p.add_argument("--train-images", type=count, metavar="N", help="train on the first N training images only (default: all)")
    p.add_argument("--test-images", type=count, metavar="N",
                   help="measure test accuracy on the first N test images only (default: all)")
    p.add_argument("--out", metavar="DIR", default="reports/training_out", help="folder for the three CSV files")
    p.add_argument("--config", metavar="NAME", default=None,
                   help="train the twin under this configuration (compile, channels_last, autocast-bf16, ...; "
                        "see cnn-parity parity --config); the curves get a config column")
    return p


def run(args) -> int:
    """Train, printing one line per epoch and writing the three CSVs after every epoch; Ctrl-C
    keeps the completed epochs (exit status 130)."""
    check_new_folder(args.out)                   # before torch is imported
    from ..mnist.data import describe_source     # torch: only once the options are checked
    from ..mnist.training import CSV_NAMES, epoch_line, train_lockstep, write_training_csvs

    config = _train_config(args.config, args.dtype)
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


def load_training_data(data_dir=None, download=False):
    """``load_mnist`` for a command: a data problem becomes one-line :class:`RunError`."""
    from ..mnist.data import MnistDataError, load_mnist     # torch(vision): only when the command runs

    try:
        return load_mnist(data_dir, download=download)
    except MnistDataError as exc:
        raise RunError(str(exc)) from None
    except (OSError, RuntimeError) as exc:          # a download that failed (no network, ...)
        if not download:
            raise
        raise RunError(f"could not download MNIST ({exc}); put the four original .gz files in a folder "
                       f"and use --data-dir DIR instead of --download") from None


def _train_config(name, dtype):
    """``--config NAME`` -> one runnable configuration (None without the option); a name that is
    unknown, a list, or a configuration that cannot run here or in ``dtype`` is a usage error."""
    if name is None:
        return None
    from ..parity import configs as C                # torch: only when the option is given

    configs = C.resolve(name)
    if len(configs) != 1:
        raise UsageError(f"--config {name}: train takes one configuration; give one name")
    reason = C.unavailable(configs[0]) or C.not_applicable(configs[0], dtype)
    if reason:
        raise UsageError(f"--config {name}: cannot train under it here with --dtype {dtype} ({reason}); "
                         f"choose another configuration or dtype")
    return configs[0]


def _say(line: str) -> None:
    """A progress line on standard error, above the tqdm bar when there is one."""
    from tqdm import tqdm                            # light, but only the running command needs it

    tqdm.write(line, file=sys.stderr)
