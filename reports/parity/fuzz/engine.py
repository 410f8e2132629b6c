"""The fuzz run: draw networks, run each under every configuration through the matrix, read the
observations, deduplicate them by signature, shrink each new finding, write its repro.

    run = fuzz(configs, seed=0, networks=200)             # or seconds=600
    run.findings, run.expected, run.as_dict()

For network ``i`` (drawn by ``netspec.draw_spec(seed, i)``):

1. **Is it a network?** torch's eager runs it in float64, forward and backward (plainly, no
   configuration): if torch raises, the network is *rejected* — not a finding. Then the
   reference runs it in float64: if it raises, that is a finding (``reference refuses``). A
   network with a max-pool window wholly in the padding never reaches torch: torch accepts it and
   its backward writes outside the gradient buffer (a known finding), which could take the run down.
2. **The matrix.** ``run_matrix(configurations, [case], dtypes)`` — each configuration once,
   those that claim determinism twice, the baselines as the matrix adds them. A compiling
   configuration runs on every ``compile_every``-th network only (a compile costs seconds) and,
   with a time budget, only while its runs have taken at most ``compile_share`` of the time.
3. **The verdicts** are read by ``judge.observe``; an observation whose signature was seen before
   only counts; a new one is checked against the known findings (``KNOWN``) and, if it is none
   of them, shrunk (``shrink.shrink``, the same check on each smaller network) and written as a
   repro (``repro.write_repro``) when an output folder is given.

With a budget in networks and no deadline, the same seed gives the same findings. The time of
every phase is kept (``seconds``), and per configuration the time of its own runs, from which
``per_minute`` — networks per minute per configuration — follows.
"""
from __future__ import annotations

import math
import os
import platform
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import torch

from torch_impl import apply_dropout_mask

from ..configs import by_name, unavailable
from ..harness import quiet_torch_notes
from ..matrix import first_line, oracle_net, run_matrix
from .judge import Observation, observe, refusal_observation
from .results import evidence_text as results_evidence_text
from .netspec import Invalid, NetSpec, build, describe, draw_spec, empty_pool_windows, inputs, net_case, shapes
from .shrink import shrink

__all__ = ["cpu_name", "format_run", "measured_text", "evidence_text", "progress_line", "KNOWN", "COMPILE_EVERY", "Finding", "Expected", "FuzzRun", "examine", "fuzz", "known_id"]

#: A compiling configuration runs on every this many networks (a compile takes seconds) ...
COMPILE_EVERY = 10
#: ... and, with a time budget, only while its runs have taken at most this share of the time so far.
COMPILE_SHARE = 0.25


def _compile_empty_batch(obs: Observation, spec: NetSpec) -> bool:
    return (obs.kind == "crash" and obs.configuration == "compile" and spec.shape[0] == 0
            and "expected size" in obs.where and "stride" in obs.where
            and any(layer.kind == "Convolution" for layer in spec.layers))


def _maxpool_window_in_padding(obs: Observation, spec: NetSpec) -> bool:
    return obs.kind == "reference refuses" and obs.layer == "Pooling" and "no element" in obs.where


def _channels_last_conv_one_channel(obs: Observation, spec: NetSpec) -> bool:
    """A convolution of a one-channel input whose output is one column wide, under channels_last."""
    if obs.configuration != "channels_last" or obs.layer != "Convolution" or obs.kind != "disagrees":
        return False
    try:
        ins = shapes(spec)                          # each layer's input (C, H, W), then the scores
    except Invalid:
        return False
    return any(layer.kind == "Convolution" and ins[i][0] == 1 and len(ins[i + 1]) == 3 and ins[i + 1][2] == 1
               for i, layer in enumerate(spec.layers))


def _compile_avgpool_ceil_mode(obs: Observation, spec: NetSpec) -> bool:
    return (obs.configuration == "compile" and obs.layer == "AvgPooling" and obs.quantity == "dx"
            and any(layer.kind == "AvgPooling" and layer.o.get("ceil_mode") for layer in spec.layers))


#: The known findings (ids of findings/index.json), recognised by what the fuzzer sees.
KNOWN = {"compile-conv-empty-batch-backward": _compile_empty_batch,
         "maxpool-dilated-window-in-padding": _maxpool_window_in_padding,
         "channels-last-conv-one-channel-wrong-output": _channels_last_conv_one_channel,
         "compile-avgpool-ceil-mode-backward": _compile_avgpool_ceil_mode}


def known_id(obs: Observation, spec: NetSpec) -> str:
    return next((fid for fid, test in KNOWN.items() if test(obs, spec)), "")


@dataclass
class Finding:
    """A signature seen in ``count`` networks: the first network's observation, shrunk."""

    observation: Observation
    spec: NetSpec                      # the shrunk network (the original when not shrunk)
    original: NetSpec
    network: int                       # the index of the first network that showed it
    seed: int = 0                      # the run's seed (network ``network`` of ``draw_spec(seed, ...)``)
    count: int = 1
    known: str = ""
    shrink: dict = field(default_factory=dict)
    repro: str = ""

    def as_dict(self) -> dict:
        return {**self.observation.as_dict(), "count": self.count, "known": self.known, "network": self.network,
                "seed": self.seed,
                "original": describe(self.original), "original_layers": len(self.original.layers),
                "shrunk": describe(self.spec), "shrunk_layers": len(self.spec.layers),
                "shrunk_shape": list(self.spec.shape), "shrink": self.shrink, "repro": self.repro,
                "measured": measured_text(self.observation.kind, self.observation.max_rel, self.observation.tol,
                                          self.observation.ratio).lstrip(", ")}


@dataclass
class Expected:
    """A signature expected at this precision: how often, and its first example."""

    observation: Observation
    spec: NetSpec
    network: int
    count: int = 1

    def as_dict(self) -> dict:
        return {**self.observation.as_dict(), "count": self.count, "network": self.network,
                "example": describe(self.spec), "evidence_text": evidence_text(self.observation)}


@dataclass
class FuzzRun:
    seed: int
    configs: list
    dtypes: tuple
    budget: str
    compile_every: int
    drawn: int = 0
    networks: int = 0
    rejected: int = 0
    refused: int = 0
    rejections: Counter = field(default_factory=Counter)    # torch's reasons, by message
    findings: dict = field(default_factory=dict)            # signature -> Finding
    expected: dict = field(default_factory=dict)            # signature -> Expected
    config_networks: Counter = field(default_factory=Counter)
    config_seconds: Counter = field(default_factory=Counter)
    seconds: Counter = field(default_factory=Counter)       # phase -> seconds
    wall: float = 0.0
    load: list = field(default_factory=list)                # 1-minute load average at the start and the end
    compile_share: float | None = None                      # the compile budget's share (time budgets only)

    def per_minute(self, name: str) -> float:
        s = self.config_seconds[name]
        return 60.0 * self.config_networks[name] / s if s > 0 else math.nan

    def as_dict(self) -> dict:
        return {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "torch": torch.__version__,
                "python": platform.python_version(), "machine": f"{platform.machine()}, {cpu_name()}",
                "load": [round(x, 2) for x in self.load],
                "seed": self.seed, "budget": self.budget, "dtypes": list(self.dtypes),
                "compile_every": self.compile_every, "compile_share": self.compile_share,
                "drawn": self.drawn, "networks": self.networks,
                "rejected": self.rejected, "rejections": dict(self.rejections.most_common(10)), "refused": self.refused,
                "configurations": [{"name": c.name, "networks": self.config_networks[c.name],
                                    "seconds": round(self.config_seconds[c.name], 3),
                                    "per_minute": _round(self.per_minute(c.name))} for c in self.configs],
                "seconds": {"wall": round(self.wall, 3), **{k: round(v, 3) for k, v in self.seconds.items()}},
                "findings": [f.as_dict() for f in self.findings.values()],
                "expected": [e.as_dict() for e in self.expected.values()]}


def _round(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 1)


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            name = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "")
    except OSError:
        name = ""
    return name or platform.processor() or "unknown CPU"


# ------------------------------------------------------------------------------------------
# One network
# ------------------------------------------------------------------------------------------

def torch_check(spec: NetSpec) -> None:
    """torch's eager, float64, forward and backward, as ``matrix`` runs a net (raises what torch raises)."""
    _, net = build(spec, "float64", sides=("torch",))
    data = inputs(spec, "float64")
    masks = {k: torch.from_numpy(v) for k, v in (data.get("masks") or {}).items()}
    net.train("masks" in data)
    h = x = torch.from_numpy(np.array(data["x"], copy=True)).requires_grad_(True)
    for name, child in net.named_children():
        h = apply_dropout_mask(h, masks[name], child.p) if name in masks else child(h)
    net.loss_fn(h, torch.from_numpy(np.asarray(data["t"]))).sum().backward()
    if x.grad is None:
        raise RuntimeError("no gradient reached the input")


def examine(spec: NetSpec, configs, dtypes, seconds: Counter | None = None, run: FuzzRun | None = None,
            clock=time.perf_counter):
    """(status, observations) of one network: status "invalid" (not a network by PyTorch's
    shape rules), "rejected" (torch's eager raised: the first line in ``observations[0].where``),
    "refused" (the reference raised: one observation) or "ran". Time goes to ``seconds`` by phase,
    per configuration to ``run`` (if given)."""
    seconds = Counter() if seconds is None else seconds
    t0 = clock()
    try:
        case = net_case(spec)
    except Invalid as exc:
        return "invalid", [Observation("invalid", "", "", "", "", where=str(exc))]
    with quiet_torch_notes():
        try:
            if not empty_pool_windows(spec):          # torch would write outside a buffer: the reference alone
                torch_check(spec)
        except Exception as exc:                   # torch says it is not a network: not a finding
            seconds["check: torch eager, float64"] += clock() - t0
            return "rejected", [Observation("rejected", "eager", "float64", "", "", where=first_line(exc))]
        t1 = clock()
        seconds["check: torch eager, float64"] += t1 - t0
        try:
            rng = np.random.default_rng(0)
            oracle_net(case, case.build(rng, "float64")[0], case.inputs(rng, "float64"), "float64", 0)
        except Exception as exc:
            seconds["check: the reference, float64"] += clock() - t1
            return "refused", [refusal_observation(exc)]
    t2 = clock()
    seconds["check: the reference, float64"] += t2 - t1
    runs: dict = {}
    twice = {c.name for c in configs if c.claims_deterministic}
    result = run_matrix(configs, [case], dtypes, twice=twice, keep=runs)
    t3 = clock()
    in_configs = 0.0
    for (_, name, _), (a, b) in result.seconds.items():
        spent = a + (0.0 if math.isnan(b) else b)
        in_configs += spent
        if run is not None:
            run.config_seconds[name] += spent
    if run is not None:
        for c in configs:
            run.config_networks[c.name] += 1
    seconds["configurations' runs"] += in_configs
    seconds["matrix: judging, baselines"] += max(0.0, t3 - t2 - in_configs)
    observations = observe(spec, case, configs, [np.dtype(d).name for d in dtypes], result, runs)
    seconds["reading the verdicts"] += clock() - t3
    return "ran", observations


# ------------------------------------------------------------------------------------------
# The run
# ------------------------------------------------------------------------------------------

def _shrink_finding(finding: Finding, configs, dtypes, deadline, max_evaluations, run: FuzzRun, clock):
    obs = finding.observation
    sig = obs.signature
    dtype = obs.dtype if obs.kind != "reference refuses" else dtypes[0]
    target = [c for c in configs if c.name in ("eager", obs.configuration)] or [by_name("eager")]

    def still_shows(cand):                  # its phases count as "shrinking" (kept out of the others)
        status, found = examine(cand, target, (dtype,), Counter(), clock=clock)
        if obs.kind == "reference refuses":
            return found[0] if status == "refused" and found[0].signature == sig else None
        return next((o for o in found if status == "ran" and o.signature == sig and not o.expected), None)

    t0 = clock()
    spec, shrunk, stats = shrink(finding.spec, still_shows, max_evaluations=max_evaluations, deadline=deadline,
                                 clock=clock)
    run.seconds["shrinking"] += clock() - t0
    finding.spec, finding.shrink = spec, stats.as_dict()
    if shrunk is not None:
        finding.observation = shrunk


def fuzz(configs, *, seed=0, networks=None, seconds=None, dtypes=("float32",), compile_every=COMPILE_EVERY,
         compile_share=COMPILE_SHARE, shrink_findings=True, max_evaluations=150, compile_evaluations=12, write=None,
         log=None, progress_every=5.0, budget_text="", clock=time.perf_counter) -> FuzzRun:
    """Fuzz until ``networks`` networks are judged or ``seconds`` have passed (either or both).

    ``configs``: the configurations (those unavailable here are left out); a compiling one runs on
    every ``compile_every``-th network and, with a time budget, while its runs took at most
    ``compile_share`` of the time so far (the compile budget); ``write(finding)``:
    called for each new finding that is not a known one, after shrinking (writes its repro and
    returns the path); ``log(line)``: progress lines."""
    if networks is None and seconds is None:
        raise ValueError("give a budget: networks, seconds or both")
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # NumPy on an empty batch, inf inputs: expected
        return _fuzz(configs, seed, networks, seconds, dtypes, compile_every, compile_share, shrink_findings,
                     max_evaluations, compile_evaluations, write, log, progress_every, budget_text, clock)


def _fuzz(configs, seed, networks, seconds, dtypes, compile_every, compile_share, shrink_findings, max_evaluations,
          compile_evaluations, write, log, progress_every, budget_text, clock) -> FuzzRun:
    configs = [c for c in configs if unavailable(c) is None]
    run = FuzzRun(seed, configs, tuple(dtypes), budget_text, compile_every, load=[_load()],
                  compile_share=compile_share if seconds is not None else None)
    log = log or (lambda line: None)
    t0 = clock()
    deadline = None if seconds is None else t0 + seconds
    last_line = t0
    while (networks is None or run.networks < networks) and (deadline is None or clock() < deadline):
        t = clock()
        spec = draw_spec(seed, run.drawn)
        index = run.drawn
        run.drawn += 1
        run.seconds["drawing"] += clock() - t
        compile_time = sum(run.config_seconds[c.name] for c in configs if c.compile)
        compiling = run.networks % compile_every == 0 and (deadline is None or
                                                           compile_time <= compile_share * (clock() - t0))
        chosen = [c for c in configs if not c.compile or compiling]
        status, found = examine(spec, chosen, dtypes, run.seconds, run, clock)
        if status in ("invalid", "rejected"):
            run.rejected += 1
            run.rejections[found[0].where[:100]] += 1
            continue
        run.networks += 1
        run.refused += status == "refused"
        for obs in found:
            _record(run, obs, spec, index, configs, dtypes, deadline, shrink_findings, max_evaluations,
                    compile_evaluations, write, log, clock)
        if clock() - last_line >= progress_every:
            last_line = clock()
            log(progress_line(run, clock() - t0, seconds))
    run.wall = clock() - t0
    run.load.append(_load())
    log(progress_line(run, run.wall, seconds))
    return run


def _load() -> float:
    """The 1-minute load average (NaN where the system does not say): the machine may be shared."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return math.nan


def _record(run, obs, spec, index, configs, dtypes, deadline, shrink_findings, max_evaluations,
            compile_evaluations, write, log, clock):
    sig = obs.signature
    if obs.expected:
        if sig in run.expected:
            run.expected[sig].count += 1
        else:
            run.expected[sig] = Expected(obs, spec, index)
        return
    if sig in run.findings:
        run.findings[sig].count += 1
        return
    finding = run.findings[sig] = Finding(obs, spec, spec, index, run.seed, known=known_id(obs, spec))
    log(f"  network {index}: {obs.kind} under {obs.configuration} ({obs.dtype}) at {obs.layer or 'the graph'} "
        f"{obs.quantity}: {obs.where}" + (f" — known: {finding.known}" if finding.known else ""))
    if finding.known or not shrink_findings:
        return
    compiling = any(c.compile for c in configs if c.name == obs.configuration)
    _shrink_finding(finding, configs, dtypes, deadline, compile_evaluations if compiling else max_evaluations,
                    run, clock)
    log(f"    shrunk from {len(finding.original.layers)} to {len(finding.spec.layers)} layers in "
        f"{finding.shrink['evaluations']} tries: {describe(finding.spec)}")
    if write is not None:
        t = clock()
        finding.repro = str(write(finding) or "")
        run.seconds["writing repros"] += clock() - t


def progress_line(run: FuzzRun, elapsed: float, budget_seconds=None) -> str:
    """``fuzz: 120 networks (3 rejected by torch) × 7 configurations, 1 finding, 4 expected; 160/min; 45 s of 600 s``."""
    n = run.networks
    rate = 60.0 * n / elapsed if elapsed > 0 else math.nan
    of = f" of {budget_seconds:.0f} s" if budget_seconds else ""
    findings = sum(1 for f in run.findings.values() if not f.known)
    known = sum(1 for f in run.findings.values() if f.known)
    return (f"fuzz: {n} networks ({run.rejected} rejected by torch) × {len(run.configs)} configurations, "
            f"{findings} new finding{'s' * (findings != 1)}, {known} known, {len(run.expected)} expected at "
            f"precision; {rate:.0f} networks/min; {elapsed:.0f} s{of}")


def _seconds(s: float) -> str:
    return f"{s:.1f} s" if s < 120 else f"{int(s // 60)}m{int(s % 60):02d}s"


def evidence_text(obs: Observation) -> str:
    """An expected observation's evidence in words (``results.evidence_text``)."""
    return results_evidence_text(obs.expected, obs.evidence)


def measured_text(kind: str, max_rel: float, tol: float, ratio: float) -> str:
    """", max rel 2e-4 > tol 2e-6" (", max rel 3e-6, 40 × eager's" for worse than eager; "" for a crash)."""
    if kind in ("crash", "reference refuses"):
        return ""
    if kind == "worse than eager":
        return f", max rel {max_rel:.3g} (tol {tol:.3g}), {ratio:.3g} × eager's"
    return f", max rel {max_rel:.3g} > tol {tol:.3g}"


def format_run(run: FuzzRun) -> str:
    """The run for a terminal: throughput per configuration, where the time went, the findings
    (new and known), the cases expected at this precision with their evidence."""
    load = " → ".join(f"{x:.1f}" for x in run.load)
    lines = [f"cnn-parity fuzz: {run.networks} networks ({run.rejected} drawn ones rejected by torch, "
             f"{run.refused} refused by the reference) × {len(run.configs)} configurations, seed {run.seed}, "
             f"{', '.join(run.dtypes)}, {_seconds(run.wall)} (load average {load} on {os.cpu_count()} cores)",
             f"{'configuration':<20} {'networks':>8} {'seconds':>9} {'networks/min':>13}"]
    for c in run.configs:
        lines.append(f"{c.name:<20} {run.config_networks[c.name]:>8} {run.config_seconds[c.name]:>9.1f} "
                     f"{run.per_minute(c.name):>13.0f}")
    total = sum(run.seconds.values()) or 1.0
    lines.append("where the time went: " + ", ".join(f"{k} {_seconds(v)} ({100 * v / total:.0f} %)"
                                                    for k, v in run.seconds.most_common()))
    lines.append("")
    lines.append("findings (signature: configuration, dtype, layer, quantity, kind):" if run.findings else "no findings")
    for f in run.findings.values():
        o = f.observation
        head = f"  {'known' if f.known else 'NEW  '} {' '.join(x or '-' for x in o.signature)} — {f.count} network" \
               f"{'s' * (f.count != 1)}"
        if f.known:
            lines.append(f"{head}: the known finding {f.known}")
            continue
        lines.append(f"{head}; {o.where}" + measured_text(o.kind, o.max_rel, o.tol, o.ratio))
        if f.shrink:
            lines.append(f"        shrunk {len(f.original.layers)} → {len(f.spec.layers)} layers "
                         f"({f.shrink['evaluations']} tries, {f.shrink['stopped']}): {describe(f.spec)}")
        if f.repro:
            lines.append(f"        repro: {f.repro}")
    if run.expected:
        lines += ["", "expected at this precision (decisions at a near-tie, values outside the format, ill-conditioned):"]
        for e in run.expected.values():
            o = e.observation
            lines.append(f"  {' '.join(x or '-' for x in o.signature)} — {e.count} network{'s' * (e.count != 1)}, "
                         f"{o.expected}: {evidence_text(o)}")
            lines.append(f"        example: network {e.network}: {describe(e.spec)}")
    return "\n".join(lines)
