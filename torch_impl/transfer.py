"""Weight transfer between a book-style ``params`` dict and a torch module.

The book keeps the parameters of a network in a plain dict of NumPy arrays::

    params = {"W1": (30, 1, 5, 5), "b1": (30,),      # Convolution: W is (FN, C, FH, FW)
              "W2": (4320, 100),   "b2": (100,),     # Affine:      W is (in, out)
              "W3": (100, 10),     "b3": (10,)}

A torch twin keeps the same numbers in ``nn.Parameter`` tensors. Every twin module in this
package carries an attribute ``book_params`` that says which book name goes where::

    SimpleConvNet.book_params == {"W1": "Conv1.weight", "b1": "Conv1.bias", ...}

The four functions here move numbers across that bridge:

=================  =========================================================================
``load_params``    NumPy -> torch, by copying (bit-exact).
``export_params``  torch -> NumPy, by copying, in the book's layout.
``export_grads``   the ``.grad`` of every parameter -> NumPy, in the book's layout.
``share_params``   NumPy <-> torch without copying: the torch parameters become views of the
                   very same NumPy buffers, so a write on either side is seen by the other.
=================  =========================================================================

The only layout difference between the two worlds is the Affine/Linear weight: the book's
Affine computes ``x @ W`` with ``W`` shaped (in, out), while ``nn.Linear`` computes
``x @ weight.T`` with ``weight`` shaped (out, in). That rule lives in one place,
:func:`book_layout_is_transposed`; everything else goes through it.

All validation happens *before* anything is written, so a call that raises leaves the module
exactly as it was.
"""

import warnings
from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from .dtypes import as_numpy_dtype

__all__ = [
    "load_params",
    "export_params",
    "export_grads",
    "share_params",
    "resolve_param",
    "book_layout_is_transposed",
]


# --------------------------------------------------------------------------------------------
# The layout rule (the one place that knows torch and the book store something differently)
# --------------------------------------------------------------------------------------------

def book_layout_is_transposed(owner, attr):
    """Return True if the book stores parameter ``owner.<attr>`` transposed.

    * ``nn.Linear.weight`` is (out, in) in torch; the book's Affine keeps ``W`` as (in, out).
      -> transposed.
    * ``nn.Conv2d.weight`` is (FN, C, FH, FW) in both. -> not transposed.
    * Biases are 1-D, (out,) in both. -> not transposed.

    Parameters
    ----------
    owner : nn.Module
        The submodule that owns the parameter (e.g. ``net.Affine1``).
    attr : str
        The parameter's attribute name on ``owner`` (e.g. ``"weight"``).
    """
    return isinstance(owner, nn.Linear) and attr == "weight"


def _to_book(tensor, owner, attr):
    """Torch layout -> book layout (a view; no copy)."""
    return tensor.T if book_layout_is_transposed(owner, attr) else tensor


def _from_book(tensor, owner, attr):
    """Book layout -> torch layout (a view; no copy). ``.T`` is its own inverse for 2-D."""
    return tensor.T if book_layout_is_transposed(owner, attr) else tensor


def _layout_words(owner, attr):
    """A few words naming the book's layout for error messages, e.g. "the book's (in, out) layout"."""
    if book_layout_is_transposed(owner, attr):
        return " in the book's (in, out) layout"
    if isinstance(owner, nn.Conv2d) and attr == "weight":
        return " in the (FN, C, FH, FW) layout"
    return ""


# --------------------------------------------------------------------------------------------
# Resolving names
# --------------------------------------------------------------------------------------------

def resolve_param(module, path):
    """Resolve a dotted parameter path to ``(owner, attr)``.

    ``resolve_param(net, "Conv1.weight")`` returns ``(net.Conv1, "weight")``;
    ``resolve_param(linear, "weight")`` returns ``(linear, "weight")``.

    Raises ValueError if no submodule or parameter has that name.
    """
    owner_path, _, attr = path.rpartition(".")
    try:
        owner = module.get_submodule(owner_path) if owner_path else module
    except AttributeError:
        owner = None
    # recurse=False: only the owner's own parameters, not those of its children.
    own = dict(owner.named_parameters(recurse=False)) if owner is not None else {}
    if attr not in own:
        known = ", ".join(name for name, _ in module.named_parameters()) or "(none)"
        raise ValueError(
            f"{type(module).__name__} has no parameter {path!r}; its parameters are: {known}"
        )
    return owner, attr


def _get_mapping(module, mapping):
    """``mapping`` if given, else ``module.book_params``; checked to be a dict of str -> str."""
    if mapping is None:
        mapping = getattr(module, "book_params", None)
        if mapping is None:
            raise ValueError(
                f"{type(module).__name__} has no `book_params` attribute; pass "
                "mapping={'W': 'weight', ...} (book name -> dotted torch parameter path)"
            )
    if not isinstance(mapping, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
    ):
        raise TypeError("mapping must be a dict of book name (str) -> torch parameter path (str)")
    targets = list(mapping.values())
    duplicates = sorted({t for t in targets if targets.count(t) > 1})
    if duplicates:
        raise ValueError(f"mapping sends several book names to the same parameter(s): {duplicates}")
    return dict(mapping)


class _Entry:
    """One validated (book name, torch parameter) pair. Internal bookkeeping only."""

    def __init__(self, name, path, owner, attr):
        self.name = name          # book name, e.g. "W2"
        self.path = path          # torch path, e.g. "Affine1.weight"
        self.owner = owner        # e.g. net.Affine1 (an nn.Linear)
        self.attr = attr          # e.g. "weight"

    @property
    def param(self):
        return getattr(self.owner, self.attr)

    @property
    def book_shape(self):
        """The shape the book's array must have: torch's shape, reversed for a Linear weight."""
        shape = tuple(self.param.shape)
        return shape[::-1] if book_layout_is_transposed(self.owner, self.attr) else shape


def _entries(module, mapping):
    """Resolve every path of the mapping; one _Entry per book name, in mapping order."""
    return [_Entry(name, path, *resolve_param(module, path)) for name, path in mapping.items()]


# --------------------------------------------------------------------------------------------
# Validation (shared by load_params and share_params)
# --------------------------------------------------------------------------------------------

def _fmt(shape):
    """(100,) and (100, 10) printed the way NumPy prints shapes."""
    return str(tuple(shape))


def _validate(module, params, mapping, *, sharing):
    """Check ``params`` against the module; return the list of entries. Writes nothing."""
    entries = _entries(module, mapping)
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict of name -> numpy array, got {type(params).__name__}")

    expected = list(mapping)
    missing = [name for name in expected if name not in params]
    extra = [name for name in params if name not in mapping]
    if missing:
        msg = f"params is missing {missing}; {type(module).__name__} expects exactly {expected}"
        if extra:
            msg += f" (and got unexpected {extra})"
        raise KeyError(msg)
    if extra:
        raise ValueError(
            f"params has unexpected key(s) {extra} that {type(module).__name__} does not use; "
            f"it expects exactly {expected}"
        )

    for e in entries:
        arr = params[e.name]
        key = f"params[{e.name!r}]"
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"{key} must be a numpy array, got {type(arr).__name__}")
        if not np.issubdtype(arr.dtype, np.floating):
            raise TypeError(f"{key} must be a floating array, got dtype {arr.dtype}")

        want = e.book_shape
        if arr.shape != want:
            if arr.shape == want[::-1] and len(want) == 2:
                fix = f"it looks like torch's (out, in) layout: pass {key}.T"
            else:
                fix = "check the network's constructor arguments against the arrays"
            raise ValueError(
                f"{key} has shape {_fmt(arr.shape)} but {e.path} needs {_fmt(want)}"
                f"{_layout_words(e.owner, e.attr)}; {fix}"
            )

        want_dtype = as_numpy_dtype(e.param.dtype)
        if arr.dtype != want_dtype:
            raise TypeError(
                f"{key} has dtype {arr.dtype} but {e.path} is {e.param.dtype}; either convert "
                f"the module with module.to(torch.{arr.dtype.name}) or cast the array with "
                f"{key}.astype(np.{want_dtype.name})"
            )

        if sharing:
            if e.param.device.type != "cpu":
                raise ValueError(
                    f"share_params needs CPU parameters, but {e.path} is on {e.param.device}; "
                    "use load_params to copy instead"
                )
            if not arr.flags.writeable:
                raise ValueError(
                    f"{key} is read-only; share_params needs a writeable array "
                    f"(pass {key}.copy(), or use load_params)"
                )
            # torch.from_numpy cannot represent negative strides (e.g. arr[::-1]).
            if any(s < 0 for s in arr.strides):
                raise ValueError(
                    f"{key} has negative strides, which torch cannot view; pass "
                    f"np.ascontiguousarray({key}) (a copy), or use load_params"
                )
    return entries


# --------------------------------------------------------------------------------------------
# The four public functions
# --------------------------------------------------------------------------------------------

def load_params(module, params, mapping=None):
    """Copy the book's arrays into the module's parameters, bit-exactly.

    Parameters
    ----------
    module : nn.Module
        A twin with a ``book_params`` attribute (or any module, with ``mapping`` given).
    params : dict[str, np.ndarray]
        Book name -> array in the book's layout, e.g. ``W2`` shaped (in, out).
        Must contain exactly the names of the mapping; each array's dtype must equal the
        parameter's dtype (no silent casting: parity tests need the very same bits).
    mapping : dict[str, str], optional
        Book name -> dotted torch parameter path. Defaults to ``module.book_params``.

    Returns
    -------
    module (for chaining: ``net = load_params(SimpleConvNet(), params)``).

    Raises
    ------
    KeyError   a mapped name is missing from ``params``.
    ValueError ``params`` has extra names, or an array has the wrong shape.
    TypeError  an array is not a floating numpy array, or its dtype differs from the parameter's.

    Everything is validated before the first copy: if this raises, the module is unchanged.
    """
    mapping = _get_mapping(module, mapping)
    entries = _validate(module, params, mapping, sharing=False)
    with torch.no_grad():  # writing into leaf tensors that require grad
        for e in entries:
            source = _read_only_tensor(params[e.name])
            e.param.copy_(_from_book(source, e.owner, e.attr))  # same dtype: copies bits
    return module


def _read_only_tensor(arr):
    """A tensor viewing ``arr`` that we only read from (for copying it elsewhere)."""
    # torch.from_numpy refuses negative strides (e.g. arr[::-1]); ascontiguousarray fixes
    # that, and is a no-op (no copy) for the usual C-contiguous array.
    arr = np.ascontiguousarray(arr)
    # torch.from_numpy warns (once per program) for a read-only array, because torch could
    # write into it. We only read from it, so that warning would be noise here.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(arr)


def _fresh_c_array(tensor) -> np.ndarray:
    """A new, row-major NumPy array, independent of the tensor's memory. The copy is made by
    torch (``clone`` to the contiguous format): for a transposed Linear weight its blocked
    transpose is ~3× faster than NumPy's strided copy (61 M values of AlexNet: 1.5 s -> 0.5 s)."""
    return tensor.clone(memory_format=torch.contiguous_format).numpy()


def export_params(module, mapping=None):
    """Return the module's parameters as a book-style dict of NumPy arrays.

    Each array is a fresh C-contiguous copy (never a view of the tensor), in the book's layout
    (Linear weights transposed to (in, out)) and in the parameter's dtype.

    Returns
    -------
    dict[str, np.ndarray], keys in mapping order (e.g. W1, b1, W2, b2, W3, b3).
    """
    mapping = _get_mapping(module, mapping)
    out = {}
    for e in _entries(module, mapping):
        book = _to_book(e.param.detach().cpu(), e.owner, e.attr)
        out[e.name] = _fresh_c_array(book)
    return out


def export_grads(module, mapping=None):
    """Return the ``.grad`` of each parameter as a book-style dict, like ``net.gradient()``.

    Same layout, dtype and copying rules as :func:`export_params`; the keys are the book's
    parameter names (``W1``, ``b1``, ...), exactly like the book's ``gradient(x, t)`` result.

    Raises ValueError if some parameter has no gradient yet (call ``loss.backward()`` first).
    """
    mapping = _get_mapping(module, mapping)
    entries = _entries(module, mapping)
    no_grad = [e.path for e in entries if e.param.grad is None]
    if no_grad:
        raise ValueError(
            f"no gradient for {no_grad}: call loss.backward() first "
            "(and check that these parameters require grad and take part in the loss)"
        )
    out = {}
    for e in entries:
        book = _to_book(e.param.grad.detach().cpu(), e.owner, e.attr)
        out[e.name] = _fresh_c_array(book)
    return out


def share_params(module, params, mapping=None):
    """Make the module's parameters views of the very same NumPy buffers (zero copy).

    After ``share_params(net, params)``:

    * writing into ``params["W1"]`` (in NumPy, in place) changes ``net.Conv1.weight``;
    * an in-place torch update (any ``torch.optim`` step, ``p.add_(...)``) changes the arrays.

    How: each parameter's storage is replaced by ``torch.from_numpy(array)``. For a Linear
    weight the book's (in, out) array is viewed transposed, ``torch.from_numpy(W).T``, which
    is an (out, in) tensor with column-major strides; ``nn.Linear`` accepts such a
    non-contiguous weight. The ``nn.Parameter`` objects themselves stay the same, so an
    optimizer created before this call keeps working.

    Validation is the same as :func:`load_params`, plus: arrays must be writeable, have no
    negative strides, and the module must be on the CPU.

    Caveats (aliasing)
    ------------------
    * Two names for one memory: any in-place write on either side is seen by the other. Copy
      (``export_params``) when you need a snapshot.
    * Anything that *replaces* a parameter's storage silently ends the sharing:
      ``module.to(...)``, ``.double()``, ``.cuda()``, ``load_state_dict`` with ``assign=True``,
      or rebinding ``params["W1"] = new_array`` (that rebinds the dict entry, it does not write
      into the old buffer; use ``params["W1"][...] = new_array``).
    * The arrays must stay alive as long as the module uses them. torch keeps a reference to
      each array, so deleting ``params`` is safe, and NumPy refuses ``arr.resize(...)`` to a
      new size while the array is shared (``refcheck=False`` would free memory that torch
      still reads: never do that).
    * The Linear weights are non-contiguous; their ``.grad`` follows the same strides, and
      ``.view(...)`` on them fails (use ``.reshape``).
    * Same numbers, not always the same bits: with a C-ordered (in, out) ``W`` the shared
      Linear weight is column-major, and torch's matrix multiply then takes another kernel
      path (another summation order) than with the row-major weight that ``load_params``
      produces. Outputs agree to rounding (a few ulps), not bit for bit. Passing
      ``np.asfortranarray(W)`` makes the shared weight row-major, and the outputs of
      ``share_params`` and ``load_params`` become bit-identical.

    Returns
    -------
    module.
    """
    mapping = _get_mapping(module, mapping)
    entries = _validate(module, params, mapping, sharing=True)
    for e in entries:
        view = _from_book(torch.from_numpy(params[e.name]), e.owner, e.attr)
        # Assigning .data swaps the storage under the same nn.Parameter object
        # (requires_grad and identity are kept), without autograd recording anything.
        e.param.data = view
    return module
