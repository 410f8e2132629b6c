"""The book's DeepConvNet (§8.1) as an ``nn.Sequential`` of stock torch layers.

Named children, in order, with the shapes for the defaults (N images of 1x28x28)::

    Conv1    nn.Conv2d(1, 16, 3, padding=1)    -> (N, 16, 28, 28)   Relu1
    Conv2    nn.Conv2d(16, 16, 3, padding=1)   -> (N, 16, 28, 28)   Relu2
    Pool1    nn.MaxPool2d(2, 2)                -> (N, 16, 14, 14)
    Conv3    nn.Conv2d(16, 32, 3, padding=1)   -> (N, 32, 14, 14)   Relu3
    Conv4    nn.Conv2d(32, 32, 3, padding=2)   -> (N, 32, 16, 16)   Relu4
    Pool2    nn.MaxPool2d(2, 2)                -> (N, 32, 8, 8)
    Conv5    nn.Conv2d(32, 64, 3, padding=1)   -> (N, 64, 8, 8)     Relu5
    Conv6    nn.Conv2d(64, 64, 3, padding=1)   -> (N, 64, 8, 8)     Relu6
    Pool3    nn.MaxPool2d(2, 2)                -> (N, 64, 4, 4)
    Flatten  nn.Flatten()                      -> (N, 1024)   (shape only; the book's Affine flattens)
    Affine1  nn.Linear(1024, 50)    Relu7    Dropout1 (nn.Dropout(0.5))
    Affine2  nn.Linear(50, 10)      Dropout2                    -> (N, 10) scores

The children have the names of the reference ``DeepConvNet.layers`` (plus ``Flatten``), and
``CONV_PARAMS`` is the same data as in ``reference.deep_convnet`` (duplicated on purpose: this
package never imports the reference; a test checks they agree).

Dropout is ``nn.Dropout``, inverted: the identity in ``eval()`` mode. The book's trained weights
(``deep_convnet_params.pkl``) were trained with the book's dropout, which scales at test time
instead; they reach this twin through the reference (``reference.DeepConvNet.load_book_params``,
which folds that scale into W8, see ``reference.deep_convnet``) and ``torch_impl.load_params``.
Masks given from outside: ``forward(x, masks)``, as for AlexNet (:class:`DropoutNetMixin`).
"""

from collections import OrderedDict

import torch
from torch import nn

from .dtypes import as_torch_dtype
from .lenet import init_book_style
from .network import DropoutNetMixin, check_int, check_conv_param, conv_output_size, numbered_book_params

__all__ = ["DeepConvNet", "CONV_PARAMS"]


def _conv(filter_num, pad):
    return {"filter_num": filter_num, "filter_size": 3, "pad": pad, "stride": 1}


# The book's conv_param_1 … conv_param_6 (3×3 filters; Conv4's pad 2 is the book's).
CONV_PARAMS = (_conv(16, 1), _conv(16, 1), _conv(32, 1), _conv(32, 2), _conv(64, 1), _conv(64, 1))

# A max pool (2×2, stride 2) follows these convolutions: conv index -> pool number.
POOL_AFTER_CONV = {2: 1, 4: 2, 6: 3}


class DeepConvNet(DropoutNetMixin, nn.Sequential):
    """DeepConvNet twin; same constructor as ``reference.DeepConvNet`` (``seed`` instead of ``rng``,
    no ``inverted_dropout``: ``nn.Dropout`` is inverted).

    Parameters: input_dim, conv_param_1 … conv_param_6 (dicts filter_num/filter_size/pad/stride),
    hidden_size, output_size, dropout_ratio, weight_init_std ("he" default, "xavier" or a number;
    biases 0), dtype (default float64), seed (private torch.Generator for the init).

    Attributes: ``book_params`` {"W1": "Conv1.weight", ..., "W7": "Affine1.weight", ..., "b8":
    "Affine2.bias"}, ``dropout_ratio``, ``input_dim``.

    ``forward``, ``predict``, ``loss`` (with ``masks``) and ``accuracy`` (in eval mode: dropout
    off) come from :class:`torch_impl.network.DropoutNetMixin`.
    """

    book_params = numbered_book_params(6, 2)

    def __init__(self, input_dim=(1, 28, 28),
                 conv_param_1=CONV_PARAMS[0], conv_param_2=CONV_PARAMS[1],
                 conv_param_3=CONV_PARAMS[2], conv_param_4=CONV_PARAMS[3],
                 conv_param_5=CONV_PARAMS[4], conv_param_6=CONV_PARAMS[5],
                 hidden_size=50, output_size=10, dropout_ratio=0.5, weight_init_std="he",
                 dtype=torch.float64, seed=None):
        if not isinstance(input_dim, (tuple, list)) or len(input_dim) != 3:
            raise ValueError(f"input_dim must be (C, H, W), got {input_dim!r}")
        C, H, W = (check_int(f"input_dim[{i}]", v, 1) for i, v in enumerate(input_dim))
        hidden_size = check_int("hidden_size", hidden_size, 1)
        output_size = check_int("output_size", output_size, 1)
        if not 0 <= dropout_ratio < 1:
            raise ValueError(f"dropout_ratio must be in [0, 1), got {dropout_ratio!r}")
        dtype = as_torch_dtype(dtype)

        children = OrderedDict()
        c, h, w = C, H, W
        conv_params = (conv_param_1, conv_param_2, conv_param_3, conv_param_4, conv_param_5, conv_param_6)
        for i, cp in enumerate(conv_params, start=1):
            fn, fs, pad, stride = check_conv_param(cp, f"conv_param_{i}")
            children[f"Conv{i}"] = nn.Conv2d(c, fn, fs, stride=stride, padding=pad, dtype=dtype)
            children[f"Relu{i}"] = nn.ReLU()
            c, h, w = fn, conv_output_size(h, fs, stride, pad), conv_output_size(w, fs, stride, pad)
            if i in POOL_AFTER_CONV:
                if min(h, w) < 2:
                    raise ValueError(f"the map after Conv{i} is {h}x{w}, smaller than the 2x2 pool; "
                                     "use a larger input_dim")
                children[f"Pool{POOL_AFTER_CONV[i]}"] = nn.MaxPool2d(2, 2)
                h, w = h // 2, w // 2
        children["Flatten"] = nn.Flatten()
        children["Affine1"] = nn.Linear(c * h * w, hidden_size, dtype=dtype)
        children["Relu7"] = nn.ReLU()
        children["Dropout1"] = nn.Dropout(dropout_ratio)
        children["Affine2"] = nn.Linear(hidden_size, output_size, dtype=dtype)
        children["Dropout2"] = nn.Dropout(dropout_ratio)
        super().__init__(children)
        self.input_dim = (C, H, W)
        self.dropout_ratio = dropout_ratio

        init_book_style([m for m in self if isinstance(m, (nn.Conv2d, nn.Linear))], weight_init_std, seed, dtype)
