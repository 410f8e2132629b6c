"""The plants of the bugs in the optimizers, the weight transfer and the harness (see ``catalog.py``).

The optimizer plants that change a formula (eps placement, bias correction) are short
``MODIFIED COPY`` functions of ``reference.optimizer``'s ``_update`` with the changed lines
marked ``# BUG``; the others wrap the real method.
"""
from __future__ import annotations

import numpy as np

import reference.optimizer as O
import torch_impl.transfer as TR

from .. import records as REC
from .planting import temporarily


# ---------------------------------------------------------------------------------------------
# Optimizers
# ---------------------------------------------------------------------------------------------

def lr_float32(update, self, params, grads):
    # BUG: the update uses lr as a float32 number (a config parsed into float32) for float64
    # parameters too; torch (given the lr through torch_kwargs) rounds it to the parameter's dtype
    with temporarily(self, _lr=float(np.float32(self.lr))):
        return update(self, params, grads)


def sgd_other_rounding(update, self, key, p, g, state):
    with temporarily(self, fused=not self.fused):   # BUG: rounds p − lr·g unlike torch's kernel
        return update(self, key, p, g, state)


def momentum_forgets(update, self, key, p, g, state):
    state.pop("momentum_buffer", None)              # BUG: the buffer is lost at every step
    return update(self, key, p, g, state)


def momentum_dampened(update, self, key, p, g, state):
    if "momentum_buffer" in state:                  # BUG: v ← μ·v + (1 − μ)·g (dampening = μ)
        g = g * p.dtype.type(1 - self.momentum)
    return update(self, key, p, g, state)


def adagrad_eps_inside(update):
    # MODIFIED COPY of reference.optimizer.AdaGrad._update
    def _update(self, key, p, g, state):
        dt = p.dtype.type
        h = state.get("sum")
        if h is None:
            h = state["sum"] = np.zeros_like(p)
            state["step"] = 0
        state["step"] += 1
        h[...] = self._madd(g, g, h)
        std = O._sqrt(h + dt(self.eps))                     # BUG: was _sqrt(h) + eps
        return p + (dt(-self.lr) * g) / std
    return _update


def adam_variant(eps_uncorrected=False, bias_correction=True):
    def make(update):
        # MODIFIED COPY of reference.optimizer.Adam._update
        def _update(self, key, p, g, state):
            dt = p.dtype.type
            if "step" not in state:
                state["step"], state["exp_avg"], state["exp_avg_sq"] = 0, np.zeros_like(p), np.zeros_like(p)
            state["step"] += 1
            m, v, step = state["exp_avg"], state["exp_avg_sq"], float(state["step"])
            m[...] = O.lerp(m, g, dt(1 - self.beta1), self.fused)
            v *= dt(self.beta2)
            v[...] = self._madd(dt(1 - self.beta2) * g, g, v)
            bc1 = 1 - self.beta1 ** step if bias_correction else 1.0        # BUG when off
            bc2_sqrt = (1 - self.beta2 ** step) ** 0.5 if bias_correction else 1.0
            if eps_uncorrected:                                # BUG: eps on the uncorrected √v
                denom = (O._sqrt(v) + dt(self.eps)) / dt(bc2_sqrt)
            else:
                denom = O._sqrt(v) / dt(bc2_sqrt) + dt(self.eps)
            return p + (dt(-self.lr / bc1) * m) / denom
        return _update
    return make


def adam_beta1_for_beta2(update, self, key, p, g, state):
    with temporarily(self, beta2=self.beta1):       # BUG: beta1 where beta2 belongs
        return update(self, key, p, g, state)


# ---------------------------------------------------------------------------------------------
# Weight transfer
# ---------------------------------------------------------------------------------------------

def linear_reshaped(original):
    def _from_book(tensor, owner, attr):
        if TR.book_layout_is_transposed(owner, attr):
            return tensor.reshape(tuple(tensor.shape)[::-1])    # BUG: reshape instead of .T
        return original(tensor, owner, attr)
    return _from_book


def bias_swapped(get_mapping, module, mapping):
    mapping = get_mapping(module, mapping)
    widths = {}
    for name, path in mapping.items():
        if name.startswith("b"):
            owner, attr = TR.resolve_param(module, path)
            widths.setdefault(tuple(getattr(owner, attr).shape), []).append(name)
    for names in widths.values():
        if len(names) >= 2:                         # BUG: two layers of the same width swapped
            a, b = names[:2]
            mapping[a], mapping[b] = mapping[b], mapping[a]
            break
    return mapping


# ---------------------------------------------------------------------------------------------
# The harness
# ---------------------------------------------------------------------------------------------

def compare_blind(original):
    def compare(case, quantity, ref, torch_value, tol, **kwargs):
        # BUG: NaN/±inf replaced by 0 on both sides, so their positions are never compared
        clean = lambda v: np.nan_to_num(REC._as_numpy(v), nan=0.0, posinf=0.0, neginf=0.0)
        return original(case, quantity, clean(ref), clean(torch_value), tol, **kwargs)
    return compare


def tolerance_1000x(original):
    def reduction_tolerance(dtype, k, factor=16.0):
        tol = original(dtype, k, factor)
        return REC.Tolerance(1000 * tol.rtol, tol.why)          # BUG: 1000× too loose
    return reduction_tolerance


def relative_to_ref(original):
    def compare(case, quantity, ref, torch_value, tol, **kwargs):
        return original(case, quantity, torch_value, ref, tol, **kwargs)   # BUG: divides by max|ref|
    return compare


def shape_blind(original):
    def compare(case, quantity, ref, torch_value, tol, **kwargs):
        a, b = REC._as_numpy(ref), REC._as_numpy(torch_value)
        if a.shape != b.shape:                      # BUG: made to fit, as np.allclose would
            try:
                a, b = np.broadcast_arrays(a, b)
            except ValueError:
                if a.size == b.size:
                    a = a.reshape(b.shape)
        return original(case, quantity, a, b, tol, **kwargs)
    return compare


