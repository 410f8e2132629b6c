"""LeNet-5 (the book's §7.7.1: sigmoid, average-pool subsampling) as an ``nn.Sequential`` of stock layers.

Named children, in order, with the shapes for N images of 1x28x28 (C1's pad 2 makes 28 act as 32)::

    C1        nn.Conv2d(1, 6, 5, padding=2)   (N, 1, 28, 28)  -> (N, 6, 28, 28)
    Sigmoid1  nn.Sigmoid()
    S2        nn.AvgPool2d(2, 2)              -> (N, 6, 14, 14)
    C3        nn.Conv2d(6, 16, 5)             -> (N, 16, 10, 10)   (c3_table: masked weight, see below)
    Sigmoid2  nn.Sigmoid()
    S4        nn.AvgPool2d(2, 2)              -> (N, 16, 5, 5)
    C5        nn.Conv2d(16, 120, 5)           -> (N, 120, 1, 1)
    Sigmoid3  nn.Sigmoid()
    Flatten   nn.Flatten()                    -> (N, 120)          (shape only; the book's Affine does this)
    F6        nn.Linear(120, 84)              -> (N, 84)
    Sigmoid4  nn.Sigmoid()
    Output    nn.Linear(84, 10)               -> (N, 10)           scores, before softmax

The names are those of the reference ``LeNet5.layers`` (plus ``Flatten``), so the two can be
compared layer by layer.

The C3 connection table (``c3_table=True``, LeCun et al. 1998, Table I)
-----------------------------------------------------------------------
C3 stays a stock ``nn.Conv2d``. Its ``weight`` is *parametrized*
(``torch.nn.utils.parametrize.register_parametrization``) by :class:`ConnectionMask`, a module
holding the fixed (16, 6, 1, 1) 0/1 mask as a buffer: ``C3.weight`` is computed as
``original * mask`` on every access, the trainable tensor is ``C3.parametrizations.weight.original``
(that is where ``book_params["W2"]`` points), and autograd multiplies its gradient by the same
mask, so unconnected weights get exactly zero gradient — the same as the reference's
``PartialConvolution``.
"""

import numbers
from collections import OrderedDict

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize

from .dtypes import as_torch_dtype
from .network import BookNetMixin, check_int, conv_output_size

__all__ = ["LeNet5", "ConnectionMask", "C3_TABLE", "c3_connection_mask"]

# Table I of LeCun, Bottou, Bengio and Haffner, "Gradient-based learning applied to document
# recognition", Proc. IEEE 86(11), 1998: the S2 maps (0-5) that each C3 map (0-15) sees.
# Maps 0-5: three contiguous S2 maps; 6-11: four contiguous; 12-14: four non-contiguous;
# 15: all six ("contiguous" wraps around). The same data as reference.lenet.C3_TABLE (this
# package never imports the reference; a test checks that the two tables are equal).
C3_TABLE = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)


def c3_connection_mask(dtype=torch.float64):
    """C3_TABLE as a (16, 6) tensor of 0/1: ``mask[f, c] == 1`` when C3 map f sees S2 map c."""
    mask = torch.zeros(len(C3_TABLE), 6, dtype=as_torch_dtype(dtype))
    for f, inputs in enumerate(C3_TABLE):
        mask[f, list(inputs)] = 1
    return mask


class ConnectionMask(nn.Module):
    """Parametrization ``weight = original * mask`` with a fixed 0/1 ``mask`` (FN, C, 1, 1) buffer."""

    def __init__(self, mask):
        super().__init__()
        self.register_buffer("mask", mask[:, :, None, None].clone())

    def forward(self, original):
        return original * self.mask


def _init_std(weight_init_std, fan_in):
    """A number, or "xavier"/"sigmoid" (sqrt(1/fan_in)) or "he"/"relu" (sqrt(2/fan_in)), as the book."""
    if isinstance(weight_init_std, str):
        key = weight_init_std.lower()
        if key in ("xavier", "sigmoid"):
            return (1.0 / fan_in) ** 0.5
        if key in ("he", "relu"):
            return (2.0 / fan_in) ** 0.5
        raise ValueError(f'weight_init_std must be a number, "xavier" or "he", got {weight_init_std!r}')
    if (isinstance(weight_init_std, bool) or not isinstance(weight_init_std, numbers.Real)
            or not np.isfinite(weight_init_std) or weight_init_std < 0):
        raise ValueError(f"weight_init_std must be a finite number >= 0, got {weight_init_std!r}")
    return float(weight_init_std)


def init_book_style(layers, weight_init_std, seed, dtype):
    """std * N(0, 1) weights (std per layer from its fan-in), zero biases, like the book.

    ``layers`` are stock Conv2d/Linear modules; fan_in = in_channels*kh*kw or in_features.
    ``seed`` seeds a private ``torch.Generator`` (drawn from in the order of ``layers``);
    None: torch's global generator.
    """
    generator = None if seed is None else torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for layer in layers:
            weight = layer.weight
            fan_in = weight[0].numel()
            std = _init_std(weight_init_std, fan_in)
            if std == 0:
                weight.zero_()
            else:
                # randn in torch's layout; a normal sample transposed is still a normal sample.
                weight.copy_(std * torch.randn(weight.shape, generator=generator, dtype=dtype))
            layer.bias.zero_()


class LeNet5(BookNetMixin, nn.Sequential):
    """LeNet-5 twin; same constructor as ``reference.LeNet5`` (``seed`` instead of ``rng``).

    Parameters
    ----------
    input_dim : (C, H, W), default (1, 28, 28)
    pad : C1's padding (2 for 28x28 MNIST)
    output_size : number of classes
    c3_table : use the paper's partial C3 connection table (a masked ``nn.Conv2d`` weight)
    weight_init_std : number, "xavier" (default) or "he"; biases 0
    dtype : parameter dtype (default float64)
    seed : seeds a private ``torch.Generator`` for the init; None: torch's global generator

    Attributes
    ----------
    book_params : {"W1": "C1.weight", "b1": "C1.bias", "W2": "C3.weight" (with the table:
        "C3.parametrizations.weight.original"), ..., "W5": "Output.weight", "b5": "Output.bias"}

    ``predict``, ``loss`` and ``accuracy`` come from :class:`torch_impl.network.BookNetMixin`.
    """

    def __init__(self, input_dim=(1, 28, 28), pad=2, output_size=10, c3_table=False,
                 weight_init_std="xavier", dtype=torch.float64, seed=None):
        if not isinstance(input_dim, (tuple, list)) or len(input_dim) != 3:
            raise ValueError(f"input_dim must be (C, H, W), got {input_dim!r}")
        C, H, W = (check_int(f"input_dim[{i}]", v, 1) for i, v in enumerate(input_dim))
        pad = check_int("pad", pad, 0)
        output_size = check_int("output_size", output_size, 1)
        dtype = as_torch_dtype(dtype)
        h, w = conv_output_size(H, 5, 1, pad), conv_output_size(W, 5, 1, pad)  # C1
        h, w = conv_output_size(h, 2, 2), conv_output_size(w, 2, 2)  # S2
        h, w = conv_output_size(h, 5), conv_output_size(w, 5)  # C3
        h, w = conv_output_size(h, 2, 2), conv_output_size(w, 2, 2)  # S4
        if min(h, w) < 5:
            raise ValueError(f"input_dim {input_dim} with pad {pad} gives a {h}x{w} S4 map, too small "
                             "for C5's 5x5 kernel; LeNet-5 needs at least 32x32 after padding")
        h, w = conv_output_size(h, 5), conv_output_size(w, 5)  # C5

        super().__init__(OrderedDict([
            ("C1", nn.Conv2d(C, 6, 5, padding=pad, dtype=dtype)),
            ("Sigmoid1", nn.Sigmoid()),
            ("S2", nn.AvgPool2d(2, 2)),
            ("C3", nn.Conv2d(6, 16, 5, dtype=dtype)),
            ("Sigmoid2", nn.Sigmoid()),
            ("S4", nn.AvgPool2d(2, 2)),
            ("C5", nn.Conv2d(16, 120, 5, dtype=dtype)),
            ("Sigmoid3", nn.Sigmoid()),
            ("Flatten", nn.Flatten()),
            ("F6", nn.Linear(120 * h * w, 84, dtype=dtype)),
            ("Sigmoid4", nn.Sigmoid()),
            ("Output", nn.Linear(84, output_size, dtype=dtype)),
        ]))
        self.input_dim = (C, H, W)
        self.c3_table = bool(c3_table)
        init_book_style((self.C1, self.C3, self.C5, self.F6, self.Output), weight_init_std, seed, dtype)

        self.book_params = {"W1": "C1.weight", "b1": "C1.bias", "W2": "C3.weight", "b2": "C3.bias",
                            "W3": "C5.weight", "b3": "C5.bias", "W4": "F6.weight", "b4": "F6.bias",
                            "W5": "Output.weight", "b5": "Output.bias"}
        if self.c3_table:
            mask = c3_connection_mask(dtype)
            with torch.no_grad():
                self.C3.weight.mul_(mask[:, :, None, None])     # unconnected weights start at 0
            parametrize.register_parametrization(self.C3, "weight", ConnectionMask(mask))
            self.book_params["W2"] = "C3.parametrizations.weight.original"
