"""Network, the methods that SimpleConvNet, LeNet5 and AlexNet share.

A book-style network is an ordered dict of layers plus a loss layer: ``predict`` runs ``x``
through ``layers`` in order, ``loss`` adds ``last_layer`` (SoftmaxWithLoss), and ``gradient``
runs backward through ``last_layer`` and then ``layers`` in reverse, collecting each parameter
layer's ``dW`` and ``db``. The networks differ only in the layers that their constructors build.
"""
from __future__ import annotations

import numpy as np

from .checks import check_float_array, check_labels

__all__ = ["Network"]


class Network:
    """A book-style network: an ordered dict of layers plus a loss layer.

    A subclass's constructor sets
    ``params``      {"W1": array, "b1": array, ...}, the arrays the layers hold
    ``layers``      OrderedDict name -> layer (``forward(x)`` / ``backward(dout)``), in order
    ``last_layer``  SoftmaxWithLoss, kept outside ``layers`` as in the book
    ``input_dim``   (C, H, W) of one sample; ``dtype``: the dtype of ``params``
    and the class sets ``PARAM_LAYERS``: {"W1": ("Conv1", "W"), ...}, which layer holds which
    parameter (used by ``gradient`` and by the weight transfer). The last "W" in it belongs to
    the output Affine layer: its W (hidden, output_size) gives the number of classes.

    predict  x (N, C, H, W) -> scores (N, output_size)
    loss     x, t -> mean cross-entropy (a float)
    gradient x, t -> {"W1": dW1, "b1": db1, ...}, shaped like ``params``
    """

    PARAM_LAYERS: dict = {}

    @property
    def output_size(self):
        """Number of classes: the width of the output Affine layer's W (in, out)."""
        last_W = [name for name, (_, attr) in self.PARAM_LAYERS.items() if attr == "W"][-1]
        return self.params[last_W].shape[1]

    def _check_x(self, x):
        check_float_array(x, "x", ndim=4)
        if x.shape[1:] != self.input_dim:
            raise ValueError(f"x has shape {x.shape} but the net was built for input_dim "
                             f"{self.input_dim}; expected (N, {', '.join(map(str, self.input_dim))})")
        if x.dtype != self.dtype:
            raise TypeError(f"x is {x.dtype} but the net is {self.dtype}; use x.astype(np.{self.dtype})")

    def predict(self, x):
        """x (N, C, H, W) -> scores (N, output_size), before softmax."""
        self._check_x(x)
        for layer in self.layers.values():
            x = layer.forward(x)
        return x

    def loss(self, x, t):
        """Mean cross-entropy of the batch; t: labels (N,) or one-hot (N, output_size)."""
        return self.last_layer.forward(self.predict(x), t)

    def accuracy(self, x, t, batch_size=100):
        """Fraction of correct predictions over all N samples (the last partial batch counts).

        Uses ``predict(x)`` with its defaults: inference mode (dropout off) for nets that have it.
        """
        self._check_x(x)
        n = x.shape[0]
        labels = check_labels(t, n, self.output_size)
        correct = 0
        for i in range(0, n, batch_size):
            y = self.predict(x[i:i + batch_size])
            correct += int(np.sum(np.argmax(y, axis=1) == labels[i:i + batch_size]))
        return correct / n

    def backward_layers(self, x, t):
        """Forward and backward pass; returns dx (N, C, H, W). Leaves dW, db in the layers."""
        self.loss(x, t)
        return self._backward()

    def gradient(self, x, t):
        """Backpropagation. Returns a dict like ``params`` holding dloss/dparam."""
        self.loss(x, t)
        self._backward(input_grad=False)
        return self._layer_gradients()

    # ---- the two halves of backpropagation, after a forward pass through loss() ---------------

    def _backward(self, input_grad=True):
        """Backward from the loss (dout = 1) through last_layer, then the layers in reverse.

        Returns dx (N, C, H, W); each parameter layer keeps its dW, db. With
        ``input_grad=False`` (what ``gradient`` uses) the first layer computes only its dW and
        db, if it can (``backward_params``), and None is returned: nothing needs the images'
        gradient, and for the first convolution it costs about as much as dW itself. PyTorch
        skips it the same way, because the input tensor does not require grad.
        """
        dout = self.last_layer.backward(1)
        first, *rest = self.layers.values()
        for layer in reversed(rest):
            dout = layer.backward(dout)
        if not input_grad and hasattr(first, "backward_params"):
            first.backward_params(dout)
            return None
        return first.backward(dout)

    def _layer_gradients(self):
        """The dW, db that the last backward pass left in the layers, keyed like ``params``."""
        return {key: getattr(self.layers[layer], "d" + attr)
                for key, (layer, attr) in self.PARAM_LAYERS.items()}
