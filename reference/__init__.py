"""The NumPy reference CNN, in the style of *Deep Learning from Scratch*, chapter 7.

Imports NumPy and the standard library only. Read top-down: ``util`` (im2col, col2im),
``layers`` (one class per layer), ``network`` (what the networks share), ``simple_convnet``,
``lenet``, ``alexnet``, ``deep_convnet`` (the networks), ``gradient`` (numerical checks).
"""
from .gradient import gradient_check, numerical_gradient
from .layers import (LRN, AdaptiveAvgPooling, Affine, AvgPooling, Convolution, Dropout, Linear,
                     Pooling, Relu, Sigmoid, SoftmaxWithLoss)
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
