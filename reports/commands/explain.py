"""``cnn-parity explain``: how a piece of the CNN works, step by step, on a small example, every
number computed (the topics are ``reports.explain``'s; ``--html`` puts them on a page)."""
from __future__ import annotations

import shlex

from ..errors import UsageError
from ..explain import OPTIONS, TOPIC_NAMES, TOPICS, topic
from .common import examples, new_file, seed

__all__ = ["add_parser", "run"]


def _takers(option: str) -> list[str]:
    return [t.name for t in TOPICS if option in t.options]


def add_parser(sub):
    width = max(len(t.name) for t in TOPICS)
    p = sub.add_parser(
        "explain", help="explain how a piece of the CNN works, step by step",
        description="Explain, on a small example, how the reference computes a piece of a CNN, and how PyTorch\n"
                    "computes the same. Every number is computed, none typed in; each topic ends with checks\n"
                    "against the reference and against torch.\n\ntopics:\n"
                    + "\n".join(f"  {t.name:<{width}}  {t.summary}" for t in TOPICS)
                    + f"\n  {'all':<{width}}  every topic, in this order",
        epilog=examples("cnn-parity explain im2col              # the book's 4×4 example",
                        "cnn-parity explain im2col --pad 1      # with one ring of zero padding",
                        "cnn-parity explain conv-backward       # dW = colᵀ · dout, and col2im",
                        "cnn-parity explain all --html how.html # every topic on one page"))
    p.add_argument("topic", choices=TOPIC_NAMES + ("all",), metavar="TOPIC",
                   help="one of: " + ", ".join(TOPIC_NAMES) + ", or all")
    p.add_argument("--pad", type=int, default=None, choices=range(0, 3), metavar="P",
                   help=f"{OPTIONS['pad']}: 0, 1 or 2 (0 when not given); for {', '.join(_takers('pad'))}")
    p.add_argument("--stride", type=int, default=None, choices=range(1, 3), metavar="S",
                   help=f"{OPTIONS['stride']}: 1 or 2 (the topic's own when not given: 1, max-pool 2); "
                        f"for {', '.join(_takers('stride'))}")
    p.add_argument("--seed", type=seed, default=None, metavar="N",
                   help=f"{OPTIONS['seed']} (0 when not given); for {', '.join(_takers('seed'))}")
    p.add_argument("--html", type=new_file, default=None, metavar="FILE",
                   help="also write the explanation as a page of its own (one HTML file, nothing loaded from the network)")
    return p


def run(args) -> int:
    chosen = TOPICS if args.topic == "all" else (topic(args.topic),)
    given = {name: getattr(args, name) for name in OPTIONS if getattr(args, name) is not None}
    for name in given:
        takers = _takers(name)
        if args.topic != "all" and name not in chosen[0].options:
            raise UsageError(f"{args.topic} takes no --{name} (only {', '.join(takers)} "
                             f"{'do' if len(takers) > 1 else 'does'}); leave it out")
    explained = []
    for t in chosen:       # each topic's module imports torch: only now, after the options are checked
        module = t.module()
        explained.append((t, module.compute(**{k: v for k, v in given.items() if k in t.options})))
    print(("\n\n" + "─" * 100 + "\n\n").join(t.module().to_text(steps) for t, steps in explained))
    if args.html:
        from ..explain.page import topics_page          # jinja2 and torch: only when a page is asked for
        from ..files import replace_files
        words = [args.topic] + [w for k, v in given.items() for w in (f"--{k}", str(v))]
        html = topics_page(explained, "cnn-parity explain " + " ".join(shlex.quote(w) for w in words))

        def write(path):
            with open(path, "w", encoding="utf-8") as f:
                f.write(html)
        replace_files([(args.html, write)])
        print(f"\nwrote {args.html}")
    return 0
