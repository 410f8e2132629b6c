"""``cnn-parity findings``: the known findings (``findings/index.json``), each script rerun against the
installed torch — still present, fixed in this version, or could not run — one line each
(``reports.findings`` does the work; this module checks, prints and writes).

Exit status 0 when every script rerun gave a verdict (present or fixed: an upgrade that fixed
something is good news, not an error), 1 when one could not run (a crash, a time-out, a missing
backend: it says nothing either way), 2 for a bad command line.
"""
from __future__ import annotations

import sys

from ..errors import UsageError
from .common import examples, new_file, positive_number

__all__ = ["add_parser", "run"]


def add_parser(sub):
    p = sub.add_parser(
        "findings", help="rerun the known findings' repros against the installed torch: present or fixed",
        description="List the known findings (findings/index.json: real disagreements of PyTorch with the\n"
                    "float64 oracle) and rerun each one's standalone script against the installed torch, in\n"
                    "a subprocess with a time limit: still present, fixed in this version, or could not run.\n"
                    "This is how an upgrade shows what it fixed. Exit status 1 if a script could not run.",
        epilog=examples("cnn-parity findings                       # every finding (the compile one: 15-60 s)",
                        "cnn-parity findings --kind eager          # the ones that compile nothing, seconds",
                        "cnn-parity findings --list",
                        "cnn-parity findings --json benchmarks/results/findings.json   # what the report shows"))
    p.add_argument("--list", action="store_true", help="list the findings (id, kind, title) without running them")
    p.add_argument("--id", action="append", metavar="ID", help="only this finding (repeatable; default: every one)")
    p.add_argument("--kind", choices=["eager", "compile"], default=None,
                   help="only the findings of this kind (compile ones run torch.compile: tens of seconds)")
    p.add_argument("--timeout", type=positive_number, default=None, metavar="S",
                   help="time limit of each script in seconds (default: each finding's own, from the index)")
    p.add_argument("--json", metavar="FILE", type=new_file,
                   help="also record each rerun's status, date and torch in FILE (the report reads "
                        "benchmarks/results/findings.json for the findings it does not rerun)")
    return p


def run(args) -> int:
    from ..findings import COULD_NOT_RUN, FIXED, PRESENT, find, known_findings, rerun, save_statuses, torch_version

    findings = known_findings()
    if args.id:
        findings = [find(i, findings) for i in dict.fromkeys(args.id)]
    if args.kind:
        findings = [f for f in findings if f.kind == args.kind]
    if not findings:
        raise UsageError(f"no finding of kind {args.kind} among {', '.join(args.id or ['the known ones'])}; "
                         "drop --kind or choose other ids")
    if args.list:
        for f in findings:
            print(f"{f.id} ({f.kind}): {f.title}")
        return 0
    print(f"rerunning {len(findings)} finding script{'s' * (len(findings) != 1)} with torch {torch_version()} "
          f"({sys.executable})", file=sys.stderr, flush=True)
    results = []
    for f in findings:
        results.append(rerun(f, args.timeout))
        print(results[-1].line(), flush=True)
    counts = {s: sum(r.status == s for r in results) for s in (PRESENT, FIXED, COULD_NOT_RUN)}
    print(f"{len(results)} finding{'s' * (len(results) != 1)}: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    if args.json:
        save_statuses(args.json, results)
        print(f"wrote {args.json}")
    return 1 if counts[COULD_NOT_RUN] else 0
