"""``cnn-parity explain TOPIC``: how a piece of the CNN works, step by step, on a small example.

Every number a topic shows is computed — by the reference, by NumPy, by torch — and none is typed
in; each topic ends with checks (its hand computation against ``reference`` and against torch).
A topic is one module here, with three functions:

``compute(**options)``  the example, every intermediate, in a frozen dataclass (no printing)
``to_text(steps)``      the explanation for a terminal
``to_context(steps)``   the values of its page template (``templates/explain/<module>.html``;
                        im2col's is the report's section, ``templates/sections/im2col.html``)

and one line in :data:`TOPICS` below (the order of ``cnn-parity explain all``). The registry names
the options each topic takes, so that ``cnn-parity explain`` refuses one a topic does not take
before any work. Topic modules import torch; they are imported only when a topic is explained
(:meth:`Topic.module`), so ``--help`` and usage errors stay fast. ``reports.explain.page`` puts
topics on a standalone HTML page (``--html FILE``).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from .im2col import BOOK_FILTER, BOOK_INPUT, Im2colSteps, format_im2col, im2col_steps

__all__ = ["Topic", "TOPICS", "TOPIC_NAMES", "OPTIONS", "topic", "BOOK_INPUT", "BOOK_FILTER", "Im2colSteps",
           "im2col_steps", "format_im2col"]


@dataclass(frozen=True)
class Topic:
    """One topic: its name on the command line, its heading, a short label for the page's navigation,
    one line of ``--help``, and the command-line options it takes (names of :data:`OPTIONS`)."""

    name: str
    title: str
    nav: str
    summary: str
    options: tuple = ()

    @property
    def module_name(self) -> str:
        return f"{__name__}.{self.name.replace('-', '_')}"

    def module(self):
        """The topic's module (imported now: most topics import torch)."""
        return importlib.import_module(self.module_name)

    @property
    def template(self) -> str:
        """Its page template."""
        if self.name == "im2col":
            return "sections/im2col.html"
        return f"explain/{self.name.replace('-', '_')}.html"


#: The options a topic may take: name -> what it is. A topic gets only those given on the command
#: line (its ``compute`` has its own defaults).
OPTIONS = {"pad": "zero padding around the input", "stride": "stride", "seed": "seed of the dropout masks"}

#: Every topic, in the order of ``cnn-parity explain all`` and of its page.
TOPICS = (
    Topic("im2col", "How im2col turns a convolution into one matrix product", "im2col",
          "the forward pass: every window a row, one matrix product (the book's 4×4 example)", ("pad", "stride")),
    Topic("conv-backward", "The convolution's backward pass: dW = colᵀ · dout, and col2im", "conv backward",
          "the backward pass: dW = colᵀ·dout, dx = col2im(dout·W_colᵀ)", ("pad", "stride")),
    Topic("max-pool", "Max pooling's backward pass: the gradient goes to the maximum", "max pool",
          "max pooling's backward: argmax routing, ties, and what PyTorch does", ("stride",)),
    Topic("softmax-loss", "Softmax with cross-entropy: why the gradient is (y − t) / N", "softmax loss",
          "softmax with cross-entropy: why the gradient is (y − t)/N"),
    Topic("adam", "One Adam step: the book's Adam and torch.optim.Adam", "Adam",
          "one optimizer step, the book's Adam against torch.optim.Adam, every number"),
    Topic("dropout", "Dropout: the book's convention and PyTorch's (inverted)", "dropout",
          "dropout: the book's non-inverted convention against PyTorch's inverted one", ("seed",)),
    Topic("torch-conv", "How PyTorch computes the same convolution on this machine", "PyTorch's kernel",
          "how PyTorch computes it here: F.unfold is im2col, and which kernel (oneDNN or native) runs"),
)
TOPIC_NAMES = tuple(t.name for t in TOPICS)


def topic(name: str) -> Topic:
    """The registered topic with this name."""
    for t in TOPICS:
        if t.name == name:
            return t
    raise KeyError(f"no topic {name!r}; the topics are {', '.join(TOPIC_NAMES)}")
