"""The known findings and their scripts: which real disagreements with PyTorch are still there.

A *finding* is a disagreement of PyTorch with the float64 oracle that turned out to be PyTorch's
(not a tolerance, not a near-tie). Each has a standalone script in ``findings/`` at the root of the
checkout — torch and NumPy only, under 100 lines — whose exit status says what it saw:

* ``1`` and a line ``PRESENT: ...`` — the problem is **present** in the installed torch;
* ``0`` and a line ``FIXED: ...`` — it is **fixed** (for example torch now refuses the input with a
  clear error);
* anything else — ``2`` with ``COULD NOT RUN: ...`` by convention, a signal, a time-out, or an exit
  status without its verdict line (Python exits 1 on a traceback: a crashed script is not "present")
  — the script **could not run**, which says nothing either way.

``findings/index.json`` lists them (id, title, script, kind ``compile``/``eager``, the upstream
issues, the machine and torch they were found on, a time limit). This module reads that index and
reruns a script under the current interpreter in a subprocess, with a time limit:

    for finding in known_findings():
        result = rerun(finding)
        print(result.line())

so that ``cnn-parity findings`` is a thin layer over :func:`known_findings`, :func:`find` and
:func:`rerun`; :func:`save_statuses` / :func:`load_statuses` keep the last rerun of each finding
(``benchmarks/results/findings.json``), and :func:`section_data` gathers what the report's Findings
section shows (those statuses, and the last fuzz run's ``fuzz.json``). Standard library only, plus
:mod:`reports.errors` and the fuzzer's torch-free results reader.
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import RunError, UsageError
from .files import replace_files
from .parity.fuzz.results import ResultsError, load_results, read_json

__all__ = ["FINDINGS_DIR", "INDEX_NAME", "PRESENT", "FIXED", "COULD_NOT_RUN", "VERDICTS", "KINDS", "Finding",
           "Rerun", "known_findings", "find", "rerun", "status_of", "DEFAULT_STATUSES", "save_statuses",
           "load_statuses", "section_data", "torch_version"]

#: ``findings/`` of the checkout this module belongs to (the scripts are not installed with the package).
FINDINGS_DIR = Path(__file__).resolve().parents[1] / "findings"
INDEX_NAME = "index.json"
PRESENT, FIXED, COULD_NOT_RUN = "present", "fixed", "could not run"
#: exit status -> (status, the line the script must also print for it)
VERDICTS = {1: (PRESENT, "PRESENT:"), 0: (FIXED, "FIXED:")}
#: A finding's kind: ``compile`` scripts compile with torch.compile (tens of seconds cold), ``eager`` ones do not.
KINDS = ("compile", "eager")
_REQUIRED = ("id", "title", "script", "kind", "timeout_s", "upstream", "found_on")


@dataclass(frozen=True)
class Finding:
    """One entry of ``findings/index.json``; ``script`` is an absolute path."""

    id: str
    title: str
    script: Path
    kind: str
    timeout_s: float
    upstream: tuple[str, ...]
    found_on: tuple[tuple[str, str], ...]        # (("torch", "2.14.1+cu130"), ("date", ...), ...)
    upstream_duplicate: str | None = None
    layer: str = ""
    configuration: str = ""


@dataclass(frozen=True)
class Rerun:
    """What a rerun of a finding's script saw: ``status`` is PRESENT, FIXED or COULD_NOT_RUN."""

    finding: Finding
    status: str
    returncode: int | None                       # None: timed out (killed)
    output: str                                  # standard output and error, interleaved
    seconds: float
    reason: str                                  # why this status, in a few words

    def line(self) -> str:
        """One line for a terminal: ``ID: status (reason, N s) — the script's last line``."""
        last = _last_line(self.output)
        tail = f" — {last}" if last else ""
        return f"{self.finding.id}: {self.status} ({self.reason}, {self.seconds:.1f} s){tail}"


def status_of(returncode: int | None, output: str) -> tuple[str, str]:
    """(status, reason) of a script that exited with ``returncode`` (None: timed out) and printed
    ``output``: exit 1 with a ``PRESENT:`` line is present, exit 0 with a ``FIXED:`` line fixed,
    anything else could not run."""
    if returncode is None:
        return COULD_NOT_RUN, "timed out"
    if returncode < 0:
        try:
            return COULD_NOT_RUN, f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return COULD_NOT_RUN, f"killed by signal {-returncode}"
    if returncode in VERDICTS:
        status, word = VERDICTS[returncode]
        if any(line.startswith(word) for line in output.splitlines()):
            return status, f"exit {returncode}"
        return COULD_NOT_RUN, f"exit {returncode} without a '{word}' line (did the script crash?)"
    return COULD_NOT_RUN, f"exit {returncode}"


def _entry(raw, folder: Path, where: str) -> Finding:
    if not isinstance(raw, dict):
        raise RunError(f"{where}: an entry is not an object; fix the index")
    missing = [k for k in _REQUIRED if k not in raw]
    name = raw.get("id", "?")
    if missing:
        raise RunError(f"{where}: finding {name!r} lacks {', '.join(missing)}; fix the index")
    if raw["kind"] not in KINDS:
        raise RunError(f"{where}: finding {name!r} has kind {raw['kind']!r}, not one of {', '.join(KINDS)}; fix the index")
    script = folder / str(raw["script"])
    if Path(str(raw["script"])).name != raw["script"] or not script.is_file():
        raise RunError(f"{where}: the script {raw['script']!r} of finding {name!r} is not a file in {folder}; "
                       "fix the index or restore the script")
    if not isinstance(raw["upstream"], list) or not isinstance(raw["found_on"], dict):
        raise RunError(f"{where}: finding {name!r} needs a list 'upstream' and an object 'found_on'; fix the index")
    timeout = raw["timeout_s"]
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise RunError(f"{where}: finding {name!r} has timeout_s {timeout!r}, not a positive number; fix the index")
    return Finding(id=str(raw["id"]), title=str(raw["title"]), script=script, kind=raw["kind"],
                   timeout_s=float(timeout), upstream=tuple(map(str, raw["upstream"])),
                   found_on=tuple((str(k), str(v)) for k, v in dict(raw["found_on"]).items()),
                   upstream_duplicate=raw.get("upstream_duplicate"), layer=str(raw.get("layer", "")),
                   configuration=str(raw.get("configuration", "")))


def known_findings(folder: Path | str | None = None) -> list[Finding]:
    """The findings listed in ``folder/index.json`` (default :data:`FINDINGS_DIR`), in index order.

    Raises :class:`RunError` (one line) when the index is missing or unreadable, an entry lacks a
    field, names a script that is not there, or two entries share an id."""
    folder = Path(FINDINGS_DIR if folder is None else folder)
    index = folder / INDEX_NAME
    try:
        data = json.loads(index.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"no findings index at {index}; run from a cnn-parity checkout (findings/ is not "
                       "installed with the package)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunError(f"{index} cannot be read ({exc}); restore it from the repository") from None
    entries = data.get("findings") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise RunError(f"{index} has no list 'findings'; restore it from the repository")
    out = [_entry(raw, folder, str(index)) for raw in entries]
    ids = [f.id for f in out]
    if len(set(ids)) != len(ids):
        raise RunError(f"{index}: ids appear twice ({', '.join(sorted({i for i in ids if ids.count(i) > 1}))}); "
                       "give each finding its own id")
    return out


def find(finding_id: str, findings: list[Finding] | None = None) -> Finding:
    """The finding called ``finding_id``; :class:`UsageError` naming the known ids if there is none."""
    findings = known_findings() if findings is None else findings
    for finding in findings:
        if finding.id == finding_id:
            return finding
    raise UsageError(f"no finding {finding_id!r}; known: {', '.join(f.id for f in findings) or 'none'}")


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill the script and whatever it started (compile workers): its own process group, by its id."""
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass


def rerun(finding: Finding, timeout: float | None = None, *, python: str | None = None) -> Rerun:
    """Run ``finding``'s script under ``python`` (default: this interpreter) in a subprocess with a
    time limit of ``timeout`` seconds (default: the finding's ``timeout_s``), and classify its exit.

    Exit 1 with a ``PRESENT:`` line -> PRESENT, exit 0 with a ``FIXED:`` line -> FIXED; anything
    else (another exit, a verdict line missing, a signal, a time-out, a script that cannot be
    started) -> COULD_NOT_RUN (see :func:`status_of`). The output (standard output and error
    together) is kept whole. On a time-out the script's process group is killed, so nothing it
    started is left running."""
    limit = finding.timeout_s if timeout is None else float(timeout)
    cmd = [python or sys.executable, str(finding.script)]
    t0 = time.perf_counter()
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=finding.script.parent, start_new_session=(os.name == "posix"))
    except OSError as exc:
        return Rerun(finding, COULD_NOT_RUN, None, "", time.perf_counter() - t0, f"cannot start: {exc}")
    try:
        raw, _ = proc.communicate(timeout=limit)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        try:
            raw, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:       # something outside its group still holds the pipe
            proc.kill()
            raw = b""
        code = None
    seconds = time.perf_counter() - t0
    output = raw.decode("utf-8", errors="replace")
    status, reason = status_of(code, output)
    if code is None:
        reason = f"timed out after {limit:g} s"
    return Rerun(finding, status, code, output, seconds, reason)


# ------------------------------------------------------------------------------------------
# The statuses of the last reruns, and what the report's Findings section shows
# ------------------------------------------------------------------------------------------

#: Where ``cnn-parity findings --json`` keeps the last rerun of each finding (the report reads it for
#: the findings it does not rerun itself: the compile ones take 15-60 s each).
DEFAULT_STATUSES = FINDINGS_DIR.parent / "benchmarks" / "results" / "findings.json"


def torch_version() -> str:
    """The installed torch's version, without importing torch ("" when it is not installed)."""
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return ""


def _last_line(output: str) -> str:
    return next((s.strip() for s in reversed(output.splitlines()) if s.strip()), "")


def save_statuses(path, reruns: list[Rerun], date: str | None = None) -> None:
    """Write the reruns' statuses to ``path`` (JSON), keeping the entries of findings not rerun now."""
    path = Path(path)
    try:
        old = load_statuses(path)["findings"]
    except RunError:
        old = {}
    date = date or time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    new = {r.finding.id: {"status": r.status, "reason": r.reason, "seconds": round(r.seconds, 1),
                          "last_line": _last_line(r.output), "date": date, "torch": torch_version()}
           for r in reruns}
    text = json.dumps({"about": "the last rerun of each finding's script (cnn-parity findings --json)",
                       "findings": {**old, **new}}, indent=1, ensure_ascii=False) + "\n"
    replace_files([(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))])


def load_statuses(path=None) -> dict:
    """``{"findings": {id: {status, reason, seconds, last_line, date, torch}}}`` from ``path`` (default
    :data:`DEFAULT_STATUSES`); :class:`RunError` when it is missing or malformed."""
    path = Path(path or DEFAULT_STATUSES)
    data = read_json(path, RunError, f"no statuses yet; run cnn-parity findings --json {path}")
    if not isinstance(data, dict) or not isinstance(data.get("findings"), dict):
        raise RunError(f"{path} is not a statuses file (no object 'findings')")
    return data


def section_data(rerun_kinds=("eager",), statuses_path=None, fuzz_path=None, timeout=None) -> dict:
    """What the report's Findings section shows, as plain data: each known finding with its status
    under the installed torch — rerun now when its kind is in ``rerun_kinds``, else the last rerun
    recorded in the statuses file (with its date and torch), else "not run" — and the last fuzz run's
    results (``reports.parity.fuzz.results``; None with the reason when there are none)."""
    try:
        statuses = load_statuses(statuses_path)["findings"]
        statuses_problem = ""
    except RunError as exc:
        statuses, statuses_problem = {}, str(exc)
    rows = []
    for finding in known_findings():
        row = {"id": finding.id, "title": finding.title, "kind": finding.kind, "layer": finding.layer,
               "configuration": finding.configuration, "script": finding.script.name,
               "upstream": list(finding.upstream), "upstream_duplicate": finding.upstream_duplicate,
               "found_on": dict(finding.found_on)}
        if finding.kind in rerun_kinds:
            result = rerun(finding, timeout)
            row.update(status=result.status, reason=result.reason, last_line=_last_line(result.output),
                       source=f"rerun now, torch {torch_version()}")
        elif finding.id in statuses:
            last = statuses[finding.id]
            row.update(status=last.get("status", ""), reason=last.get("reason", ""), last_line=last.get("last_line", ""),
                       source=f"last rerun {last.get('date', '?')}, torch {last.get('torch', '?')}")
        else:
            row.update(status="not run", reason=statuses_problem or "no recorded rerun", last_line="", source="")
        rows.append(row)
    try:
        fuzz, fuzz_problem = load_results(fuzz_path), ""
    except ResultsError as exc:
        fuzz, fuzz_problem = None, str(exc)
    return {"known": rows, "fuzz": fuzz, "fuzz_problem": fuzz_problem, "torch": torch_version()}
