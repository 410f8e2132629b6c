"""AlexNet (2012, one tower) and its configurable relatives as an ``nn.Sequential`` of stock layers.

Named children for the paper's network (``AlexNet()``), shapes for N images of 3x227x227::

    Conv1   nn.Conv2d(3, 96, 11, stride=4)       -> (N, 96, 55, 55)
    Relu1   nn.ReLU()
    LRN1    nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2)
    Pool1   nn.MaxPool2d(3, 2)                   -> (N, 96, 27, 27)
    Conv2   nn.Conv2d(96, 256, 5, padding=2)     -> (N, 256, 27, 27)   Relu2, LRN2
    Pool2   nn.MaxPool2d(3, 2)                   -> (N, 256, 13, 13)
    Conv3   nn.Conv2d(256, 384, 3, padding=1)    Relu3
    Conv4   nn.Conv2d(384, 384, 3, padding=1)    Relu4
    Conv5   nn.Conv2d(384, 256, 3, padding=1)    Relu5
    Pool3   nn.MaxPool2d(3, 2)                   -> (N, 256, 6, 6)
    [AvgPool nn.AdaptiveAvgPool2d(6)]            (torchvision's variant only)
    Flatten nn.Flatten()                         -> (N, 9216)
    Affine1 nn.Linear(9216, 4096)   Relu6   Dropout1 (nn.Dropout(0.5))
    Affine2 nn.Linear(4096, 4096)   Relu7   Dropout2
    Affine3 nn.Linear(4096, 1000)                -> (N, 1000) scores

The children have the names of the reference ``AlexNet.layers``. The configurations ``PAPER``,
``TORCHVISION`` and ``MNIST`` are the same keyword dicts as in ``reference.alexnet`` (data
duplicated on purpose, since this package never imports the reference; a test checks they agree).

LRN: the paper's normalisation is ``a / (k + alpha * sum a^2)^beta`` with k=2, alpha=1e-4,
beta=0.75 over 5 channels. ``nn.LocalResponseNorm`` computes ``a / (k + alpha/size * sum a^2)^beta``,
so the twin passes ``alpha = paper alpha * size`` (5e-4). The ``lrn`` argument takes the paper's
constants, like the reference.

Dropout with an external mask
-----------------------------
The Dropout children are stock ``nn.Dropout``: in ``train()`` mode they draw their own masks from
torch's RNG, in ``eval()`` mode they are the identity — normal torch use. ``nn.Dropout`` cannot
take a mask, and its masks never equal a NumPy draw, so for parity runs and for training in
lockstep with the reference, ``forward(x, masks)`` / ``loss(x, t, masks)`` take a dict
``{"Dropout1": mask, ...}`` (bool, True = kept; NumPy arrays or tensors, e.g. from
``reference.AlexNet.dropout_masks(n, rng)``) and, *instead of calling* those Dropout children,
compute :func:`apply_dropout_mask` ``x * (mask / (1 - p))`` with the child's own ``p`` —
inverted dropout, exactly what ``nn.Dropout`` computes for that mask (the reference's Dropout
forms the scaled mask first in the same way). Masks are a training-mode thing: passing them to a
net in ``eval()`` mode is an error. This ``forward`` is :class:`torch_impl.network.DropoutNetMixin`'s,
shared with DeepConvNet.

torchvision
-----------
``TORCHVISION_BOOK_PARAMS`` maps the book names W1..b8 to ``torchvision.models.alexnet``'s
state-dict names (``features.0.weight`` ... ``classifier.6.bias``), so
``export_params(tv_model, mapping=TORCHVISION_BOOK_PARAMS)`` gives a reference ``params`` dict
(Linear weights transposed to the book's (in, out) by ``torch_impl.transfer``).
:meth:`AlexNet.from_torchvision` wraps a torchvision model's own modules (shared parameters)
under the reference's layer names, for the layer-by-layer trace.
"""

from collections import OrderedDict

import torch
from torch import nn

from .dtypes import as_torch_dtype
from .lenet import init_book_style
from .network import (DropoutNetMixin, apply_dropout_mask, check_conv_param, check_int, conv_output_size,
                      numbered_book_params)

__all__ = ["AlexNet", "apply_dropout_mask", "PAPER", "TORCHVISION", "MNIST", "PAPER_LRN",
           "TORCHVISION_BOOK_PARAMS"]


# Max pools follow Conv1, Conv2 and Conv5: conv index -> pool number.
POOL_AFTER_CONV = {1: 1, 2: 2, 5: 3}


def _conv(filter_num, filter_size, pad, stride):
    return {"filter_num": filter_num, "filter_size": filter_size, "pad": pad, "stride": stride}


PAPER_LRN = {"size": 5, "alpha": 1e-4, "beta": 0.75, "k": 2.0}   # the paper's convention

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

# Book name -> torchvision.models.alexnet state_dict name.
TORCHVISION_BOOK_PARAMS = {
    "W1": "features.0.weight", "b1": "features.0.bias",
    "W2": "features.3.weight", "b2": "features.3.bias",
    "W3": "features.6.weight", "b3": "features.6.bias",
    "W4": "features.8.weight", "b4": "features.8.bias",
    "W5": "features.10.weight", "b5": "features.10.bias",
    "W6": "classifier.1.weight", "b6": "classifier.1.bias",
    "W7": "classifier.4.weight", "b7": "classifier.4.bias",
    "W8": "classifier.6.weight", "b8": "classifier.6.bias",
}

# torchvision module path for each reference layer name (ReLUs: see from_torchvision).
_TORCHVISION_LAYERS = OrderedDict([
    ("Conv1", "features.0"), ("Relu1", None), ("Pool1", "features.2"),
    ("Conv2", "features.3"), ("Relu2", None), ("Pool2", "features.5"),
    ("Conv3", "features.6"), ("Relu3", None), ("Conv4", "features.8"), ("Relu4", None),
    ("Conv5", "features.10"), ("Relu5", None), ("Pool3", "features.12"),
    ("AvgPool", "avgpool"), ("Flatten", None),
    ("Dropout1", "classifier.0"), ("Affine1", "classifier.1"), ("Relu6", None),
    ("Dropout2", "classifier.3"), ("Affine2", "classifier.4"), ("Relu7", None),
    ("Affine3", "classifier.6"),
])


class AlexNet(DropoutNetMixin, nn.Sequential):
    """AlexNet twin; same constructor as ``reference.AlexNet`` (``seed`` instead of ``rng``).

    Parameters: input_dim, conv_params (five dicts filter_num/filter_size/pad/stride),
    hidden_sizes (2), output_size, lrn (paper-convention dict or None), pool (size, stride),
    adaptive_pool (None or n: ``nn.AdaptiveAvgPool2d(n)``), dropout_ratio (p or None),
    dropout_position ("after": paper, "before": torchvision), weight_init_std ("he" default,
    "xavier" or a number; biases 0), dtype (default float64), seed (private torch.Generator).

    Attributes: ``book_params`` {"W1": "Conv1.weight", ..., "W6": "Affine1.weight", ..., "b8":
    "Affine3.bias"}, ``dropout_ratio``, ``input_dim``.

    ``forward``, ``predict``, ``loss`` (with ``masks``) and ``accuracy`` (in eval mode: dropout
    off) come from :class:`torch_impl.network.DropoutNetMixin`.
    """

    book_params = numbered_book_params(5, 3)

    def __init__(self, input_dim=PAPER["input_dim"], conv_params=PAPER["conv_params"],
                 hidden_sizes=PAPER["hidden_sizes"], output_size=PAPER["output_size"],
                 lrn=PAPER_LRN, pool=PAPER["pool"], adaptive_pool=None, dropout_ratio=0.5,
                 dropout_position="after", weight_init_std="he", dtype=torch.float64, seed=None):
        if not isinstance(input_dim, (tuple, list)) or len(input_dim) != 3:
            raise ValueError(f"input_dim must be (C, H, W), got {input_dim!r}")
        C, H, W = (check_int(f"input_dim[{i}]", v, 1) for i, v in enumerate(input_dim))
        if len(conv_params) != 5:
            raise ValueError(f"conv_params must hold 5 dicts (Conv1..Conv5), got {len(conv_params)}")
        if len(hidden_sizes) != 2:
            raise ValueError(f"hidden_sizes must be (Affine1 width, Affine2 width), got {hidden_sizes!r}")
        if dropout_position not in ("after", "before"):
            raise ValueError(f'dropout_position must be "after" or "before", got {dropout_position!r}')
        pool_size, pool_stride = (check_int("pool", v, 1) for v in pool)
        dtype = as_torch_dtype(dtype)

        children = OrderedDict()
        c, h, w = C, H, W
        for i, cp in enumerate(conv_params, start=1):
            fn, fs, pad, stride = check_conv_param(cp, f"conv_params[{i - 1}]")
            children[f"Conv{i}"] = nn.Conv2d(c, fn, fs, stride=stride, padding=pad, dtype=dtype)
            children[f"Relu{i}"] = nn.ReLU()
            c, h, w = fn, conv_output_size(h, fs, stride, pad), conv_output_size(w, fs, stride, pad)
            if i <= 2 and lrn is not None:
                children[f"LRN{i}"] = nn.LocalResponseNorm(
                    lrn["size"], alpha=lrn["alpha"] * lrn["size"], beta=lrn["beta"], k=lrn["k"])
            if i in POOL_AFTER_CONV:
                children[f"Pool{POOL_AFTER_CONV[i]}"] = nn.MaxPool2d(pool_size, pool_stride)
                h, w = conv_output_size(h, pool_size, pool_stride), conv_output_size(w, pool_size, pool_stride)
        if adaptive_pool is not None:
            children["AvgPool"] = nn.AdaptiveAvgPool2d(check_int("adaptive_pool", adaptive_pool, 1))
            h = w = adaptive_pool
        children["Flatten"] = nn.Flatten()

        width = c * h * w
        for j, out in enumerate((*hidden_sizes, output_size), start=1):
            if dropout_ratio is not None and dropout_position == "before" and j <= 2:
                children[f"Dropout{j}"] = nn.Dropout(dropout_ratio)
            out = check_int("hidden_sizes/output_size", out, 1)
            children[f"Affine{j}"] = nn.Linear(width, out, dtype=dtype)
            if j <= 2:
                children[f"Relu{j + 5}"] = nn.ReLU()
                if dropout_ratio is not None and dropout_position == "after":
                    children[f"Dropout{j}"] = nn.Dropout(dropout_ratio)
            width = out
        super().__init__(children)
        self.input_dim = (C, H, W)
        self.dropout_ratio = dropout_ratio

        init_book_style([m for m in self if isinstance(m, (nn.Conv2d, nn.Linear))], weight_init_std, seed, dtype)

    @classmethod
    def from_torchvision(cls, model):
        """A twin whose children *are* a ``torchvision.models.alexnet`` model's modules.

        The Conv2d, MaxPool2d, AdaptiveAvgPool2d, Dropout and Linear modules are the model's own
        (shared parameters: gradients land in the model's ``.grad``), under the reference's
        layer names. The ReLUs are fresh ``nn.ReLU()``: torchvision's are ``inplace=True``, which
        would overwrite the conv outputs that the layer trace keeps (same values otherwise).
        torchvision's ``forward`` does ``features -> avgpool -> torch.flatten -> classifier``,
        i.e. these children in this order. ``book_params`` uses the twin's names; for the
        model itself use ``TORCHVISION_BOOK_PARAMS``.
        """
        children = OrderedDict()
        for name, path in _TORCHVISION_LAYERS.items():
            if path is None:
                children[name] = nn.Flatten() if name == "Flatten" else nn.ReLU()
            else:
                children[name] = model.get_submodule(path)
        expected = {"Conv": nn.Conv2d, "Pool": nn.MaxPool2d, "AvgP": nn.AdaptiveAvgPool2d,
                    "Drop": nn.Dropout, "Affi": nn.Linear}
        for name, module in children.items():
            if name[:4] in expected and not isinstance(module, expected[name[:4]]):
                raise TypeError(f"{name}: expected {expected[name[:4]].__name__} at "
                                f"{_TORCHVISION_LAYERS[name]}, got {type(module).__name__}; "
                                "is this a torchvision.models.alexnet model?")
        twin = cls.__new__(cls)
        nn.Sequential.__init__(twin, children)
        twin.input_dim = TORCHVISION["input_dim"]
        twin.dropout_ratio = children["Dropout1"].p
        return twin
