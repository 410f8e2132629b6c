"""The harness: binds the NumPy reference and the PyTorch twins, runs comparisons and training,
and turns them into records, CSV files and an HTML report.

Inside, one subpackage or module per job, in this order; each may use the ones listed before it,
never those after it, so there is no import loop (``parity_tests/test_layout.py`` checks both):

``reports.errors``             the one-line errors of a command (usage: exit 2, run: exit 1)
``reports.files``              writing folders and files atomically, checking an output folder
``reports.parity``             the parity harness: records, the case registry, running cases, the catalog
``reports.mnist``              MNIST (with the embedded sample) and lockstep training
``reports.html``               the page: Jinja2 templates, CSS, SVG charts, PNG images; renders, runs nothing
``reports.environment``        versions and machine (``environment.csv``)
``reports.benchmark_results``  reads and checks the benchmark CSVs for the speed section
``reports.explain``            the explain topics (im2col, the backward passes, Adam, dropout, torch's kernel)
``reports.configurations``     the configuration matrix for readers: its table, CSV and choice of cases
``reports.seeds``              the false-alarm check: every case and the sweep under many seeds
``reports.bugzoo``             plants the bug catalog and runs the checks; reads the results for the page
``reports.findings``           the known findings in ``findings/``, their scripts rerun against the installed torch
``reports.diff``               two reports side by side (``cnn-parity diff``): reads CSV files and saved outputs
``reports.report``             runs everything and writes the report folder
``reports.classroom``          grades a student's own layers (``check``) and writes the starter (``exercise``)
``reports.commands``           the subcommands, one module each (``parity``, ``train``, ``report``, ...)
``reports.cli``                the ``cnn-parity`` console script: runs one command
"""

__all__ = ["errors", "files", "parity", "mnist", "html", "environment", "benchmark_results", "explain",
           "configurations", "seeds", "bugzoo", "findings", "diff", "report", "classroom", "commands", "cli"]
