"""The same parity cases with the torch twins on a CUDA device (skipped where there is none).

On a GPU, float32 convolutions and matrix products may use TF32 (about 10 mantissa bits) when
``torch.backends.cudnn.allow_tf32`` / ``torch.backends.cuda.matmul.allow_tf32`` are on; the
float32 tolerances here are for true float32, so TF32 is switched off for these tests and the
flags are restored afterwards. float64 is the oracle on any device.
"""
import pytest
import torch

from reports.parity.cases import LAYER_CASES, NET_CASES
from reports.parity.harness import DTYPES, first_divergence, run_layer_case, run_net_case

from .conftest import check

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")]


@pytest.fixture(autouse=True)
def true_float32():
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", LAYER_CASES, ids=lambda c: c.id)
def test_layer_parity_on_cuda(case, dtype):
    records = check(run_layer_case(case, dtype, device="cuda"))
    assert records[0].dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", [c for c in NET_CASES if not c.slow_dtypes], ids=lambda c: c.id)
def test_net_parity_on_cuda(case, dtype):
    records = check(run_net_case(case, dtype, device="cuda"))
    assert first_divergence(records) is None
