"""The same parity cases with the torch twins on a CUDA device (skipped where there is none).

On a GPU, float32 convolutions and matrix products may use TF32 (about 10 mantissa bits) when
``torch.backends.cudnn.allow_tf32`` / ``torch.backends.cuda.matmul.allow_tf32`` are on; the
float32 tolerances here are for true float32, so TF32 is switched off for these tests and the
flags are restored afterwards. float64 is the oracle on any device.
"""
import pytest
import torch

from reports.parity.cases import LAYER_CASES, NET_CASES
from reports.parity import harness
from reports.parity.harness import DTYPES, first_divergence, run_layer_case, run_net_case

from .conftest import assert_dtype_preserved, check

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")]


@pytest.fixture(autouse=True)
def true_float32():
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


@pytest.fixture
def cuda_tensors(monkeypatch):
    """The devices of the tensors the harness makes, and the parameters' devices after the twin is
    moved: the proof that the twin really ran on CUDA (a fallback to the CPU would pass parity too)."""
    seen = {"inputs": [], "params": []}
    real_to_torch, real_to = harness._to_torch, torch.nn.Module.to

    def to_torch(*args, **kwargs):
        t = real_to_torch(*args, **kwargs)
        seen["inputs"].append(t.device.type)
        return t

    def module_to(self, *args, **kwargs):
        moved = real_to(self, *args, **kwargs)
        seen["params"] += [p.device.type for p in moved.parameters()]
        return moved

    monkeypatch.setattr(harness, "_to_torch", to_torch)
    monkeypatch.setattr(torch.nn.Module, "to", module_to)
    return seen


def _ran_on_cuda(seen, has_params):
    assert seen["inputs"] and set(seen["inputs"]) == {"cuda"}, seen["inputs"]
    if has_params:
        assert "cuda" in seen["params"], seen["params"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", LAYER_CASES, ids=lambda c: c.id)
def test_layer_parity_on_cuda(case, dtype, cuda_tensors):
    torch.cuda.reset_peak_memory_stats()
    records = check(run_layer_case(case, dtype, device="cuda"))
    assert_dtype_preserved(records, dtype)
    _ran_on_cuda(cuda_tensors, case.layer in ("Convolution", "Affine"))
    assert torch.cuda.max_memory_allocated() > 0               # CUDA memory was really used


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", [c for c in NET_CASES if not c.slow_dtypes], ids=lambda c: c.id)
def test_net_parity_on_cuda(case, dtype, cuda_tensors):
    records = check(run_net_case(case, dtype, device="cuda"))
    assert first_divergence(records) is None
    _ran_on_cuda(cuda_tensors, True)
