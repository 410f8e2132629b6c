"""Planting a bug: replace an attribute for the duration of a ``with`` block, restore it exactly.

:func:`patched` replaces one attribute of a module or class, :func:`patched_everywhere` a function
in every module of the project that imported it by name, :func:`around` wraps a function or
method (``wrapper(original, *args, **kwargs)``), :func:`around_everywhere` does so wherever the
function was imported, :func:`temporarily` sets attributes of an object
for a block, :func:`all_of` plants several patches as one. Each restores the very same objects on
the way out, also when the block raises. :func:`snapshot` records the identity of every attribute
of the project's modules and classes, so that a test can show that nothing was left behind.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import sys
from typing import Callable

__all__ = ["patched", "patched_everywhere", "around", "around_everywhere", "temporarily", "all_of", "with_argument", "snapshot"]


@contextlib.contextmanager
def patched(owner, attr: str, make: Callable):
    """``owner.attr`` (a module, or a class) becomes ``make(original)`` inside the block; on the
    way out the very same object is put back (or the attribute removed, if it was inherited)."""
    if not hasattr(owner, attr):
        raise AttributeError(f"cannot plant: {owner!r} has no attribute {attr!r}")
    own = vars(owner)
    had, saved = attr in own, own.get(attr)
    setattr(owner, attr, make(getattr(owner, attr) if not had else saved))
    try:
        yield
    finally:
        if had:
            setattr(owner, attr, saved)
        else:
            delattr(owner, attr)


def _project_modules():
    prefixes = ("reference", "torch_impl", "reports", "parity_tests")
    return [m for name, m in list(sys.modules.items())
            if m is not None and name.split(".")[0] in prefixes]


@contextlib.contextmanager
def patched_everywhere(module, attr: str, make: Callable):
    """Like :func:`patched` for a function, in ``module`` and in every module of the project that
    imported it by name (``from .util import im2col``): all see the same replacement."""
    original = getattr(module, attr)
    replacement = make(original)
    with contextlib.ExitStack() as stack:
        for m in _project_modules():
            for name, value in list(vars(m).items()):
                if value is original:
                    stack.enter_context(patched(m, name, lambda _orig: replacement))
        yield


def _wrapping(wrapper: Callable):
    """``make(original)`` -> a function calling ``wrapper(original, *args, **kwargs)``."""
    def make(original):
        @functools.wraps(original)
        def wrapped(*args, **kwargs):
            return wrapper(original, *args, **kwargs)
        return wrapped
    return make


def around(owner, attr: str, wrapper: Callable):
    """Patch a function or method with ``wrapper(original, *args, **kwargs)``."""
    return patched(owner, attr, _wrapping(wrapper))


def around_everywhere(module, attr: str, wrapper: Callable):
    """:func:`around` for a function, in ``module`` and in every module of the project that
    imported it by name (as :func:`patched_everywhere`)."""
    return patched_everywhere(module, attr, _wrapping(wrapper))


@contextlib.contextmanager
def temporarily(obj, **values):
    """Set attributes of ``obj`` for the block; the previous values come back afterwards."""
    saved = {k: getattr(obj, k) for k in values}
    for k, v in values.items():
        setattr(obj, k, v)
    try:
        yield
    finally:
        for k, v in saved.items():
            setattr(obj, k, v)


@contextlib.contextmanager
def all_of(*plants):
    """Several patches as one plant."""
    with contextlib.ExitStack() as stack:
        for p in plants:
            stack.enter_context(p)
        yield


def snapshot() -> dict:
    """Identity of every attribute of the project's modules and of their classes: equal before
    and after planting when the plants leave no trace."""
    out = {}
    for m in _project_modules():
        for name, value in list(vars(m).items()):
            out[(m.__name__, name)] = id(value)
            if inspect.isclass(value) and value.__module__ == m.__name__:
                for attr, member in list(vars(value).items()):
                    out[(m.__name__, name, attr)] = id(member)
    return out


def with_argument(original, name: str, change: Callable):
    """A wrapper of ``original`` that replaces its argument ``name`` by ``change(value)``,
    whether it was passed by position or by keyword."""
    sig = inspect.signature(original)

    @functools.wraps(original)
    def wrapped(*args, **kwargs):
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        bound.arguments[name] = change(bound.arguments[name])
        return original(*bound.args, **bound.kwargs)
    return wrapped


