"""Optimizers: torch.optim's update rules, operation for operation, and the book's variants.

The book's interface is kept::

    opt = Adam(lr=0.001)
    for x, t in batches:
        grads = net.gradient(x, t)
        opt.update(net.params, grads)     # updates the arrays of net.params in place

``params`` and ``grads`` are dicts ``name -> numpy array``. ``update`` writes into the arrays
of ``params`` (``p[...] = new``), so every view of them (a layer's ``W``, a torch tensor made
with ``torch.from_numpy``) sees the new values. State (momentum buffers, accumulators, step
counts) is kept per key in ``opt.state[key]``.

Two families
------------
``SGD``, ``Momentum``, ``AdaGrad``, ``Adam`` compute what ``torch.optim.SGD`` /
``Adagrad`` / ``Adam`` compute on the CPU (their single-tensor, ``foreach=False`` code), in
the parameter's dtype, *in the same order of operations with the same roundings*. The aim is
bit-for-bit agreement; see "Rounding" below for what that takes and where it stops.

``BookMomentum``, ``BookAdaGrad``, ``BookAdam`` are the book's code (``common/optimizer.py``),
kept because teachers and students know it. Each docstring says exactly how it relates to the
torch form; ``TORCH_EQUIVALENT`` records the same as data for the report's catalog of
semantic differences.

Rounding (how the torch-equivalent classes reproduce torch.optim)
-----------------------------------------------------------------
1. **Scalars are rounded to the parameter dtype first.** torch converts a Python-float
   hyperparameter (``lr``, ``momentum``, ``1 - beta2``, ``eps``, ``step_size`` ...) to the
   tensor's dtype before the kernel uses it, so for float32 parameters ``lr = 0.001`` acts
   as ``float32(0.001)``. Scalar-only arithmetic (``1 - beta1 ** step``, ``lr / bc1``,
   ``bc2 ** 0.5``) is done in Python floats (double), as torch.optim does, and only then
   rounded to the dtype. Here: ``dt(x)`` with ``dt = p.dtype.type``.
2. **torch's CPU kernels use fused multiply-add.** ``param.add_(grad, alpha=a)`` is computed
   as ``fma(grad, a, param)`` (one rounding, not two), ``addcmul_(t1, t2, value=v)`` as
   ``fma(v*t1, t2, self)``, and ``lerp_(end, w)`` as ``fma(w, end - self, self)`` for
   ``|w| < 0.5`` (else ``fma(w - 1, end - self, end)``). NumPy has no fma, so :func:`fma`
   emulates a correctly rounded one exactly (error-free transformations, see its
   docstring). ``addcdiv_(t1, t2, value=v)`` is *not* fused: ``self + (v*t1)/t2``, three
   roundings, in that order (``v*t1`` first, not ``t1/t2``). Pass ``fused=False`` to round
   every product and sum separately instead (faster; this is what a torch build without
   FMA kernels, CPU capability "default", computes).
3. **Square roots.** NumPy's ``sqrt`` is correctly rounded. torch's CPU ``sqrt`` need not
   be: in MKL builds ATen (``ATen/cpu/vml.h``) calls MKL's ``vsSqrt``/``vdSqrt`` in
   high-accuracy mode (``VML_HA``: within 1 ulp, not correctly rounded), which on the
   machine this was written on (torch 2.14 + MKL 2024.2, AMD EPYC) returns the neighbour
   of the correctly rounded value for ~16 % of float32 and ~1 % of float64 inputs. That ulp — not the formulas — is the only
   difference left between ``AdaGrad``/``Adam`` and torch; with torch's own sqrt put in
   place of :data:`_sqrt` they agree to the bit (``parity_tests/test_optimizers.py`` does
   exactly that). Every square root here goes through the module-level ``_sqrt`` for this
   reason.

The book's classes use the book's own rounding (plain NumPy, each operation rounded,
no fma), except that their scalars are also rounded to the parameter dtype: under NumPy 2
the book's ``lr_t`` (a ``np.float64``) would silently promote a float32 update to float64.

Limits of the emulation: :func:`fma` is exact for finite inputs whose float64 products
neither overflow nor underflow (``|a|, |b| < 2**995``, ``|a*b| > 2**-969``); elsewhere it
falls back to ``a*b + c`` (at most one extra rounding). float16 is refused: torch computes
half-precision updates in float32 and rounds once per kernel, which this module does not model.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .checks import check_float_array

__all__ = ["fma", "Optimizer", "SGD", "Momentum", "AdaGrad", "Adam",
           "BookMomentum", "BookAdaGrad", "BookAdam", "OPTIMIZERS", "TORCH_EQUIVALENT"]

_SUPPORTED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

# Every square root of this module goes through this name (see "Rounding", point 3), so a
# test can substitute torch's sqrt and show that the square root is the only difference.
_sqrt = np.sqrt


# ---------------------------------------------------------------------------------------------
# Floating-point primitives: an exactly rounded fma, and torch's lerp
# ---------------------------------------------------------------------------------------------

def _two_sum(a, b):
    """Knuth's TwoSum: ``s = fl(a + b)`` and the exact error ``e``, ``a + b == s + e``."""
    s = a + b
    bb = s - a
    e = (a - (s - bb)) + (b - bb)
    return s, e


def _split(x):
    """Veltkamp's split of a float64 into two 26-bit halves, ``x == hi + lo`` exactly."""
    t = 134217729.0 * x  # 2**27 + 1
    hi = t - (t - x)
    return hi, x - hi


def _two_prod(a, b):
    """Dekker's TwoProduct: ``p = fl(a * b)`` and the exact error ``e``, ``a * b == p + e``."""
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, e


def _round_to_odd(s, e):
    """Given ``s = fl(x)`` (nearest) and ``e = x - s`` exactly, return ``x`` rounded to odd.

    Rounding to odd: exact results stay, inexact ones go to whichever of the two floats
    around ``x`` has an odd last bit. A float64 rounded to odd can then be rounded to any
    format at least 2 bits shorter (float32 here, or one more nearest-addition) without the
    error that rounding twice to nearest can make.

    On the bit pattern (sign and magnitude, so ±1 moves the magnitude by one ulp): if
    ``x`` is inexact, truncate it toward zero — ``s`` itself when ``|x| > |s|`` (e has the
    sign of s), else the float one below ``s`` in magnitude — and set the last bit.
    ``e`` is NaN only when ``s`` is infinite; such ``s`` are left alone.
    """
    s = np.asarray(s, dtype=np.float64)
    inexact = np.abs(e) > 0                       # False for NaN
    below = inexact & ((e > 0) != (s > 0))        # x lies between s and the float below it
    bits = s.view(np.int64) - below
    return (bits | inexact).view(np.float64)


# A float64 lies exactly halfway between two float32 when the 29 low bits of its 52-bit
# significand (those that float32 drops) are 1 followed by 28 zeros.
_FLOAT32_DROPPED_BITS = np.int64((1 << 29) - 1)
_FLOAT32_HALFWAY = np.int64(1 << 28)
_FLOAT32_TINY = 2.0 ** -126      # below this, float32 is subnormal: coarser halfway points


def _fma32(a, b, c):
    """fma for float32 inputs, via float64.

    ``a*b`` of two float32 is exact in float64 (24 + 24 bits ≤ 53); ``s = fl64(a*b + c)`` is
    then rounded once, and ``s`` to float32 a second time. Rounding twice gives the correctly
    rounded float32 everywhere except where ``s`` landed *exactly* halfway between two float32
    while ``a*b + c`` itself was not halfway (then ties-to-even may pick the wrong side).
    Those elements — rare in practice; also those in float32's subnormal range, whose halfway
    points are not the ones tested — are redone exactly: TwoSum gives the error of ``s``,
    rounding to odd keeps the information that ``s`` was inexact, and the final rounding to
    float32 is then correct.
    """
    p = np.multiply(a, b, dtype=np.float64)          # exact
    s = np.add(p, c, dtype=np.float64)               # rounded once
    out = s.astype(np.float32)                       # rounded twice
    bits = s.view(np.int64)
    redo = (bits & _FLOAT32_DROPPED_BITS) == _FLOAT32_HALFWAY
    redo |= (np.abs(s) < _FLOAT32_TINY) & (s != 0)   # (s == 0 is exact: p == -c)
    if redo.any():
        s, e = _two_sum(p[redo], np.asarray(c, dtype=np.float64)[redo])
        out[redo] = _round_to_odd(s, e).astype(np.float32)
    return out


def _fma64(a, b, c):
    """fma for float64 inputs: Boldo & Melquiond's emulation with rounding to odd."""
    uh, ul = _two_prod(a, b)
    th, tl = _two_sum(c, uh)
    v, ve = _two_sum(tl, ul)
    r = th + _round_to_odd(v, ve)
    ok = np.isfinite(r)
    return r if ok.all() else np.where(ok, r, a * b + c)


_FMA_CHUNK = 1 << 15   # elements per block: the temporaries stay small and in cache


def fma(a, b, c):
    """Fused multiply-add ``a*b + c`` with a single rounding, in the dtype of the inputs.

    torch's vectorised CPU kernels use the processor's fma instruction; NumPy has none, so it
    is emulated exactly:

    - float32: ``a*b`` of two float32 is exact in float64; ``a*b + c`` is summed in float64
      and rounded to float32; the rare sums where rounding twice could err (see
      :func:`_fma32`) are redone with their exact error (TwoSum) and rounding to odd.
    - float64: Boldo & Melquiond's emulation (2008): ``uh + ul = a*b`` (Dekker),
      ``th + tl = c + uh`` (TwoSum), ``v = round_to_odd(tl + ul)``, result ``th + v``.

    Non-finite results (and the overflow/underflow ranges named in the module docstring)
    fall back to ``a*b + c``. Large arrays are processed in blocks of ``_FMA_CHUNK``
    elements: the emulation makes a dozen temporaries, and block-sized ones are ~10 times
    faster than array-sized ones (no fresh pages to fault in, cache-resident).
    """
    dtype = np.result_type(a, b, c)
    if dtype == np.float32:
        kernel = _fma32
    elif dtype == np.float64:
        kernel = _fma64
    else:
        raise TypeError(f"fma supports float32 and float64, got {dtype}")
    shape = np.broadcast_shapes(np.shape(a), np.shape(b), np.shape(c))
    flat = [np.broadcast_to(np.asarray(x, dtype=dtype), shape).reshape(-1) for x in (a, b, c)]
    out = np.empty(shape, dtype=dtype)
    out_flat = out.reshape(-1)
    with np.errstate(over="ignore", invalid="ignore"):   # inf/nan pass through, as in torch
        for i in range(0, out_flat.size, _FMA_CHUNK):
            block = slice(i, i + _FMA_CHUNK)
            out_flat[block] = kernel(*(x[block] for x in flat))
    return out


def _mul_add(a, b, c):
    """``a*b + c`` with two roundings (what an fma-less kernel computes)."""
    return a * b + c


def _lerp(start, end, weight, fused=True):
    """torch.lerp(start, end, weight) with a scalar weight (already in the dtype).

    torch (ATen ``lerp``) picks the formula by the size of the weight, for accuracy at both
    ends: ``start + weight*(end - start)`` for ``|weight| < 0.5``, else
    ``end - (1 - weight)*(end - start)``, written as an fma ``(weight - 1)*(end - start) + end``.
    """
    madd = fma if fused else _mul_add
    diff = end - start
    if abs(weight) < 0.5:
        return madd(weight, diff, start)
    return madd(weight - weight.dtype.type(1), diff, end)


# ---------------------------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------------------------

def _check_number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def _check_lr(lr) -> float:
    lr = _check_number(lr, "lr")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    return lr


def _check_unit_interval(value, name: str) -> float:
    """A decay rate in [0, 1): momentum, beta1, beta2."""
    value = _check_number(value, name)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value}")
    return value


def _check_eps(eps) -> float:
    eps = _check_number(eps, "eps")
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    return eps


def _check_params_grads(params, grads) -> None:
    """Check the whole of ``params``/``grads`` before any array is touched."""
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict name -> numpy array, got {type(params).__name__}")
    if not isinstance(grads, dict):
        raise TypeError(f"grads must be a dict name -> numpy array, got {type(grads).__name__}")
    missing = [k for k in params if k not in grads]
    extra = [k for k in grads if k not in params]
    if missing or extra:
        raise ValueError("grads must have the same keys as params: "
                         + "; ".join(([f"missing in grads: {missing}"] if missing else [])
                                     + ([f"not in params: {extra}"] if extra else [])))
    for key, p in params.items():
        check_float_array(p, f"params[{key!r}]")
        g = check_float_array(grads[key], f"grads[{key!r}]")
        if p.dtype not in _SUPPORTED_DTYPES:
            raise TypeError(f"params[{key!r}] has dtype {p.dtype}; the optimizers support "
                            f"float32 and float64")
        if g.dtype != p.dtype:
            raise TypeError(f"grads[{key!r}] has dtype {g.dtype} but params[{key!r}] has "
                            f"{p.dtype}; they must match (as in torch)")
        if g.shape != p.shape:
            raise ValueError(f"grads[{key!r}] has shape {g.shape} but params[{key!r}] has "
                             f"shape {p.shape}")
        if not p.flags.writeable:
            raise ValueError(f"params[{key!r}] is read-only; the update writes into it in place")


# ---------------------------------------------------------------------------------------------
# The optimizers
# ---------------------------------------------------------------------------------------------

class Optimizer:
    """Base class: argument checks, per-key state and the in-place ``update``.

    Subclasses implement ``_update(key, p, g, state)``, returning the new parameter values
    (``update`` writes them into ``p``), and ``torch_kwargs()``.
    """

    name = ""

    def __init__(self, lr: float, fused: bool = True):
        self.lr = lr
        self.fused = bool(fused)
        self.state: dict[str, dict] = {}

    @property
    def lr(self) -> float:
        """The learning rate; may be changed between updates (a schedule), and is re-checked."""
        return self._lr

    @lr.setter
    def lr(self, value) -> None:
        self._lr = _check_lr(value)

    def _madd(self, a, b, c):
        return fma(a, b, c) if self.fused else _mul_add(a, b, c)

    def update(self, params: dict, grads: dict) -> None:
        """Apply one step to every array of ``params`` in place, with the matching ``grads``.

        Everything is checked first (same keys, same shapes and dtypes, float32/float64,
        writable, state compatible), so a bad call leaves params and state untouched.
        """
        _check_params_grads(params, grads)
        for key, p in params.items():
            st = self.state.get(key)
            if st is not None and (st["shape"] != p.shape or st["dtype"] != p.dtype):
                raise ValueError(f"params[{key!r}] has shape {p.shape} and dtype {p.dtype}, but "
                                 f"this optimizer's state for {key!r} was made for shape "
                                 f"{st['shape']} and dtype {st['dtype']}; use a new optimizer")
        self._begin_step()
        for key, p in params.items():
            st = self.state.setdefault(key, {"shape": p.shape, "dtype": p.dtype})
            p[...] = self._update(key, p, grads[key], st)

    def _begin_step(self) -> None:
        """Hook called once per ``update`` (the book's Adam counts steps globally)."""

    def _update(self, key, p, g, state):
        raise NotImplementedError

    def torch_kwargs(self) -> dict:
        """Keyword arguments for the torch.optim class of ``TORCH_EQUIVALENT[self.name]``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        kw = ", ".join(f"{k}={v!r}" for k, v in self._hyper().items())
        return f"{type(self).__name__}({kw})"

    def _hyper(self) -> dict:
        return {"lr": self.lr}


class SGD(Optimizer):
    """Plain stochastic gradient descent, as ``torch.optim.SGD(lr)`` (no momentum).

        p ← p − lr·g

    Rounding: torch's ``param.add_(grad, alpha=-lr)`` is ``fma(g, −lr, p)``: one rounding.
    """

    name = "sgd"

    def __init__(self, lr: float = 0.01, *, fused: bool = True):
        super().__init__(lr, fused)

    def _update(self, key, p, g, state):
        dt = p.dtype.type
        return self._madd(g, dt(-self.lr), p)

    def torch_kwargs(self) -> dict:
        return {"lr": self.lr, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0,
                "nesterov": False, "foreach": False}


class Momentum(Optimizer):
    """SGD with momentum in torch's form, as ``torch.optim.SGD(lr, momentum)`` (dampening 0).

        v₁ = g₁,   v ← μ·v + g   (t > 1)
        p ← p − lr·v

    The buffer ``v`` holds a sum of gradients and does not carry the learning rate, so a
    change of ``lr`` acts on the whole buffer at once (compare ``BookMomentum``).

    Rounding: ``buf.mul_(μ)`` (one rounding), ``.add_(g, alpha=1)`` (one rounding; an fma
    with factor 1 is a plain add), then ``param.add_(buf, alpha=-lr)`` = ``fma(v, −lr, p)``.
    """

    name = "momentum"

    def __init__(self, lr: float = 0.01, momentum: float = 0.9, *, fused: bool = True):
        super().__init__(lr, fused)
        self.momentum = _check_unit_interval(momentum, "momentum")

    def _update(self, key, p, g, state):
        dt = p.dtype.type
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = state["momentum_buffer"] = g.copy()
        else:
            buf *= dt(self.momentum)
            buf += g
        return self._madd(buf, dt(-self.lr), p)

    def torch_kwargs(self) -> dict:
        return {"lr": self.lr, "momentum": self.momentum, "dampening": 0.0,
                "weight_decay": 0.0, "nesterov": False, "foreach": False}

    def _hyper(self) -> dict:
        return {"lr": self.lr, "momentum": self.momentum}


class BookMomentum(Optimizer):
    """The book's momentum: the buffer is a velocity that carries the learning rate.

        v₀ = 0,   v ← α·v − η·g
        p ← p + v

    Relation to ``Momentum`` (torch): with a constant η, by induction ``v_book = −η·v_torch``
    (v₁ = −η·g₁; v_t = α(−η·v_{t−1}) − η·g_t = −η(α·v_{t−1} + g_t)), so both take exactly the
    same steps and agree up to rounding. They stop being equivalent when η changes during
    training: torch's buffer holds raw gradients and the new η scales all of it at once; the
    book's velocity keeps the old η inside it, decaying by α per step. After η₁ → η₂ at step
    k, the book's parameters after step k + n − 1 differ from torch's by
    (η₂ − η₁)·v_torch,k−1·(α + α² + … + αⁿ).

    Rounding: the book's, each operation rounded: ``(α·v) − (η·g)``, then ``p + v``.
    """

    name = "book_momentum"

    def __init__(self, lr: float = 0.01, momentum: float = 0.9):
        super().__init__(lr, fused=False)
        self.momentum = _check_unit_interval(momentum, "momentum")

    def _update(self, key, p, g, state):
        dt = p.dtype.type
        v = state.get("v")
        if v is None:
            v = state["v"] = np.zeros_like(p)
        v[...] = dt(self.momentum) * v - dt(self.lr) * g
        return p + v

    def torch_kwargs(self) -> dict:
        return Momentum.torch_kwargs(self)

    def _hyper(self) -> dict:
        return {"lr": self.lr, "momentum": self.momentum}


class AdaGrad(Optimizer):
    """AdaGrad as ``torch.optim.Adagrad(lr, eps)`` (lr_decay 0, initial accumulator 0).

        h ← h + g²
        p ← p − lr·g / (√h + eps)

    (torch's general step size is ``clr = lr / (1 + (t − 1)·lr_decay)``; with lr_decay 0 it
    is ``lr``. The step count ``t`` is kept in ``state[key]["step"]`` as torch does.)

    Rounding: ``state_sum.addcmul_(g, g, value=1)`` = ``fma(g, g, h)``; ``std = √h + eps``
    (two roundings); ``param.addcdiv_(g, std, value=−lr)`` = ``p + ((−lr·g) / std)``,
    three roundings in that order.
    """

    name = "adagrad"

    def __init__(self, lr: float = 0.01, eps: float = 1e-10, *, fused: bool = True):
        super().__init__(lr, fused)
        self.eps = _check_eps(eps)

    def _update(self, key, p, g, state):
        dt = p.dtype.type
        h = state.get("sum")
        if h is None:
            h = state["sum"] = np.zeros_like(p)
            state["step"] = 0
        state["step"] += 1
        clr = self.lr  # torch: lr / (1 + (step - 1) * lr_decay), and lr_decay is 0
        h[...] = self._madd(g, g, h)
        std = _sqrt(h) + dt(self.eps)
        return p + (dt(-clr) * g) / std

    def torch_kwargs(self) -> dict:
        return {"lr": self.lr, "lr_decay": 0.0, "weight_decay": 0.0,
                "initial_accumulator_value": 0.0, "eps": self.eps, "foreach": False}

    def _hyper(self) -> dict:
        return {"lr": self.lr, "eps": self.eps}


class BookAdaGrad(Optimizer):
    """The book's AdaGrad: the same formula as ``AdaGrad`` with eps = 1e-7 instead of 1e-10.

        h ← h + g²
        p ← p − η·g / (√h + 1e-7)

    This *is* ``AdaGrad(lr, eps=1e-7)``: bit for bit with ``fused=False`` (the book adds
    ``g*g`` to ``h`` with two roundings, torch with one), and up to that rounding with torch.
    The only semantic difference from torch's default is eps, which matters where √h is
    small, i.e. for tiny gradients: there the book's step is smaller.
    """

    name = "book_adagrad"
    eps = 1e-7

    def __init__(self, lr: float = 0.01):
        super().__init__(lr, fused=False)

    def _update(self, key, p, g, state):
        dt = p.dtype.type
        h = state.get("h")
        if h is None:
            h = state["h"] = np.zeros_like(p)
        h += g * g
        return p - dt(self.lr) * g / (_sqrt(h) + dt(self.eps))

    def torch_kwargs(self) -> dict:
        return AdaGrad.torch_kwargs(self)


class Adam(Optimizer):
    """Adam as ``torch.optim.Adam(lr, betas=(β1, β2), eps)`` (amsgrad off, no weight decay).

    With t the step count of this parameter (``state[key]["step"]``):

        m ← β1·m + (1 − β1)·g          (torch: m.lerp_(g, 1 − β1))
        v ← β2·v + (1 − β2)·g²
        p ← p − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + eps)

    eps is added to the bias-corrected √v̂ = √v/√(1 − β2ᵗ) (compare ``BookAdam``).

    Rounding, following torch's ``_single_tensor_adam``:
    ``m = lerp(m, g, 1−β1)`` (an fma, see :func:`_lerp`); ``v = fma((1−β2)·g, g, β2·v)``
    with ``β2·v`` and ``(1−β2)·g`` rounded first; the scalars ``bc1 = 1 − β1**t``,
    ``bc2 = 1 − β2**t``, ``step_size = lr / bc1``, ``bc2_sqrt = bc2**0.5`` in double;
    ``denom = √v / bc2_sqrt + eps``; ``p + ((−step_size)·m) / denom``.
    """

    name = "adam"

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, *, fused: bool = True):
        super().__init__(lr, fused)
        self.beta1 = _check_unit_interval(beta1, "beta1")
        self.beta2 = _check_unit_interval(beta2, "beta2")
        self.eps = _check_eps(eps)

    def _update(self, key, p, g, state):
        dt = p.dtype.type
        if "step" not in state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
        state["step"] += 1
        m, v, step = state["exp_avg"], state["exp_avg_sq"], float(state["step"])

        m[...] = _lerp(m, g, dt(1 - self.beta1), self.fused)
        v *= dt(self.beta2)
        v[...] = self._madd(dt(1 - self.beta2) * g, g, v)

        bias_correction1 = 1 - self.beta1 ** step
        bias_correction2 = 1 - self.beta2 ** step
        step_size = self.lr / bias_correction1
        bias_correction2_sqrt = bias_correction2 ** 0.5
        denom = _sqrt(v) / dt(bias_correction2_sqrt) + dt(self.eps)
        return p + (dt(-step_size) * m) / denom

    def torch_kwargs(self) -> dict:
        return {"lr": self.lr, "betas": (self.beta1, self.beta2), "eps": self.eps,
                "weight_decay": 0.0, "amsgrad": False, "foreach": False}

    def _hyper(self) -> dict:
        return {"lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


class BookAdam(Optimizer):
    """The book's Adam: eps = 1e-7 is added to the *uncorrected* √v.

    With t the number of ``update`` calls so far (one counter for all keys, as in the book):

        lr_t = lr·√(1 − β2ᵗ) / (1 − β1ᵗ)
        m ← m + (1 − β1)·(g − m)
        v ← v + (1 − β2)·(g² − v)
        p ← p − lr_t·m / (√v + 1e-7)

    m and v are the same moving averages as torch's. Writing c_t = √(1 − β2ᵗ), the step is

        lr/(1 − β1ᵗ) · m / (√v/c_t + 1e-7/c_t),

    i.e. torch's Adam with a time-varying eps_t = 1e-7 / √(1 − β2ᵗ) on the corrected √v̂.
    Early in training that effective eps is *larger* than 1e-7 — 31.6 times at t = 1 with
    β2 = 0.999 (1/√0.001), still 1.6 times at t = 1000 — and it falls to 1e-7 as t → ∞.
    It matters where |g| is not much larger than eps_t: with gradients around 1e-6 the book's
    first steps are markedly shorter than those of ``torch.optim.Adam(eps=1e-7)``.

    Rounding: the book's (each operation rounded, ``(lr_t·m) / (√v + 1e-7)``), with lr_t
    computed in double and rounded to the dtype.
    """

    name = "book_adam"
    eps = 1e-7

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999):
        super().__init__(lr, fused=False)
        self.beta1 = _check_unit_interval(beta1, "beta1")
        self.beta2 = _check_unit_interval(beta2, "beta2")
        self.iter = 0

    def _begin_step(self) -> None:
        self.iter += 1

    def _update(self, key, p, g, state):
        dt = p.dtype.type
        if "m" not in state:
            state["m"] = np.zeros_like(p)
            state["v"] = np.zeros_like(p)
        m, v = state["m"], state["v"]
        lr_t = self.lr * math.sqrt(1.0 - self.beta2 ** self.iter) / (1.0 - self.beta1 ** self.iter)
        m += dt(1 - self.beta1) * (g - m)
        v += dt(1 - self.beta2) * (g * g - v)
        return p - dt(lr_t) * m / (_sqrt(v) + dt(self.eps))

    def torch_kwargs(self) -> dict:
        return {"lr": self.lr, "betas": (self.beta1, self.beta2), "eps": self.eps,
                "weight_decay": 0.0, "amsgrad": False, "foreach": False}

    def _hyper(self) -> dict:
        return {"lr": self.lr, "beta1": self.beta1, "beta2": self.beta2}


# ---------------------------------------------------------------------------------------------
# Catalogue
# ---------------------------------------------------------------------------------------------

OPTIMIZERS = {cls.name: cls for cls in (SGD, Momentum, AdaGrad, Adam,
                                         BookMomentum, BookAdaGrad, BookAdam)}
"""Name -> class, for the training harness and the CLI."""

TORCH_EQUIVALENT = {
    "sgd": {
        "torch_class": "torch.optim.SGD",
        "kwargs": SGD().torch_kwargs(),
        "relation": "identical",
        "difference": "",
    },
    "momentum": {
        "torch_class": "torch.optim.SGD",
        "kwargs": Momentum().torch_kwargs(),
        "relation": "identical",
        "difference": "",
    },
    "adagrad": {
        "torch_class": "torch.optim.Adagrad",
        "kwargs": AdaGrad().torch_kwargs(),
        "relation": "identical",
        "difference": "",
    },
    "adam": {
        "torch_class": "torch.optim.Adam",
        "kwargs": Adam().torch_kwargs(),
        "relation": "identical",
        "difference": "",
    },
    "book_momentum": {
        "torch_class": "torch.optim.SGD",
        "kwargs": BookMomentum().torch_kwargs(),
        "relation": "identical while lr is constant",
        "difference": ("The book's velocity v <- a*v - lr*g carries the learning rate, torch's "
                       "buffer v <- m*v + g does not (book v = -lr * torch v). With a constant "
                       "lr the trajectories are the same up to rounding; after a change "
                       "lr1 -> lr2 the book keeps decaying the old lr1 inside v, so the "
                       "parameters drift apart by (lr2 - lr1) * v * (m + m^2 + ... + m^n)."),
    },
    "book_adagrad": {
        "torch_class": "torch.optim.Adagrad",
        "kwargs": BookAdaGrad().torch_kwargs(),
        "relation": "identical with eps=1e-7",
        "difference": ("Same formula as torch.optim.Adagrad; the book's eps is 1e-7, torch's "
                       "default 1e-10. The book's steps are smaller where sqrt(h) is not much "
                       "larger than 1e-7 (tiny gradients)."),
    },
    "book_adam": {
        "torch_class": "torch.optim.Adam",
        "kwargs": BookAdam().torch_kwargs(),
        "relation": "nearest: torch Adam with eps_t = 1e-7 / sqrt(1 - beta2**t)",
        "difference": ("The book adds eps=1e-7 to the uncorrected sqrt(v); torch adds eps to "
                       "the bias-corrected sqrt(v / (1 - beta2**t)). The book is torch's Adam "
                       "with a time-varying eps_t = 1e-7 / sqrt(1 - beta2**t): 31.6x larger "
                       "at t = 1 (beta2 = 0.999), tending to 1e-7. For gradients near 1e-6 "
                       "the book's first steps are much shorter."),
    },
}
"""Name -> the torch.optim class (a dotted path), its keyword arguments for the default
hyperparameters (an instance's own are ``opt.torch_kwargs()``), how the two relate, and the
semantic difference for the report's catalogue. Plain data: no torch import."""
