"""How torch.optim's CPU kernels round, in NumPy: an exactly rounded fused multiply-add, torch's lerp.

The torch-form optimizers of ``reference.optimizer`` (``SGD``, ``Momentum``, ``AdaGrad``,
``Adam``) compute what ``torch.optim`` computes on the CPU (its single-tensor,
``foreach=False`` code), in the parameter's dtype, *in the same order of operations with the
same roundings*. The aim is bit-for-bit agreement. What that takes:

1. **Scalars are rounded to the parameter dtype first.** torch converts a Python-float
   hyperparameter (``lr``, ``momentum``, ``1 - beta2``, ``eps``, ``step_size`` ...) to the
   tensor's dtype before the kernel uses it, so for float32 parameters ``lr = 0.001`` acts
   as ``float32(0.001)``. Scalar-only arithmetic (``1 - beta1 ** step``, ``lr / bc1``,
   ``bc2 ** 0.5``) is done in Python floats (double), as torch.optim does, and only then
   rounded to the dtype. In the optimizers: ``dt(x)`` with ``dt = p.dtype.type``.
2. **torch's CPU kernels use fused multiply-add.** ``param.add_(grad, alpha=a)`` is computed
   as ``fma(grad, a, param)`` (one rounding, not two), ``addcmul_(t1, t2, value=v)`` as
   ``fma(v*t1, t2, self)``, and ``lerp_(end, w)`` as ``fma(w, end - self, self)`` for
   ``|w| < 0.5`` (else ``fma(w - 1, end - self, end)``). NumPy has no fma, so :func:`fma`
   emulates a correctly rounded one exactly (error-free transformations, see its
   docstring). ``addcdiv_(t1, t2, value=v)`` is *not* fused: ``self + (v*t1)/t2``, three
   roundings, in that order (``v*t1`` first, not ``t1/t2``). ``fused=False`` rounds every
   product and sum separately instead (:func:`mul_add`; faster; this is what a torch build
   without FMA kernels, CPU capability "default", computes).
3. **Square roots.** NumPy's ``sqrt`` is correctly rounded. torch's CPU ``sqrt`` need not
   be: in MKL builds ATen (``ATen/cpu/vml.h``) calls MKL's ``vsSqrt``/``vdSqrt`` in
   high-accuracy mode (``VML_HA``: within 1 ulp, not correctly rounded), which on the
   machine this was written on (torch 2.14 + MKL 2024.2, AMD EPYC) returns the neighbour
   of the correctly rounded value for ~16 % of float32 and ~1 % of float64 inputs. That ulp — not the formulas — is the only
   difference left between ``AdaGrad``/``Adam`` and torch; with torch's own sqrt put in
   place of ``reference.optimizer._sqrt`` they agree to the bit (``parity_tests/test_optimizers.py``
   does exactly that). Every square root of the optimizers goes through that name for this reason.

Limits of the emulation: :func:`fma` is exact for finite inputs whose float64 products
neither overflow nor underflow (``|a|, |b| < 2**995``, ``|a*b| > 2**-969``); elsewhere it
falls back to ``a*b + c`` (at most one extra rounding). float16 is refused: torch computes
half-precision updates in float32 and rounds once per kernel, which this module does not model.
"""
from __future__ import annotations

import numpy as np

__all__ = ["fma", "mul_add", "lerp"]


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


def mul_add(a, b, c):
    """``a*b + c`` with two roundings (what an fma-less kernel computes)."""
    return a * b + c


def lerp(start, end, weight, fused=True):
    """torch.lerp(start, end, weight) with a scalar weight (already in the dtype).

    torch (ATen ``lerp``) picks the formula by the size of the weight, for accuracy at both
    ends: ``start + weight*(end - start)`` for ``|weight| < 0.5``, else
    ``end - (1 - weight)*(end - start)``, written as an fma ``(weight - 1)*(end - start) + end``.
    """
    madd = fma if fused else mul_add
    diff = end - start
    if abs(weight) < 0.5:
        return madd(weight, diff, start)
    return madd(weight - weight.dtype.type(1), diff, end)
