"""Whole networks: loss, scores, dx, every parameter gradient, and the per-layer trace."""
import numpy as np
import pytest
import torch

from reports.parity.cases import NET_CASES, simple_convnet_case
from reports.parity.harness import DTYPES, first_divergence, run_net_case

from .conftest import check


def _net_params():
    """Every registered net case in every dtype; a case's ``slow_dtypes`` go to the slow tier."""
    return [pytest.param(case, dtype, id=f"{case.id}-{dtype}",
                         marks=[pytest.mark.slow] if dtype in case.slow_dtypes else [])
            for dtype in DTYPES for case in NET_CASES]


@pytest.mark.parametrize("case,dtype", _net_params())
def test_net_parity(case, dtype):
    records = check(run_net_case(case, dtype))
    grads = {r.quantity for r in records if r.group == "net"}
    assert {"dW1", "db1", "dW2", "db2", "dW3", "db3", "loss", "dx"} <= grads
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


def test_explicit_cpu_device_gives_the_same_records():
    """The device plumbing (used by the gpu tests) changes nothing on the CPU."""
    case = NET_CASES[1]
    a = run_net_case(case, "float32")
    b = run_net_case(case, "float32", device="cpu")
    assert [(r.quantity, r.max_abs) for r in a] == [(r.quantity, r.max_abs) for r in b]
