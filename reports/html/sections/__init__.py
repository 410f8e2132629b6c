"""The page's sections, as context functions: each turns the report's inputs into the values its
template (``reports/html/templates/sections/<id>.html``) lays out, or None to leave the section out.

``common``       display names, chart styles, record grouping, cards and record rows
``comparisons``  verdict, layers, nets: the parity records
``configurations`` the configuration matrix (cases × configurations, read through ``reports.parity.cells``)
``corpus``       PyTorch's OpInfo samples through the reference (issue 12)
``training``     training curves, accuracy per epoch, first-layer filters
``speed``        the benchmark results (read from a separate run)
``bugzoo``       the bug zoo results (read from a separate ``cnn-parity bugs`` run)
``findings``     the known findings' status under this torch and the last fuzz run (read, or rerun cheaply)
``about``        the book-vs-PyTorch catalog, im2col step by step, the environment

The order of the page and the sections' titles are declared once, in ``reports.html.page.SECTIONS``.
"""

__all__ = ["common", "comparisons", "configurations", "corpus", "training", "speed", "bugzoo", "findings", "about"]
