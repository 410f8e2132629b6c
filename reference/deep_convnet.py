"""DeepConvNet, the book's §8.1 network: six 3×3 convolutions, He initialisation, dropout.

Layers, with the shapes for one 28×28 MNIST image (the book's defaults)::

    Conv1  16@3×3 pad 1   (1, 28, 28) -> (16, 28, 28)   Relu1
    Conv2  16@3×3 pad 1   -> (16, 28, 28)               Relu2
    Pool1  max 2×2 s2     -> (16, 14, 14)
    Conv3  32@3×3 pad 1   -> (32, 14, 14)               Relu3
    Conv4  32@3×3 pad 2   -> (32, 16, 16)               Relu4   (the book's pad 2: the map grows)
    Pool2  max 2×2 s2     -> (32, 8, 8)
    Conv5  64@3×3 pad 1   -> (64, 8, 8)                 Relu5
    Conv6  64@3×3 pad 1   -> (64, 8, 8)                 Relu6
    Pool3  max 2×2 s2     -> (64, 4, 4)
    Affine1 1024 -> 50    Relu7, Dropout1               (Affine flattens its input, as the book's)
    Affine2 50 -> 10      Dropout2                      scores; SoftmaxWithLoss is last_layer

The constructor is the book's (``conv_param_1`` … ``conv_param_6``, ``hidden_size``,
``output_size``), plus ``dropout_ratio``, ``inverted_dropout``, ``weight_init_std``, ``dtype``
and ``rng``. Fixed relative to the book: the input of Affine1 (the book writes 64·4·4) and the
He fan-ins (the book lists them by hand) follow from the arguments, so other sizes work.

The two dropout conventions and the book's trained weights
-----------------------------------------------------------
``inverted_dropout=True`` (default, PyTorch's ``nn.Dropout``, so the twin can be compared):
training scales the kept units by 1/(1 − p), inference is the identity. ``False`` is the book's
convention: training keeps the kept units unscaled, inference multiplies by (1 − p).

The book's ``deep_convnet_params.pkl`` was trained with the book's convention. At test time its
net computes, with h the output of Relu7 and p = 0.5::

    book:      s = (1 − p) · ((1 − p)·h·W8 + b8)       Dropout1 scales h, Dropout2 the scores
    inverted:  s =                h·W8 + b8            the same weights, dropout the identity

These are not a multiple of each other, because b8 is not scaled: the unscaled bias weighs twice
as much against h·W8 as in the book, and the class with the largest score can change (it does
for a few of the 10,000 MNIST test images; see docs/deepconvnet.md). :func:`book_to_inverted`
moves the book's test-time factor of Dropout1 into W8 (W8 · (1 − p)). Then::

    inverted:  s = h·(1 − p)W8 + b8 = book s / (1 − p)

for every image: the same predictions and accuracy, scores 1/(1 − p) = 2 times the book's.
Dropout2, after the last Affine, only scales the scores at test time, which changes neither the
ranking nor the accuracy (it does change the softmax, the loss). :meth:`DeepConvNet.load_book_params`
reads the book's file and applies :func:`book_to_inverted` when the net is inverted. The
conversion is exact for inference only: in training, the book's scores are (1 − p) times the
inverted net's for the same masks, so the loss and its gradients differ.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .checks import check_conv_param, check_float_dtype, check_input_dim, check_positive_int
from .layers import Affine, Convolution, Dropout, Pooling, Relu, SoftmaxWithLoss
from .lenet import init_std
from .network import DropoutNetwork, read_params
from .util import conv_output_size

__all__ = ["DeepConvNet", "CONV_PARAMS", "book_to_inverted"]


def _conv(filter_num, pad):
    return {"filter_num": filter_num, "filter_size": 3, "pad": pad, "stride": 1}


# The book's conv_param_1 … conv_param_6 (3×3 filters; Conv4's pad 2 is the book's).
CONV_PARAMS = (_conv(16, 1), _conv(16, 1), _conv(32, 1), _conv(32, 2), _conv(64, 1), _conv(64, 1))

# A max pool (2×2, stride 2) follows these convolutions: conv index -> pool number.
POOL_AFTER_CONV = {2: 1, 4: 2, 6: 3}


def book_to_inverted(params, dropout_ratio=0.5):
    """The book's trained DeepConvNet weights, made right for a net with inverted dropout.

    Returns a new dict: W8 multiplied by (1 − p), everything else as given (the arrays are
    not copied). With them, an inverted-dropout net predicts exactly what the book's net
    predicts, with scores 1/(1 − p) times the book's (see the module docstring).
    """
    out = dict(params)
    out["W8"] = params["W8"] * params["W8"].dtype.type(1.0 - dropout_ratio)
    return out


class DeepConvNet(DropoutNetwork):
    """conv-relu-conv-relu-pool ×3, affine-relu-dropout, affine-dropout (the book's §8.1).

    Parameters
    ----------
    input_dim : (C, H, W)
    conv_param_1 … conv_param_6 : dicts like SimpleConvNet's conv_param (filter_num,
        filter_size, pad, stride); the defaults are the book's (``CONV_PARAMS``)
    hidden_size, output_size : widths of Affine1 and Affine2
    dropout_ratio : p of Dropout1 and Dropout2
    inverted_dropout : True (PyTorch's convention, the default) or False (the book's)
    weight_init_std : "he" (default, the book's sqrt(2 / fan_in)), "xavier" or a number; biases 0
    dtype : float64 (default) or float32
    rng : a ``numpy.random.Generator`` or a seed: the initial weights, then the dropout masks
        drawn when no ``masks`` are given

    params : W1..W6 (FN, C, FH, FW), b1..b6 (FN,) for Conv1..Conv6; W7 (in, hidden), b7 for
        Affine1; W8 (hidden, out), b8 for Affine2 (the book's names). The layers hold the very
        same arrays.
    output_shapes : each layer's output shape for one sample.
    dropout_shapes : {"Dropout1": (hidden_size,), "Dropout2": (output_size,)}

    ``accuracy`` is ``Network``'s; ``predict`` (inference by default), ``loss`` and
    ``gradient`` (training by default, with ``masks``) and ``dropout_masks`` are
    ``DropoutNetwork``'s (``reference.network``).
    """

    # W1, b1 … W6, b6 -> Conv1 … Conv6; W7, b7 -> Affine1; W8, b8 -> Affine2
    PARAM_LAYERS = {f"{p}{i}": (f"Conv{i}", p) for i in range(1, 7) for p in ("W", "b")}
    PARAM_LAYERS.update({f"{p}{i + 6}": (f"Affine{i}", p) for i in (1, 2) for p in ("W", "b")})

    def __init__(self, input_dim=(1, 28, 28),
                 conv_param_1=CONV_PARAMS[0], conv_param_2=CONV_PARAMS[1],
                 conv_param_3=CONV_PARAMS[2], conv_param_4=CONV_PARAMS[3],
                 conv_param_5=CONV_PARAMS[4], conv_param_6=CONV_PARAMS[5],
                 hidden_size=50, output_size=10, dropout_ratio=0.5, inverted_dropout=True,
                 weight_init_std="he", dtype=np.float64, rng=None):
        dtype = check_float_dtype(dtype)
        C, H, W = check_input_dim(input_dim)
        conv_params = (conv_param_1, conv_param_2, conv_param_3, conv_param_4, conv_param_5,
                       conv_param_6)
        hidden_size = check_positive_int(hidden_size, "hidden_size")
        output_size = check_positive_int(output_size, "output_size")
        if not 0 <= dropout_ratio < 1:
            raise ValueError(f"dropout_ratio must be in [0, 1), got {dropout_ratio!r}")
        self.input_dim, self.dtype = (C, H, W), dtype
        self.dropout_ratio = float(dropout_ratio)
        self.inverted_dropout = bool(inverted_dropout)
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)

        def init(shape, fan_in):
            # He: sqrt(2 / fan_in), the book's "weight_init_scales" (fan_in = C·FH·FW or D)
            w = self.rng.standard_normal(shape) * init_std(weight_init_std, fan_in)
            return w.astype(dtype, copy=False)

        self.params = {}
        self.layers = OrderedDict()
        self.output_shapes = OrderedDict()

        def add(name, layer, shape):
            self.layers[name] = layer
            self.output_shapes[name] = shape

        # ---- conv - relu - conv - relu - pool, three times ---------------------------------
        c, h, w = C, H, W
        for i, cp in enumerate(conv_params, start=1):
            fn, fs, pad, stride = check_conv_param(cp, f"conv_param_{i}")
            self.params[f"W{i}"] = init((fn, c, fs, fs), c * fs * fs)
            self.params[f"b{i}"] = np.zeros(fn, dtype=dtype)
            c, h, w = fn, conv_output_size(h, fs, stride, pad), conv_output_size(w, fs, stride, pad)
            if min(h, w) < 1:
                raise ValueError(f"Conv{i} has no output on a {H}×{W} input; use a larger input_dim")
            add(f"Conv{i}", Convolution(self.params[f"W{i}"], self.params[f"b{i}"], stride, pad),
                (c, h, w))
            add(f"Relu{i}", Relu(), (c, h, w))
            if i in POOL_AFTER_CONV:
                if min(h, w) < 2:
                    raise ValueError(f"the map after Conv{i} is {h}×{w}, smaller than the 2×2 pool; "
                                     f"use a larger input_dim")
                h, w = conv_output_size(h, 2, 2), conv_output_size(w, 2, 2)
                add(f"Pool{POOL_AFTER_CONV[i]}", Pooling(pool_h=2, pool_w=2, stride=2), (c, h, w))

        # ---- affine - relu - dropout - affine - dropout --------------------------------------
        self.params["W7"] = init((c * h * w, hidden_size), c * h * w)
        self.params["b7"] = np.zeros(hidden_size, dtype=dtype)
        self.params["W8"] = init((hidden_size, output_size), hidden_size)
        self.params["b8"] = np.zeros(output_size, dtype=dtype)
        add("Affine1", Affine(self.params["W7"], self.params["b7"]), (hidden_size,))
        add("Relu7", Relu(), (hidden_size,))
        add("Dropout1", self._dropout(), (hidden_size,))
        add("Affine2", Affine(self.params["W8"], self.params["b8"]), (output_size,))
        add("Dropout2", self._dropout(), (output_size,))
        self.dropout_shapes = OrderedDict([("Dropout1", (hidden_size,)), ("Dropout2", (output_size,))])
        self.last_layer = SoftmaxWithLoss()

    def _dropout(self):
        return Dropout(self.dropout_ratio, inverted=self.inverted_dropout, rng=self.rng)

    def load_book_params(self, file_name):
        """Load the book's ``deep_convnet_params.pkl`` (trained with the book's dropout).

        In a net with inverted dropout, W8 is multiplied by (1 − p) first
        (:func:`book_to_inverted`), so that this net predicts what the book's net predicts; in
        a net with the book's convention the weights go in unchanged. Returns the net.
        """
        params = read_params(file_name)
        if self.inverted_dropout:
            params = book_to_inverted(params, self.dropout_ratio)
        return self.load_params(params)
