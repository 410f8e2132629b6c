"""Gradients against central differences (reference, float64) and torch.autograd.gradcheck (twins)."""
import numpy as np
import pytest
import torch

import reference as R
import torch_impl

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


def _gradcheck(f, *inputs, fast_mode=False):
    return torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-6, fast_mode=fast_mode)


def _double(shape, seed=0, requires_grad=True):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, dtype=torch.float64, generator=g, requires_grad=requires_grad)


# The project's own torch wiring, not stock nn modules (autograd of those is PyTorch's business):
# the dropout mask given from outside, the C3 connection-mask parametrization, and a whole twin
# as the project assembles it (children, Flatten, the loss of BookNetMixin).

@pytest.mark.parametrize("p", [0.5, 0.2])
def test_dropout_mask_application_passes_gradcheck(p):
    """torch_impl.apply_dropout_mask: d/dx of x · mask / (1 − p) is mask / (1 − p)."""
    x = _double((3, 7))
    mask = torch.from_numpy(np.random.default_rng(1).random((3, 7)) > p)
    assert _gradcheck(lambda inp: torch_impl.apply_dropout_mask(inp, mask, p), x)
    torch_impl.apply_dropout_mask(x, mask, p).sum().backward()
    assert torch.equal(x.grad, mask.double() / (1 - p))            # and exactly that


def test_c3_connection_mask_parametrization_passes_gradcheck():
    """LeNet-5's C3 with the paper's table: the gradient with respect to the trainable tensor
    (``C3.parametrizations.weight.original``) goes through the mask; off the table it is 0."""
    net = torch_impl.LeNet5(c3_table=True, dtype=torch.float64, seed=0)
    c3 = net.C3
    original = c3.parametrizations.weight.original.detach().clone().requires_grad_(True)
    x = _double((1, 6, 5, 5), seed=2)

    def f(w, inp):
        return torch.func.functional_call(c3, {"parametrizations.weight.original": w}, (inp,))

    # fast mode (a random direction instead of all 2,550 coordinates): the full Jacobian would
    # take thousands of parametrized forward passes; the exact zeros off the table are checked below
    assert _gradcheck(f, original, x, fast_mode=True)
    f(original, x).sum().backward()
    off = ~torch.from_numpy(R.lenet.c3_connection_mask())
    assert original.grad.abs().sum() > 0 and torch.all(original.grad[off] == 0)


def test_a_whole_twin_passes_gradcheck():
    module = torch_impl.SimpleConvNet((1, 8, 8), dict(filter_num=2, filter_size=3, pad=0, stride=1),
                                      hidden_size=5, weight_init_std=0.5, dtype=torch.float64, seed=0)
    x = _double((2, 1, 8, 8))
    t = torch.tensor([1, 3])
    params = tuple(module.parameters())
    assert _gradcheck(lambda inp, *ps: module.loss(inp, t), x, *params)
