"""The harness: binds the NumPy reference and the PyTorch twins, runs comparisons and training,
and turns them into records, CSV files and an HTML report.

Inside, one subpackage per job, in this order; each may use the ones listed before it, never
those after it (``parity_tests/test_layout.py`` checks it):

``reports.errors``  the one-line errors of a command (usage: exit 2, run: exit 1)
``reports.files``   writing folders and files atomically, checking an output folder
``reports.parity``  the parity harness: records, the case registry, running cases, the catalog
``reports.mnist``   MNIST (with the embedded sample) and lockstep training
``reports.html``    the page: Jinja2 templates, CSS, SVG charts, PNG images; renders, runs nothing

Above all of them: ``reports.environment`` (versions and machine), ``reports.benchmark_results``
(reads the benchmark CSVs), ``reports.report`` (runs everything and writes the report folder),
``reports.explain`` (the im2col walkthrough), ``reports.opinfo_cmd`` (``cnn-parity opinfo``),
``reports.configurations`` (the configuration matrix's table, CSV and case choice),
``reports.bugzoo`` (``cnn-parity bugs``: plants the bug catalog and runs the checks),
``reports.seeds`` (``parity --seeds``: the false-alarm check), ``reports.findings`` (the known
findings in ``findings/`` and their scripts rerun against the installed torch) and ``reports.cli``
(the ``cnn-parity`` command).
"""

__all__ = ["errors", "files", "parity", "mnist", "html", "environment", "benchmark_results", "report", "explain",
           "opinfo_cmd", "configurations", "bugzoo", "seeds", "findings", "cli"]
