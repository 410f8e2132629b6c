"""Optimizers: the NumPy reference against torch.optim, step by step, and the book's variants.

The trajectories, their records and the parity tolerances (0 for SGD and Momentum, steps·eps
for AdaGrad and Adam, with the reasons) are in ``reports.parity.optim``, shared with the bug
zoo. Measured, default hyperparameters: float64 0 (bit-exact); float32 0.10 eps (AdaGrad) and
0.05 eps (Adam), headroom ≈ 480 and ≈ 960. Larger lr / other betas: ≤ 0.77 eps (headroom ≥ 65);
the hypothesis sweep (6 steps, lr up to 1): ≤ 1.5 eps against 6 eps. With torch's own sqrt
substituted for the reference's, AdaGrad and Adam are bit-exact too
(``test_bit_exact_with_torch_sqrt``, and every sweep example): the ulp of sqrt is the whole
difference.

The book's variants are compared with what their docstrings claim they equal; those
tolerances are in ``rounding_tolerance``.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

from reference.optimizer import (OPTIMIZERS, TORCH_EQUIVALENT, AdaGrad, Adam, BookAdaGrad,
                                 BookAdam, BookMomentum, Momentum, SGD, fma)
from reports.parity.optim import (STEPS, TORCH_FORMS, make_problem, numpy_trajectory,
                                  parity_tolerance, run_parity, torch_class, torch_sqrt,
                                  torch_trajectory, trajectory_records, with_torch_sqrt)
from reports.parity.records import DTYPES, Tolerance, compare, float_eps

from .conftest import assert_dtype_preserved, check


# ---------------------------------------------------------------------------------------------
# torch-equivalent optimizers against torch.optim
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", TORCH_FORMS)
def test_parity_with_torch_optim(name, dtype):
    ref, tor, config, _ = run_parity(name, dtype)
    records = check(trajectory_records(f"optim.{name}", ref, tor, parity_tolerance(name, dtype), config))
    assert_dtype_preserved(records, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", TORCH_FORMS)
def test_bit_exact_with_torch_sqrt(name, dtype):
    """With torch's own sqrt, every torch-form optimizer reproduces torch.optim to the bit."""
    with torch_sqrt():
        ref, tor, config, _ = run_parity(name, dtype)
    check(trajectory_records(f"optim.{name}", ref, tor, Tolerance(0.0, "bit-exact"), config,
                             note="torch's sqrt substituted"))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["adagrad", "adam"])
def test_non_default_hyperparameters(name, dtype):
    """beta1 < 0.5 takes lerp's other formula; a larger eps; a large lr."""
    kwargs = {"lr": 0.3, "eps": 1e-6} if name == "adagrad" else \
        {"lr": 0.05, "beta1": 0.3, "beta2": 0.9, "eps": 1e-6}
    ref, tor, config, _ = run_parity(name, dtype, kwargs)
    check(trajectory_records(f"optim.{name}", ref, tor, parity_tolerance(name, dtype), config))


# ---------------------------------------------------------------------------------------------
# Hypothesis sweep over hyperparameters, shapes and dtypes
# ---------------------------------------------------------------------------------------------

unit = st.floats(0.0, 0.99)
small_eps = st.sampled_from([0.0, 1e-10, 1e-8, 1e-6])


@st.composite
def optimizer_configs(draw):
    name = draw(st.sampled_from(TORCH_FORMS))
    kwargs = {"lr": 10.0 ** draw(st.floats(-4, 0))}
    if name == "momentum":
        kwargs["momentum"] = draw(unit)
    if name == "adagrad":
        kwargs["eps"] = draw(small_eps)
    if name == "adam":
        kwargs.update(beta1=draw(unit), beta2=draw(st.floats(0.0, 0.9999)), eps=draw(small_eps))
    shapes = tuple(draw(st.lists(array_shapes(min_dims=1, max_dims=3, max_side=5),
                                 min_size=1, max_size=3)))
    return dict(name=name, kwargs=kwargs, shapes=shapes, dtype=draw(st.sampled_from(DTYPES)),
                seed=draw(st.integers(0, 2**32 - 1)),
                scales=(draw(st.sampled_from([1.0, 1e-3, 1e-6])), 1e-6))


@settings(max_examples=40, deadline=None)
@given(optimizer_configs())
def test_sweep(cfg):
    """Random hyperparameters: within tolerance as shipped, and bit-exact with torch's sqrt."""
    name, dtype, steps = cfg["name"], cfg["dtype"], 6
    run = dict(kwargs=cfg["kwargs"], seed=cfg["seed"], shapes=cfg["shapes"], steps=steps,
               scales=cfg["scales"])
    ref, tor, config, (params, grads, _) = run_parity(name, dtype, **run)
    check(trajectory_records(f"optim.{name}", ref, tor, parity_tolerance(name, dtype, steps), config))
    exact = with_torch_sqrt(name, params, grads, cfg["kwargs"])
    check(trajectory_records(f"optim.{name}", exact, tor, Tolerance(0.0, "bit-exact"), config,
                             note="torch's sqrt substituted"))


# ---------------------------------------------------------------------------------------------
# The book's variants: each claim of the docstrings, tested
# ---------------------------------------------------------------------------------------------

def rounding_tolerance(dtype, steps=STEPS) -> Tolerance:
    """Two mathematically equal recurrences, rounded differently.

    The updates differ by a few ulps *of the update*, far below ulp(p) since |update| ≪ |p|;
    each step can therefore move the rounding of p by at most 1 ulp: steps·eps normwise.
    Measured (50 steps): BookMomentum 1.5 eps (float64) / 0.8 eps (float32), BookAdaGrad
    0.4 / 0.4 eps, BookAdam with eps_t ~0.2 eps — headroom ≥ 30.
    """
    eps = float_eps(dtype)
    return Tolerance(steps * eps, f"{np.dtype(dtype).name}: steps*eps, steps={steps}: same "
                                  "mathematics, other rounding, <= 1 ulp(p) per step")


@pytest.mark.parametrize("dtype", DTYPES)
def test_book_momentum_equals_torch_momentum_for_constant_lr(dtype):
    params, grads = make_problem(dtype)
    book = numpy_trajectory(BookMomentum(lr=0.01, momentum=0.9), params, grads)
    tor, _ = torch_trajectory("momentum", Momentum(0.01, 0.9).torch_kwargs(), params, grads)
    check(trajectory_records("optim.book_momentum", book, tor, rounding_tolerance(dtype),
                             {"lr": 0.01, "momentum": 0.9}, note="vs torch SGD(momentum)"))


def test_book_momentum_differs_after_lr_change():
    """After lr1 -> lr2 at step k, book − torch = (lr2 − lr1)·v_{k−1}·(μ + μ² + … + μⁿ)."""
    lr1, lr2, mu, k = 0.01, 0.1, 0.9, 21
    params, grads = make_problem("float64")
    n = len(grads) - k + 1
    buffers = {}

    def schedule(t, opt):
        if t == k:
            if isinstance(opt, torch.optim.Optimizer):
                opt.param_groups[0]["lr"] = lr2
                buffers.update({key: opt.state[p]["momentum_buffer"].numpy().copy()
                                for key, p in zip(params, opt.param_groups[0]["params"])})
            else:
                opt.lr = lr2

    book = numpy_trajectory(BookMomentum(lr1, mu), params, grads, schedule)
    tor, _ = torch_trajectory("momentum", Momentum(lr1, mu).torch_kwargs(), params, grads, schedule)
    geometric = sum(mu ** s for s in range(1, n + 1))
    records = []
    for key in params:
        measured = book[key][-1] - tor[key][-1]
        predicted = (lr2 - lr1) * buffers[key] * geometric
        records.append(compare("optim.book_momentum", f"{key}: book − torch after lr change",
                               measured, predicted,
                               Tolerance(1e-12, "float64: the analytic difference, up to the "
                                                "trajectories' rounding (~steps*eps*|p|/|diff|)"),
                               config={"lr1": lr1, "lr2": lr2, "momentum": mu, "k": k, "n": n},
                               group="known"))
        # measurable: far above the constant-lr agreement
        assert np.abs(measured).max() > 1e6 * rounding_tolerance("float64").rtol * np.abs(tor[key]).max()
    check(records)


@pytest.mark.parametrize("dtype", DTYPES)
def test_book_adagrad_is_adagrad_with_eps_1e7(dtype):
    params, grads = make_problem(dtype)
    book = numpy_trajectory(BookAdaGrad(lr=0.01), params, grads)
    same = numpy_trajectory(AdaGrad(lr=0.01, eps=1e-7, fused=False), params, grads)
    tor, _ = torch_trajectory("adagrad", AdaGrad(lr=0.01, eps=1e-7).torch_kwargs(), params, grads)
    check(trajectory_records("optim.book_adagrad", book, same, Tolerance(0.0, "bit-exact"),
                             {"lr": 0.01}, note="vs AdaGrad(eps=1e-7, fused=False)")
          + trajectory_records("optim.book_adagrad", book, tor, rounding_tolerance(dtype),
                               {"lr": 0.01}, note="vs torch Adagrad(eps=1e-7)"))


def test_book_adagrad_eps_matters_for_tiny_gradients():
    """One step: book p0 − lr·g/(|g| + 1e-7) against torch's default p0 − lr·g/(|g| + 1e-10)."""
    lr = 0.01
    params, grads = make_problem("float64", steps=1, scales=(1e-8,))
    book = numpy_trajectory(BookAdaGrad(lr), params, grads)
    tor, _ = torch_trajectory("adagrad", AdaGrad(lr).torch_kwargs(), params, grads)
    records = []
    for key, g in grads[0].items():
        predicted = -lr * g / (np.abs(g) + 1e-7) + lr * g / (np.abs(g) + 1e-10)
        measured = book[key][0] - tor[key][0]
        records.append(compare("optim.book_adagrad", f"{key}: book − torch(eps=1e-10), step 1",
                               measured, predicted, Tolerance(1e-9, "float64: |p|*eps/|diff|, "
                                                              "|diff| ~ lr"), group="known"))
        assert np.abs(measured).max() > 0.5 * lr   # a large part of the step
    check(records)


def _book_eps(t, beta2=0.999):
    return BookAdam.eps / math.sqrt(1 - beta2 ** t)


@pytest.mark.parametrize("dtype", DTYPES)
def test_book_adam_is_torch_adam_with_time_varying_eps(dtype):
    """BookAdam == torch.optim.Adam with eps_t = 1e-7/√(1 − β2ᵗ), set before each step.

    Gradients ~1e-6 throughout, so that eps shapes every step (with gradients ~1 the moving
    averages would hide it and the agreement would prove little).
    """
    params, grads = make_problem(dtype, scales=(1e-6,))

    def eps_schedule(t, opt):
        opt.param_groups[0]["eps"] = _book_eps(t)

    book = numpy_trajectory(BookAdam(lr=0.001), params, grads)
    tor, _ = torch_trajectory("adam", Adam(lr=0.001).torch_kwargs(), params, grads, eps_schedule)
    check(trajectory_records("optim.book_adam", book, tor, rounding_tolerance(dtype),
                             {"lr": 0.001}, note="vs torch Adam with eps_t"))
    # the claim is not vacuous: with a constant eps = 1e-7 the gap is far larger
    tor_const, _ = torch_trajectory("adam", BookAdam(lr=0.001).torch_kwargs(), params, grads)
    gap = max(compare("", "", book[k], tor_const[k], 0.0).max_rel for k in params)
    assert gap > 30 * rounding_tolerance(dtype).rtol, gap


def test_book_adam_differs_from_torch_adam_for_small_gradients():
    """Step 1: torch p0 − lr·g/(|g| + 1e-7), book p0 − lr·g/(|g| + 1e-7/√(1−β2)); |g| ~ 1e-6."""
    lr = 0.001
    params, grads = make_problem("float64", steps=1, scales=(1e-6,))
    book = numpy_trajectory(BookAdam(lr), params, grads)
    tor, _ = torch_trajectory("adam", BookAdam(lr).torch_kwargs(), params, grads)
    records = []
    for key, g in grads[0].items():
        predicted = -lr * g / (np.abs(g) + _book_eps(1)) + lr * g / (np.abs(g) + 1e-7)
        measured = book[key][0] - tor[key][0]
        records.append(compare("optim.book_adam", f"{key}: book − torch(eps=1e-7), step 1",
                               measured, predicted, Tolerance(1e-9, "float64: |p|*eps/|diff|, "
                                                              "|diff| ~ lr/10"), group="known"))
        assert np.abs(measured).max() > 0.1 * lr   # eps_1 = 3.2e-6 vs 1e-7: a large effect
    check(records)

    # with gradients ~1 the same difference is small: |Δstep| ≲ lr·eps_t/|g|
    params, grads = make_problem("float64", steps=1, scales=(1.0,))
    book = numpy_trajectory(BookAdam(lr), params, grads)
    tor, _ = torch_trajectory("adam", BookAdam(lr).torch_kwargs(), params, grads)
    for key, g in grads[0].items():
        bound = lr * _book_eps(1) / np.abs(g).min() * 1.01 + 1e-15
        assert np.abs(book[key][0] - tor[key][0]).max() <= bound


# ---------------------------------------------------------------------------------------------
# The fma emulation, against exact rational arithmetic
# ---------------------------------------------------------------------------------------------

def _round_exact(x, dtype):
    """Correctly rounded (nearest, ties to even) value of the Fraction ``x`` in ``dtype``."""
    from fractions import Fraction
    f = dtype.type(float(x))  # within one ulp; then choose among neighbours exactly
    cands = [f, np.nextafter(f, dtype.type(np.inf)), np.nextafter(f, dtype.type(-np.inf))]
    key = lambda c: (abs(Fraction(float(c)) - x), int(np.asarray(c).view(
        np.int32 if dtype == np.float32 else np.int64)) & 1)
    return min(cands, key=key)


@pytest.mark.parametrize("dtype", [np.dtype(np.float32), np.dtype(np.float64)])
def test_fma_is_correctly_rounded(dtype):
    from fractions import Fraction
    rng = np.random.default_rng(7)
    a = rng.standard_normal(300).astype(dtype)
    b = (rng.standard_normal(300) * 10.0 ** rng.integers(-8, 3, 300)).astype(dtype)
    c = rng.standard_normal(300).astype(dtype)
    # hard cases: c cancels most of a*b; c = -fl(a*b) leaves the exact rounding error;
    # c halfway-ish: a*b near a half-ulp of c
    c[:100] = -(a[:100] * b[:100])
    c[100:200] = -(a[100:200] * b[100:200]) * dtype.type(1 + 2 * float_eps(dtype))
    b[200:250] = dtype.type(float_eps(dtype) / 2) * np.sign(b[200:250])
    a[200:250] = np.abs(c[200:250]) * dtype.type(1 + float_eps(dtype))
    got = fma(a, b, c)
    assert got.dtype == dtype
    exact = np.array([_round_exact(Fraction(float(x)) * Fraction(float(y)) + Fraction(float(z)), dtype)
                      for x, y, z in zip(a, b, c)], dtype=dtype)
    rec = compare("fma", "a*b+c", got, exact, Tolerance(0.0, "correctly rounded"),
                  config={"dtype": dtype.name}, group="unit")
    check([rec])


def test_fma32_where_rounding_twice_through_float64_would_err():
    """The traps of the float64 route: ``a*b + c`` a hair off a float32 halfway point, so that
    its float64 rounding lands exactly on the halfway point and ties-to-even then picks the
    wrong float32 — once above, once below, and in the subnormal range. Plain float64
    arithmetic gets every one wrong (checked), the fma every one right."""
    from fractions import Fraction
    f32 = np.float32
    rng = np.random.default_rng(3)
    odd = (rng.integers(1, 2 ** 22, 200) * 2 + 1 + 2 ** 23).astype(np.float64)   # odd significands
    c = (odd * 2.0 ** rng.integers(-40, 40, 200)).astype(f32)
    half_ulp = (np.spacing(c) / 2).astype(np.float64)
    sign = np.where(np.arange(200) % 2 == 0, 1.0, -1.0)
    a = (sign * half_ulp * (1 + 2.0 ** -23)).astype(f32)
    b = np.full(200, 1 - 2.0 ** -23, dtype=f32)     # a*b = ±half_ulp·(1 − 2⁻⁴⁶)
    # subnormal results: c an odd multiple of 2⁻¹⁴⁹ (large enough that float64 cannot see
    # a*b's deviation from 2⁻¹⁵⁰), a*b just under half of 2⁻¹⁴⁹
    c_sub = ((2 ** 22 + np.arange(1, 41, 2)) * 2.0 ** -149).astype(f32)
    a_sub = np.full(20, 2.0 ** -100 * (1 + 2.0 ** -23), dtype=f32)
    b_sub = np.full(20, 2.0 ** -50 * (1 - 2.0 ** -23), dtype=f32)
    a, b, c = np.concatenate([a, a_sub]), np.concatenate([b, b_sub]), np.concatenate([c, c_sub])
    exact = np.array([_round_exact(Fraction(float(x)) * Fraction(float(y)) + Fraction(float(z)),
                                   np.dtype(f32)) for x, y, z in zip(a, b, c)], dtype=f32)
    twice = (a.astype(np.float64) * b + c).astype(f32)
    assert np.all(twice != exact)                  # the cases are real traps
    assert fma(a, b, c).tobytes() == exact.tobytes()


def test_fma_non_finite_falls_back():
    inf = np.inf
    got = fma(np.array([inf, 1.0, np.nan, 1e300]), np.array([2.0, inf, 1.0, 1e10]),
              np.array([1.0, 1.0, 1.0, 0.0]))
    assert np.array_equal(got, np.array([inf, inf, np.nan, inf]), equal_nan=True)
    got32 = fma(np.float32([np.inf, 3e38]), np.float32([1, 10]), np.float32([0, 0]))
    assert got32.dtype == np.float32 and np.isposinf(got32).all()


# ---------------------------------------------------------------------------------------------
# Interface: in place, dtype, state, catalogue
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_updates_in_place_and_keeps_dtype(name, dtype):
    params, grads = make_problem(dtype, steps=2)
    views = {k: v[...] for k, v in params.items()}           # views share memory
    before = {k: v.copy() for k, v in params.items()}
    opt = OPTIMIZERS[name]()
    for g in grads:
        opt.update(params, g)
    for k, v in params.items():
        assert v.dtype == np.dtype(dtype)
        assert np.shares_memory(v, views[k]) and np.array_equal(v, views[k])
        assert not np.array_equal(v, before[k])
    assert set(opt.state) == set(params)


def test_catalogue_is_plain_data_and_builds_torch_optimizers():
    assert set(OPTIMIZERS) == set(TORCH_EQUIVALENT) == set(TORCH_FORMS) | {
        "book_momentum", "book_adagrad", "book_adam"}
    json.dumps(TORCH_EQUIVALENT)                     # strings, numbers, dicts, lists only
    for name, cls in OPTIMIZERS.items():
        assert cls.name == name
        entry = TORCH_EQUIVALENT[name]
        assert {"torch_class", "kwargs", "relation", "difference"} <= set(entry)
        assert entry["kwargs"] == cls().torch_kwargs()
        torch_class(name)([torch.nn.Parameter(torch.zeros(2))], **entry["kwargs"])
        if name.startswith("book_"):
            assert entry["difference"], f"{name} needs its difference in the catalogue"


def test_state_per_key_and_keys_added_later():
    """Adam's step count is per parameter (as torch's state), so a key added later starts at 1."""
    params, grads = make_problem("float64", steps=3)
    opt = Adam()
    opt.update({"W0": params["W0"]}, {"W0": grads[0]["W0"]})
    opt.update(params, grads[1])
    assert opt.state["W0"]["step"] == 2 and opt.state["W1"]["step"] == 1


# ---------------------------------------------------------------------------------------------
# Argument errors
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("make, match", [
    (lambda: SGD(lr=0), r"lr must be > 0, got 0\.0"),
    (lambda: SGD(lr=-0.1), r"lr must be > 0, got -0\.1"),
    (lambda: Adam(lr=float("nan")), r"lr must be finite, got nan"),
    (lambda: AdaGrad(lr=float("inf")), r"lr must be finite"),
    (lambda: Momentum(momentum=1.0), r"momentum must be in \[0, 1\), got 1\.0"),
    (lambda: BookMomentum(momentum=-0.1), r"momentum must be in \[0, 1\), got -0\.1"),
    (lambda: Adam(beta1=1.0), r"beta1 must be in \[0, 1\), got 1\.0"),
    (lambda: BookAdam(beta2=1.5), r"beta2 must be in \[0, 1\), got 1\.5"),
    (lambda: Adam(eps=-1e-8), r"eps must be >= 0, got -1e-08"),
    (lambda: AdaGrad(eps=-1.0), r"eps must be >= 0"),
])
def test_bad_hyperparameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("make", [lambda: SGD(lr="0.1"), lambda: SGD(lr=True),
                                  lambda: Adam(beta1=None), lambda: AdaGrad(eps=[1e-8])])
def test_hyperparameter_types(make):
    with pytest.raises(TypeError):
        make()


def test_lr_change_is_checked():
    opt = Momentum()
    opt.lr = 0.5
    assert opt.lr == 0.5
    with pytest.raises(ValueError, match="lr must be > 0, got -1"):
        opt.lr = -1


def _pair(dtype="float64"):
    rng = np.random.default_rng(0)
    params = {"W": rng.standard_normal((2, 3)).astype(dtype), "b": np.zeros(3, dtype)}
    grads = {k: np.ones_like(v) for k, v in params.items()}
    return params, grads


@pytest.mark.parametrize("mutate, exc, match", [
    (lambda p, g: g.pop("b"), ValueError, r"missing in grads: \['b'\]"),
    (lambda p, g: g.update(c=np.ones(1)), ValueError, r"not in params: \['c'\]"),
    (lambda p, g: g.update(b=np.ones(4)), ValueError, r"grads\['b'\] has shape \(4,\) but params\['b'\] has shape \(3,\)"),
    (lambda p, g: g.update(b=np.ones(3, np.int64)), TypeError, r"grads\['b'\] must have a floating dtype"),
    (lambda p, g: g.update(b=np.ones(3, np.float32)), TypeError, r"grads\['b'\] has dtype float32 but params\['b'\] has float64"),
    (lambda p, g: p.update(b=np.zeros(3, np.int32)), TypeError, r"params\['b'\] must have a floating dtype"),
    (lambda p, g: (p.update(b=np.zeros(3, np.float16)), g.update(b=np.ones(3, np.float16))),
     TypeError, r"params\['b'\] has dtype float16"),
    (lambda p, g: p.update(b=[0.0, 0.0, 0.0]), TypeError, r"params\['b'\] must be a numpy.ndarray"),
    (lambda p, g: p.update(b=np.broadcast_to(np.zeros(1), (3,))), ValueError, r"params\['b'\] is read-only"),
])
@pytest.mark.parametrize("name", ["sgd", "adam", "book_adam"])
def test_update_errors_leave_everything_untouched(name, mutate, exc, match):
    """The bad entry is the last key ('b'): nothing — not 'W', not the state — may change."""
    params, grads = _pair()
    twin_params, twin_grads = _pair()
    opt, twin = OPTIMIZERS[name](), OPTIMIZERS[name]()
    opt.update(params, grads)                       # some state exists
    twin.update(twin_params, twin_grads)
    bad_params, bad_grads = dict(params), dict(grads)
    mutate(bad_params, bad_grads)
    with pytest.raises(exc, match=match):
        opt.update(bad_params, bad_grads)
    assert all(np.array_equal(params[k], twin_params[k]) for k in params)
    # the state was not advanced either: the next good step matches the twin's
    opt.update(params, grads)
    twin.update(twin_params, twin_grads)
    assert all(np.array_equal(params[k], twin_params[k]) for k in params)


def test_state_shape_change_is_refused():
    params, grads = _pair()
    opt = Adam()
    opt.update(params, grads)
    with pytest.raises(ValueError, match=r"state for 'W' was made for shape \(2, 3\)"):
        opt.update({"W": np.zeros((3, 2)), "b": params["b"]},
                   {"W": np.ones((3, 2)), "b": grads["b"]})
