"""Every registered layer case: forward output, dx and every parameter gradient, float64 and float32."""
import pytest

from reports.parity.cases import LAYER_CASES
from reports.parity.harness import run_layer_case
from reports.parity.records import DTYPES

from .conftest import assert_dtype_preserved, check

# The exact quantities each case must compare: a twin whose ``book_params`` were empty would
# silently drop every parameter gradient, and a subset check would not notice.
PARAMETER_LAYERS = {"Convolution": ("W", "b"), "Affine": ("W", "b"), "Linear": ("W", "b")}


def expected_quantities(case) -> set:
    params = [p for p in PARAMETER_LAYERS.get(case.layer, ()) if not (p == "b" and case.config.get("bias") is False)]
    extra = {"indices"} if case.layer == "Pooling" else set()           # max pooling's indices, exactly
    if case.config.get("labels") == "probabilities":
        extra.add("dt")                                                 # the gradient of the targets
    return {"output", "dx"} | {"d" + p for p in params} | extra


def _layer_params():
    """Every registered layer case; a "large" one (seconds: the blocked path of a large input,
    tested in the default tier by test_fast_path with a small CHUNK_BYTES) goes to the slow tier."""
    return [pytest.param(case, id=case.id, marks=[pytest.mark.slow] if "large" in case.tags else [])
            for case in LAYER_CASES]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", _layer_params())
def test_layer_parity(case, dtype):
    records = check(run_layer_case(case, dtype))
    quantities = [r.quantity for r in records]
    assert sorted(quantities) == sorted(expected_quantities(case)), quantities
    assert_dtype_preserved(records, dtype)
