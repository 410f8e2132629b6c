"""Property sweeps: random valid conv and pool configurations, float64 and float32."""
import pytest
from hypothesis import given

from reports.parity.harness import run_layer_case

from . import strategies as S
from .conftest import check


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@given(case=S.conv_cases)
def test_conv_sweep(case, dtype):
    check(run_layer_case(case, dtype, seed=1, group="sweep"))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@given(case=S.maxpool_cases)
def test_maxpool_sweep(case, dtype):
    """Includes ties (first maximum gets the gradient), all-equal windows and padded negatives."""
    check(run_layer_case(case, dtype, seed=1, group="sweep"))


@given(case=S.avgpool_cases)
def test_avgpool_sweep(case):
    check(run_layer_case(case, "float64", seed=1, group="sweep"))
