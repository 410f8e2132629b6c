"""The report page: turns records and frames into one self-contained HTML page.

``page``    :func:`render_html` and one renderer per section
``charts``  hand-written inline SVG charts (and the filter images)

Rendering only: it reads the records and frames it is given and runs no comparison, no training
and no benchmark. Uses ``reports.parity.records``.
"""

__all__ = ["page", "charts"]
