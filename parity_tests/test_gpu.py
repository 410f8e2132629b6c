"""The parity cases on a CUDA device, under every CUDA configuration of the registry
(reports/parity/configs.py); skipped, with the reason, where there is no GPU.

Each configuration is judged at the precision it really computes in: ``cuda`` is true float32
(TF32 off), ``cuda-tf32`` runs with the default flags — cuDNN convolutions in TF32, 10 mantissa
bits — and is judged at TF32's precision, so its cells show what a user with default flags gets
(its bits and its ratio to true float32) instead of hiding it; ``cuda-deterministic`` must be
bit-identical from run to run; the AMP entries are judged at bfloat16/float16 precision.
float64 is the oracle on any device. ``cuda-compile`` carries the ``compile`` marker.

The CPU dry run of the same entries (flags, autocast, runner; ``device="cpu"``) is in
test_configs.py, so none of this code runs only on a GPU.
"""
import pytest

from reports.parity import configs as C
from reports.parity.cases import LAYER_CASES, NET_CASES
from reports.parity.records import DTYPES
from reports.parity.matrix import cells, run_matrix

from .conftest import check_against_oracle

CUDA = [c for c in C.ALL if c.device == "cuda"]
CASES = LAYER_CASES + [c for c in NET_CASES if not c.slow_dtypes]

pytestmark = pytest.mark.gpu

# Without a GPU, one skip for the whole module with the reason (not ~800 skipped items: their
# collection and skip cost ~3 s of the default tier); with one, each entry still skips on its own
# reason (a missing Triton for cuda-compile, ...).
_NO_GPU = C.unavailable(C.resolve("cuda")[0])
if _NO_GPU:
    pytest.skip(f"every CUDA configuration: {_NO_GPU}", allow_module_level=True)


def _params():
    return [pytest.param(cfg, case, dtype, id=f"{cfg.name}-{case.id}-{dtype}",
                         marks=[pytest.mark.compile] if cfg.compile else [])
            for cfg in CUDA for case in CASES for dtype in DTYPES]


@pytest.fixture
def cuda_modules(monkeypatch):
    """The devices of the twin's parameters after it is moved: part of the proof that the twin
    really ran on CUDA (a fallback to the CPU would pass parity too)."""
    import torch

    seen = {"params": []}
    real_to = torch.nn.Module.to

    def module_to(self, *args, **kwargs):
        moved = real_to(self, *args, **kwargs)
        seen["params"] += [p.device.type for p in moved.parameters()]
        return moved

    monkeypatch.setattr(torch.nn.Module, "to", module_to)
    return seen


@pytest.mark.parametrize("cfg,case,dtype", _params())
def test_case_on_cuda(cfg, case, dtype, cuda_modules):
    reason = C.unavailable(cfg) or C.not_applicable(cfg, dtype)
    if reason:
        pytest.skip(f"{cfg.name}: {reason}")
    import torch

    torch.cuda.reset_peak_memory_stats()
    result = run_matrix([cfg], [case], [dtype])
    assert torch.cuda.max_memory_allocated() > 0                 # CUDA memory was really used
    if cuda_modules["params"]:        # the twin's parameters were moved to the GPU (eager's stay on the CPU)
        assert "cuda" in cuda_modules["params"], cuda_modules["params"]
    check_against_oracle(result.records)      # a GPU draws other dropout masks than eager on the CPU
    cell = cells(result.records)[(case.id, cfg.name, dtype)]
    assert cell.first_divergence == "", cell
    if cfg.claims_deterministic:
        assert cell.deterministic == "yes", cell
