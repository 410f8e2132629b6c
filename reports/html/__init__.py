"""The page: turns records and frames into one self-contained HTML page, from Jinja2 templates.

``page``       :func:`~reports.html.page.render_html`, the registry of sections (``SECTIONS``), the Jinja2 environment
``sections``   one context function per section (the values its template lays out)
``format``     numbers and small values formatted for the page
``charts``     hand-written inline SVG charts
``images``     the filter images as PNG data URIs (Pillow)
``templates/`` ``base.html`` (the page), ``section.html`` (a section's frame), ``macros.html``, ``sections/<id>.html``
``style.css``  the page's style, inlined at render time

Rendering only: it reads the records and frames it is given and runs no comparison, no training
and no benchmark. Uses ``reports.parity.records``.
"""

__all__ = ["page", "sections", "format", "charts", "images"]
