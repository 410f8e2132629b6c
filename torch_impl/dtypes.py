"""Small dtype helpers shared by the whole package.

The reference (NumPy) side speaks NumPy dtypes, the torch side speaks ``torch.dtype``.
Users of this package may pass either, or a plain string, wherever a ``dtype`` argument
appears. Everything funnels through :func:`as_torch_dtype` so the accepted spellings are
defined in exactly one place.
"""

import numpy as np
import torch

# The floating dtypes that exist in both libraries. (torch.bfloat16 has no NumPy twin,
# so parameters in bfloat16 cannot be transferred to or from NumPy arrays.)
_TORCH_TO_NUMPY = {
    torch.float16: np.dtype(np.float16),
    torch.float32: np.dtype(np.float32),
    torch.float64: np.dtype(np.float64),
}
_NUMPY_TO_TORCH = {np_dtype: torch_dtype for torch_dtype, np_dtype in _TORCH_TO_NUMPY.items()}


def as_torch_dtype(dtype):
    """Return the floating ``torch.dtype`` named by ``dtype``.

    Accepted spellings (all meaning the same thing)::

        torch.float64    np.float64    np.dtype("float64")    "float64"    "torch.float64"

    Only the floating dtypes shared by NumPy and torch are accepted (float16, float32,
    float64), because every parameter in this project must be transferable to NumPy.

    Raises
    ------
    TypeError
        If ``dtype`` does not name a float16/float32/float64 dtype.
    """
    if isinstance(dtype, torch.dtype):
        if dtype in _TORCH_TO_NUMPY:
            return dtype
        raise TypeError(
            f"dtype {dtype} is not supported; use torch.float32 or torch.float64 "
            "(the floating dtypes shared by NumPy and torch)"
        )
    if isinstance(dtype, str) and dtype.startswith("torch."):
        dtype = dtype[len("torch."):]  # "torch.float32" -> "float32"
    np_dtype = None
    # np.dtype(None) means float64 in NumPy; here None is a mistake, not a default.
    if dtype is not None:
        try:
            np_dtype = np.dtype(dtype)
        except TypeError:
            pass
    if np_dtype is None or np_dtype not in _NUMPY_TO_TORCH:
        raise TypeError(
            f"dtype {dtype!r} is not supported; use 'float32' or 'float64' "
            "(a torch dtype, a NumPy dtype or a string)"
        )
    return _NUMPY_TO_TORCH[np_dtype]


def as_numpy_dtype(dtype):
    """Return the NumPy dtype matching ``dtype`` (same spellings as :func:`as_torch_dtype`)."""
    return _TORCH_TO_NUMPY[as_torch_dtype(dtype)]
