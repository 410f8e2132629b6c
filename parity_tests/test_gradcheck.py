"""Gradients against central differences (reference, float64) and torch.autograd.gradcheck (twins)."""
import numpy as np
import pytest
import torch

import reference as R
import torch_impl
from torch_impl import layers as T

# Central differences with h = 1e-5 in float64: truncation O(h²) ≈ 1e-10 and rounding
# O(eps/h) ≈ 2e-11, relative to O(1) gradients. Measured errors are ≈ 1e-10; 1e-7 leaves ~1000×.
THRESHOLD = 1e-7


def small_net():
    net = R.SimpleConvNet(input_dim=(1, 10, 9), conv_param=dict(filter_num=3, filter_size=4, pad=1, stride=1),
                          hidden_size=8, weight_init_std=0.5, rng=0)
    rng = np.random.default_rng(1)
    for key in ("b1", "b2", "b3"):
        net.params[key][...] = rng.standard_normal(net.params[key].shape)
    return net, rng.standard_normal((3, 1, 10, 9)), np.array([1, 2, 9])


def test_simple_convnet_gradient_check():
    net, x, t = small_net()
    errors = R.gradient_check(net, x, t, h=1e-5)
    assert set(errors) == set(net.params)
    assert max(errors.values()) < THRESHOLD, errors


def test_gradient_check_catches_a_wrong_gradient():
    """The check is not vacuous: a backward pass that drops a factor is flagged."""
    net, x, t = small_net()
    relu = net.layers["Relu2"]
    original = relu.backward
    relu.backward = lambda dout: 0.5 * original(dout)
    errors = R.gradient_check(net, x, t, h=1e-5, keys=["W1", "W2"])
    assert min(errors.values()) > 0.1


def _layer_numeric_check(layer, x, rng):
    """dx of one layer vs central differences of <forward(x), dout>."""
    dout = rng.standard_normal(layer.forward(x).shape)
    dx = layer.backward(dout)
    numeric = R.numerical_gradient(lambda _: float(np.sum(layer.forward(x) * dout)), x, h=1e-5)
    return np.max(np.abs(numeric - dx)) / np.max(np.abs(numeric))


@pytest.mark.parametrize("make", [
    lambda: R.Sigmoid(),
    lambda: R.LRN(5, alpha=1.0, beta=0.75, k=2.0),
    lambda: R.LRN(4, alpha=1.0, beta=0.75, k=2.0, convention="paper"),
    lambda: R.AvgPooling(3, 3, stride=2, pad=1, count_include_pad=False),
    lambda: R.Pooling(3, 3, stride=2, pad=1),
    lambda: R.Convolution(np.random.default_rng(0).standard_normal((2, 3, 3, 2)), np.zeros(2), 2, 1),
], ids=["Sigmoid", "LRN-torch", "LRN-paper-even", "AvgPool-excl", "MaxPool-pad", "Conv"])
def test_layer_dx_against_central_differences(make):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 6, 5))
    assert _layer_numeric_check(make(), x, rng) < THRESHOLD


@pytest.mark.parametrize("make,shape", [
    (lambda: T.convolution(2, 3, 3, 2, stride=2, pad=1, dtype=torch.float64), (2, 3, 6, 5)),
    (lambda: T.pooling(3, 3, stride=2, pad=1), (2, 3, 6, 5)),
    (lambda: T.avg_pooling(3, 3, stride=2, pad=1, count_include_pad=False), (2, 3, 6, 5)),
    (lambda: T.lrn(5, alpha=1.0, beta=0.75, k=2.0), (2, 6, 3, 3)),
    (lambda: T.affine(12, 4, dtype=torch.float64), (2, 3, 2, 2)),
    (lambda: torch_impl.SimpleConvNet((1, 8, 8), dict(filter_num=2, filter_size=3, pad=0, stride=1),
                                      hidden_size=5, weight_init_std=0.5, dtype=torch.float64, seed=0), (2, 1, 8, 8)),
], ids=["Conv2d", "MaxPool2d", "AvgPool2d", "LRN", "Affine", "SimpleConvNet"])
def test_torch_twins_pass_autograd_gradcheck(make, shape):
    module = make()
    x = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0), requires_grad=True)
    params = tuple(p for p in module.parameters())
    assert torch.autograd.gradcheck(lambda inp, *ps: module(inp), (x, *params), eps=1e-6, atol=1e-6)
