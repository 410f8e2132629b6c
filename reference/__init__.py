"""The NumPy reference CNN, in the style of *Deep Learning from Scratch*, chapter 7.

Imports NumPy and the standard library only. Read top-down, as the book: ``util`` (im2col,
col2im), ``layers`` (the book's layers, one class each, in the book's order), ``optimizer``
(the book's update rules, then torch.optim's), ``network`` (what the networks share),
``simple_convnet``, ``lenet``, ``alexnet``, ``deep_convnet`` (the networks), ``gradient`` (numerical checks).

Beside them, each one call away from the book's lines: ``fast`` (the layers' default fast
path), ``extensions`` (PyTorch's options beyond the book), ``more_layers`` (layers the book's
file does not have: average and adaptive pooling, Linear, LRN), ``torch_arithmetic`` (how
torch.optim rounds: an exact fused multiply-add), ``checks`` (the input checks).
"""
from .gradient import gradient_check, numerical_gradient
from .layers import Affine, Convolution, Dropout, Pooling, Relu, Sigmoid, SoftmaxWithLoss
from .more_layers import LRN, AdaptiveAvgPooling, AvgPooling, Linear
from .network import DropoutNetwork, Network, read_params
from .simple_convnet import SimpleConvNet
from .lenet import LeNet5, PartialConvolution
from .alexnet import AlexNet, Flatten
from .deep_convnet import DeepConvNet, book_to_inverted
from .util import col2im, conv_output_size, im2col

__all__ = ["im2col", "col2im", "conv_output_size", "Convolution", "Pooling", "AvgPooling",
           "AdaptiveAvgPooling", "Relu", "Sigmoid", "Affine", "Linear", "SoftmaxWithLoss", "Dropout", "LRN", "Network", "DropoutNetwork", "read_params",
           "SimpleConvNet", "LeNet5", "PartialConvolution", "AlexNet", "Flatten", "DeepConvNet", "book_to_inverted",
           "numerical_gradient", "gradient_check"]
