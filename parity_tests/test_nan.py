"""NaN inputs: both frameworks propagate NaN in the same positions (checked by the record)."""
import numpy as np
import pytest

from reports.cases import LayerCase, conv_case, pool_case, avgpool_case, elementwise_case, affine_case, lrn_case
from reports.harness import run_layer_case

from .conftest import check


def with_nans(case: LayerCase, positions=((0, 0, 1, 1), (1, 2, 3, 0))) -> LayerCase:
    def inputs(rng, dtype):
        inp = case.inputs(rng, dtype)
        x = inp["x"].copy()
        for pos in positions:
            x[pos[:x.ndim]] = np.nan
        return {**inp, "x": x}
    return LayerCase(case.layer, {**case.config, "nan": len(positions)}, case.build, inputs,
                     case.reduction, case.forward, case.tol_factor)


@pytest.mark.parametrize("case", [conv_case(), pool_case(), pool_case(H=9, W=7, ph=3, pw=3, stride=2, pad=1),
                                  avgpool_case(), elementwise_case("Relu"), elementwise_case("Sigmoid"),
                                  affine_case(), lrn_case()], ids=lambda c: c.id)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_nan_propagates_identically(case, dtype):
    records = check(run_layer_case(with_nans(case), dtype))
    output = next(r for r in records if r.quantity == "output")
    assert "non-finite" in output.note, "the input NaNs must reach the output in both frameworks"
