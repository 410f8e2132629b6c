"""Shrinking: the smallest network that still shows a finding, by delta debugging.

``shrink(spec, still_shows)`` tries smaller variants of ``spec`` (:func:`candidates`), each
strictly smaller in :func:`size`, and keeps the first that ``still_shows`` — a function that
runs the variant and returns its observation when it has the finding's signature (and is still
a finding, not a decision at a near-tie), else None — then starts over from the smaller network,
until no variant shows it or the budget (evaluations, a deadline) is spent. Greedy and
deterministic: the same network and the same answers give the same result.

The variants, biggest cuts first: one layer fewer; the batch, the channels and the image smaller;
each layer's options towards the simplest (window 1, stride 1, no pad, no dilation, one group,
fewer filters, no bias, no ceil mode, the default divisor); the loss's options to the defaults;
the numbers to normal ones at scale 1 in a contiguous tensor; dropout off.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from .netspec import LOSS_DEFAULTS, Invalid, NetSpec, shapes

__all__ = ["ShrinkStats", "shrink", "candidates", "size"]

#: For each option: its simplest value (towards which it shrinks).
_SIMPLEST = {"kernel": 1, "stride": 1, "pad": 0, "dilation": 1, "groups": 1, "bias": False, "ceil_mode": False,
             "count_include_pad": True, "divisor_override": None, "output_size": 1, "size": 1, "M": 1,
             "alpha": 1e-4, "beta": 0.75, "k": 1.0, "p": 0.0}


@dataclass
class ShrinkStats:
    evaluations: int = 0
    accepted: int = 0
    seconds: float = 0.0
    stopped: str = ""            # "minimal", "evaluations", "deadline"

    def as_dict(self) -> dict:
        return dict(evaluations=self.evaluations, accepted=self.accepted, seconds=round(self.seconds, 3),
                    stopped=self.stopped)


def _options_size(spec: NetSpec) -> int:
    """How far the options are from the simplest, in steps (ints count their size)."""
    n = 0
    for layer in spec.layers:
        for key, v in layer.opts:
            for x in (v if isinstance(v, tuple) else (v,)):
                if isinstance(x, bool) or x is None or isinstance(x, str):
                    n += x != _SIMPLEST.get(key, x)
                elif isinstance(x, int):
                    n += abs(x - (_SIMPLEST.get(key) or 0)) if key in _SIMPLEST else abs(x)
                else:
                    n += x != _SIMPLEST.get(key, x)
    n += sum(v != d for (_, v), (_, d) in zip(spec.loss, LOSS_DEFAULTS))
    return n


def size(spec: NetSpec) -> tuple:
    """The order shrinking descends: layers, input elements, option steps, value complexity."""
    N, C, H, W = spec.shape
    values = (spec.kind != "normal") + (spec.scale != 1.0) + (spec.layout != "contiguous") + spec.train
    return (len(spec.layers), N * C * H * W + N + C + H + W, _options_size(spec), values)


def _smaller_ints(v: int, lo: int) -> list:
    return sorted({x for x in (lo, v // 2, v - 1) if lo <= x < v})


def _option_variants(key, v) -> list:
    """Simpler values of one option: an int smaller, a pair one axis at a time (equal axes as
    one int), a flag, a choice or a float to the simplest value."""
    simplest = _SIMPLEST.get(key)
    if isinstance(v, tuple):
        h, w = v
        pairs = [(a, w) for a in _option_variants(key, h)] + [(h, b) for b in _option_variants(key, w)]
        return [a if a == b else (a, b) for a, b in pairs]
    if isinstance(v, int) and not isinstance(v, bool):
        if key == "divisor_override":
            return [None]
        return _smaller_ints(v, simplest if isinstance(simplest, int) else 1)
    return [simplest] if key in _SIMPLEST and v != simplest else []


def candidates(spec: NetSpec):
    """Smaller variants of ``spec``, biggest cuts first (some may be invalid: they are skipped)."""
    for i in range(len(spec.layers)):
        yield spec.but(layers=spec.layers[:i] + spec.layers[i + 1:])
    N, C, H, W = spec.shape
    for n in _smaller_ints(N, 1):
        yield spec.but(shape=(n, C, H, W))
    for c in _smaller_ints(C, 1):
        yield spec.but(shape=(N, c, H, W))
    for h in _smaller_ints(H, 1):
        yield spec.but(shape=(N, C, h, W))
    for w in _smaller_ints(W, 1):
        yield spec.but(shape=(N, C, H, w))
    for i, layer in enumerate(spec.layers):
        for key, v in layer.opts:
            for simpler in _option_variants(key, v):
                if key == "FN":
                    continue
                yield spec.but(layers=spec.layers[:i] + (layer.but(**{key: simpler}),) + spec.layers[i + 1:])
        if "FN" in layer.o and layer.o["FN"] > layer.o["groups"]:
            for fn in _smaller_ints(layer.o["FN"] // layer.o["groups"], 1):
                yield spec.but(layers=spec.layers[:i] + (layer.but(FN=fn * layer.o["groups"]),) + spec.layers[i + 1:])
    for key, default in LOSS_DEFAULTS:
        if spec.loss_opts[key] != default:
            yield spec.but(loss={key: default})
    if spec.layout != "contiguous":
        yield spec.but(layout="contiguous")
    if spec.scale != 1.0:
        yield spec.but(scale=1.0)
    if spec.kind != "normal":
        yield spec.but(kind="normal")
    if spec.train:
        yield spec.but(train=False)


def _valid(spec: NetSpec) -> bool:
    try:
        shapes(spec)
    except Invalid:
        return False
    return True


def shrink(spec: NetSpec, still_shows, *, max_evaluations=150, deadline=None, clock=time.perf_counter):
    """(smallest spec found, its observation or None, :class:`ShrinkStats`); see the module docstring."""
    stats, t0, obs = ShrinkStats(), clock(), None
    while True:
        for cand in candidates(spec):
            if size(cand) >= size(spec) or not _valid(cand):
                continue
            if stats.evaluations >= max_evaluations:
                stats.stopped = "evaluations"
                break
            if deadline is not None and clock() >= deadline:
                stats.stopped = "deadline"
                break
            stats.evaluations += 1
            found = still_shows(cand)
            if found is not None:
                spec, obs = cand, found
                stats.accepted += 1
                break
        else:
            stats.stopped = "minimal"
        if stats.stopped:
            break
    stats.seconds = clock() - t0
    return spec, obs, stats
