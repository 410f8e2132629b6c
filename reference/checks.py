"""Input checks shared by every layer: one clear error, raised before any computation.

Each function names the argument that is wrong, says what was expected, and how to fix it.
``TypeError`` is raised for a wrong kind of value (not an array, integer dtype, ...),
``ValueError`` for a right kind with a wrong value (shape, sign, size).
"""
from __future__ import annotations

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
