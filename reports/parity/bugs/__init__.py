"""The bug zoo: realistic CNN bugs, each declared once as data, each plantable in-process.

A :class:`Bug` says what it models (where people make it), where it lives (the function or
method it changes) and how to plant it: ``with bug.plant(): ...`` patches one function or method
of ``reference`` (or ``torch_impl.transfer``, an optimizer, the harness's ``compare``) for the
duration of the block and restores it on the way out, also when the block raises. Nothing is
written to disk and no state is left behind (``parity_tests/test_bugzoo.py`` checks both).

Most plants *wrap* the real function: they perturb an input, an output, an attribute or an
argument of the original and call it, so they keep working when the layer grows new options.
Where the bug cannot be expressed that way (``col2im``/``fold`` assigning instead of adding,
the optimizers' formulas), the plant is a short modified copy, marked ``MODIFIED COPY`` with the
changed line marked ``# BUG``.

``CATALOG`` (``catalog.py``) is the list, the plants are in ``layer_bugs.py``, ``other_bugs.py`` and
``judge_bugs.py`` (the judges: the configuration matrix and the OpInfo corpus's counting), the
planting helpers in ``planting.py``; ``reports.bugzoo`` (``cnn-parity bugs``) plants each in turn and runs the
checks a bug declares (``checks``): "parity" (every parity case, both dtypes), "optimizer" (the
optimizer trajectories of ``reports.parity.optim``), "lockstep" (a few lockstep training steps),
"selfcheck" (the harness's own known answers, ``reports.parity.selfcheck``), "judges" (the judges'
known answers, ``reports.parity.judgecheck``).
"""
from __future__ import annotations

from .catalog import CATALOG, GROUPS, Bug, bug_by_name
from .planting import all_of, around, around_everywhere, patched, patched_everywhere, snapshot, temporarily

__all__ = ["Bug", "CATALOG", "GROUPS", "bug_by_name", "patched", "patched_everywhere", "around", "around_everywhere",
           "temporarily", "all_of", "snapshot"]
