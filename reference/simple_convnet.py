"""SimpleConvNet, the book's §7.5 network: conv - relu - pool - affine - relu - affine - softmax.

Same constructor and methods as the book (``params``, ``layers``, ``predict``, ``loss``,
``gradient``, ``accuracy``), plus ``dtype`` and ``rng``. Fixed relative to the book:
- the pooled size is computed by the output-size formula, so odd conv outputs work
  (the book's ``conv_output_size / 2`` gives a fractional size and breaks for filter_size=4);
- ``accuracy`` counts every sample (the book drops the last partial batch but divides by N).
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .checks import check_float_dtype, check_input_dim, check_nonnegative_int, check_positive_int
from .layers import Affine, Convolution, Pooling, Relu, SoftmaxWithLoss
from .network import Network
from .util import conv_output_size

DEFAULT_CONV_PARAM = {"filter_num": 30, "filter_size": 5, "pad": 0, "stride": 1}


class SimpleConvNet(Network):
    """conv - relu - pool(2×2, stride 2) - affine - relu - affine - softmax.

    Parameters
    ----------
    input_dim : (C, H, W)
    conv_param : dict with filter_num, filter_size, pad, stride
    hidden_size, output_size : widths of the two affine layers
    weight_init_std : weights are ``weight_init_std · N(0, 1)``, biases 0 (as the book)
    dtype : float64 (the book's, the default) or float32
    rng : a ``numpy.random.Generator`` or a seed for the initial weights

    params : W1 (FN, C, FS, FS), b1 (FN,), W2 (FN·PH·PW, hidden), b2, W3 (hidden, out), b3
    The layers hold the very same arrays as ``params`` (updating ``params`` in place updates
    the network, as the book's optimizers do). ``predict``, ``loss``, ``accuracy`` and
    ``gradient`` are ``Network``'s (``reference.network``): they run through ``layers``.
    """

    def __init__(self, input_dim=(1, 28, 28), conv_param=None, hidden_size=100, output_size=10,
                 weight_init_std=0.01, dtype=np.float64, rng=None):
        conv_param = dict(DEFAULT_CONV_PARAM if conv_param is None else conv_param)
        missing = set(DEFAULT_CONV_PARAM) - set(conv_param)
        if missing:
            raise ValueError(f"conv_param is missing {sorted(missing)}; it needs "
                             f"{sorted(DEFAULT_CONV_PARAM)}")
        dtype = check_float_dtype(dtype)
        C, H, W = check_input_dim(input_dim)
        filter_num = check_positive_int(conv_param["filter_num"], "conv_param['filter_num']")
        filter_size = check_positive_int(conv_param["filter_size"], "conv_param['filter_size']")
        stride = check_positive_int(conv_param["stride"], "conv_param['stride']")
        pad = check_nonnegative_int(conv_param["pad"], "conv_param['pad']")
        hidden_size = check_positive_int(hidden_size, "hidden_size")
        output_size = check_positive_int(output_size, "output_size")

        conv_h = conv_output_size(H, filter_size, stride, pad)
        conv_w = conv_output_size(W, filter_size, stride, pad)
        if min(conv_h, conv_w) < 2:
            raise ValueError(f"the conv output {conv_h}×{conv_w} is smaller than the 2×2 pool; "
                             f"use a smaller filter_size or stride, or more pad")
        pool_h = conv_output_size(conv_h, 2, 2)      # floor, like nn.MaxPool2d(2, 2)
        pool_w = conv_output_size(conv_w, 2, 2)
        self.input_dim = (C, H, W)
        self.dtype = dtype

        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)

        def init(*shape):
            return (weight_init_std * rng.standard_normal(shape)).astype(dtype)

        self.params = {
            "W1": init(filter_num, C, filter_size, filter_size),
            "b1": np.zeros(filter_num, dtype=dtype),
            "W2": init(filter_num * pool_h * pool_w, hidden_size),
            "b2": np.zeros(hidden_size, dtype=dtype),
            "W3": init(hidden_size, output_size),
            "b3": np.zeros(output_size, dtype=dtype),
        }

        self.layers = OrderedDict()
        self.layers["Conv1"] = Convolution(self.params["W1"], self.params["b1"], stride, pad)
        self.layers["Relu1"] = Relu()
        self.layers["Pool1"] = Pooling(pool_h=2, pool_w=2, stride=2)
        self.layers["Affine1"] = Affine(self.params["W2"], self.params["b2"])
        self.layers["Relu2"] = Relu()
        self.layers["Affine2"] = Affine(self.params["W3"], self.params["b3"])
        self.last_layer = SoftmaxWithLoss()

    # Which layer owns which parameter: used by gradient() and by the weight transfer.
    PARAM_LAYERS = {"W1": ("Conv1", "W"), "b1": ("Conv1", "b"), "W2": ("Affine1", "W"),
                    "b2": ("Affine1", "b"), "W3": ("Affine2", "W"), "b3": ("Affine2", "b")}
