"""Timings of the NumPy reference against PyTorch CPU, measured in the same process.

Method
------
Every measurement runs its contenders *interleaved*: the reference with ``method="fast"``, the
reference with ``method="book"`` (where a layer has both paths) and the torch twin, one rep of
each in turn, ``reps`` times, after ``warmup`` untimed rounds. The result is the median per
contender. NumPy's BLAS and torch are pinned to the same number of threads (``threads``
column). The 1-minute load average at the start of each measurement is recorded (``load``):
on a shared machine a high load means noisy numbers, but the interleaving keeps the *ratio*
meaningful. The layers get the same inputs and weights in both frameworks; the torch input
requires grad, so both backward passes compute dx, dW and db.

The table's columns are documented in ``benchmarks.table`` (``COLUMNS``).
"""
from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import reference as R
import torch_impl
from reference.optimizer import Adam
from reports.mnist import data as D
from torch_impl import layers as T
from torch_impl.transfer import load_params

from . import RESULTS, table
from .machine import describe_machine, machine, measurement_started, set_threads
from .memory import run_memory
from .table import COLUMNS

__all__ = ["METHODS", "LAYERS", "LARGE", "COLUMNS", "interleaved", "make_adam", "build_nets", "set_method",
           "run", "run_epoch", "mnist_data", "describe_data_folder", "main"]

METHODS = ("fast", "book")

# (layer, configuration) pairs of the default layer table. The first two are SimpleConvNet's
# layers at batch 100; "large" is a ResNet-style 64-channel 3×3 convolution on 56×56.
LAYERS = [
    ("Convolution", dict(N=100, C=1, H=28, W=28, FN=30, FH=5, FW=5, stride=1, pad=0)),
    ("Pooling", dict(N=100, C=30, H=24, W=24, ph=2, pw=2, stride=2, pad=0)),
    ("Pooling", dict(N=100, C=30, H=24, W=24, ph=3, pw=3, stride=2, pad=1)),
    ("AvgPooling", dict(N=100, C=30, H=24, W=24, ph=2, pw=2, stride=2, pad=0)),
    ("Relu", dict(N=100, C=30, H=24, W=24)),
    ("Affine", dict(N=100, D=4320, M=100)),
]
LARGE = [("Convolution", dict(N=32, C=64, H=56, W=56, FN=64, FH=3, FW=3, stride=1, pad=1))]


# ---------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------

def interleaved(contenders: dict, reps: int, warmup: int) -> dict:
    """Run each contender once per round, ``warmup`` + ``reps`` rounds.

    A contender is a callable returning ``{phase: seconds}``; the result is
    ``{name: {phase: median seconds}}`` over the timed rounds.
    """
    for _ in range(warmup):
        for f in contenders.values():
            f()
    samples = {name: [] for name in contenders}
    for _ in range(reps):
        for name, f in contenders.items():
            samples[name].append(f())
    return {name: {phase: statistics.median(s[phase] for s in runs) for phase in runs[0]}
            for name, runs in samples.items()}


def _ref_layer(layer, x, dout):
    def f():
        t0 = time.perf_counter()
        layer.forward(x)
        t1 = time.perf_counter()
        layer.backward(dout)
        t2 = time.perf_counter()
        return {"forward": t1 - t0, "backward": t2 - t1, "forward+backward": t2 - t0}
    return f


def _torch_layer(module, x, dout):
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    dt = torch.from_numpy(dout.copy())
    params = list(module.parameters())

    def f():
        xt.grad = None
        for p in params:
            p.grad = None
        t0 = time.perf_counter()
        y = module(xt)
        t1 = time.perf_counter()
        y.backward(dt)
        t2 = time.perf_counter()
        return {"forward": t1 - t0, "backward": t2 - t1, "forward+backward": t2 - t0}
    return f


def _config_str(layer: str, c: dict) -> str:
    if layer == "Convolution":
        return (f"N={c['N']} C={c['C']} {c['H']}x{c['W']} FN={c['FN']} {c['FH']}x{c['FW']} "
                f"s{c['stride']} p{c['pad']}")
    if layer in ("Pooling", "AvgPooling"):
        return f"N={c['N']} C={c['C']} {c['H']}x{c['W']} {c['ph']}x{c['pw']} s{c['stride']} p{c['pad']}"
    if layer == "Relu":
        return f"{c['N']}x{c['C']}x{c['H']}x{c['W']}"
    if layer == "Affine":
        return f"N={c['N']} {c['D']}->{c['M']}"
    return " ".join(f"{k}={v}" for k, v in c.items())


def _layer_contenders(layer: str, c: dict, dtype, rng):
    """{contender name: callable} for one layer configuration; names 'fast', 'book', '-', 'torch'."""
    dtype = np.dtype(dtype)
    tdtype = torch_impl.as_torch_dtype(dtype)
    if layer == "Convolution":
        x = rng.standard_normal((c["N"], c["C"], c["H"], c["W"])).astype(dtype)
        W = (rng.standard_normal((c["FN"], c["C"], c["FH"], c["FW"]))
             / np.sqrt(c["C"] * c["FH"] * c["FW"])).astype(dtype)
        b = rng.standard_normal(c["FN"]).astype(dtype)
        refs = {m: R.Convolution(W, b, c["stride"], c["pad"], method=m) for m in METHODS}
        twin = load_params(T.convolution(c["FN"], c["C"], c["FH"], c["FW"], c["stride"], c["pad"],
                                         dtype=tdtype), {"W": W, "b": b})
    elif layer in ("Pooling", "AvgPooling"):
        x = rng.standard_normal((c["N"], c["C"], c["H"], c["W"])).astype(dtype)
        cls = R.Pooling if layer == "Pooling" else R.AvgPooling
        refs = {m: cls(c["ph"], c["pw"], c["stride"], c["pad"], method=m) for m in METHODS}
        factory = T.pooling if layer == "Pooling" else T.avg_pooling
        twin = factory(c["ph"], c["pw"], stride=c["stride"], pad=c["pad"])
    elif layer == "Relu":
        x = rng.standard_normal((c["N"], c["C"], c["H"], c["W"])).astype(dtype)
        refs = {"-": R.Relu()}
        twin = T.relu()
    elif layer == "Affine":
        x = rng.standard_normal((c["N"], c["D"])).astype(dtype)
        W = (rng.standard_normal((c["D"], c["M"])) / np.sqrt(c["D"])).astype(dtype)
        b = rng.standard_normal(c["M"]).astype(dtype)
        refs = {"-": R.Affine(W, b)}
        twin = load_params(T.affine(c["D"], c["M"], dtype=tdtype), {"W": W, "b": b})
    else:
        raise ValueError(f"no benchmark for layer {layer!r}")
    out_shape = next(iter(refs.values())).forward(x).shape
    dout = rng.standard_normal(out_shape).astype(dtype)
    contenders = {m: _ref_layer(ref, x, dout) for m, ref in refs.items()}
    contenders["torch"] = _torch_layer(twin, x, dout)
    return contenders


# ---------------------------------------------------------------------------------------------
# The SimpleConvNet training step
# ---------------------------------------------------------------------------------------------

def make_adam(lr=0.001, fused=True):
    """reference.optimizer.Adam (torch.optim.Adam's arithmetic) and its name for the table."""
    return Adam(lr=lr, fused=fused), f"Adam(fused={fused})"


def _ref_step(net, opt, x, t):
    """SimpleConvNet.gradient, in its two phases (loss, then backward), then the optimizer update."""
    def f():
        t0 = time.perf_counter()
        net.loss(x, t)
        t1 = time.perf_counter()
        net._backward(input_grad=False)     # as net.gradient: no gradient for the images
        grads = net._layer_gradients()
        t2 = time.perf_counter()
        opt.update(net.params, grads)
        t3 = time.perf_counter()
        return {"forward": t1 - t0, "backward": t2 - t1, "update": t3 - t2, "train step": t3 - t0}
    return f


def _torch_step(net, opt, x, t):
    xt, tt = torch.from_numpy(x), torch.from_numpy(t)

    def f():
        opt.zero_grad(set_to_none=True)
        t0 = time.perf_counter()
        loss = net.loss(xt, tt)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        return {"forward": t1 - t0, "backward": t2 - t1, "update": t3 - t2, "train step": t3 - t0}
    return f


def build_nets(dtype, seed=0, methods=METHODS):
    """Reference SimpleConvNets (one per method, same weights) and the torch twin with them too."""
    dtype = np.dtype(dtype)
    nets = {}
    for m in methods:
        net = R.SimpleConvNet(dtype=dtype, rng=seed)
        set_method(net, m)
        nets[m] = net
    twin = torch_impl.SimpleConvNet(dtype=torch_impl.as_torch_dtype(dtype))
    load_params(twin, nets[methods[0]].params)
    return nets, twin


def set_method(net, method: str):
    """Switch every layer of a reference network that has two paths to ``method``."""
    for layer in net.layers.values():
        if hasattr(layer, "method"):
            layer.method = method
    return net


def _step_contenders(dtype, rng, batch=100, adam_fused=True):
    nets, twin = build_nets(dtype)
    x = rng.random((batch, 1, 28, 28)).astype(dtype)
    t = rng.integers(0, 10, size=batch)
    contenders = {}
    opt_name = ""
    for m, net in nets.items():
        opt, opt_name = make_adam(fused=adam_fused)
        contenders[m] = _ref_step(net, opt, x, t)
    contenders["torch"] = _torch_step(twin, torch.optim.Adam(twin.parameters(), lr=0.001), x, t)
    return contenders, f"N={batch} 1x28x28 {opt_name}"


# ---------------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------------

def run(dtypes=("float32", "float64"), threads=None, reps=7, warmup=2, layers=True, large=True,
        step=True, epoch=False, data_dir=None, csv_path=RESULTS, append=False, seed=0, verbose=True):
    """Time the layers and the SimpleConvNet training step; return (and write) the table.

    Parameters
    ----------
    dtypes : dtypes to measure
    threads : an int or a list of ints (one full table per thread count); default: all cores
    reps, warmup : timed and untimed rounds per measurement (the large convolution uses
        ``max(5, reps // 2)`` reps, since one of its book-path runs takes about a second)
    layers, large, step, epoch : which parts to run (``epoch``: one MNIST epoch per framework,
        slow — see :func:`run_epoch`; ``data_dir`` is passed on to it)
    csv_path : where to write the CSV (None: don't write); ``append``: keep the rows of an
        existing CSV that this run does not measure again

    Returns
    -------
    pandas.DataFrame with the columns ``COLUMNS`` (documented in the module docstring).
    """
    thread_counts = [threads] if isinstance(threads, int) else list(threads or [os.cpu_count() or 1])
    info = machine()
    rows = []
    rng = np.random.default_rng(seed)
    if verbose:
        print(describe_machine(info))
    for n in thread_counts:
        set_threads(n)
        for dtype in dtypes:
            plan = []
            if layers:
                plan += [(layer, c, reps) for layer, c in LAYERS]
            if large:
                plan += [(layer, c, max(5, reps // 2)) for layer, c in LARGE]
            for layer, c, r in plan:
                begun = measurement_started()
                gc.collect()
                res = interleaved(_layer_contenders(layer, c, dtype, rng), r, warmup)
                new = table.rows(layer, _config_str(layer, c), res, dtype, n, r, begun, info)
                rows += new
                if verbose:
                    table.print_rows(new)
            if step:
                for fused in (True, False):
                    begun = measurement_started()
                    gc.collect()
                    contenders, cfg = _step_contenders(dtype, rng, adam_fused=fused)
                    new = table.rows("SimpleConvNet", cfg, interleaved(contenders, reps, warmup),
                                     dtype, n, reps, begun, info)
                    rows += new
                    if verbose:
                        table.print_rows(new)
            if epoch:
                for fused in (True, False):   # the book's path only once: it takes ~3× longer
                    frame = run_epoch(dtype, data_dir=data_dir, threads=n, csv_path=None,
                                      verbose=verbose, adam_fused=fused,
                                      methods=METHODS if fused else ("fast",))
                    rows += frame.to_dict("records")
    frame = pd.DataFrame(rows, columns=COLUMNS)
    if csv_path is not None:
        table.save(frame, csv_path, append)
    return frame


def mnist_data(dtype, data_dir):
    """Full MNIST train/test (reports.mnist.data.load_mnist) or, if unavailable, random data of its
    shape; and the data source as the results name it (:func:`describe_data_folder`)."""
    given = "--data-dir" if data_dir is not None else None
    if data_dir is None and D.full_mnist_dir() is not None:
        data_dir, given = D.full_mnist_dir(), f"${D.MNIST_DIR_ENV}"
    if data_dir is None:
        shared = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist"
        data_dir = shared if shared.is_dir() else None
    if data_dir is not None:
        try:
            (x, t), (xt, tt) = D.load_mnist(data_dir=data_dir, dtype=dtype)
            return x, t, xt, tt, describe_data_folder(data_dir, given)
        except Exception as exc:  # noqa: BLE001 - fall back to random data, and say so
            why = f"{type(exc).__name__}: {exc}".replace(str(Path(data_dir).resolve()), "DIR")
    else:
        why = "no MNIST folder"
    rng = np.random.default_rng(0)
    x = rng.random((60000, 1, 28, 28)).astype(dtype)
    t = rng.integers(0, 10, 60000)
    return x, t, x[:10000], t[:10000], f"random data of MNIST's shape ({why})"


def describe_data_folder(folder, given=None) -> str:
    """Full MNIST from ``folder``, as committed results may name it — never by this machine's
    absolute path: "full MNIST from ../shared/datasets/mnist" (relative to the repository) when
    the folder is inside the repository or beside it, else "full MNIST (--data-dir)" or
    "full MNIST ($CNN_PARITY_MNIST_DIR)", by how it was given."""
    root = Path(__file__).resolve().parents[1]
    folder = Path(os.path.abspath(os.path.expanduser(str(folder))))
    if folder == root.parent or root.parent in folder.parents:
        return f"full MNIST from {Path(os.path.relpath(folder, root)).as_posix()}"
    return f"full MNIST ({given or '--data-dir'})"


def run_epoch(dtype="float32", data_dir=None, threads=None, batch_size=100, methods=METHODS,
              seed=0, csv_path=None, verbose=True, adam_fused=True):
    """One epoch of SimpleConvNet training (Adam, lr 0.001) in each framework, same batches.

    ``adam_fused``: the reference's Adam (see ``make_adam``); torch runs torch.optim.Adam.

    The frameworks alternate batch by batch (reference step i, torch step i, ...), so both see
    the same machine load; each total is the sum of its step times (batch slicing included).
    Rows: pass "epoch", reference_ms / torch_ms the epoch's milliseconds; note: data source
    and test accuracy of each framework after the epoch.
    """
    n = threads or os.cpu_count() or 1
    set_threads(n)
    info = machine()
    dtype = np.dtype(dtype)
    x, t, x_test, t_test, source = mnist_data(dtype, data_dir)
    nets, twin = build_nets(dtype, seed=seed, methods=methods)
    opts = {m: make_adam(fused=adam_fused)[0] for m in methods}
    opt_name = make_adam(fused=adam_fused)[1]
    topt = torch.optim.Adam(twin.parameters(), lr=0.001)
    order = np.random.default_rng(seed).permutation(len(x))
    steps = len(x) // batch_size
    totals = {m: 0.0 for m in list(methods) + ["torch"]}
    begun = measurement_started()
    for i in range(steps):
        idx = order[i * batch_size:(i + 1) * batch_size]
        for m in methods:
            t0 = time.perf_counter()
            xb, tb = x[idx], t[idx]
            opts[m].update(nets[m].params, nets[m].gradient(xb, tb))
            totals[m] += time.perf_counter() - t0
        t0 = time.perf_counter()
        xb, tb = torch.from_numpy(x[idx]), torch.from_numpy(t[idx])
        topt.zero_grad(set_to_none=True)
        twin.loss(xb, tb).backward()
        topt.step()
        totals["torch"] += time.perf_counter() - t0
    with torch.no_grad():
        torch_acc = float((twin(torch.from_numpy(x_test)).argmax(1).numpy() == t_test).mean())
    rows = []
    for m in methods:
        acc = nets[m].accuracy(x_test, t_test)
        note = f"{source}; test accuracy reference {acc:.4f}, torch {torch_acc:.4f}"
        rows.append(table.row("SimpleConvNet", f"{steps} steps of N={batch_size}, {opt_name}", "epoch", dtype,
                              m, 1e3 * totals[m], 1e3 * totals["torch"], n, 1, begun, info, note))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    if verbose:
        table.print_rows(rows)
    if csv_path is not None:
        frame.to_csv(csv_path, index=False, float_format="%.6g")
    return frame


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    p.add_argument("--dtype", choices=["float32", "float64", "both"], default="both")
    p.add_argument("--threads", type=int, nargs="+", default=None,
                   help="thread counts to measure (default: all cores)")
    p.add_argument("--reps", type=int, default=7, help="timed runs per measurement (median)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--no-large", action="store_true", help="skip the 64-channel 56×56 convolution")
    p.add_argument("--no-layers", action="store_true", help="skip the per-layer table")
    p.add_argument("--no-step", action="store_true", help="skip the training step")
    p.add_argument("--epoch", action="store_true", help="also one full MNIST epoch per framework")
    p.add_argument("--data-dir", default=None, help="folder with the four MNIST .gz files")
    p.add_argument("--memory", action="store_true", help="also the convolution's peak memory")
    p.add_argument("--csv", default=str(RESULTS), help="timings CSV (default %(default)s)")
    p.add_argument("--append", action="store_true",
                   help="keep the rows of an existing CSV that this run does not measure again")
    p.add_argument("--native-blas", action="store_true",
                   help="run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (this process only), "
                        "so that OpenBLAS picks the kernel for this CPU; the blas column says which")
    p.add_argument("--markdown", action="store_true",
                   help="print the summary of the CSV as a Markdown table (runs nothing)")
    a = p.parse_args(argv)
    if a.markdown:
        print(table.markdown_table(pd.read_csv(a.csv, keep_default_na=False, na_values=[""])))
        return 0
    dtypes = ("float32", "float64") if a.dtype == "both" else (a.dtype,)
    run(dtypes, threads=a.threads, reps=a.reps, warmup=a.warmup, layers=not a.no_layers,
        large=not a.no_large, step=not a.no_step, epoch=a.epoch, data_dir=a.data_dir,
        csv_path=a.csv, append=a.append)
    print(f"wrote {a.csv}")
    if a.memory:
        run_memory(dtypes=dtypes)
    return 0
