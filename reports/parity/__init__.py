"""The parity harness: every comparison between the reference and its twin becomes a record.

``records``  :class:`Record`, :class:`Tolerance`, :func:`compare`, :func:`reduction_tolerance`,
             :func:`dedupe`, :func:`first_divergence` — the one source of truth for tests and reports;
             the ``OutputRecorder`` that saves the torch result of every comparison
``outputs``  the saved outputs beside a report's CSV files (``outputs.json``, ``outputs.npz``)
``cases``    the registry of parity cases (``LAYER_CASES``, ``NET_CASES``) and their factories
``net_cases`` the network cases (re-exported by ``cases``)
``harness``  runs a case in a dtype and returns its records (``run_layer_case``, ``run_net_case``,
             ``all_parity_records``, the book's known answers)
``sweeps``   the seeded property sweeps without hypothesis (``sweep_records``), from the cases' drawers
``catalog``  the book-vs-PyTorch convention differences, each with a ``measure()``
``configs``  the registry of configurations (eager, compile, channels_last, ..., the CUDA entries):
             what each sets and how it is undone, the precision it computes in; ``configured``
             runs a twin under one
``matrix``   runs the cases under configurations, judged against the float64 oracle and eager
``opinfo``   PyTorch's own OpInfo test samples through the reference (a private torch module)
``optim``    the optimizers against torch.optim: trajectories as records (tests and bug zoo share it)
``selfcheck`` the harness's own known answers: inputs ``compare()`` must fail or pass
``bugs``     the bug zoo: realistic bugs declared as data, each plantable in-process
``fuzz``     the fuzzer: generated networks judged by the matrix, shrunk, written as standalone repros

Uses ``reference``, ``torch_impl`` and ``reports.errors``; nothing else of ``reports``.
"""

__all__ = ["records", "cases", "net_cases", "harness", "sweeps", "catalog", "opinfo", "configs", "cells", "matrix", "optim",
           "selfcheck", "bugs", "fuzz", "outputs"]
