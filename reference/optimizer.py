"""Optimizers: the book's update rules (its ``common/optimizer.py``), then torch.optim's, operation for operation.

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
The book's optimizers come first: ``SGD`` (the book's rule and torch's are the same; with
``fused=False`` it rounds as the book does), ``BookMomentum``, ``BookAdaGrad``, ``BookAdam``
— the book's code, kept because teachers and students know it. They use the book's own
rounding (plain NumPy, each operation rounded, no fma), except that their scalars are also
rounded to the parameter dtype: under NumPy 2 the book's ``lr_t`` (a ``np.float64``) would
silently promote a float32 update to float64.

Then torch.optim's forms: ``Momentum``, ``AdaGrad``, ``Adam`` (and ``SGD``) compute what
``torch.optim.SGD`` / ``Adagrad`` / ``Adam`` compute on the CPU (their single-tensor,
``foreach=False`` code), in the parameter's dtype, *in the same order of operations with the
same roundings*. The rounding that takes — scalars rounded to the dtype, an exactly emulated
fused multiply-add, torch's lerp, and where it stops (the square root) — is explained and
implemented in ``reference.torch_arithmetic``. Each class's docstring names its roundings.

The book names its classes ``SGD``, ``Momentum``, ``AdaGrad``, ``Adam``; here the plain names
are torch's forms (what training and the parity harness use) and the book's are ``Book...``.
Each docstring says exactly how the two relate; ``TORCH_EQUIVALENT`` records the same as data
for the report's catalog of semantic differences.
"""
from __future__ import annotations

import math

import numpy as np

from .checks import check_eps, check_lr, check_params_grads, check_unit_interval
from .torch_arithmetic import fma, lerp, mul_add

__all__ = ["fma", "Optimizer", "SGD", "Momentum", "AdaGrad", "Adam",
           "BookMomentum", "BookAdaGrad", "BookAdam", "OPTIMIZERS", "TORCH_EQUIVALENT"]

# Every square root of this module goes through this name (see ``reference.torch_arithmetic``,
# point 3), so a test can substitute torch's sqrt and show that the square root is the only
# difference from torch.
_sqrt = np.sqrt


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
        self._lr = check_lr(value)

    def _madd(self, a, b, c):
        return fma(a, b, c) if self.fused else mul_add(a, b, c)

    def update(self, params: dict, grads: dict) -> None:
        """Apply one step to every array of ``params`` in place, with the matching ``grads``.

        Everything is checked first (same keys, same shapes and dtypes, float32/float64,
        writable, state compatible), so a bad call leaves params and state untouched.
        """
        check_params_grads(params, grads)
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


# ---------------------------------------------------------------------------------------------
# The book's optimizers (SGD is both the book's and torch's)
# ---------------------------------------------------------------------------------------------

class SGD(Optimizer):
    """Plain stochastic gradient descent: the book's ``SGD`` and ``torch.optim.SGD(lr)`` (no momentum).

        p ← p − lr·g

    The book and torch have the same rule; they differ only in rounding. torch's
    ``param.add_(grad, alpha=-lr)`` is ``fma(g, −lr, p)``: one rounding (the default,
    ``fused=True``). ``fused=False`` rounds the product and the sum separately, which is the
    book's ``params[key] -= lr * grads[key]`` to the bit.
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
        self.momentum = check_unit_interval(momentum, "momentum")

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
        self.beta1 = check_unit_interval(beta1, "beta1")
        self.beta2 = check_unit_interval(beta2, "beta2")
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
# torch.optim's forms, operation for operation (rounding: reference.torch_arithmetic)
# ---------------------------------------------------------------------------------------------

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
        self.momentum = check_unit_interval(momentum, "momentum")

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
        self.eps = check_eps(eps)

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


class Adam(Optimizer):
    """Adam as ``torch.optim.Adam(lr, betas=(β1, β2), eps)`` (amsgrad off, no weight decay).

    With t the step count of this parameter (``state[key]["step"]``):

        m ← β1·m + (1 − β1)·g          (torch: m.lerp_(g, 1 − β1))
        v ← β2·v + (1 − β2)·g²
        p ← p − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + eps)

    eps is added to the bias-corrected √v̂ = √v/√(1 − β2ᵗ) (compare ``BookAdam``).

    Rounding, following torch's ``_single_tensor_adam``:
    ``m = lerp(m, g, 1−β1)`` (an fma, see ``torch_arithmetic.lerp``); ``v = fma((1−β2)·g, g, β2·v)``
    with ``β2·v`` and ``(1−β2)·g`` rounded first; the scalars ``bc1 = 1 − β1**t``,
    ``bc2 = 1 − β2**t``, ``step_size = lr / bc1``, ``bc2_sqrt = bc2**0.5`` in double;
    ``denom = √v / bc2_sqrt + eps``; ``p + ((−step_size)·m) / denom``.
    """

    name = "adam"

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, *, fused: bool = True):
        super().__init__(lr, fused)
        self.beta1 = check_unit_interval(beta1, "beta1")
        self.beta2 = check_unit_interval(beta2, "beta2")
        self.eps = check_eps(eps)

    def _update(self, key, p, g, state):
        dt = p.dtype.type
        if "step" not in state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
        state["step"] += 1
        m, v, step = state["exp_avg"], state["exp_avg_sq"], float(state["step"])

        m[...] = lerp(m, g, dt(1 - self.beta1), self.fused)
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
