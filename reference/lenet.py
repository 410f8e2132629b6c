"""LeNet-5 (LeCun et al. 1998) as the book's §7.7.1 describes it: sigmoid activations and
subsampling by average pooling, where today's CNNs use ReLU and max pooling.

Layers, with the shapes for one 28×28 MNIST image (C1's pad 2 makes it act as the paper's 32×32)::

    C1        Convolution 6@5×5, pad 2      (N, 1, 28, 28) -> (N, 6, 28, 28)
    Sigmoid1
    S2        AvgPooling 2×2, stride 2      -> (N, 6, 14, 14)
    C3        Convolution 16@5×5            -> (N, 16, 10, 10)   optionally the paper's partial table
    Sigmoid2
    S4        AvgPooling 2×2, stride 2      -> (N, 16, 5, 5)
    C5        Convolution 120@5×5           -> (N, 120, 1, 1)
    Sigmoid3
    F6        Affine 120 -> 84              -> (N, 84)           (flattens its input, as the book's Affine)
    Sigmoid4
    Output    Affine 84 -> 10               -> (N, 10)           scores; SoftmaxWithLoss is last_layer

C5 is a convolution, as in the paper ("C5 is a convolutional layer with 120 feature maps. Each
unit is connected to a 5×5 neighborhood on all 16 of S4's feature maps"). On a 5×5 map it
computes exactly what an Affine on the flattened 16·5·5 = 400 values would (a 1×1 output), but
a larger input gives a larger C5 map, as the paper notes. The twin uses an ``nn.Conv2d`` too.

Where this differs from the 1998 paper (as in the book and most textbook LeNets): the paper's
S2/S4 have a trainable coefficient and bias per map followed by a squashing function (here:
parameter-free average pooling), its squashing function is 1.7159·tanh(2a/3) (here: the
logistic sigmoid), and its output layer is 10 Euclidean RBF units with fixed weights (here: an
Affine layer and softmax cross-entropy).

Trainable parameters: 61,706 with a full C3 (156 + 2,416 + 48,120 + 10,164 + 850), 60,806 with
the paper's C3 table (C3 has 60 connections · 25 + 16 = 1,516). The paper's "60,000" is C1 to F6
with S2/S4's 12 + 32 coefficients and without the fixed RBF output: 60,000 − 44 + 850 = 60,806.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .checks import check_float_dtype, check_input_dim, check_nonnegative_int, check_positive_int
from .layers import Affine, Convolution, Sigmoid, SoftmaxWithLoss
from .more_layers import AvgPooling
from .network import Network
from .util import conv_output_size

__all__ = ["LeNet5", "PartialConvolution", "C3_TABLE", "c3_connection_mask", "init_std"]

# Table I of LeCun, Bottou, Bengio and Haffner, "Gradient-based learning applied to document
# recognition", Proc. IEEE 86(11), 1998: the S2 feature maps (0-5) that each C3 feature map
# (0-15) sees. "The first six C3 feature maps take inputs from every contiguous subsets of three
# feature maps in S2. The next six take input from every contiguous subset of four. The next
# three take input from some discontinuous subsets of four. Finally, the last one takes input
# from all S2 feature maps." (Contiguous wraps around: map 4 sees 4, 5, 0.)
C3_TABLE = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1),                # maps 0-5
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2),  # maps 6-11
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),                                        # maps 12-14
    (0, 1, 2, 3, 4, 5),                                                              # map 15
)


def c3_connection_mask() -> np.ndarray:
    """C3_TABLE as a (16, 6) bool array: ``mask[f, c]`` is True when C3 map f sees S2 map c."""
    mask = np.zeros((len(C3_TABLE), 6), dtype=bool)
    for f, inputs in enumerate(C3_TABLE):
        mask[f, list(inputs)] = True
    return mask


def init_std(weight_init_std, fan_in: int) -> float:
    """The book's ``weight_init_std`` (MultiLayerNet): a number, or a rule on the fan-in.

    ``"xavier"`` / ``"sigmoid"``: sqrt(1 / fan_in); ``"he"`` / ``"relu"``: sqrt(2 / fan_in).
    """
    if isinstance(weight_init_std, str):
        key = weight_init_std.lower()
        if key in ("xavier", "sigmoid"):
            return float(np.sqrt(1.0 / fan_in))
        if key in ("he", "relu"):
            return float(np.sqrt(2.0 / fan_in))
        raise ValueError(f'weight_init_std must be a number, "xavier" or "he", got {weight_init_std!r}')
    std = float(weight_init_std)
    if not np.isfinite(std) or std < 0:
        raise ValueError(f"weight_init_std must be a finite number ≥ 0, got {weight_init_std!r}")
    return std


class PartialConvolution(Convolution):
    """A convolution in which output map f only sees the input maps c with ``connection[f, c]``.

    W : (FN, C, FH, FW), b : (FN,), connection : (FN, C) bool (LeNet-5's C3 table)
    forward  x (N, C, H, W) -> out (N, FN, OH, OW)
    backward dout (N, FN, OH, OW) -> dx (N, C, H, W); sets dW (FN, C, FH, FW), db (FN,)
    cache: as Convolution (col_W holds the masked weights)

    W keeps the full layout. forward uses W ⊙ mask (mask = connection as 0/1, broadcast over
    FH×FW), so the entries of unconnected pairs are ignored; backward multiplies dW by the same
    mask (chain rule through the product), so unconnected weights get exactly zero gradient and
    an optimizer that starts them at zero keeps them at zero.
    """

    def __init__(self, W, b, connection, stride=1, pad=0, strict=False):
        super().__init__(W, b, stride, pad, strict)
        connection = np.asarray(connection)
        if connection.dtype != bool or connection.shape != W.shape[:2]:
            raise ValueError(f"connection must be a bool array shaped (FN, C) = {W.shape[:2]}, "
                             f"got {connection.dtype} {connection.shape}")
        self.connection = connection
        self.mask = connection[:, :, None, None].astype(W.dtype)     # (FN, C, 1, 1) of 0/1

    def forward(self, x):
        # Convolution.forward computed with the masked weights. The layer's W is swapped for
        # W ⊙ mask during the call only, so params["W…"] stays the very same (unmasked) array.
        full_W, self.W = self.W, self.W * self.mask
        try:
            return super().forward(x)
        finally:
            self.W = full_W

    def backward_params(self, dout):
        # (backward = backward_params + input_gradient; the latter uses the cached masked
        # weights col_W)
        super().backward_params(dout)
        self.dW = self.dW * self.mask          # d(W ⊙ mask)/dW = mask


class LeNet5(Network):
    """LeNet-5: C1 - S2 - C3 - S4 - C5 - F6 - output, sigmoid activations, average-pool subsampling.

    Parameters
    ----------
    input_dim : (C, H, W), default (1, 28, 28)
    pad : C1's padding (2 for 28×28 MNIST; 0 for the paper's 32×32 inputs)
    output_size : number of classes
    c3_table : False (C3 sees all 6 S2 maps) or True (the paper's partial table, ``C3_TABLE``)
    weight_init_std : a number, or "xavier" (default; sqrt(1/fan_in), suits the sigmoid) or
        "he"; fan_in = C·FH·FW of a convolution (all C input maps, also with the table), the
        input width of an Affine. Biases are 0, as in the book.
    dtype : float64 (default) or float32
    rng : a ``numpy.random.Generator`` or a seed for the initial weights

    params : W1 (6, C, 5, 5), b1 (6,)        C1
             W2 (16, 6, 5, 5), b2 (16,)      C3 (with the table: zero where unconnected)
             W3 (120, 16, 5, 5), b3 (120,)   C5
             W4 (120·h·w, 84), b4 (84,)      F6 (h = w = 1 for 28×28 with pad 2)
             W5 (84, output_size), b5        Output
    The layers hold the very same arrays as ``params``. ``output_shapes`` gives each layer's
    output shape for one sample, e.g. ``output_shapes["S4"] == (16, 5, 5)``.

    ``predict``, ``loss``, ``accuracy`` and ``gradient`` are ``Network``'s (``reference.network``).
    With the C3 table, ``gradient(x, t)["W2"]`` is exactly 0 where a C3 map does not see an S2 map.
    """

    PARAM_LAYERS = {"W1": ("C1", "W"), "b1": ("C1", "b"), "W2": ("C3", "W"), "b2": ("C3", "b"),
                    "W3": ("C5", "W"), "b3": ("C5", "b"), "W4": ("F6", "W"), "b4": ("F6", "b"),
                    "W5": ("Output", "W"), "b5": ("Output", "b")}

    def __init__(self, input_dim=(1, 28, 28), pad=2, output_size=10, c3_table=False,
                 weight_init_std="xavier", dtype=np.float64, rng=None):
        dtype = check_float_dtype(dtype)
        C, H, W = check_input_dim(input_dim)
        pad = check_nonnegative_int(pad, "pad")
        output_size = check_positive_int(output_size, "output_size")

        # Output sizes (floor, like PyTorch): C1 5×5 pad p, S2 2/2, C3 5×5, S4 2/2, C5 5×5.
        h, w = conv_output_size(H, 5, 1, pad), conv_output_size(W, 5, 1, pad)
        shapes = OrderedDict(C1=(6, h, w), Sigmoid1=(6, h, w))
        h, w = conv_output_size(h, 2, 2), conv_output_size(w, 2, 2)
        shapes["S2"] = (6, h, w)
        h, w = conv_output_size(h, 5), conv_output_size(w, 5)
        shapes["C3"] = shapes["Sigmoid2"] = (16, h, w)
        h, w = conv_output_size(h, 2, 2), conv_output_size(w, 2, 2)
        shapes["S4"] = (16, h, w)
        if min(h, w) < 5:
            raise ValueError(f"input_dim {input_dim} with pad {pad} gives a {h}×{w} S4 map, too small "
                             f"for C5's 5×5 kernel; LeNet-5 needs at least 32×32 after padding")
        h, w = conv_output_size(h, 5), conv_output_size(w, 5)
        shapes["C5"] = shapes["Sigmoid3"] = (120, h, w)
        shapes["F6"] = shapes["Sigmoid4"] = (84,)
        shapes["Output"] = (output_size,)
        self.output_shapes = shapes
        self.input_dim = (C, H, W)
        self.dtype = dtype
        self.c3_table = bool(c3_table)

        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)

        def init(*shape):
            fan_in = int(np.prod(shape[1:])) if len(shape) == 4 else shape[0]
            std = init_std(weight_init_std, fan_in)
            if std == 0:
                return np.zeros(shape, dtype=dtype)
            w = rng.standard_normal(shape)          # float64 draws, also for float32 nets
            w *= std
            return w.astype(dtype, copy=False)

        self.params = {
            "W1": init(6, C, 5, 5), "b1": np.zeros(6, dtype=dtype),
            "W2": init(16, 6, 5, 5), "b2": np.zeros(16, dtype=dtype),
            "W3": init(120, 16, 5, 5), "b3": np.zeros(120, dtype=dtype),
            "W4": init(120 * h * w, 84), "b4": np.zeros(84, dtype=dtype),
            "W5": init(84, output_size), "b5": np.zeros(output_size, dtype=dtype),
        }
        p = self.params
        self.layers = OrderedDict()
        self.layers["C1"] = Convolution(p["W1"], p["b1"], stride=1, pad=pad)
        self.layers["Sigmoid1"] = Sigmoid()
        self.layers["S2"] = AvgPooling(2, 2, stride=2)
        if self.c3_table:
            self.connection = c3_connection_mask()
            p["W2"] *= self.connection[:, :, None, None]       # unconnected weights start at 0
            self.layers["C3"] = PartialConvolution(p["W2"], p["b2"], self.connection)
        else:
            self.connection = np.ones((16, 6), dtype=bool)
            self.layers["C3"] = Convolution(p["W2"], p["b2"])
        self.layers["Sigmoid2"] = Sigmoid()
        self.layers["S4"] = AvgPooling(2, 2, stride=2)
        self.layers["C5"] = Convolution(p["W3"], p["b3"])
        self.layers["Sigmoid3"] = Sigmoid()
        self.layers["F6"] = Affine(p["W4"], p["b4"])
        self.layers["Sigmoid4"] = Sigmoid()
        self.layers["Output"] = Affine(p["W5"], p["b5"])
        self.last_layer = SoftmaxWithLoss()

    def num_trainable_params(self) -> int:
        """Number of trainable parameters: every entry of ``params`` except C3's unconnected weights."""
        total = sum(a.size for a in self.params.values())
        return total - int((~self.connection).sum()) * 25
