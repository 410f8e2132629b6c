"""NaN inputs: both frameworks propagate NaN in the same positions (checked by the record)."""
import numpy as np
import pytest
import torch

import reference as R
from reports.parity.cases import (LayerCase, affine_case, avgpool_case, conv_case, elementwise_case,
                                  lrn_case, pool_case)
from reports.parity.harness import run_layer_case

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


def test_relu_backward_blocks_inf_and_nan_gradients_like_torch():
    """Where x ≤ 0 the gradient is exactly 0 even if dout is inf or NaN (torch: threshold_backward)."""
    x = np.array([[-1.0, 0.0, 2.0, np.nan]])
    dout = np.array([[np.inf, np.nan, 3.0, 1.0]])
    relu = R.Relu()
    relu.forward(x)
    dx = relu.backward(dout)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    torch.relu(xt).backward(torch.from_numpy(dout))
    np.testing.assert_array_equal(dx, xt.grad.numpy())
    np.testing.assert_array_equal(dx, [[0.0, 0.0, 3.0, 1.0]])
