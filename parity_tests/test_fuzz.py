"""The fuzzer (reports/parity/fuzz/): generated networks, their verdicts, shrinking, the repros.

Known answers for everything the fuzzer decides: the networks it draws (shapes by PyTorch's
rules), where an observation starts and what kind it is, what is expected at this precision
(a near-tie, a value outside float16) and what is not, the known findings it recognises, the
counts and rates it reports, the repro's oracle (each layer against the reference). And it must
be able to fail: a planted spoiler is found, shrunk to at most two layers, written as a repro
that fails under the spoiled configuration and passes under eager, and never reported under
the clean one. The default tier runs on a few networks with one intra-op thread (the spoiler does
not care; a loaded 2-core machine runs tiny ops far faster so); ``-m slow`` runs a longer fuzz
with a spoiler in a corner of the input space, ``-m compile`` the compile configuration.
"""
from __future__ import annotations

import ast
import contextlib
import io
import math
import sys
from contextlib import contextmanager
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from reports.cli import main
from reports.findings import known_findings
from reports.parity import configs as C
from reports.parity.fuzz import oracle_np as O
from reports.parity.fuzz.engine import (KNOWN, Finding, FuzzRun, evidence_text, examine, format_run, fuzz, known_id,
                                        progress_line)
from reports.parity.fuzz import judge as J
from reports.parity.fuzz.judge import Observation, locate, message_key
from reports.parity.fuzz.netspec import (Invalid, Layer, NetSpec, build, describe, draw_spec, inputs, layer_names,
                                         net_case, param_layers, shapes)
from reports.parity.fuzz.repro import SETUPS, layer_call, write_repro
from reports.parity.fuzz.results import ResultsError, counts_by_kind, load_results, write_results
from reports.parity.fuzz.shrink import candidates, shrink, size
from reports.parity.records import Record

EAGER, SPOILED = C.by_name("eager"), C.by_name("spoiled-conv-tf32")


@pytest.fixture
def one_thread():
    with C.one_thread():
        yield


def _net(*layers, shape=(2, 3, 5, 5), **spec):
    """A spec from ("Kind", {options}) pairs and an Affine head with 3 classes (unless the last is one)."""
    out = [Layer(kind, i).but(**opts) for i, (kind, opts) in enumerate(layers, start=1)]
    if not out or out[-1].kind != "Affine":
        out.append(Layer("Affine", len(out) + 1).but(M=3))
    return NetSpec(seed=7, shape=shape, layers=tuple(out), **spec)


CONV = {"FN": 4, "kernel": 3, "stride": 1, "pad": 1, "dilation": 1, "groups": 1, "bias": True}
POOL = {"kernel": 2, "stride": 2, "pad": 0, "dilation": 1, "ceil_mode": False}


# ----------------------------------------------------------------------------- networks as data

def test_shapes_follow_pytorch_rules():
    assert shapes(_net(("Convolution", CONV))) == [(3, 5, 5), (4, 5, 5), (3,)]
    same = dict(CONV, kernel=(2, 3), pad="same", dilation=(3, 1))
    assert shapes(_net(("Convolution", same)))[1] == (4, 5, 5)
    valid = dict(CONV, kernel=(3, 2), pad="valid", stride=(2, 1))
    assert shapes(_net(("Convolution", valid)))[1] == (4, 2, 4)
    # ceil mode: 5 with a 2-window, stride 2 -> 3 windows (the last hangs over); pad 1 -> the same 3
    assert shapes(_net(("Pooling", dict(POOL, ceil_mode=True))))[1] == (3, 3, 3)
    assert shapes(_net(("Pooling", dict(POOL, pad=1, ceil_mode=True))))[1] == (3, 3, 3)
    assert shapes(_net(("AdaptiveAvgPooling", {"output_size": (None, 2)})))[1] == (3, 5, 2)
    assert shapes(_net(("Linear", {"M": 2, "bias": True})))[1] == (3, 5, 2)
    for bad, why in [(("Convolution", dict(CONV, groups=2)), "groups=2 must divide"),
                     (("Convolution", dict(CONV, pad="same", stride=2)), "needs stride 1"),
                     (("Pooling", dict(POOL, kernel=2, pad=2)), "at most half"),
                     (("Convolution", dict(CONV, kernel=9, pad=0)), "longer than the padded input")]:
        with pytest.raises(Invalid, match=why):
            shapes(_net(bad))
    with pytest.raises(Invalid, match="scores must be"):
        shapes(NetSpec(7, (1, 1, 2, 2), (Layer("Relu", 1),)))


def test_drawn_networks_are_valid_deterministic_and_reach_the_corners():
    specs = [draw_spec(0, i) for i in range(300)]
    assert [draw_spec(0, i) for i in range(5)] == specs[:5] and draw_spec(1, 0) != specs[0]
    for spec in specs:
        shapes(spec)                                                    # none is Invalid
    kinds = {layer.kind for s in specs for layer in s.layers}
    assert kinds == {"Convolution", "Pooling", "AvgPooling", "AdaptiveAvgPooling", "Relu", "Sigmoid", "LRN",
                     "Linear", "Affine", "Dropout"}
    assert {s.shape[0] for s in specs} >= {0, 1} and any(s.shape[2:] == (1, 1) for s in specs)
    assert {s.kind for s in specs} == {"normal", "ties", "signed-zeros"} and {s.scale for s in specs} >= {1e5, 1e-3}
    assert {s.layout for s in specs} == {"contiguous", "channels_last", "transposed"}
    options = {(layer.kind, k, v) for s in specs for layer in s.layers for k, v in layer.opts}
    for wanted in [("Convolution", "pad", "same"), ("Convolution", "pad", "valid"), ("Convolution", "bias", False),
                   ("Pooling", "ceil_mode", True), ("AvgPooling", "count_include_pad", False),
                   ("AvgPooling", "divisor_override", -2)]:
        assert wanted in options
    assert any(dict(s.loss)["labels"] == "probabilities" for s in specs)
    assert any(dict(s.loss)["ignore_index"] is not None for s in specs)


def test_inputs_keep_their_memory_layout_and_are_float32_numbers():
    spec = _net(("Convolution", CONV), layout="channels_last")
    x32, x64 = inputs(spec, "float32")["x"], inputs(spec, "float64")["x"]
    assert np.array_equal(x32.astype(np.float64), x64)                  # the same numbers in both dtypes
    assert torch.from_numpy(np.array(x32, copy=True)).is_contiguous(memory_format=torch.channels_last)
    t = torch.from_numpy(np.array(inputs(replace(spec, layout="transposed"), "float32")["x"], copy=True))
    assert not t.is_contiguous() and not t.is_contiguous(memory_format=torch.channels_last)
    zeros = inputs(replace(spec, kind="signed-zeros"), "float64")["x"]
    assert set(np.unique(zeros)) <= {-1.0, 0.0, 1.0} and np.signbit(zeros[zeros == 0]).any()


def test_the_case_builds_twins_with_the_same_weights():
    spec = _net(("Convolution", dict(CONV, bias=False)), ("Relu", {}), ("Linear", {"M": 2, "bias": True}))
    ref, net = build(spec, "float32")
    assert list(ref.layers) == [n for n, _ in net.named_children()] == layer_names(spec)
    assert ref.PARAM_LAYERS == param_layers(spec) == {"W1": ("Conv1", "W"), "W3": ("Linear3", "W"),
                                                      "b3": ("Linear3", "b"), "W4": ("Affine4", "W"),
                                                      "b4": ("Affine4", "b")}
    assert np.array_equal(net.Linear3.weight.detach().numpy().T, ref.params["W3"])
    assert net_case(spec).reduction >= 3 * 3 * 3


# ----------------------------------------------------------------------------- the repro's oracle

LAYER_CASES = [
    ("Convolution", dict(CONV, groups=3, FN=6, kernel=(2, 3), stride=(2, 1), pad=(1, 0), dilation=(1, 2))),
    ("Convolution", dict(CONV, kernel=(2, 2), pad="same", dilation=(1, 3), bias=False)),
    ("Convolution", dict(CONV, kernel=(3, 2), pad="valid", stride=2)),
    ("Pooling", dict(POOL, kernel=(3, 2), stride=(2, 1), pad=1, dilation=(1, 2), ceil_mode=True)),
    ("AvgPooling", dict(POOL, kernel=3, stride=2, pad=1, ceil_mode=True, count_include_pad=True, divisor_override=None)),
    ("AvgPooling", dict(POOL, kernel=3, stride=2, pad=1, ceil_mode=True, count_include_pad=False, divisor_override=None)),
    ("AvgPooling", dict(POOL, kernel=2, stride=1, pad=1, count_include_pad=True, divisor_override=-2)),
    ("AdaptiveAvgPooling", {"output_size": (3, None)}),
    ("LRN", {"size": 4, "alpha": 1.0, "beta": 0.75, "k": 2.0}),
    ("Linear", {"M": 2, "bias": False}),
    ("Relu", {}), ("Sigmoid", {}),
]


@pytest.mark.parametrize("kind, opts", LAYER_CASES, ids=lambda v: v if isinstance(v, str) else "")
def test_the_repro_oracle_matches_the_reference_layer(kind, opts):
    """Each NumPy function a repro carries (called as the generator writes it), forward and its
    complex-step gradients, against the reference layer's forward and backward (float64)."""
    (ph, pw) = O.pair(opts.get("pad", 0)) if not isinstance(opts.get("pad"), str) else (0, 0)
    spec = _net((kind, opts), shape=(2, 3, 6, 7), kind="ties" if kind == "Relu" else "normal", scale=4.0)
    ref, net = build(spec, "float64")
    layer, name = next(iter(ref.layers.values())), layer_names(spec)[0]
    x = inputs(spec, "float64")["x"]
    P = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    f = eval(f"lambda h, P: {layer_call(kind, opts, name)}", vars(O))           # noqa: S307 (our own text)
    y = layer.forward(x)
    g = np.random.default_rng(1).standard_normal(y.shape)
    np.testing.assert_allclose(f(x, P), y, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(O.grad(lambda h: f(h, P) * g, x), layer.backward(g), rtol=1e-10, atol=1e-12)
    for key, (_, attr) in [(k, v) for k, v in param_layers(spec).items() if v[0] == name]:
        torch_name = f"{name}.{'weight' if attr == 'W' else 'bias'}"
        want = getattr(layer, "d" + attr)
        got = O.grad(lambda p: f(x, {**P, torch_name: p}) * g, P[torch_name])
        np.testing.assert_allclose(got.T if kind == "Linear" and attr == "W" else got, want, rtol=1e-10, atol=1e-12)
    assert (ph, pw) == (ph, pw)


@pytest.mark.parametrize("options", [dict(), dict(reduction="sum"), dict(reduction="none"),
                                     dict(weight=True, ignore_index=1), dict(labels="probabilities", weight=True),
                                     dict(labels="one-hot")], ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_the_repro_cross_entropy_matches_the_reference(options):
    spec = _net(("Relu", {}), shape=(4, 2, 2, 1)).but(loss=options)
    ref, net = build(spec, "float64")
    data = inputs(spec, "float64")
    s = np.random.default_rng(2).standard_normal((4, 3)) * 3
    kw = {k: v for k, v in dict(reduction=ref.last_layer.reduction, ignore_index=ref.last_layer.ignore_index,
                                weight=ref.last_layer.weight).items()}
    np.testing.assert_allclose(O.cross_entropy(s, data["t"], **kw), ref.last_layer.forward(s, data["t"]), rtol=1e-12)
    np.testing.assert_allclose(O.grad(lambda z: O.cross_entropy(z, data["t"], **kw), s),
                               ref.last_layer.backward(1), rtol=1e-10, atol=1e-14)
    if not options:                                     # the short form repros use for the defaults
        np.testing.assert_allclose(O.cross_entropy_mean(s, data["t"]), ref.last_layer.forward(s, data["t"]), rtol=1e-12)
        np.testing.assert_allclose(O.grad(lambda z: O.cross_entropy_mean(z, data["t"]), s), ref.last_layer.backward(1),
                                   rtol=1e-10, atol=1e-14)


def test_the_repro_cross_entropy_of_an_empty_batch_is_nan_with_a_zero_gradient():
    s = np.zeros((0, 3))
    assert math.isnan(O.cross_entropy(s, np.zeros(0, dtype=np.int64)))
    assert O.grad(lambda z: O.cross_entropy(z, np.zeros(0, dtype=np.int64)), s).shape == (0, 3)
    loss = F.cross_entropy(torch.zeros(0, 3, requires_grad=True), torch.zeros(0, dtype=torch.long))
    assert math.isnan(loss.item())                                      # torch agrees: NaN


# ----------------------------------------------------------------------------- reading the verdicts

def _rec(q, verdict="agrees", note="", deterministic="yes"):
    return Record("Fuzz", q, "float32", "{}", "", "", 0.0, 1.0 if verdict != "agrees" else 0.0, 0.5, 0.5,
                  verdict, note=note, configuration="x", compared_with="oracle", deterministic=deterministic)


@pytest.mark.parametrize("bad, answer", [
    (["Relu2.out", "Affine3.out", "dx"], ("Relu", "output", "Relu2.out")),          # the first output
    (["Affine3.grad", "Conv1.grad", "dx"], ("SoftmaxWithLoss", "dx", "Affine3.grad")),  # the loss's backward
    (["Conv1.grad", "dx", "dW1"], ("Relu", "dx", "Conv1.grad")),                    # made by Relu2's backward
    (["dx", "dW1"], ("Convolution", "dx", "dx")),
    (["db3", "loss"], ("Affine", "db", "db3")),
    (["loss"], ("SoftmaxWithLoss", "output", "loss")),
])
def test_locate_names_the_layer_and_quantity_where_it_starts(bad, answer):
    names, kinds = ["Conv1", "Relu2", "Affine3"], ["Convolution", "Relu", "Affine"]
    params = {"W1": ("Conv1", "W"), "W3": ("Affine3", "W"), "b3": ("Affine3", "b")}
    quantities = ["loss", "scores", "dx", "dW1", "W3", "b3", "Conv1.out", "Relu2.out", "Affine3.out",
                  "Affine3.grad", "Relu2.grad", "Conv1.grad", "dW3", "db3"]
    records = [_rec(q, "disagrees" if q in bad else "agrees") for q in quantities]
    layer, quantity, rec = locate(records, names, kinds, params, lambda r: r is not None and r.verdict != "agrees")
    assert (layer, quantity, rec.quantity) == answer
    assert locate([_rec(q) for q in quantities], names, kinds, params, lambda r: r is not None and
                  r.verdict != "agrees") is None


def test_message_key_drops_the_numbers_of_an_error():
    a = message_key("AssertionError: expected size 3==3, stride 1==9 at dim=1\nmore")
    assert a == message_key("AssertionError: expected size 5==5, stride 2==25 at dim=1")
    assert a == "AssertionError: expected size #==#, stride #==# at dim=#"


def test_the_known_findings_are_recognised_and_exist():
    ids = {f.id for f in known_findings()}
    assert set(KNOWN) <= ids
    conv0 = _net(("Convolution", CONV), shape=(0, 3, 5, 5))
    crash = Observation("crash", "compile", "float32", "", "k", where="AssertionError: expected size 3==3, stride 1==9")
    assert known_id(crash, conv0) == "compile-conv-empty-batch-backward"
    assert known_id(replace(crash, configuration="channels_last"), conv0) == ""
    assert known_id(crash, replace(conv0, shape=(1, 3, 5, 5))) == ""
    refuse = Observation("reference refuses", "eager", "float64", "Pooling", "forward",
                         where="ValueError: Pooling: ... has no element inside the input")
    assert known_id(refuse, conv0) == "maxpool-dilated-window-in-padding"
    assert known_id(replace(refuse, layer="AvgPooling"), conv0) == ""
    # one input channel, an output one column wide, under channels_last (and nothing else)
    one = _net(("Convolution", dict(CONV, FN=1, kernel=(2, 4), stride=(1, 3), pad=0)), shape=(2, 1, 3, 4))
    wrong = Observation("disagrees", "channels_last", "float32", "Convolution", "output", where="Conv1.out")
    assert known_id(wrong, one) == "channels-last-conv-one-channel-wrong-output"
    assert known_id(replace(wrong, configuration="eager"), one) == ""
    assert known_id(wrong, _net(("Convolution", dict(CONV, FN=1, kernel=(2, 4), stride=(1, 3), pad=0)),
                                shape=(2, 2, 3, 4))) == ""                       # two input channels
    assert known_id(wrong, replace(one, shape=(2, 1, 3, 7))) == ""              # two output columns
    # Inductor's average-pooling backward with ceil_mode
    avg = dict(POOL, kernel=2, stride=2, ceil_mode=True, count_include_pad=True, divisor_override=None)
    grad = Observation("disagrees", "compile", "float32", "AvgPooling", "dx", where="dx")
    assert known_id(grad, _net(("AvgPooling", avg), shape=(1, 1, 3, 5))) == "compile-avgpool-ceil-mode-backward"
    assert known_id(grad, _net(("AvgPooling", dict(avg, ceil_mode=False)), shape=(1, 1, 3, 5))) == ""
    assert known_id(replace(grad, quantity="output"), _net(("AvgPooling", avg), shape=(1, 1, 3, 5))) == ""


def test_the_reference_refusing_a_dilated_window_in_the_padding_is_the_known_finding(one_thread):
    """torch runs max_pool2d over a (1, 2, 1, 3) input with a window wholly in the padding; the
    reference refuses it: the fuzzer's check calls it a refusal — the known finding, not a new one."""
    pool = dict(POOL, kernel=(2, 1), stride=1, pad=(1, 0), dilation=(2, 1))
    spec = _net(("Pooling", pool), shape=(1, 2, 1, 3))
    status, found = examine(spec, [EAGER], ["float32"])
    assert status == "refused" and found[0].signature == ("eager", "float64", "Pooling", "forward", "reference refuses")
    assert known_id(found[0], spec) == "maxpool-dilated-window-in-padding"
    status, found = examine(_net(("Pooling", dict(POOL, kernel=2, pad=2))), [EAGER], ["float32"])
    assert status == "invalid"                                          # not a network at all


def test_a_network_torch_rejects_is_not_a_finding(one_thread, monkeypatch):
    spec = _net(("Convolution", CONV))
    real = torch.nn.Conv2d.forward
    monkeypatch.setattr(torch.nn.Conv2d, "forward", lambda self, x: (_ for _ in ()).throw(RuntimeError("no")))
    status, found = examine(spec, [EAGER], ["float32"])
    assert status == "rejected" and found[0].where == "RuntimeError: no"
    monkeypatch.setattr(torch.nn.Conv2d, "forward", real)
    assert examine(spec, [EAGER], ["float32"]) == ("ran", [])


def _conv_spoiler(name: str, change, claims_deterministic=False):
    """A test-only configuration whose conv2d output goes through ``change(y)``."""
    @contextmanager
    def patch():
        real = F.conv2d
        F.conv2d = lambda *a, **k: change(real(*a, **k))
        try:
            yield
        finally:
            F.conv2d = real
    return C.Configuration(name, "test-only", patch=patch, dtypes=("float32",), test_only=True,
                           claims_deterministic=claims_deterministic)


def _raise(y):
    raise RuntimeError("planted at size 3x3")


def _nan_at_first(y):
    bump = torch.zeros_like(y)
    bump.view(-1)[0] = float("nan")
    return y + bump


_KINDS = [
    (_conv_spoiler("worse", lambda y: y * (1 + 5e-6)), ("Convolution", "output", "worse than eager")),
    (_conv_spoiler("nan", _nan_at_first), ("Convolution", "output", "nan/inf")),
    (_conv_spoiler("raises", _raise), ("Convolution", "RuntimeError: planted at size #x#", "crash")),
    (_conv_spoiler("noisy", lambda y: y + y.detach() * torch.rand_like(y) * 2 ** -23, claims_deterministic=True),
     ("Convolution", "output", "non-deterministic")),
]


@pytest.mark.parametrize("cfg, answer", _KINDS, ids=[c.name for c, _ in _KINDS])
def test_each_kind_of_finding_is_read_from_the_matrix_verdicts(cfg, answer, one_thread):
    """A spoiler per kind in a convolution: its observation has the kind, the layer and the quantity
    expected, under the spoiled configuration only (eager has none)."""
    spec = _net(("Convolution", dict(CONV, FN=4)), shape=(1, 3, 5, 5))
    status, found = examine(spec, [EAGER, cfg], ["float32"])
    assert status == "ran" and [(o.signature, o.expected) for o in found] == [((cfg.name, "float32") + answer, "")], found


# ----------------------------------------------------------------------------- expected at this precision

@contextmanager
def _nudged_conv(rel: float):
    """A spoiler: conv2d's output plus ``rel`` × its largest |value| on every second element."""
    real = F.conv2d

    def nudged(*args, **kwargs):
        y = real(*args, **kwargs)
        bump = torch.zeros_like(y)
        bump.view(-1)[1::2] = rel * y.detach().abs().max()
        return y + bump
    F.conv2d = nudged
    try:
        yield
    finally:
        F.conv2d = real


def _nudge(rel):
    return C.Configuration(f"nudged-conv-{rel:g}", "test-only: conv2d's output nudged", dtypes=("float32",),
                           patch=lambda: _nudged_conv(rel), test_only=True)


def test_a_max_pool_decision_flipped_within_rounding_is_expected_with_its_evidence(one_thread):
    """A 1×1 convolution of exact ties (±0, ±1) into a max-pool; a configuration that nudges every
    second output of the convolution by one part in 1e6 (a few float32 ulps, inside the tolerance):
    the winners flip and Pool2's backward sends the gradient elsewhere — a near-tie: expected, with
    the two values and the unit. Nudged by one part in 100, the convolution itself disagrees."""
    conv = dict(CONV, FN=1, kernel=1, pad=0)
    spec = _net(("Convolution", conv), ("Pooling", dict(POOL, stride=2)), shape=(1, 1, 6, 6), kind="signed-zeros")
    near = _nudge(1e-6)
    status, found = examine(spec, [EAGER, near], ["float32"])
    assert status == "ran" and [(o.signature, o.expected) for o in found] == [
        ((near.name, "float32", "Pooling", "dx", "disagrees"), "near-tie")], found
    decision = found[0].evidence["decisions"][0]
    assert decision["layer"] == "Pool2" and decision["decision"] == "max-pool winner" and decision["routed"] >= 1
    assert decision["oracle"][0] == decision["oracle"][1]              # an exact tie in the oracle's input
    assert 0 < abs(decision["torch"][0] - decision["torch"][1]) <= decision["unit"]
    assert "max-pool winner" in evidence_text(found[0]) and "rounding unit" in evidence_text(found[0])
    far = _nudge(1e-2)
    status, found = examine(spec, [EAGER, far], ["float32"])
    assert [(o.signature, o.expected) for o in found] == [
        ((far.name, "float32", "Convolution", "output", "disagrees"), "")], found


def test_float16_beyond_its_range_is_expected_and_within_it_is_not(one_thread):
    fp16 = C.by_name("autocast-fp16")
    if C.unavailable(fp16):
        pytest.skip(C.unavailable(fp16))
    spec = _net(("Convolution", dict(CONV, FN=1, kernel=1, pad=0)), shape=(1, 1, 2, 2), scale=1e5)
    _, found = examine(spec, [EAGER, fp16], ["float32"])
    assert [(o.configuration, o.expected) for o in found] == [("autocast-fp16", "outside the format's range")], found
    assert found[0].evidence["float16 largest finite"] == 65504.0 and found[0].evidence["oracle max |value|"] > 65504
    assert found[0].evidence["values"] == "its layer's input"              # the input overflowed at the cast
    assert examine(replace(spec, scale=1.0), [EAGER, fp16], ["float32"]) == ("ran", [])


def test_a_float32_gradient_below_float32s_range_is_expected(one_thread):
    """A saturated sigmoid (inputs of ±1000): its gradient, about 1e-58 in float64, is 0 in float32 —
    expected, with the magnitude against float32's smallest normal number; at scale 1, nothing."""
    spec = _net(("Sigmoid", {}), shape=(1, 1, 1, 3), scale=1000.0).but(seed=0)
    _, found = examine(spec, [EAGER], ["float32"])
    assert [(o.signature, o.expected) for o in found] == [
        (("eager", "float32", "Sigmoid", "dx", "disagrees"), "outside the format's range")], found
    assert found[0].evidence["oracle max |value|"] < found[0].evidence["float32 smallest normal"] == 2.0 ** -126
    assert examine(replace(spec, scale=1.0), [EAGER], ["float32"]) == ("ran", [])


def test_an_error_the_float32_reference_shares_is_ill_conditioned_not_a_finding(one_thread, monkeypatch):
    """Network 180 of seed 0: Conv → Affine → Relu with probability targets, where the loss's
    gradient y − t cancels and the ReLU keeps only the small entries. torch's float32 gradient is
    off beyond the tolerance, and so is the NumPy reference's float32 one: expected, with both
    errors as evidence. Demanding the reference be 1e9 times further off makes it a finding again;
    a convolution nudged by 1e-2 (the near-tie test) stays one, the reference being right there."""
    spec = draw_spec(0, 180)
    _, found = examine(spec, [EAGER], ["float32"])
    assert [(o.signature, o.expected) for o in found] == [
        (("eager", "float32", "Relu", "dx", "disagrees"), "ill-conditioned")], found
    ev = found[0].evidence
    assert ev["error of the run"] == found[0].max_rel > ev["tolerance"] == found[0].tol
    assert ev["error of the run"] <= J.REFERENCE_MULTIPLE * ev["error of the reference in float32"]
    assert "error of the reference in float32" in evidence_text(found[0])
    monkeypatch.setattr(J, "REFERENCE_MULTIPLE", 1e-9)
    _, found = examine(spec, [EAGER], ["float32"])
    assert [(o.signature, o.expected) for o in found] == [(("eager", "float32", "Relu", "dx", "disagrees"), "")]


# ----------------------------------------------------------------------------- shrinking

def test_shrinking_descends_and_keeps_what_shows_the_finding():
    spec = _net(("Convolution", dict(CONV, groups=3, FN=6, stride=2, dilation=(1, 2))), ("Relu", {}),
                ("Pooling", dict(POOL, ceil_mode=True)), shape=(3, 3, 6, 6), kind="ties", layout="channels_last")
    assert all(size(c) < size(spec) for c in candidates(spec) if c.layers and _valid(c))

    def shows(cand):          # "the finding": a Pooling with ceil_mode after something, on 2+ channels
        pools = [x for x in cand.layers if x.kind == "Pooling" and x.o["ceil_mode"]]
        return Observation("disagrees", "x", "float32", "Pooling", "output") if pools and cand.shape[1] >= 2 else None
    small, obs, stats = shrink(spec, shows)
    assert obs is not None and stats.stopped == "minimal" and stats.accepted > 5
    assert [x.kind for x in small.layers] == ["Pooling", "Affine"] and small.shape == (1, 2, 1, 1)
    assert small.layers[0].o["ceil_mode"] and small.kind == "normal" and small.layout == "contiguous"
    capped = shrink(spec, shows, max_evaluations=3)[2]
    assert (capped.evaluations, capped.stopped) == (3, "evaluations")
    assert shrink(spec, lambda c: None)[:2] == (spec, None)


def _valid(spec):
    try:
        shapes(spec)
    except Invalid:
        return False
    return True


# ----------------------------------------------------------------------------- the planted spoiler

def test_fuzz_finds_shrinks_and_writes_the_planted_spoiler(one_thread, tmp_path, capsys):
    """spoiled-conv-tf32 rounds conv2d's inputs to TF32 while claiming float32: ``cnn-parity fuzz``
    on a few networks finds it (exit 1), shrinks it to at most two layers, writes a repro that fails
    under the spoiler and passes under eager, and the results file; eager itself has no finding."""
    out, results = tmp_path / "repros", tmp_path / "fuzz.json"
    status = main(["fuzz", "--budget", "3", "--configs", "eager,spoiled-conv-tf32", "--seed", "1", "--out", str(out),
                   "--json", str(results)])
    printed = capsys.readouterr().out
    assert status == 1 and "NEW   spoiled-conv-tf32 float32 Convolution output disagrees" in printed
    data = load_results(results)
    assert data["networks"] == 3 and [c["name"] for c in data["configurations"]] == ["eager", "spoiled-conv-tf32"]
    assert [f["signature"] for f in data["findings"]] == [["spoiled-conv-tf32", "float32", "Convolution", "output",
                                                          "disagrees"]] and data["expected"] == []
    finding = data["findings"][0]
    assert finding["shrunk_layers"] <= 2 and finding["shrunk"].split(" | ")[1].startswith("Conv(") and not finding["known"]
    assert finding["max_rel"] > 10 * finding["tol"] and finding["count"] >= 1
    source = (out / finding["repro"].split("/")[-1]).read_text()
    assert len(source.splitlines()) < 100
    imports = {n.split(".")[0] for node in ast.walk(ast.parse(source)) if isinstance(node, (ast.Import, ast.ImportFrom))
               for n in ([a.name for a in node.names] if isinstance(node, ast.Import) else [node.module])}
    assert imports <= {"torch", "numpy"} | set(sys.stdlib_module_names), imports
    doc = ast.get_docstring(ast.parse(source))
    assert all(field in doc for field in ("Finding:", "Found on:", "Upstream:", "Run:", "Exit:"))
    assert _run_script(source, "spoiled-conv-tf32") == (1, "PRESENT: spoiled-conv-tf32 disagrees with the float64 oracle")
    assert _run_script(source, "eager") == (0, "FIXED: eager agrees with the float64 oracle")


def _run_script(source: str, config: str) -> tuple:
    """A repro run in this process, as ``python repro.py CONFIG``: (exit status, its verdict line's start)."""
    out, namespace, argv = io.StringIO(), {"__name__": "repro"}, sys.argv
    sys.argv = ["repro.py", config]
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(source, "repro.py", "exec"), namespace)            # noqa: S102 (our own script)
            status = namespace["main"]()
    finally:
        sys.argv = argv
    verdict = out.getvalue().strip().splitlines()[-1]
    return status, verdict.split(" in ")[0]


def test_same_seed_and_network_budget_give_the_same_findings(one_thread):
    a, b = (fuzz([EAGER, SPOILED], seed=4, networks=4, shrink_findings=False) for _ in range(2))
    assert [(k, f.count, f.network) for k, f in a.findings.items()] == \
        [(k, f.count, f.network) for k, f in b.findings.items()]
    assert a.networks == b.networks == 4 and a.drawn == b.drawn


# ----------------------------------------------------------------------------- counts, rates, results

def test_counts_rates_and_results_file(tmp_path):
    run = FuzzRun(0, [EAGER, SPOILED], ("float32",), "3", 10, drawn=5, networks=4, rejected=1)
    run.config_networks.update({"eager": 4, "spoiled-conv-tf32": 4})
    run.config_seconds.update({"eager": 2.0, "spoiled-conv-tf32": 0.5})
    assert run.per_minute("eager") == 120.0 and run.per_minute("spoiled-conv-tf32") == 480.0
    assert math.isnan(FuzzRun(0, [EAGER], (), "", 1).per_minute("eager"))
    spec = _net(("Convolution", CONV))
    obs = Observation("disagrees", "spoiled-conv-tf32", "float32", "Convolution", "output", "Conv1.out")
    run.findings[obs.signature] = Finding(obs, spec, spec, 2, count=3)
    crash = Observation("crash", "compile", "float32", "", "k", "boom")
    run.findings[crash.signature] = Finding(crash, spec, spec, 3, known="compile-conv-empty-batch-backward")
    run.seconds.update({"configurations' runs": 3.0, "shrinking": 1.0})
    text = format_run(run).splitlines()
    assert text[0].startswith("cnn-parity fuzz: 4 networks (1 drawn ones rejected by torch, 0 refused by the reference) "
                              "× 2 configurations, seed 0, float32")
    assert text[2].split() == ["eager", "4", "2.0", "120"] and text[3].split() == ["spoiled-conv-tf32", "4", "0.5", "480"]
    assert text[4] == "where the time went: configurations' runs 3.0 s (75 %), shrinking 1.0 s (25 %)"
    assert "NEW   spoiled-conv-tf32 float32 Convolution output disagrees — 3 networks; Conv1.out" in text[7]
    assert text[-1] == "  known compile float32 - k crash — 1 network: the known finding compile-conv-empty-batch-backward"
    assert progress_line(run, 30.0, 600) == ("fuzz: 4 networks (1 rejected by torch) × 2 configurations, 1 new finding, "
                                             "1 known, 0 expected at precision; 8 networks/min; 30 s of 600 s")
    data = run.as_dict()
    assert data["configurations"][0] == {"name": "eager", "networks": 4, "seconds": 2.0, "per_minute": 120.0}
    assert counts_by_kind(data) == {"disagrees": 3, "crash": 1}
    write_results(tmp_path / "fuzz.json", data)
    back = load_results(tmp_path / "fuzz.json")
    assert back["findings"][0]["signature"] == list(obs.signature) and back["networks"] == 4
    with pytest.raises(ResultsError, match="no fuzz results"):
        load_results(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text('{"version": 1}')
    with pytest.raises(ResultsError, match="not a fuzz results file"):
        load_results(tmp_path / "bad.json")


def test_every_cpu_configuration_has_a_repro_setup():
    assert {c.name for c in C.ALL if c.device == "cpu"} | {SPOILED.name} <= set(SETUPS)


def test_describe_shows_what_differs_from_the_defaults():
    spec = _net(("Convolution", dict(CONV, pad="same")), ("Pooling", dict(POOL, ceil_mode=True)), shape=(0, 1, 1, 1))
    assert describe(spec) == ("N=0 1×1×1 normal | Conv(FN=4 kernel=3 pad=same) → Pool(ceil_mode=True kernel=2 stride=2)"
                              " → Affine(M=3) | loss")


# ----------------------------------------------------------------------------- longer runs

@contextmanager
def _ceil_avg_pool_spoiled():
    """A spoiler in a corner: avg_pool2d off by one part in 1000, only in ceil mode."""
    real = F.avg_pool2d

    def spoiled(x, kernel_size, stride=None, padding=0, ceil_mode=False, *args, **kwargs):
        y = real(x, kernel_size, stride, padding, ceil_mode, *args, **kwargs)
        return y * (1 + 2 ** -10) if ceil_mode else y
    F.avg_pool2d = spoiled
    try:
        yield
    finally:
        F.avg_pool2d = real


CORNER = C.Configuration("spoiled-avgpool-ceil", "test-only: avg_pool2d off by 2^-10 in ceil mode",
                         patch=_ceil_avg_pool_spoiled, dtypes=("float32",), test_only=True)
CORNER_SETUP = ["pool, F = torch.nn.functional.avg_pool2d, torch.nn.functional   # test-only",
                "stack.callback(setattr, F, \"avg_pool2d\", pool)",
                "F.avg_pool2d = lambda x, k, s=None, p=0, c=False, *a, **kw: pool(x, k, s, p, c, *a, **kw) * "
                "(1 + 2 ** -10 if c else 1)"]


@pytest.mark.slow
def test_fuzz_finds_a_spoiler_in_a_corner_of_the_input_space(one_thread, tmp_path, monkeypatch):
    """Average pooling wrong only in ceil mode: a longer fuzz finds it, keeps ceil mode while it
    shrinks to at most two layers, and its repro fails under the spoiler and passes under eager."""
    monkeypatch.setitem(SETUPS, CORNER.name, CORNER_SETUP)
    run = fuzz([EAGER, CORNER], seed=0, networks=80, write=lambda f: write_repro(f, tmp_path, cfg=CORNER))
    found = [f for sig, f in run.findings.items() if sig[0] == CORNER.name]
    assert found and not [s for s in run.findings if s[0] == "eager" and s[2] == "AvgPooling"], list(run.findings)
    finding = found[0]
    pools = [x for x in finding.spec.layers if x.kind == "AvgPooling"]
    assert len(finding.spec.layers) <= 2 and pools and pools[0].o["ceil_mode"], describe(finding.spec)
    source = (tmp_path / finding.repro.split("/")[-1]).read_text()
    assert len(source.splitlines()) < 100
    assert _run_script(source, CORNER.name)[0] == 1 and _run_script(source, "eager")[0] == 0


@pytest.mark.compile
def test_fuzz_recognises_the_known_compile_finding():
    """An empty batch through a convolution under compile: the crash the known finding describes."""
    compile_ = C.by_name("compile")
    if C.unavailable(compile_):
        pytest.skip(C.unavailable(compile_))
    spec = _net(("Convolution", CONV), shape=(0, 3, 5, 5))
    status, found = examine(spec, [EAGER, compile_], ["float32"])
    crash = [o for o in found if o.kind == "crash"]
    assert status == "ran" and crash and crash[0].configuration == "compile", found
    assert known_id(crash[0], spec) == "compile-conv-empty-batch-backward"


def test_fuzz_command_names_an_unknown_configuration(capsys):
    assert main(["fuzz", "--configs", "eager,nope", "--budget", "1"]) == 2
    assert "--configs: unknown configuration 'nope'" in capsys.readouterr().err
