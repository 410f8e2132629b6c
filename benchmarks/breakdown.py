"""Where the time of a SimpleConvNet training step goes, layer by layer, for each path.

    python -m benchmarks.breakdown [--dtype float32] [--threads 1] [--adam-unfused]

Trains the reference network for 100 steps on MNIST first (realistic activations: after a
little training the ReLU masks are no longer the near-constant ones of the initial weights),
then times every layer's forward and backward, the loss and the optimizer update in 30 more
steps (median of the last 25) — for ``method="book"`` and ``method="fast"``. A profiler
(cProfile, pyinstrument) says the same with more noise; this needs nothing installed.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def breakdown(dtype="float32", method="fast", adam_fused=True, warm_steps=100, steps=30, seed=0):
    """{phase: median ms} for one reference network trained on MNIST (random data without it)."""
    from .speed import build_nets, make_adam, mnist_data    # numpy, torch: after the threads are pinned
    x_all, t_all, _, _, _ = mnist_data(dtype, None)
    net = build_nets(dtype, seed=seed, methods=(method,))[0][method]
    opt = make_adam(fused=adam_fused)[0]
    for i in range(warm_steps):
        opt.update(net.params, net.gradient(x_all[i * 100:(i + 1) * 100], t_all[i * 100:(i + 1) * 100]))
    samples: dict[str, list] = {}

    def tick(name, t0):
        samples.setdefault(name, []).append(time.perf_counter() - t0)

    for i in range(warm_steps, warm_steps + steps):
        h, t = x_all[i * 100:(i + 1) * 100], t_all[i * 100:(i + 1) * 100]
        for name, layer in net.layers.items():
            t0 = time.perf_counter()
            h = layer.forward(h)
            tick(f"{name} forward", t0)
        t0 = time.perf_counter()
        net.last_layer.forward(h, t)
        d = net.last_layer.backward(1)
        tick("loss forward+backward", t0)
        first = next(iter(net.layers))
        for name, layer in reversed(net.layers.items()):
            t0 = time.perf_counter()
            if name == first:       # as net.gradient does: the images need no gradient
                layer.backward_params(d)
            else:
                d = layer.backward(d)
            tick(f"{name} backward", t0)
        grads = {k: getattr(net.layers[n], "d" + a) for k, (n, a) in net.PARAM_LAYERS.items()}
        t0 = time.perf_counter()
        opt.update(net.params, grads)
        tick("optimizer update", t0)
    return {k: 1e3 * statistics.median(v[5:]) for k, v in samples.items()}


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.breakdown", description=__doc__.split("\n\n")[0])
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--adam-unfused", action="store_true", help="reference Adam(fused=False)")
    a = p.parse_args(argv)
    from .machine import describe_machine, set_threads      # numpy, torch: after the threads are pinned
    set_threads(a.threads)
    print(describe_machine(), f"threads {a.threads}, load {os.getloadavg()[0]:.2f}")
    res = {m: breakdown(a.dtype, m, not a.adam_unfused) for m in ("book", "fast")}
    print(f"{'phase (ms)':<24}{'book':>9}{'fast':>9}")
    for phase in res["book"]:
        print(f"{phase:<24}{res['book'][phase]:>9.2f}{res['fast'][phase]:>9.2f}")
    print(f"{'total':<24}{sum(res['book'].values()):>9.2f}{sum(res['fast'].values()):>9.2f}")
    return 0


if __name__ == "__main__":
    n = str(next((sys.argv[i + 1] for i, v in enumerate(sys.argv[:-1]) if v == "--threads"), "1"))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, n)
    sys.exit(main())
