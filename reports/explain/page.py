"""The topics on a page of their own: ``cnn-parity explain TOPIC --html FILE``.

Each topic is drawn by its template (``templates/explain/<module>.html``; im2col by the report's
own section template) with its ``to_context(steps)``, inside ``templates/topics.html``, which
extends the report's ``base.html`` (the same style sheet, navigation and frame).
"""
from __future__ import annotations

import numpy as np
import torch

from ..html.page import Section, render_standalone

__all__ = ["topics_page"]


def topics_page(explained, source: str) -> str:
    """The HTML of a page of ``explained``, [(Topic, its computed steps)], made by the command ``source``."""
    parts = []
    for t, steps in explained:
        context = t.module().to_context(steps)
        parts.append((Section(t.name, t.nav, t.title, lambda _inputs, c=context: c), t.template, context))
    heading = explained[0][0].title if len(explained) == 1 else "How a convolutional network works inside"
    return render_standalone(parts, "topics.html", title=f"cnn-parity explain: {heading}", heading=heading,
                             source=source, torch=torch.__version__, numpy=np.__version__)
