"""The Findings section: the known findings with their status under this torch, and the last fuzz run.

:func:`findings_context` turns ``inputs.findings`` — plain data gathered by
``reports.findings.section_data`` (each known finding with its status: rerun now or the last
recorded rerun; the last ``cnn-parity fuzz --json`` results) — into what
``sections/findings.html`` lays out: a row per known finding, cards for the fuzz run, its
throughput per configuration, its findings by kind, and the cases expected at this precision
with one example each and its evidence.
"""
from __future__ import annotations

import math

from ...parity.fuzz.results import counts_by_kind
from .common import Card

__all__ = ["findings_context", "upstream_text"]

def _issue(name: str) -> str:
    """``pytorch/pytorch#123`` as ``#123`` (every upstream issue so far is PyTorch's)."""
    return name.removeprefix("pytorch/pytorch")


def upstream_text(r: dict) -> str:
    """The Upstream cell: the duplicated issue first, then the related ones, in short form."""
    dup = r.get("upstream_duplicate")
    related = ", ".join(_issue(u) for u in r.get("upstream", []) if u != dup)
    return f"duplicate of {_issue(dup)}" + (f"; related: {related}" if related else "") if dup else related


def _known_row(r: dict) -> dict:
    found = r.get("found_on", {})
    return {"id": r["id"], "title": r["title"], "kind": r["kind"], "script": r["script"],
            "status": r["status"], "fixed": r["status"] == "fixed",
            "source": r.get("source", ""), "reason": r.get("reason", ""), "last_line": r.get("last_line", ""),
            "upstream": upstream_text(r),
            "found_on": f"torch {found.get('torch', '?')}, {found.get('date', '?')}"}


def _num(v, fmt="{:.0f}") -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else fmt.format(v)


def _finding_row(f: dict) -> dict:
    sig = f["signature"]
    return {"configuration": sig[0], "dtype": sig[1], "layer": sig[2] or "(the graph)", "quantity": sig[3],
            "kind": sig[4], "count": f["count"], "known": f.get("known", ""), "where": f.get("where", ""),
            "measured": f.get("measured", ""), "size": f"{f['original_layers']} → {f['shrunk_layers']} layers",
            "shrunk": f["shrunk"], "repro": f.get("repro", ""),
            "tries": (f.get("shrink") or {}).get("evaluations", "")}


def _expected_row(e: dict) -> dict:
    sig = e["signature"]
    return {"signature": " · ".join(x or "—" for x in sig), "count": e["count"], "why": e["expected"],
            "evidence": e.get("evidence_text", ""), "example": e.get("example", ""), "network": e.get("network", "")}


def _fuzz(fuzz: dict) -> dict:
    findings = fuzz["findings"]
    new = [f for f in findings if not f.get("known")]
    by_kind = counts_by_kind(fuzz)
    wall = fuzz["seconds"].get("wall", 0.0)
    phases = [(k, f"{v:.1f} s", f"{100 * v / wall:.0f} %" if wall else "—")
              for k, v in sorted(fuzz["seconds"].items(), key=lambda kv: -kv[1]) if k != "wall"]
    load = " → ".join(f"{x:.1f}" for x in fuzz.get("load", []))
    cards = [Card("Networks", f"{fuzz['networks']:,}",
                  f"judged; {fuzz['drawn']:,} drawn, {fuzz['rejected']} rejected by torch (not findings), "
                  f"{fuzz['refused']} refused by the reference"),
             Card("Configurations", str(len(fuzz["configurations"])),
                  ", ".join(c["name"] for c in fuzz["configurations"]), long=True),
             Card("Findings", f"{len(new)} new, {len(findings) - len(new)} known",
                  "; ".join(f"{k}: {n} network{'s' * (n != 1)}" for k, n in by_kind.items()) or "none"),
             Card("Expected at this precision", str(len(fuzz["expected"])),
                  f"{sum(int(e['count']) for e in fuzz['expected'])} networks; decisions at a near-tie, "
                  "values outside the format's range, ill-conditioned in float32"),
             Card("Run", fuzz["date"], f"{fuzz.get('command', 'cnn-parity fuzz')}; {wall / 60:.1f} min; torch "
                                       f"{fuzz['torch']}; load average {load or '?'}", long=True)]
    configs = [[c["name"], f"{c['networks']:,}", f"{c['seconds']:.1f}", _num(c.get("per_minute"))]
               for c in fuzz["configurations"]]
    return {"cards": cards, "configs": configs, "phases": phases, "findings": [_finding_row(f) for f in findings],
            "expected": [_expected_row(e) for e in fuzz["expected"]], "machine": fuzz.get("machine", ""),
            "dtypes": ", ".join(fuzz.get("dtypes", [])), "compile_every": fuzz.get("compile_every", ""),
            "compile_share": f"{fuzz['compile_share']:.0%}" if fuzz.get("compile_share") else ""}


def findings_context(inputs) -> dict | None:
    data = getattr(inputs, "findings", None)
    if data is None:
        return None
    ctx = {"known": [_known_row(r) for r in data["known"]], "torch": data.get("torch", ""),
           "fuzz_problem": data.get("fuzz_problem", "")}
    ctx["fuzz"] = _fuzz(data["fuzz"]) if data.get("fuzz") else None
    return ctx
