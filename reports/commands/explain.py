"""``cnn-parity explain``: how a piece of the CNN works, step by step, with the book's own example
(the steps are ``reports.explain``'s; the page shows the same ones)."""
from __future__ import annotations

from ..explain import TOPICS, format_im2col, im2col_steps
from .common import examples

__all__ = ["add_parser", "run"]


def add_parser(sub):
    p = sub.add_parser(
        "explain", help="explain how a piece of the CNN works, step by step",
        description="Explain, with the book's own small example, how the reference computes a convolution.\n"
                    "Every number is computed, not typed in.",
        epilog=examples("cnn-parity explain im2col              # the book's 4×4 example",
                        "cnn-parity explain im2col --pad 1      # with one ring of zero padding"))
    p.add_argument("topic", choices=TOPICS, help="im2col: the 4×4 example of the book's §7.2–7.4")
    p.add_argument("--pad", type=int, default=0, choices=range(0, 3), metavar="P",
                   help="zero padding around the input (0, 1 or 2)")
    p.add_argument("--stride", type=int, default=1, choices=range(1, 3), metavar="S", help="stride (1 or 2)")
    return p


def run(args) -> int:
    print(format_im2col(im2col_steps(stride=args.stride, pad=args.pad)))
    return 0
