"""The fuzzer's results file, ``fuzz.json``: written by ``cnn-parity fuzz --json FILE``, read by the
report (standard library only: the report reads it without torch).

One JSON object (``VERSION`` 1):

``command``, ``date``, ``torch``, ``python``, ``machine``, ``load``   what ran, when, where (the
        1-minute load average before and after: the machine may be shared)
``seed``, ``budget``, ``dtypes``, ``compile_every``      the options
``networks``       networks judged; ``drawn`` networks drawn; ``rejected``: torch's eager refused
                   them (not findings); ``refused``: the reference refused one torch runs
``configurations`` per configuration: ``name``, ``networks`` run, ``seconds`` in its runs,
                   ``per_minute`` (networks per minute of its own runs)
``seconds``        ``wall`` and, per phase, where the time went
``findings``       one entry per signature (configuration, dtype, layer, quantity, kind): the
                   observation, ``count`` (networks that showed it), ``known`` (the id of a known
                   finding, or ""), the network ``original`` and ``shrunk`` (one line each, and
                   their numbers of layers), ``shrink`` (evaluations, seconds, why it stopped),
                   ``repro`` (the script written, or "")
``expected``       expected at this precision, one entry per signature: ``count`` and one example
                   with its ``evidence``
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from ...files import replace_files

__all__ = ["VERSION", "DEFAULT_RESULTS", "ResultsError", "write_results", "load_results", "read_json",
           "counts_by_kind", "evidence_text"]

VERSION = 1
#: The results file the report reads by default (committed, like the bug zoo's).
DEFAULT_RESULTS = Path(__file__).resolve().parents[3] / "benchmarks" / "results" / "fuzz.json"
_REQUIRED = ("version", "date", "torch", "networks", "configurations", "findings", "expected", "seconds")


class ResultsError(ValueError):
    """A results file that cannot be read: one line, naming the file."""


def write_results(path, data: dict) -> None:
    """Write ``data`` to ``path`` (indented JSON) under a temporary name, renamed when complete."""
    text = json.dumps({"version": VERSION, **data}, indent=1, ensure_ascii=False, default=str) + "\n"

    def write(tmp):
        Path(tmp).write_text(text, encoding="utf-8")
    replace_files([(str(path), write)])


def read_json(path, error, missing: str):
    """The JSON in ``path``; ``error`` (an exception class) raised with one line naming the file when
    it is missing (``missing`` says how to make it) or cannot be read."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: {missing}") from None
    except (OSError, ValueError) as exc:
        raise error(f"{path} cannot be read ({exc})") from None


def load_results(path=None) -> dict:
    """The results in ``path`` (default :data:`DEFAULT_RESULTS`); :class:`ResultsError` if missing or malformed."""
    path = Path(path or DEFAULT_RESULTS)
    data = read_json(path, ResultsError, f"no fuzz results; run cnn-parity fuzz --json {path}")
    missing = [k for k in _REQUIRED if not isinstance(data, dict) or k not in data]
    if missing:
        raise ResultsError(f"{path}: not a fuzz results file (no {', '.join(missing)})")
    if data["version"] != VERSION:
        raise ResultsError(f"{path}: results version {data['version']}, this code reads {VERSION}")
    return data


def counts_by_kind(data: dict) -> dict:
    """{kind: networks that showed a finding of that kind} (known findings included), kinds in
    order of the first finding of each."""
    out = Counter()
    for f in data["findings"]:
        out[f["kind"]] += int(f["count"])
    return dict(out)


def evidence_text(expected: str, evidence: dict) -> str:
    """Why an observation is expected at this precision, in words: for a near-tie each decision
    routed as torch took it (the layer, the two values in the oracle's and in torch's input, the
    rounding unit) and the tolerance; for a value outside float16 the oracle's magnitude and the
    format's limit."""
    if expected == "near-tie":
        parts = [f"{d['layer']} {d['decision']} ({d['routed']} routed): oracle {d['oracle'][0]:.9g} vs "
                 f"{d['oracle'][1]:.9g}, torch {d['torch'][0]:.9g} vs {d['torch'][1]:.9g}, rounding unit "
                 f"{d['unit']:.3g}" for d in evidence.get("decisions", [])]
        return "; ".join(parts) + f" (tolerance {evidence.get('tolerance', float('nan')):.3g})"
    return ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in evidence.items())
