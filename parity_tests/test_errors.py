"""Bad input: one clear error naming the argument, raised before any computation."""
import numpy as np
import pytest
import torch

import reference as R
import torch_impl
from torch_impl.transfer import load_params

X = np.zeros((2, 3, 8, 8))
W = np.zeros((4, 3, 3, 3))
B = np.zeros(4)


@pytest.mark.parametrize("call,exc,match", [
    (lambda: R.Convolution(W, B).forward(np.zeros((3, 8, 8))), ValueError, r"x must be 4-D.*add a batch axis"),
    (lambda: R.Convolution(W, B).forward(np.zeros((2, 2, 8, 8))), ValueError, r"x has 2 channels.*W expects 3"),
    (lambda: R.Convolution(W, B).forward(np.zeros((2, 3, 2, 8))), ValueError, r"kernel size 3 is larger than the padded input 2"),
    (lambda: R.Convolution(W, B, stride=0), ValueError, r"stride must be ≥ 1, got 0"),
    (lambda: R.Convolution(W, B, pad=-1), ValueError, r"pad must be ≥ 0, got -1"),
    (lambda: R.Convolution(W, B, stride=2, strict=True).forward(np.zeros((2, 3, 8, 8))), ValueError, r"strict output size"),
    (lambda: R.Convolution(W, B).forward(np.zeros((2, 3, 8, 8), dtype=np.int64)), TypeError, r"x must have a floating dtype.*int64"),
    (lambda: R.Convolution(W.astype(np.int32), B), TypeError, r"W must have a floating dtype"),
    (lambda: R.Convolution(W, np.zeros(3)), ValueError, r"b must have shape \(4,\)"),
    (lambda: R.Convolution(W, B).forward(X.astype(np.float32)), TypeError, r"x is float32 but the layer's W is float64"),
    (lambda: R.Convolution(W, B).forward(X.tolist()), TypeError, r"x must be a numpy.ndarray"),
    (lambda: R.Pooling(2, 2, stride=0), ValueError, r"stride must be ≥ 1"),
    (lambda: R.Pooling(2, 2, pad=2), ValueError, r"pad must be at most half the pool size"),
    (lambda: R.Pooling(3, 3).forward(np.zeros((1, 1, 2, 2))), ValueError, r"kernel size 3 is larger than the padded input 2"),
    (lambda: R.Pooling(2, 2, stride=2, strict=True).forward(np.zeros((1, 1, 5, 5))), ValueError, r"strict output size"),
    (lambda: R.AvgPooling(2, 2, stride=-1), ValueError, r"stride must be ≥ 1"),
    (lambda: R.Affine(np.zeros((5, 3)), np.zeros(3)).forward(np.zeros((2, 4))), ValueError, r"x has 4 features.*W expects 5"),
    (lambda: R.Affine(np.zeros((5, 3)), np.zeros(5)), ValueError, r"b must have shape \(3,\)"),
    (lambda: R.SoftmaxWithLoss().forward(np.zeros((3, 4)), np.array([0, 1, 4])), ValueError, r"labels out of range 0..3: \[4\]"),
    (lambda: R.SoftmaxWithLoss().forward(np.zeros((3, 4)), np.array([0, -1, 2])), ValueError, r"labels out of range"),
    (lambda: R.SoftmaxWithLoss().forward(np.zeros((3, 4)), np.array([0, 1])), ValueError, r"t has 2 labels but the batch has 3"),
    (lambda: R.SoftmaxWithLoss().forward(np.zeros((3, 4)), np.array([0., 1., 2.])), TypeError, r"class indices must be integers"),
    (lambda: R.SoftmaxWithLoss().forward(np.zeros((3, 4)), np.zeros((3, 5))), ValueError, r"one-hot t must have shape \(3, 4\)"),
    (lambda: R.Dropout(1.0), ValueError, r"dropout_ratio must be in \[0, 1\)"),
    (lambda: R.LRN(5, convention="caffe"), ValueError, r'convention must be "torch" or "paper"'),
    (lambda: R.SimpleConvNet(input_dim=(1, 28, 28), conv_param=dict(filter_num=3, filter_size=30, pad=0, stride=1)),
     ValueError, r"kernel size 30 is larger than the padded input 28"),
    (lambda: R.SimpleConvNet(conv_param=dict(filter_num=3, filter_size=5)), ValueError, r"conv_param is missing \['pad', 'stride'\]"),
    (lambda: R.SimpleConvNet(input_dim=(1, 10, 10)).predict(np.zeros((2, 1, 12, 12))), ValueError,
     r"x has shape \(2, 1, 12, 12\) but the net was built for input_dim \(1, 10, 10\)"),
    (lambda: R.SimpleConvNet(input_dim=(1, 10, 10)).accuracy(np.zeros((2, 1, 10, 10)), np.array([1])), ValueError,
     r"t has 1 labels but the batch has 2"),
    (lambda: R.im2col(np.zeros((1, 1, 4, 4)), 5, 5), ValueError, r"kernel size 5 is larger than the padded input 4"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_reference_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_errors_come_before_any_state_changes():
    """A failed forward leaves the layer's cache as it was (nothing half-computed is kept)."""
    conv = R.Convolution(W, B)
    conv.forward(X)
    cached = conv.col
    with pytest.raises(ValueError):
        conv.forward(np.zeros((2, 2, 8, 8)))
    assert conv.col is cached


def test_transfer_shape_mismatch_names_the_key():
    net = torch_impl.SimpleConvNet(dtype=torch.float64)
    params = R.SimpleConvNet(rng=0).params
    params["W2"] = params["W2"].T.copy()
    before = net.Affine1.weight.detach().clone()
    with pytest.raises(ValueError, match=r"W2.*\(100, 4320\).*\(4320, 100\)"):
        load_params(net, params)
    assert torch.equal(net.Affine1.weight, before)
