"""Whole networks: loss, scores, dx, every parameter gradient, and the per-layer trace."""
import numpy as np
import pytest
import torch

from reports.parity.cases import NET_CASES, simple_convnet_case
from reports.parity import harness
from reports.parity.harness import first_divergence, run_net_case
from reports.parity.records import DTYPES

from .conftest import assert_dtype_preserved, check


def _net_params():
    """Every registered net case in every dtype; a case's ``slow_dtypes`` go to the slow tier."""
    return [pytest.param(case, dtype, id=f"{case.id}-{dtype}",
                         marks=([pytest.mark.slow] if dtype in case.slow_dtypes else [])
                         + ([pytest.mark.torchvision] if "torchvision" in case.needs else []))
            for dtype in DTYPES for case in NET_CASES]


# Parameter layers per net (W1, b1 … Wn, bn): every one's gradient must be compared.
NET_PARAMETER_LAYERS = {"SimpleConvNet": 3, "LeNet5": 5, "AlexNet": 8, "AlexNet-torchvision": 8, "DeepConvNet": 8}


def expected_net_quantities(case) -> set:
    """The exact "net" quantities of a case: loss, scores, dx and every parameter gradient (plus
    torchvision's own forward for the torchvision case)."""
    params = {f"d{p}{i}" for i in range(1, NET_PARAMETER_LAYERS[case.net] + 1) for p in "Wb"}
    extra = {"scores (torchvision forward, eval)"} if case.net == "AlexNet-torchvision" else set()
    return {"loss", "scores", "dx"} | params | extra


@pytest.mark.parametrize("case,dtype", _net_params())
def test_net_parity(case, dtype):
    records = check(run_net_case(case, dtype))
    net = [r.quantity for r in records if r.group == "net"]
    assert sorted(net) == sorted(expected_net_quantities(case)), net
    trace = [r.quantity for r in records if r.group == "trace"]
    outs = [q.removesuffix(".out") for q in trace if q.endswith(".out")]
    grads = [q.removesuffix(".grad") for q in trace if q.endswith(".grad")]
    assert outs and len(set(outs)) == len(outs) and grads == outs[::-1] and len(trace) == 2 * len(outs)
    spots = {r.quantity for r in records if r.group == "gradcheck"}
    want = {q + " central diff" for q in expected_net_quantities(case) if q[:2] in ("dW", "db")}
    assert spots == (want if case.gradcheck and dtype == "float64" else set())
    assert_dtype_preserved([r for r in records if r.group != "gradcheck"], dtype)
    assert first_divergence(records) is None


def test_trace_names_the_first_divergent_layer():
    """Corrupt one weight of the torch twin's Affine1: the trace must point at Affine1, not earlier."""
    base = simple_convnet_case(N=2, filter_num=4, hidden_size=8)

    def broken_build(rng, dtype):
        ref, net = base.build(rng, dtype)
        with torch.no_grad():
            net.Affine1.weight[0, 0] += 0.5
        return ref, net

    broken = type(base)(base.net, base.config, broken_build, base.inputs, base.reduction)
    records = run_net_case(broken, "float64")
    first = first_divergence(records)
    assert first is not None and first.quantity == "Affine1.out"
    passed_before = [r.quantity for r in records if r.group == "trace"][:3]
    assert passed_before == ["Conv1.out", "Relu1.out", "Pool1.out"]
    assert all(r.passed for r in records if r.quantity in passed_before)


def test_float32_trace_stays_close_to_float64_oracle():
    """The float32 reference agrees with its own float64 run (the oracle) within float32 rounding."""
    case = NET_CASES[0]
    r64, n64 = case.build(np.random.default_rng(0), np.float64)
    r32, _ = case.build(np.random.default_rng(0), np.float32)
    inp = case.inputs(np.random.default_rng(5), np.float64)
    s64 = r64.predict(inp["x"])
    s32 = r32.predict(inp["x"].astype(np.float32))
    assert s32.dtype == np.float32
    err = np.max(np.abs(s32 - s64)) / np.max(np.abs(s64))
    assert err < 1e-5, err


def test_an_explicit_device_reaches_every_tensor_and_the_twin(monkeypatch):
    """The device plumbing (used by the gpu tests): a device passed to ``run_net_case`` is the one
    every input tensor is made on and the twin is moved to — checked with a ``torch.device``
    object, which the default string "cpu" is not equal to — and on the CPU it changes no number."""
    case = NET_CASES[1]
    default = run_net_case(case, "float32")
    made, moved = [], []
    real_to_torch, real_to = harness._to_torch, torch.nn.Module.to

    def to_torch(x, requires_grad=False, device="cpu"):
        t = real_to_torch(x, requires_grad, device)
        made.append((device, t.device))
        return t

    def module_to(self, *args, **kwargs):
        moved.extend(args)
        return real_to(self, *args, **kwargs)

    monkeypatch.setattr(harness, "_to_torch", to_torch)
    monkeypatch.setattr(torch.nn.Module, "to", module_to)
    cpu = torch.device("cpu")
    explicit = run_net_case(case, "float32", device=cpu)
    assert made and all(asked is cpu and got == cpu for asked, got in made), made
    assert any(arg is cpu for arg in moved), moved
    assert [(r.quantity, r.max_abs) for r in explicit] == [(r.quantity, r.max_abs) for r in default]
