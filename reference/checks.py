"""Input checks shared by the layers and the optimizers: one clear error, raised before any computation.

Each function names the argument that is wrong, says what was expected, and how to fix it.
``TypeError`` is raised for a wrong kind of value (not an array, integer dtype, ...),
``ValueError`` for a right kind with a wrong value (shape, sign, size).
"""
from __future__ import annotations

import math
import numbers

import numpy as np


def check_float_array(x, name: str, ndim: int | None = None) -> np.ndarray:
    """Return ``x`` as a NumPy array after checking it is floating point with ``ndim`` dims.

    Integer arrays are refused rather than silently converted: the book's code upcasts
    everything to float64, this reference keeps the caller's dtype (float32 stays float32),
    so the caller must choose the dtype.
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(x).__name__}; "
                        f"convert it with np.asarray({name}, dtype=np.float32 or np.float64)")
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{name} must have a floating dtype (float32 or float64), got {x.dtype}; "
                        f"convert it with {name}.astype(np.float32) or .astype(np.float64)")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {x.shape} ({x.ndim}-D)"
                         + (" — the layout is (N, C, H, W); add a batch axis with x[None]"
                            if ndim == 4 and x.ndim == 3 else ""))
    return x


def check_positive_int(value, name: str) -> int:
    """An integer ≥ 1 (strides, kernel sizes, channel counts)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be ≥ 1, got {value}")
    return int(value)


def check_nonnegative_int(value, name: str) -> int:
    """An integer ≥ 0 (padding)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be ≥ 0, got {value}")
    return int(value)


def check_float_dtype(dtype) -> np.dtype:
    """A network's ``dtype``: float32 or float64 (anything ``np.dtype`` reads), as a ``np.dtype``."""
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.floating):
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


def check_input_dim(input_dim) -> tuple:
    """A network's ``input_dim``: the (C, H, W) of one sample, three integers ≥ 1."""
    if len(input_dim) != 3:
        raise ValueError(f"input_dim must be (C, H, W), got {input_dim!r}")
    return tuple(check_positive_int(v, "input_dim") for v in input_dim)


def check_conv_param(cp, name: str) -> tuple:
    """A dict like SimpleConvNet's ``conv_param`` with exactly the keys filter_num, filter_size,
    pad, stride -> (filter_num, filter_size, pad, stride). ``name``: how the caller calls it."""
    keys = {"filter_num", "filter_size", "pad", "stride"}
    if not isinstance(cp, dict) or set(cp) != keys:
        raise ValueError(f"{name} must be a dict with exactly the keys {sorted(keys)}, "
                         f"like SimpleConvNet's conv_param; got {cp!r}")
    return (check_positive_int(cp["filter_num"], f"{name}['filter_num']"),
            check_positive_int(cp["filter_size"], f"{name}['filter_size']"),
            check_nonnegative_int(cp["pad"], f"{name}['pad']"),
            check_positive_int(cp["stride"], f"{name}['stride']"))


def check_labels(t, n: int, num_classes: int, name: str = "t", ignore_index=None) -> np.ndarray:
    """Check labels for ``n`` samples and ``num_classes`` classes; return integer labels (N,).

    ``t`` is either integer class indices shaped (N,) or a one-hot (or class-probability) array
    shaped (N, C). ``ignore_index``: a class index that is allowed although out of range (it
    marks samples to leave out, PyTorch's ``ignore_index``).
    """
    if not isinstance(t, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray of labels, got {type(t).__name__}")
    if t.ndim == 2:  # one-hot (or probabilities) (N, C)
        if t.shape != (n, num_classes):
            raise ValueError(f"one-hot {name} must have shape ({n}, {num_classes}) to match the "
                             f"scores, got {t.shape}")
        return t.argmax(axis=1)
    if t.ndim != 1:
        raise ValueError(f"{name} must be class indices shaped (N,) or one-hot (N, C), got shape {t.shape}")
    if len(t) != n:
        raise ValueError(f"{name} has {len(t)} labels but the batch has {n} samples; "
                         f"pass one label per sample")
    if not np.issubdtype(t.dtype, np.integer):
        raise TypeError(f"{name} class indices must be integers, got dtype {t.dtype}; "
                        f"use {name}.astype(np.int64)")
    out_of_range = (t < 0) | (t >= num_classes)
    if ignore_index is not None:
        out_of_range &= t != ignore_index
    if out_of_range.any():
        bad = t[out_of_range]
        raise ValueError(f"{name} has labels out of range 0..{num_classes - 1}: {np.unique(bad)[:5].tolist()}")
    return t


def check_pair(value, name: str, minimum: int = 1) -> tuple:
    """An int or an (h, w) pair of ints, each ≥ ``minimum``, as an (h, w) tuple.

    Strides, paddings and dilations take either form, as in PyTorch: ``2`` means ``(2, 2)``.
    """
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or an (h, w) pair, got {value!r}")
        pair = tuple(value)
    else:
        pair = (value, value)
    for v in pair:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{name} must be an int or an (h, w) pair of ints, got {value!r}")
        if v < minimum:
            raise ValueError(f"{name} must be ≥ {minimum}, got {value!r}")
    return int(pair[0]), int(pair[1])


# ---------------------------------------------------------------------------------------------
# The layers' arguments
# ---------------------------------------------------------------------------------------------

METHODS = ("fast", "book")


def check_method(method) -> str:
    """A layer's computational path: "fast" (``reference.fast``) or "book" (im2col/col2im)."""
    if method not in METHODS:
        raise ValueError(f'method must be "fast" (the default: the fast path of reference.fast) '
                         f'or "book" (the book\'s im2col/col2im), got {method!r}')
    return method


def check_same_dtype(x: np.ndarray, W: np.ndarray, layer: str) -> None:
    """NumPy would silently promote float32 @ float64 to float64; PyTorch refuses. We refuse too."""
    if x.dtype != W.dtype:
        raise TypeError(f"{layer}: x is {x.dtype} but the layer's W is {W.dtype}; "
                        f"cast x with x.astype(np.{W.dtype}) or build the layer in {x.dtype}")


def check_conv_input(x, W, groups: int) -> None:
    """A Convolution's input: (N, C, H, W) in W's dtype, with the channels that W (and ``groups``) expect."""
    check_float_array(x, "x", ndim=4)
    C_group, G = W.shape[1], groups
    if x.shape[1] != C_group * G:
        raise ValueError(f"Convolution: x has {x.shape[1]} channels (shape {x.shape}) but W expects "
                         f"{C_group * G} (W shape {W.shape}" + (f", groups={G}" if G > 1 else "")
                         + "); the layout is (N, C, H, W)")
    check_same_dtype(x, W, "Convolution")


def check_bias(b, W, axis: int, layer: str, per: str):
    """``b`` checked against the layer's ``W``: 1-D, one value per ``W.shape[axis]`` (``per`` says
    what it is one bias per), in W's dtype. ``None`` (a layer without bias) passes through."""
    if b is None:
        return None
    check_float_array(b, "b", ndim=1)
    if b.shape != (W.shape[axis],):
        raise ValueError(f"b must have shape ({W.shape[axis]},) — one bias per {per} — got {b.shape}")
    check_same_dtype(b, W, layer)
    return b


def int_or_pair(value, name, minimum=1):
    """Check an int-or-(h, w) argument; an int stays an int (the book's form), a pair becomes a tuple."""
    pair = check_pair(value, name, minimum)
    return pair if isinstance(value, (tuple, list)) else pair[0]


def layer_pairs(layer):
    """A layer's stride, pad and dilation, each as an (h, w) pair."""
    return (check_pair(layer.stride, "stride"), check_pair(layer.pad, "pad", minimum=0),
            check_pair(getattr(layer, "dilation", 1), "dilation"))


def check_pool_args(pool_h, pool_w, stride, pad):
    """A pooling layer's window, stride and pad (PyTorch's rule: pad at most half the window)."""
    pool_h = check_positive_int(pool_h, "pool_h")
    pool_w = check_positive_int(pool_w, "pool_w")
    stride = int_or_pair(stride, "stride")
    pad = int_or_pair(pad, "pad", minimum=0)
    pad_h, pad_w = check_pair(pad, "pad", minimum=0)
    # PyTorch's rule: otherwise a window could lie entirely in the padding.
    if 2 * pad_h > pool_h or 2 * pad_w > pool_w:
        raise ValueError(f"pad must be at most half the pool size (PyTorch's rule), got pad={pad} "
                         f"for a {pool_h}×{pool_w} pool; use pad ≤ {pool_h // 2} (rows), "
                         f"{pool_w // 2} (columns)")
    return pool_h, pool_w, stride, pad


# ---------------------------------------------------------------------------------------------
# The optimizers' arguments
# ---------------------------------------------------------------------------------------------

OPTIMIZER_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_number(value, name: str) -> float:
    """A finite real number (a hyperparameter), as a Python float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def check_lr(lr) -> float:
    """A learning rate: a finite number > 0."""
    lr = check_number(lr, "lr")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    return lr


def check_unit_interval(value, name: str) -> float:
    """A decay rate in [0, 1): momentum, beta1, beta2."""
    value = check_number(value, name)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value}")
    return value


def check_eps(eps) -> float:
    """An optimizer's eps: a finite number ≥ 0."""
    eps = check_number(eps, "eps")
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    return eps


def check_params_grads(params, grads) -> None:
    """Check the whole of an optimizer's ``params``/``grads`` before any array is touched."""
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
        if p.dtype not in OPTIMIZER_DTYPES:
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
