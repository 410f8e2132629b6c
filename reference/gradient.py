"""Numerical gradients (central differences) and a gradient check for any book-style net."""
from __future__ import annotations

import numpy as np


def numerical_gradient(f, x, h=1e-4):
    """Central differences ∂f/∂x ≈ (f(x + h) − f(x − h)) / 2h, one element at a time.

    ``f`` takes ``x`` (and may ignore it, as in the book's ``lambda w: net.loss(x, t)``):
    ``x`` is modified in place and restored, so it must be the very array the net uses.
    Returns an array shaped like ``x``. Truncation error is O(h²); rounding error is
    O(eps/h) — h = 1e-4 suits float64 (use float64 for gradient checks).
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        idx = it.multi_index
        saved = x[idx]
        x[idx] = saved + h
        fxh1 = f(x)
        x[idx] = saved - h
        fxh2 = f(x)
        grad[idx] = (fxh1 - fxh2) / (2 * h)
        x[idx] = saved
        it.iternext()
    return grad


def gradient_check(net, x, t, h=1e-4, keys=None):
    """Compare backprop with central differences, per parameter.

    Returns {name: normwise relative error max|numeric − backprop| / max(max|numeric|, max|backprop|)}.
    The book prints the mean absolute difference; a normwise maximum catches a single wrong entry.
    """
    analytic = net.gradient(x, t)
    errors = {}
    for key in keys or net.params:
        numeric = numerical_gradient(lambda _: net.loss(x, t), net.params[key], h)
        diff = np.max(np.abs(numeric - analytic[key]))
        scale = max(np.max(np.abs(numeric)), np.max(np.abs(analytic[key])), np.finfo(x.dtype).tiny)
        errors[key] = float(diff / scale)
    return errors
