"""Optimizer parity: the reference's update rules against torch.optim, step by step, as records.

Each optimizer runs ``STEPS`` steps on three parameter arrays with a fixed sequence of random
gradients (scales cycling 1, 1e-6, 1e-3 over the steps; one array's gradients ~1e-8 at most,
where √v̂ is of the order of Adam's eps and eps decides the step), in NumPy and in torch.optim;
every parameter's whole trajectory (steps × shape) becomes one record (group "optimizer").
``parity_tests/test_optimizers.py`` and the bug zoo (``cnn-parity bugs``) both use this module.

Tolerances (normwise, see ``reports.parity.records``)
---------------------------------------------------
- SGD, Momentum: 0 — bit-exact. The reference performs torch's operations in torch's order,
  rounds Python-float hyperparameters to the dtype as torch does, and emulates torch's
  fused multiply-add exactly (``reference.optimizer.fma``). Measured: 0 in both dtypes.
- AdaGrad, Adam: ``steps · eps(dtype)``. Their only remaining difference is the square root:
  torch's CPU ``sqrt`` (MKL's vector math in MKL builds) may return the neighbour of the
  correctly rounded value (measured here: ~16 % of float32, ~1 % of float64 inputs, ±1 ulp).
  A 1-ulp change of √v changes that step's update by ~1 ulp *of the update*, which can move
  the rounding of p by at most 1 ulp(p); over T steps at most T ulps, normwise T·eps.
  With torch's own sqrt substituted (:func:`torch_sqrt`) they are bit-exact too, so
  :func:`optimizer_records` also compares every torch-form optimizer at tolerance 0 that way.
"""
from __future__ import annotations

import contextlib
import functools
import importlib

import numpy as np
import torch

import reference.optimizer as O
from reference.optimizer import OPTIMIZERS, TORCH_EQUIVALENT, fma

from .records import DTYPES, Record, Tolerance, compare, float_eps

__all__ = ["TORCH_FORMS", "SHAPES", "STEPS", "GRAD_SCALES", "PARITY_KEY_SCALES", "torch_fuses_multiply_add",
           "make_problem", "numpy_trajectory", "torch_class", "torch_trajectory", "trajectory_records",
           "parity_tolerance", "make_optimizer", "torch_sqrt", "run_parity", "with_torch_sqrt",
           "optimizer_records"]

TORCH_FORMS = ("sgd", "momentum", "adagrad", "adam")
SHAPES = ((3, 4), (17,), (2, 3, 5, 5))
STEPS = 50
GRAD_SCALES = (1.0, 1e-6, 1e-3)   # cycled; the tiny ones make eps matter
# W1's gradients stay tiny (~1e-8 and below): there √v̂ ~ Adam's eps and eps decides the step
PARITY_KEY_SCALES = (1.0, 1e-8, 1.0)


@functools.cache
def torch_fuses_multiply_add() -> bool:
    """Does this torch build's CPU ``add_(x, alpha=a)`` round once (fma) or twice?

    Vectorised kernels compiled for AVX2/AVX-512/NEON use the fma instruction; a build running
    its "default" kernels does not. The reference is run in the same mode (``fused=``).
    """
    rng = np.random.default_rng(123)
    a, b = rng.standard_normal((2, 4096))
    out = torch.from_numpy(a.copy()).add_(torch.from_numpy(b), alpha=-0.0123).numpy()
    return bool(np.array_equal(out, fma(b, -0.0123, a)))


def make_problem(dtype, seed=0, shapes=SHAPES, steps=STEPS, scales=GRAD_SCALES, key_scales=None):
    """Random parameters (one array per shape) and a fixed sequence of gradient dicts.

    The gradient of step t for parameter i is N(0, 1) · scales[t % len(scales)] · key_scales[i].
    """
    rng = np.random.default_rng(seed)
    key_scales = key_scales or (1.0,) * len(shapes)
    params = {f"W{i}": rng.standard_normal(s).astype(dtype) for i, s in enumerate(shapes)}
    grads = [{k: (scales[t % len(scales)] * ks * rng.standard_normal(p.shape)).astype(dtype)
              for ks, (k, p) in zip(key_scales, params.items())} for t in range(steps)]
    return params, grads


def numpy_trajectory(opt, params, grads, before_step=None):
    """Run ``opt`` over the gradient sequence on copies; key -> array (steps, *shape)."""
    params = {k: v.copy() for k, v in params.items()}
    traj = {k: [] for k in params}
    for t, g in enumerate(grads, start=1):
        if before_step:
            before_step(t, opt)
        opt.update(params, g)
        for k, v in params.items():
            traj[k].append(v.copy())
    return {k: np.stack(v) for k, v in traj.items()}


def torch_class(name):
    """The torch.optim class named by ``TORCH_EQUIVALENT[name]`` (a dotted path)."""
    module, _, cls = TORCH_EQUIVALENT[name]["torch_class"].rpartition(".")
    return getattr(importlib.import_module(module), cls)


def torch_trajectory(name, kwargs, params, grads, before_step=None):
    """The same run with ``torch.optim``; ``before_step(t, optimizer)`` may change a group."""
    tparams = {k: torch.nn.Parameter(torch.from_numpy(v.copy())) for k, v in params.items()}
    opt = torch_class(name)(list(tparams.values()), **kwargs)
    traj = {k: [] for k in params}
    for t, g in enumerate(grads, start=1):
        if before_step:
            before_step(t, opt)
        for k, p in tparams.items():
            p.grad = torch.from_numpy(g[k].copy())
        opt.step()
        for k, p in tparams.items():
            traj[k].append(p.detach().numpy().copy())
    return {k: np.stack(v) for k, v in traj.items()}, opt


def trajectory_records(case, ref, other, tol, config, note="", suffix="") -> list[Record]:
    """One record per parameter: its whole trajectory (steps × shape) in both; the quantity is
    ``"<key> trajectory<suffix>"``."""
    return [compare(case, f"{k} trajectory{suffix}", ref[k], other[k], tol, config=config,
                    group="optimizer", note=note) for k in ref]


def parity_tolerance(name, dtype, steps=STEPS) -> Tolerance:
    """0 for SGD and Momentum; ``steps · eps`` for AdaGrad and Adam (see the module docstring)."""
    eps = float_eps(dtype)
    if name in ("sgd", "momentum"):
        return Tolerance(0.0, "bit-exact: torch's operations in torch's order, scalars rounded "
                              "to the dtype first, torch's fma emulated exactly")
    return Tolerance(steps * eps, f"{np.dtype(dtype).name}: steps*eps = {steps}*{eps:.2e}; torch's "
                                  "CPU sqrt may be 1 ulp off, moving p by <= 1 ulp per step")


def make_optimizer(name, **kw):
    """``OPTIMIZERS[name](**kw)``; the torch forms round like this torch build (``fused=``)."""
    cls = OPTIMIZERS[name]
    if name in TORCH_FORMS:
        kw.setdefault("fused", torch_fuses_multiply_add())
    return cls(**kw)


@contextlib.contextmanager
def torch_sqrt():
    """Put torch's CPU sqrt in place of the reference's (to show it is the only difference)."""
    saved = O._sqrt
    O._sqrt = lambda a: torch.from_numpy(np.ascontiguousarray(a)).sqrt().numpy()
    try:
        yield
    finally:
        O._sqrt = saved


def run_parity(name, dtype, kwargs=None, seed=0, shapes=SHAPES, steps=STEPS, scales=GRAD_SCALES,
               key_scales=PARITY_KEY_SCALES):
    """Both trajectories of one optimizer: (reference, torch, config, (params, grads, opt))."""
    kwargs = kwargs or {}
    params, grads = make_problem(dtype, seed, shapes, steps, scales,
                                 key_scales if len(key_scales) == len(shapes) else None)
    opt = make_optimizer(name, **kwargs)
    ref = numpy_trajectory(opt, params, grads)
    tor, _ = torch_trajectory(name, opt.torch_kwargs(), params, grads)
    config = {"optimizer": name, **kwargs, "steps": steps, "seed": seed,
              "fused": torch_fuses_multiply_add()}
    return ref, tor, config, (params, grads, opt)


def with_torch_sqrt(name, params, grads, kwargs=None):
    """The reference's trajectory of :func:`run_parity`'s problem again, with torch's sqrt
    substituted (:func:`torch_sqrt`): bit-exact with torch's trajectory, which does not change."""
    with torch_sqrt():
        return numpy_trajectory(make_optimizer(name, **(kwargs or {})), params, grads)


def optimizer_records(dtypes=DTYPES, names=TORCH_FORMS, seed=0, steps=STEPS) -> list[Record]:
    """Every torch-form optimizer against torch.optim in every dtype: as shipped (the tolerances
    of :func:`parity_tolerance`) and with torch's sqrt substituted (tolerance 0, bit-exact)."""
    records = []
    for dtype in dtypes:
        for name in names:
            ref, tor, config, (params, grads, _) = run_parity(name, dtype, seed=seed, steps=steps)
            records += trajectory_records(f"optim.{name}", ref, tor, parity_tolerance(name, dtype, steps),
                                          config)
            records += trajectory_records(f"optim.{name}", with_torch_sqrt(name, params, grads), tor,
                                          Tolerance(0.0, "bit-exact"), config,
                                          note="torch's sqrt substituted", suffix=" (torch's sqrt)")
    return records
