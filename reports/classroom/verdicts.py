"""One verdict per graded name, and the text ``cnn-parity check`` prints (no torch here).

A name's verdict: "pass" (every comparison passes), "fail" (one fails, or its code raises, returns
the wrong shape or dtype, did not finish, or exited), "to do" (its code raises NotImplementedError
and nothing else fails), or "error" (the grader itself failed on it). For a failing name: the first
failing comparison with its numbers (the order of the suite: float64 first, the book's worked
examples, then the cases), the first diverging layer of a network, and the diagnosis
(``signatures.diagnose``) with the book-vs-PyTorch catalog entry that explains each part.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..parity.records import first_divergence, short_config
from .signatures import closeness, diagnose, key_of, load, outcome

__all__ = ["Verdict", "verdict_of", "load_signatures", "describe", "diagnosis_lines", "skipped_summary", "format_file",
           "exit_status", "WIDTH"]

WIDTH = 16                                   # the names' column


@dataclass
class Verdict:
    name: str
    verdict: str                             # "pass", "fail", "to do", "error"
    first: str = ""                          # the first failing comparison, or why it failed
    divergence: str = ""
    diagnosis: list = field(default_factory=list)    # lines
    skipped: str = ""
    todo: list = field(default_factory=list)
    failures: list = field(default_factory=list)     # every failing comparison, one line each
    skipped_cases: list = field(default_factory=list)  # [(label, reason)]
    compared: int = 0


def _where(r) -> str:
    config = short_config(r.config)
    return f"{r.case}[{config}]" if config else r.case


def describe(r) -> str:
    """A failing record in one line: where, which quantity, in what dtype, and how it fails."""
    head = f"{_where(r)} {r.quantity} [{r.dtype}]"
    if r.group in ("error", "todo"):
        return f"{head}: {r.note}"
    found = outcome(r)
    if found and found[0] != "numeric":
        return f"{head}: {r.note}"
    return f"{head}: max_rel {r.max_rel:.2e} > tol {r.tol:.1e} (max_abs {r.max_abs:.2e})"


def skipped_summary(skipped, ran) -> str:
    """How many cases ran and why the others did not, e.g. "9 cases run, 6 skipped: beyond the
    book's interface (5); needs groups (1)"."""
    if not skipped:
        return ""
    reasons = Counter(reason.split(":")[0] for _, reason in skipped)
    words = "; ".join(f"{reason} ({n})" for reason, n in reasons.items())
    return f"{len(ran)} case(s) run, {len(skipped)} skipped: {words}"


def _explanation_lines(candidate) -> list:
    entry = candidate.get("explanation") or {}
    if not entry:
        return []
    torch_side = f"; PyTorch: {entry['torch']}" if entry.get("torch") else ""
    return [f"  book vs PyTorch, \"{entry['title']}\" — book: {entry['book']}{torch_side}"]


def diagnosis_lines(name, records, signatures) -> list:
    """The diagnosis of a failing name, in lines (see ``signatures``)."""
    mine = {key_of(r): outcome(r) for r in records if outcome(r) is not None}
    ran = {key_of(r) for r in records} & signatures.ran.get(name, set())
    found = diagnose(mine, ran, signatures.for_name(name))
    if not found.failing:
        return ["diagnosis: these comparisons are not among those the known bugs were measured on"]
    if not found.parts:
        nearest = (f" (nearest: {found.nearest[0]}, similarity {found.nearest[1]:.2f})"
                   if found.nearest else "")
        return [f"diagnosis: no known bug matches{nearest}"]
    whole = f"similarity {found.similarity:.2f}, {closeness(found.similarity)}"
    lines = []
    if len(found.parts) == 1 and not found.unexplained:
        part = found.parts[0]
        cand = signatures.candidate(part.candidate)
        lines.append(f"diagnosis: like {part.candidate} ({whole}): {cand['describes']}")
        return lines + _explanation_lines(cand)
    explained = found.failing - found.unexplained
    lines.append(f"diagnosis: {len(found.parts)} known difference(s) explain {explained} of the {found.failing} "
                 f"failing comparisons ({whole})")
    for part in found.parts:
        cand = signatures.candidate(part.candidate)
        lines.append(f"- like {part.candidate} ({part.explains} comparisons): {cand['describes']}")
        lines += ["  " + line for line in _explanation_lines(cand)]
    if found.unexplained:
        lines.append(f"- {found.unexplained} failing comparison(s) no known bug matches")
    return lines


def load_signatures():
    """(the committed signatures, "") — or (None, why not) when the file is missing or unreadable."""
    try:
        return load(), ""
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, (f"no diagnosis: the signatures file cannot be read ({type(exc).__name__}: {exc}); "
                      "rewrite it with 'python -m reports.classroom.signatures'")


def verdict_of(result, signatures=None, missing="") -> Verdict:
    """The verdict of one ``isolation.NameResult``; ``signatures`` for the diagnosis (``missing``:
    the line shown instead when there are none)."""
    name = result.name
    if result.status == "internal":
        return Verdict(name, "error", f"the grader failed: {result.message}")
    if result.status != "graded":
        return Verdict(name, "fail", f"{name} {result.message}")
    records = result.records
    failing = [r for r in records if not r.passed and r.group != "todo"]
    todo = list(dict.fromkeys(r.note for r in records if r.group == "todo"))
    v = Verdict(name, "pass", skipped=skipped_summary(result.skipped, result.ran), todo=todo,
                failures=[describe(r) for r in failing], skipped_cases=list(result.skipped), compared=len(records))
    if failing:
        v.verdict = "fail"
        v.first = describe(failing[0])
        nets = [r for r in failing if r.group in ("net", "trace")]
        if nets:
            same = [r for r in records if (r.case, r.config, r.dtype) == (nets[0].case, nets[0].config, nets[0].dtype)]
            div = first_divergence(same)
            if div:
                where = "" if _where(div) == _where(failing[0]) else f"{_where(div)}, "
                v.divergence = f"first divergence: {div.quantity} ({where}{div.dtype})"
        v.diagnosis = diagnosis_lines(name, records, signatures) if signatures is not None else [missing]
    elif todo:
        v.verdict = "to do"
        v.first = todo[0]
    return v


def exit_status(verdicts) -> int:
    """0: every name passes; 1: some name fails (or the grader failed on it); 3: nothing fails, but
    some name is still to do."""
    if any(v.verdict in ("fail", "error") for v in verdicts):
        return 1
    return 3 if any(v.verdict == "to do" for v in verdicts) else 0


def format_file(path, result, verdicts, time_limit, verbose=False) -> str:
    """The report of ``cnn-parity check``: a header, one block per name, a summary line."""
    lines = [f"{path}: {len(result.defined)} of the book's names defined, {len(verdicts)} graded, each in a "
             f"child process (at most {time_limit:g} s each)"]
    if result.imported:
        lines.append("imported, not graded here (check the file that defines them): "
                     + ", ".join(f"{n} from {m}" for n, m in result.imported.items()))
    pad = " " * (WIDTH + 7)                  # under the detail: name, verdict (5), two spaces
    for v in verdicts:
        word = {"pass": "pass", "fail": "FAIL", "to do": "to do", "error": "ERROR"}[v.verdict]
        detail = v.first or (f"{v.compared} comparisons in float64 and float32" if v.compared else "")
        lines.append(f"{v.name:<{WIDTH}} {word:<5}  {detail}".rstrip())
        extra = [v.divergence] if v.divergence else []
        extra += v.diagnosis
        if v.todo and v.verdict == "fail":
            extra.append("still to do: " + "; ".join(t.split(" raises")[0] for t in v.todo))
        if v.skipped:
            extra.append(v.skipped)
        if verbose:
            extra += [f"fails: {line}" for line in v.failures[1:]]
            extra += [f"skipped {label}: {reason}" for label, reason in v.skipped_cases]
        lines += [pad + line for line in extra if line]
    counts = Counter(v.verdict for v in verdicts)
    lines.append(f"{len(verdicts)} name(s): {counts['pass']} pass, {counts['fail'] + counts['error']} fail, "
                 f"{counts['to do']} to do")
    return "\n".join(lines)
