"""Every registered layer case: forward output, dx and every parameter gradient, float64 and float32."""
import pytest

from reports.parity.cases import LAYER_CASES
from reports.parity.harness import DTYPES, run_layer_case

from .conftest import check


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", LAYER_CASES, ids=lambda c: c.id)
def test_layer_parity(case, dtype):
    records = check(run_layer_case(case, dtype))
    quantities = {r.quantity for r in records}
    assert {"output", "dx"} <= quantities
    assert all(r.dtype == dtype for r in records), "dtype must be preserved end to end"
