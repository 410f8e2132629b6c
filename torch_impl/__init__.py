"""PyTorch twins of the reference (NumPy) CNN, built from stock ``torch.nn`` modules.

* :mod:`torch_impl.layers`         factories: one stock module per reference layer.
* :mod:`torch_impl.network`        :class:`BookNetMixin`: the book's ``predict``, ``loss``, ``accuracy``
  for the twins; :class:`DropoutNetMixin` and :func:`apply_dropout_mask` (inverted dropout with a
  mask given from outside).
* :mod:`torch_impl.simple_convnet` :class:`SimpleConvNet`, an ``nn.Sequential`` twin of the book's net.
* :mod:`torch_impl.lenet`          :class:`LeNet5` (sigmoid, average pooling, optional C3 table).
* :mod:`torch_impl.alexnet`        :class:`AlexNet` (paper / torchvision / MNIST configurations).
* :mod:`torch_impl.deep_convnet`   :class:`DeepConvNet` (the book's §8.1 network).
* :mod:`torch_impl.transfer`       moving weights between a book ``params`` dict and a module:
  :func:`load_params`, :func:`export_params`, :func:`export_grads`, :func:`share_params`.
* :mod:`torch_impl.dtypes`         :func:`as_torch_dtype` (torch dtype, NumPy dtype or string).

Every twin carries ``book_params`` (book name -> dotted torch parameter path).
This package imports torch, NumPy and the standard library only — never ``reference``.
"""

from . import layers
from .dtypes import as_torch_dtype
from .simple_convnet import SimpleConvNet
from .lenet import LeNet5
from .network import apply_dropout_mask
from .alexnet import AlexNet
from .deep_convnet import DeepConvNet
from .transfer import export_grads, export_params, load_params, share_params

__all__ = [
    "SimpleConvNet",
    "LeNet5",
    "AlexNet",
    "DeepConvNet",
    "apply_dropout_mask",
    "load_params",
    "export_params",
    "export_grads",
    "share_params",
    "as_torch_dtype",
    "layers",
]
