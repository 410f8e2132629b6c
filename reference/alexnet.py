"""AlexNet (Krizhevsky, Sutskever and Hinton 2012) as one tower, and its configurable relatives.

The paper's network on 3×227×227 inputs (``AlexNet()``, the defaults), shapes for one image::

    Conv1  96@11×11 stride 4     (3, 227, 227) -> (96, 55, 55)    Relu1, LRN1
    Pool1  max 3×3 stride 2      -> (96, 27, 27)                  (overlapping pooling)
    Conv2  256@5×5 pad 2         -> (256, 27, 27)                 Relu2, LRN2
    Pool2  max 3×3 stride 2      -> (256, 13, 13)
    Conv3  384@3×3 pad 1         -> (384, 13, 13)                 Relu3
    Conv4  384@3×3 pad 1         -> (384, 13, 13)                 Relu4
    Conv5  256@3×3 pad 1         -> (256, 13, 13)                 Relu5
    Pool3  max 3×3 stride 2      -> (256, 6, 6)
    Flatten                      -> (9216,)
    Affine1 9216 -> 4096, Relu6, Dropout1
    Affine2 4096 -> 4096, Relu7, Dropout2
    Affine3 4096 -> 1000         scores; SoftmaxWithLoss is last_layer

62,378,344 parameters (the paper's two GPU towers, with their grouped convolutions, have fewer).
LRN is the paper's: b_c = a_c / (k + α Σ_{window of 5} a_j²)^β with k = 2, α = 1e−4, β = 0.75
(``reference.more_layers.LRN(convention="paper")``; torch's ``nn.LocalResponseNorm`` divides α by the
window size, so the twin uses ``LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2)``).

Configurations (keyword dicts for the constructor; ``torch_impl.alexnet`` has the same ones):

* ``PAPER``        the defaults above.
* ``TORCHVISION``  ``torchvision.models.alexnet``: 64/192/384/256/256 channels, conv1 pad 2, no LRN,
  adaptive average pooling to 6×6 and dropout *before* Affine1 and Affine2; 224×224 inputs,
  61,100,840 parameters.
* ``MNIST``        a small AlexNet-style net for 1×28×28 (ReLU, LRN, overlapping 3/2 pooling, dropout).

Dropout: the layers ``Dropout1``/``Dropout2`` are inverted dropout (PyTorch's convention). As in
the book's deep nets, ``predict`` defaults to inference (no dropout) and ``loss``/``gradient`` to
training. For training in lockstep with a framework the masks are drawn outside the net, once
per step (``dropout_masks(n, rng)``), and passed as ``masks=`` to ``loss``/``gradient`` here and
to the torch twin's ``loss``/``forward``: both then drop exactly the same units.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .checks import (check_conv_param, check_float_array, check_float_dtype, check_input_dim,
                     check_positive_int)
from .layers import Affine, Convolution, Dropout, Pooling, Relu, SoftmaxWithLoss
from .more_layers import LRN, AvgPooling
from .lenet import init_std
from .network import DropoutNetwork
from .util import conv_output_size

__all__ = ["AlexNet", "Flatten", "PAPER", "TORCHVISION", "MNIST", "PAPER_LRN"]


# Max pools follow Conv1, Conv2 and Conv5: conv index -> pool number.
POOL_AFTER_CONV = {1: 1, 2: 2, 5: 3}


def _conv(filter_num, filter_size, pad, stride):
    return {"filter_num": filter_num, "filter_size": filter_size, "pad": pad, "stride": stride}


# The paper's LRN constants, in the paper's convention (α is not divided by the window size).
PAPER_LRN = {"size": 5, "alpha": 1e-4, "beta": 0.75, "k": 2.0}

PAPER = dict(
    input_dim=(3, 227, 227),
    conv_params=(_conv(96, 11, 0, 4), _conv(256, 5, 2, 1), _conv(384, 3, 1, 1),
                 _conv(384, 3, 1, 1), _conv(256, 3, 1, 1)),
    hidden_sizes=(4096, 4096), output_size=1000, lrn=PAPER_LRN, pool=(3, 2),
    adaptive_pool=None, dropout_ratio=0.5, dropout_position="after",
)

TORCHVISION = dict(
    input_dim=(3, 224, 224),
    conv_params=(_conv(64, 11, 2, 4), _conv(192, 5, 2, 1), _conv(384, 3, 1, 1),
                 _conv(256, 3, 1, 1), _conv(256, 3, 1, 1)),
    hidden_sizes=(4096, 4096), output_size=1000, lrn=None, pool=(3, 2),
    adaptive_pool=6, dropout_ratio=0.5, dropout_position="before",
)

MNIST = dict(
    input_dim=(1, 28, 28),
    conv_params=(_conv(16, 5, 2, 1), _conv(32, 5, 2, 1), _conv(64, 3, 1, 1),
                 _conv(64, 3, 1, 1), _conv(32, 3, 1, 1)),
    hidden_sizes=(128, 128), output_size=10, lrn=PAPER_LRN, pool=(3, 2),
    adaptive_pool=None, dropout_ratio=0.5, dropout_position="after",
)
# MNIST shapes: 28 -conv1-> 28 -pool-> 13 -conv2-> 13 -pool-> 6 -conv3..5-> 6 -pool-> 2;
# 32·2·2 = 128 features into Affine1.


class Flatten:
    """(N, C, H, W) -> (N, C·H·W), shape only (the book's Affine does this itself; AlexNet keeps
    it as a layer so that a dropout mask can act on the flattened features, as in torchvision).

    forward x (N, ...) -> out (N, D); backward dout (N, D) -> dx (N, ...). cache: x shape
    """

    def __init__(self):
        self.x_shape = None

    def forward(self, x):
        check_float_array(x, "x")
        self.x_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        return dout.reshape(self.x_shape)


class AlexNet(DropoutNetwork):
    """Five convolutions, three max pools, three affine layers; optional LRN and dropout.

    Parameters (the defaults are the paper's network, ``PAPER``)
    ----------
    input_dim : (C, H, W)
    conv_params : five dicts like SimpleConvNet's conv_param (filter_num, filter_size, pad, stride)
    hidden_sizes : widths of Affine1 and Affine2
    output_size : number of classes
    lrn : dict(size, alpha, beta, k) in the paper's convention (LRN1/LRN2 after Relu1/Relu2),
        or None for no LRN
    pool : (size, stride) of the three max pools: (3, 2) overlapping (the paper), (2, 2) not
    adaptive_pool : None, or n: adaptive average pooling to n×n before Flatten (torchvision's
        ``AdaptiveAvgPool2d(6)``). Implemented only where it is a plain average pool: the map
        side must be a multiple of n (for a 224 input it is already 6×6: the identity).
    dropout_ratio : p of Dropout1/Dropout2, or None for no dropout layers
    dropout_position : "after" (the paper: after Relu6 and Relu7) or "before" (torchvision:
        before Affine1 and Affine2)
    weight_init_std : "he" (default, sqrt(2/fan_in), as the book's DeepConvNet), "xavier", or a
        number (the paper: 0.01); biases 0
    dtype : float64 (default) or float32
    rng : a ``numpy.random.Generator`` or a seed: the initial weights, then the dropout masks
        drawn when no ``masks`` are given

    params : W1..W5 (FN, C, FH, FW), b1..b5 (FN,) for Conv1..Conv5; W6, W7, W8 (in, out) and
        b6, b7, b8 for Affine1..Affine3. The layers hold the very same arrays.
    output_shapes : each layer's output shape for one sample.
    dropout_shapes : the shape of each dropout mask for one sample, e.g. {"Dropout1": (4096,), …}.

    ``accuracy`` is ``Network``'s and ``predict``, ``loss``, ``gradient`` (with ``train_flg`` and
    the dropout ``masks``) and ``dropout_masks`` are ``DropoutNetwork``'s (``reference.network``).
    """

    # W1, b1 … W5, b5 -> Conv1 … Conv5; W6, b6 … W8, b8 -> Affine1 … Affine3
    PARAM_LAYERS = {f"{p}{i}": (f"Conv{i}", p) for i in range(1, 6) for p in ("W", "b")}
    PARAM_LAYERS.update({f"{p}{i + 5}": (f"Affine{i}", p) for i in range(1, 4) for p in ("W", "b")})

    def __init__(self, input_dim=PAPER["input_dim"], conv_params=PAPER["conv_params"],
                 hidden_sizes=PAPER["hidden_sizes"], output_size=PAPER["output_size"],
                 lrn=PAPER_LRN, pool=PAPER["pool"], adaptive_pool=None, dropout_ratio=0.5,
                 dropout_position="after", weight_init_std="he", dtype=np.float64, rng=None):
        dtype = check_float_dtype(dtype)
        C, H, W = check_input_dim(input_dim)
        if len(conv_params) != 5:
            raise ValueError(f"conv_params must hold 5 dicts (Conv1..Conv5), got {len(conv_params)}")
        convs = [check_conv_param(cp, f"conv_params[{i}]") for i, cp in enumerate(conv_params)]
        if len(hidden_sizes) != 2:
            raise ValueError(f"hidden_sizes must be (Affine1 width, Affine2 width), got {hidden_sizes!r}")
        hidden_sizes = tuple(check_positive_int(v, "hidden_sizes") for v in hidden_sizes)
        output_size = check_positive_int(output_size, "output_size")
        pool_size, pool_stride = (check_positive_int(v, "pool") for v in pool)
        if dropout_position not in ("after", "before"):
            raise ValueError(f'dropout_position must be "after" (paper) or "before" (torchvision), '
                             f"got {dropout_position!r}")
        self.input_dim, self.dtype = (C, H, W), dtype
        self.dropout_ratio = None if dropout_ratio is None else float(dropout_ratio)
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)

        def init(shape, fan_in):
            std = init_std(weight_init_std, fan_in)
            if std == 0:
                return np.zeros(shape, dtype=dtype)
            w = self.rng.standard_normal(shape)     # float64 draws, also for float32 nets
            w *= std                                # in place: W6 alone is 300 MB
            return w.astype(dtype, copy=False)

        self.params = {}
        self.layers = OrderedDict()
        shapes = OrderedDict()

        def add(name, layer, shape):
            self.layers[name] = layer
            shapes[name] = shape

        # ---- features: conv - relu [- lrn] [- pool] ---------------------------------------
        c, h, w = C, H, W
        for i, (fn, fs, pad, stride) in enumerate(convs, start=1):
            Wk, bk = init((fn, c, fs, fs), c * fs * fs), np.zeros(fn, dtype=dtype)
            self.params[f"W{i}"], self.params[f"b{i}"] = Wk, bk
            c, h, w = fn, conv_output_size(h, fs, stride, pad), conv_output_size(w, fs, stride, pad)
            add(f"Conv{i}", Convolution(Wk, bk, stride, pad), (c, h, w))
            add(f"Relu{i}", Relu(), (c, h, w))
            if i <= 2 and lrn is not None:
                add(f"LRN{i}", LRN(lrn["size"], lrn["alpha"], lrn["beta"], lrn["k"], convention="paper"),
                    (c, h, w))
            if i in POOL_AFTER_CONV:
                h = conv_output_size(h, pool_size, pool_stride)
                w = conv_output_size(w, pool_size, pool_stride)
                add(f"Pool{POOL_AFTER_CONV[i]}", Pooling(pool_size, pool_size, pool_stride),
                    (c, h, w))
        if adaptive_pool is not None:
            n = check_positive_int(adaptive_pool, "adaptive_pool")
            if h % n or w % n or h != w:
                raise NotImplementedError(
                    f"adaptive_pool={n} on a {h}×{w} map: the reference implements adaptive "
                    f"average pooling on a square map whose side is a multiple of {n} (then it is a "
                    f"plain k×k average pool with stride k, k = side / {n}); choose an input_dim "
                    f"that gives such a map (3×224×224 gives 6×6: the identity)")
            k = h // n              # every window of torch's adaptive pool is then k×k, stride k
            h, w = n, n
            add("AvgPool", AvgPooling(k, k, stride=k), (c, h, w))
        add("Flatten", Flatten(), (c * h * w,))

        # ---- classifier: affine - relu [- dropout], dropout before or after -----------------
        self.dropout_shapes = OrderedDict()

        def dropout(j, width):
            if self.dropout_ratio is not None:
                add(f"Dropout{j}", Dropout(self.dropout_ratio, inverted=True, rng=self.rng), (width,))
                self.dropout_shapes[f"Dropout{j}"] = (width,)

        width = c * h * w
        for j, out in enumerate(hidden_sizes + (output_size,), start=1):
            if dropout_position == "before" and j <= 2:
                dropout(j, width)
            Wk, bk = init((width, out), width), np.zeros(out, dtype=dtype)
            self.params[f"W{j + 5}"], self.params[f"b{j + 5}"] = Wk, bk
            add(f"Affine{j}", Affine(Wk, bk), (out,))
            if j <= 2:
                add(f"Relu{j + 5}", Relu(), (out,))
                if dropout_position == "after":
                    dropout(j, out)
            width = out
        self.output_shapes = shapes
        self.last_layer = SoftmaxWithLoss()
