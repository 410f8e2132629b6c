"""The book's SimpleConvNet as an ``nn.Sequential`` of stock torch layers.

    conv - relu - pool - affine - relu - affine - (softmax with loss)

Named children, in order, with the shapes for the default arguments (N images of 1x28x28)::

    Conv1    nn.Conv2d(1, 30, 5)        (N, 1, 28, 28)  -> (N, 30, 24, 24)
    Relu1    nn.ReLU()
    Pool1    nn.MaxPool2d(2, 2)         (N, 30, 24, 24) -> (N, 30, 12, 12)
    Flatten  nn.Flatten()               (N, 30, 12, 12) -> (N, 4320)   (shape only; the book's
                                                                        Affine does this itself)
    Affine1  nn.Linear(4320, 100)       (N, 4320)       -> (N, 100)
    Relu2    nn.ReLU()
    Affine2  nn.Linear(100, 10)         (N, 100)        -> (N, 10)     scores, before softmax

The softmax-with-loss is not a child: ``loss(x, t)`` applies ``F.cross_entropy`` to the scores,
as the book keeps ``last_layer`` outside ``layers``.

``book_params`` maps the book's names to these children, so ``torch_impl.transfer`` can move
the reference network's ``params`` (W1, b1, W2, b2, W3, b3) in and out.
"""

import numbers
from collections import OrderedDict

import numpy as np
import torch
from torch import nn

from .dtypes import as_torch_dtype
from .network import BookNetMixin, check_conv_param, check_int, conv_output_size

__all__ = ["SimpleConvNet", "conv_output_size"]

# The book's default conv_param (used when conv_param is None); never mutated.
DEFAULT_CONV_PARAM = {"filter_num": 30, "filter_size": 5, "pad": 0, "stride": 1}


class SimpleConvNet(BookNetMixin, nn.Sequential):
    """conv - relu - pool - affine - relu - affine, with the book's constructor.

    Parameters
    ----------
    input_dim : (C, H, W)
        Shape of one input image.
    conv_param : dict, optional
        ``filter_num`` (FN), ``filter_size`` (FH = FW), ``pad``, ``stride``: all four, like the
        book (missing or unknown keys are an error). None: the book's default
        ``{'filter_num': 30, 'filter_size': 5, 'pad': 0, 'stride': 1}``.
    hidden_size, output_size : int
        Width of Affine1 and number of classes.
    weight_init_std : float
        Weights are ``weight_init_std * standard normal``; biases are zero (like the book).
    dtype : torch dtype, NumPy dtype or str
        Parameter dtype (default float64, the book's dtype). Inputs must have the same dtype.
    seed : int, optional
        Seeds a private ``torch.Generator`` for the init (W1, then W2, then W3), so two nets
        built with the same seed are identical. None: torch's global generator.

    Attributes
    ----------
    book_params : dict
        ``{"W1": "Conv1.weight", "b1": "Conv1.bias", "W2": "Affine1.weight", ...}``.

    ``predict``, ``loss`` and ``accuracy`` come from :class:`torch_impl.network.BookNetMixin`.
    """

    book_params = {
        "W1": "Conv1.weight", "b1": "Conv1.bias",
        "W2": "Affine1.weight", "b2": "Affine1.bias",
        "W3": "Affine2.weight", "b3": "Affine2.bias",
    }

    def __init__(self, input_dim=(1, 28, 28), conv_param=None, hidden_size=100,
                 output_size=10, weight_init_std=0.01, dtype=torch.float64, seed=None):
        # ---- validate the arguments, naming the culprit -----------------------------------
        if not isinstance(input_dim, (tuple, list)) or len(input_dim) != 3:
            raise ValueError(f"input_dim must be (C, H, W), got {input_dim!r}")
        C, H, W = (check_int(f"input_dim[{i}]", v, 1) for i, v in enumerate(input_dim))

        if conv_param is None:
            conv_param = DEFAULT_CONV_PARAM
        if not isinstance(conv_param, dict):
            raise ValueError(f"conv_param must be a dict, got {type(conv_param).__name__}")
        missing = sorted(set(DEFAULT_CONV_PARAM) - set(conv_param))
        unknown = sorted(set(conv_param) - set(DEFAULT_CONV_PARAM))
        if missing or unknown:
            raise ValueError(
                f"conv_param must have exactly the keys {list(DEFAULT_CONV_PARAM)}; "
                f"missing {missing}, unknown {unknown}"
            )
        conv_param = dict(conv_param)  # a copy; the caller's dict is never touched
        FN, FS, pad, stride = check_conv_param(conv_param, "conv_param")
        hidden_size = check_int("hidden_size", hidden_size, 1)
        output_size = check_int("output_size", output_size, 1)
        if (isinstance(weight_init_std, bool) or not isinstance(weight_init_std, numbers.Real)
                or not np.isfinite(weight_init_std) or weight_init_std < 0):
            raise ValueError(f"weight_init_std must be a finite number >= 0, got {weight_init_std!r}")
        dtype = as_torch_dtype(dtype)

        if FS > H + 2 * pad or FS > W + 2 * pad:
            raise ValueError(
                f"conv_param['filter_size']={FS} is larger than the padded input "
                f"{H + 2 * pad}x{W + 2 * pad} (input_dim {H}x{W}, pad {pad})"
            )
        OH = conv_output_size(H, FS, stride, pad)
        OW = conv_output_size(W, FS, stride, pad)
        if OH < 2 or OW < 2:
            raise ValueError(
                f"the convolution output is {OH}x{OW}, too small for the 2x2 pooling; "
                "use a larger input_dim, a smaller filter_size or stride, or more pad"
            )
        # MaxPool2d(2, 2) rounds down: an odd conv output (e.g. 25) loses its last row/column.
        PH, PW = OH // 2, OW // 2
        pool_output_size = FN * PH * PW

        super().__init__(OrderedDict([
            ("Conv1", nn.Conv2d(C, FN, FS, stride=stride, padding=pad, dtype=dtype)),
            ("Relu1", nn.ReLU()),
            ("Pool1", nn.MaxPool2d(2, 2)),
            ("Flatten", nn.Flatten()),
            ("Affine1", nn.Linear(pool_output_size, hidden_size, dtype=dtype)),
            ("Relu2", nn.ReLU()),
            ("Affine2", nn.Linear(hidden_size, output_size, dtype=dtype)),
        ]))
        self.input_dim = (C, H, W)
        self.conv_param = conv_param

        # ---- init like the book: std * N(0, 1) weights, zero biases -------------------------
        generator = None
        if seed is not None:
            generator = torch.Generator().manual_seed(int(seed))
        with torch.no_grad():
            for layer in (self.Conv1, self.Affine1, self.Affine2):
                # randn in torch's layout; a normal sample transposed is still a normal sample.
                layer.weight.copy_(weight_init_std * torch.randn(
                    layer.weight.shape, generator=generator, dtype=dtype))
                layer.bias.zero_()
