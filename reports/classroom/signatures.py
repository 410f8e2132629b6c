"""Failure signatures, how alike two are, and the diagnosis of a student's failures.

A *failure signature* is, for one graded name, the set of comparisons that fail — each a key
(case, configuration, quantity, dtype) — and how each fails (:func:`outcome`): "error" (an
exception), "shape", "dtype" or "nonfinite" (a mismatch of that kind), or "numeric" with its
normwise error ``max_rel``.

How alike two failures of the same key are (:func:`agreement`): 0 when they fail in different
ways; 1 for the same mismatch or exception; for two numeric failures, 1 when their errors are
within a factor 10, ½ within a factor 100, 0 beyond.

The similarity of two signatures (:func:`similarity`) is their weighted Jaccard index: the sum of
the agreements over the keys where both fail, divided by the number of keys where either fails —
1 for the same failures, 0 for nothing in common — counted only on the comparisons both ran.

The diagnosis (:func:`diagnose`) explains the student's failures by known ones, greedily: the
candidate (a bug of the zoo or one of the book's ways, ``known``) with the highest similarity to
the failures still unexplained is taken, if it is a *part* of them — the student reproduces at least
half of its signature (its *precision*, the agreement summed over its failing keys ÷ their number,
is ≥ :data:`MIN_PRECISION`) — and the keys it accounts for are set aside; again, until nothing is
left or no candidate qualifies. The diagnosis's similarity is the weighted Jaccard index of the
student's failures and the union of its parts' signatures: one part explaining everything gives
that part's similarity. Words: ≥ 0.9 "a match", ≥ 0.6 "close", below "partial". When no candidate
qualifies, "no known bug matches" and the nearest candidate by similarity is named.

The candidates' signatures are computed once, by grading the answer key with each bug planted or
each book way in place (:func:`compute`), and committed in ``signatures.json`` beside this module
(``python -m reports.classroom.signatures`` rewrites it; ``parity_tests/test_classroom.py`` checks
that it is current). Reading it needs no torch.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["KINDS", "MIN_PRECISION", "SIGNATURES_FILE", "outcome", "key_of", "agreement", "similarity",
           "closeness", "Part", "Diagnosis", "diagnose", "Signatures", "load", "compute", "fingerprint", "explanation",
           "dumps", "main"]

#: The ways a comparison fails, as a signature records them.
KINDS = ("error", "shape", "dtype", "nonfinite", "numeric")
#: A candidate is a part of the student's failures when the student reproduces at least this share of it.
MIN_PRECISION = 0.5
SIGNATURES_FILE = Path(__file__).with_name("signatures.json")


# ------------------------------------------------------------------------------------------
# Signatures and their similarity
# ------------------------------------------------------------------------------------------

def outcome(record):
    """How a record fails: (kind, max_rel), or None when it passes or is a name still to do."""
    if record.passed or record.group == "todo":
        return None
    if record.group == "error":
        return ("error", math.inf)
    for word, kind in (("shape mismatch", "shape"), ("dtype mismatch", "dtype"),
                       ("NaN/inf in different positions", "nonfinite")):
        if word in record.note:
            return (kind, record.max_rel)
    return ("numeric", record.max_rel)


def key_of(record) -> tuple:
    """The comparison a record is: (case, configuration, quantity, dtype)."""
    return (record.case, record.config, record.quantity, record.dtype)


def agreement(a, b) -> float:
    """How alike two failures of the same comparison are (see the module docstring)."""
    if a[0] != b[0]:
        return 0.0
    if a[0] != "numeric":
        return 1.0
    decades = abs(math.log10(max(a[1], 1e-300)) - math.log10(max(b[1], 1e-300)))
    return 1.0 if decades <= 1 else 0.5 if decades <= 2 else 0.0


def similarity(mine: dict, theirs: dict) -> float:
    """The weighted Jaccard index of two signatures ({key: (kind, max_rel)}); 0 when both are empty."""
    union = set(mine) | set(theirs)
    if not union:
        return 0.0
    return sum(agreement(mine[k], theirs[k]) for k in set(mine) & set(theirs)) / len(union)


def closeness(value: float) -> str:
    """A similarity in words."""
    return "a match" if value >= 0.9 else "close" if value >= 0.6 else "partial"


@dataclass
class Part:
    """One candidate explaining part of the failures: how many of them (``explains``), the share of
    its own signature the student reproduces (``precision``) and its similarity to what was left."""

    candidate: str
    explains: int
    precision: float
    similarity: float


@dataclass
class Diagnosis:
    """The parts, in order; the similarity of the whole; how many failures were considered and
    left unexplained; the nearest candidate when there is no part."""

    parts: list = field(default_factory=list)
    similarity: float = 0.0
    failing: int = 0
    unexplained: int = 0
    nearest: tuple = ()              # (candidate, similarity) when no candidate qualifies


def diagnose(student: dict, ran: set, known: dict) -> Diagnosis:
    """Explain ``student`` ({key: (kind, max_rel)}, its failures) by the signatures ``known``
    ({candidate: {key: (kind, max_rel)}}, in order of preference), on the comparisons in ``ran``
    (those both the student and the candidates ran)."""
    remaining = {k: v for k, v in student.items() if k in ran}
    known = {c: {k: v for k, v in sig.items() if k in ran} for c, sig in known.items()}
    result = Diagnosis(failing=len(remaining))
    explained, union, agreed = set(), set(remaining), 0.0
    while remaining:
        best = None
        for name, sig in known.items():
            left = {k: v for k, v in sig.items() if k not in explained}
            agree = {k: agreement(remaining[k], v) for k, v in left.items() if k in remaining}
            total = sum(agree.values())
            if not left or total == 0 or total / len(left) < MIN_PRECISION:
                continue
            score = total / len(set(remaining) | set(left))
            if best is None or score > best[0]:
                best = (score, name, left, agree, total)
        if best is None:
            break
        score, name, left, agree, total = best
        hit = {k for k, a in agree.items() if a > 0}
        result.parts.append(Part(name, len(hit), total / len(left), score))
        explained |= hit
        union |= set(left)
        agreed += total
        for k in hit:
            del remaining[k]
    result.unexplained = len(remaining)
    if result.parts:
        result.similarity = agreed / len(union)
    elif result.failing:
        nearest = max(((similarity(student, sig), c) for c, sig in known.items()), default=(0.0, ""),
                      key=lambda p: p[0])
        result.nearest = (nearest[1], nearest[0]) if nearest[1] else ()
    return result


# ------------------------------------------------------------------------------------------
# The committed signatures
# ------------------------------------------------------------------------------------------

@dataclass
class Signatures:
    """The committed signatures: the candidates (name, kind, describes, explained_by, explanation:
    the catalog entry's texts), the comparisons the answer key runs per name (``ran``) and each
    candidate's failures per name (``failing``)."""

    fingerprint: str
    candidates: list
    ran: dict                          # name -> set of keys
    failing: dict                      # candidate -> name -> {key: (kind, max_rel)}

    def candidate(self, name: str) -> dict:
        return next(c for c in self.candidates if c["name"] == name)

    def for_name(self, name: str) -> dict:
        """{candidate: signature} of the candidates that change ``name``, bugs of the zoo first."""
        return {c["name"]: self.failing[c["name"]][name] for c in self.candidates
                if self.failing[c["name"]].get(name)}


def load(path=SIGNATURES_FILE) -> Signatures:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    failing = {c: {n: {tuple(row[:4]): (row[4], float(row[5])) for row in rows} for n, rows in names.items()}
               for c, names in data["failing"].items()}
    return Signatures(data["fingerprint"], data["candidates"],
                      {n: {tuple(row) for row in rows} for n, rows in data["ran"].items()}, failing)


def fingerprint() -> str:
    """What the signatures depend on besides the code of the bugs: every name's plan (its items'
    labels, in order), the candidates and the agreement rule's constants (needs torch)."""
    from .grading import plan
    from .known import candidates
    text = json.dumps({"plan": {n: [i.label for i in plan(n)] for n in _names()},
                       "candidates": [(c.name, c.names, c.explained_by) for c in candidates()],
                       "kinds": KINDS}, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _names():
    from . import NAMES
    return NAMES


def explanation(key: str) -> dict:
    """The book-vs-PyTorch entry ``key``: the parity catalog's, or an optimizer's of TORCH_EQUIVALENT."""
    if not key:
        return {}
    from reference.optimizer import TORCH_EQUIVALENT

    from ..parity.catalog import CATALOG
    for entry in CATALOG:
        if entry.key == key:
            return {"title": entry.title, "book": entry.book, "torch": entry.torch}
    relation = TORCH_EQUIVALENT[key]
    return {"title": f"the book's {key.removeprefix('book_')} vs {relation['torch_class']}",
            "book": relation["difference"], "torch": ""}


def _rows(records) -> list:
    """The failing comparisons as rows [case, config, quantity, dtype, kind, max_rel (3 digits)]."""
    rows = []
    for r in records:
        found = outcome(r)
        if found is not None:
            rows.append([*key_of(r), found[0], float(f"{found[1]:.3g}")])
    return sorted(rows)


def compute(log=lambda line: None, only=None) -> dict:
    """Grade the answer key clean (every comparison must pass), then with each candidate: the
    content of ``signatures.json``. A bug is planted under the book path ("book"); one that changes
    nothing there (it lives in the fast path) under the fast path. ``only``: these candidates alone,
    and no clean run (a test's sample)."""
    from .grading import grade_name
    from .known import answer_namespace, candidates

    clean = answer_namespace()
    ran = {}
    for name in _names() if only is None else ():
        graded = grade_name(getattr(clean, name), name)
        bad = [r.describe() for r in graded.records if not r.passed]
        if bad:
            raise RuntimeError(f"the answer key fails {name}: {bad[0]}")
        ran[name] = sorted(list(key_of(r)) for r in graded.records)
    out = {"fingerprint": fingerprint(), "candidates": [], "ran": ran, "failing": {}}
    for cand in candidates():
        if only is not None and cand.name not in only:
            continue
        t0 = time.perf_counter()
        for method in ("book", "fast"):
            failing = {}
            with cand.plant():
                ns = answer_namespace(method, cand.overrides)
                for name in cand.names:
                    rows = _rows(grade_name(getattr(ns, name), name, crash_records=True).records)
                    if rows:
                        failing[name] = rows
            if failing or cand.kind == "book":
                break
        out["candidates"].append({"name": cand.name, "kind": cand.kind, "describes": cand.describes,
                                  "method": method, "explained_by": cand.explained_by,
                                  "explanation": explanation(cand.explained_by)})
        out["failing"][cand.name] = failing
        log(f"{cand.name:28} {sum(len(v) for v in failing.values()):4} failing comparisons in "
            f"{', '.join(failing) or 'nothing'} ({method} path, {time.perf_counter() - t0:.1f} s)")
    return out


def dumps(data: dict) -> str:
    """The file's text: one row per line, so that a change shows as a few lines of a diff."""
    lines = ["{", f' "fingerprint": {json.dumps(data["fingerprint"])},', ' "candidates": [']
    lines += [f"  {json.dumps(c, ensure_ascii=False)}," for c in data["candidates"]]
    lines[-1] = lines[-1].rstrip(",")
    lines += [" ],", ' "ran": {']
    for i, (name, rows) in enumerate(data["ran"].items()):
        lines.append(f"  {json.dumps(name)}: [")
        lines += [f"   {json.dumps(r, ensure_ascii=False)}," for r in rows]
        lines[-1] = lines[-1].rstrip(",")
        lines.append("  ]" + ("," if i < len(data["ran"]) - 1 else ""))
    lines += [" },", ' "failing": {']
    for i, (cand, names) in enumerate(data["failing"].items()):
        lines.append(f"  {json.dumps(cand)}: {{")
        for j, (name, rows) in enumerate(names.items()):
            lines.append(f"   {json.dumps(name)}: [")
            lines += [f"    {json.dumps(r, ensure_ascii=False)}," for r in rows]
            lines[-1] = lines[-1].rstrip(",")
            lines.append("   ]" + ("," if j < len(names) - 1 else ""))
        lines.append("  }" + ("," if i < len(data["failing"]) - 1 else ""))
    lines += [" }", "}"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    """``python -m reports.classroom.signatures [--out FILE]``: compute and write the signatures."""
    parser = argparse.ArgumentParser(prog="python -m reports.classroom.signatures", description=main.__doc__)
    parser.add_argument("--out", default=str(SIGNATURES_FILE), help="where to write them")
    parser.add_argument("--only", default=None, metavar="A,B",
                        help="recompute only these candidates, keeping the rest of the file --out")
    args = parser.parse_args(argv)
    if args.only:
        data = json.loads(Path(args.out).read_text(encoding="utf-8"))
        fresh = compute(log=print, only=set(args.only.split(",")))
        for cand in fresh["candidates"]:
            data["candidates"] = [cand if c["name"] == cand["name"] else c for c in data["candidates"]]
            data["failing"][cand["name"]] = fresh["failing"][cand["name"]]
        data["fingerprint"] = fresh["fingerprint"]
    else:
        data = compute(log=print)
    text = dumps(data)
    Path(args.out).write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
