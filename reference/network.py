"""Network, the methods that SimpleConvNet, LeNet5, AlexNet and DeepConvNet share.

A book-style network is an ordered dict of layers plus a loss layer: ``predict`` runs ``x``
through ``layers`` in order, ``loss`` adds ``last_layer`` (SoftmaxWithLoss), and ``gradient``
runs backward through ``last_layer`` and then ``layers`` in reverse, collecting each parameter
layer's ``dW`` and ``db``. The networks differ only in the layers that their constructors build.
``DropoutNetwork`` adds the book's ``train_flg`` and dropout masks given from outside (AlexNet,
DeepConvNet). ``read_params`` reads the book's trained weights (``params.pkl``,
``deep_convnet_params.pkl``) and ``Network.load_params`` puts them into a net.
"""
from __future__ import annotations

import importlib
import os
import pickle

import numpy as np

from .checks import check_float_array, check_labels
from .layers import Dropout

__all__ = ["Network", "DropoutNetwork", "read_params"]


# ---- the book's weight files ---------------------------------------------------------------

def _numpy_global(module, name):
    """The few globals that a pickled dict of NumPy arrays refers to; numpy 1.x wrote
    ``numpy.core.multiarray``, which numpy 2 calls ``numpy._core.multiarray``."""
    if module == "numpy" and name in ("ndarray", "dtype"):
        return getattr(np, name)
    if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name == "_reconstruct":
        try:
            return importlib.import_module("numpy._core.multiarray")._reconstruct
        except ImportError:                                   # numpy 1.x
            return importlib.import_module("numpy.core.multiarray")._reconstruct
    return None


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles NumPy arrays and plain containers, nothing else: a pickle can run any
    function it names, and a weight file has no reason to name another one."""

    def find_class(self, module, name):
        found = _numpy_global(module, name)
        if found is None:
            raise pickle.UnpicklingError(f"it refers to {module}.{name}, which a file of NumPy "
                                         f"arrays never does")
        return found


def read_params(file_name):
    """The weights of a file written by the book's ``save_params`` (a pickled dict of arrays).

    ``file_name``: e.g. the book's ``ch07/params.pkl`` (SimpleConvNet) or
    ``ch08/deep_convnet_params.pkl`` (DeepConvNet). Returns {"W1": array, "b1": array, ...} as
    stored (the book's files hold float64). Only NumPy arrays are unpickled; a file that names
    anything else is refused with a ValueError, as is a file that is not such a dict.
    """
    try:
        with open(file_name, "rb") as f:
            params = _ArrayUnpickler(f).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"{os.fspath(file_name)} is not a weight file of the book's save_params: "
                         f"{exc}") from None
    if (not isinstance(params, dict) or not params
            or not all(isinstance(k, str) and isinstance(v, np.ndarray) for k, v in params.items())):
        raise ValueError(f"{os.fspath(file_name)} does not hold a dict of named NumPy arrays "
                         f"(the book's save_params writes {{'W1': array, 'b1': array, ...}})")
    return params


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

    def load_params(self, params):
        """Put trained weights into this net (the book's ``load_params``); returns the net.

        ``params``: a dict like ``self.params`` (same names and shapes), or the name of a file
        written by the book's ``save_params`` (read with :func:`read_params`). The values are
        copied into the arrays that ``params`` and the layers share, cast to the net's dtype.
        """
        if isinstance(params, (str, os.PathLike)):
            params = read_params(params)
        missing = sorted(set(self.params) - set(params))
        unknown = sorted(set(params) - set(self.params))
        if missing or unknown:
            raise ValueError(f"the weights must have the names of this net's params; "
                             f"missing {missing}, unknown {unknown}")
        for key, value in params.items():
            value = np.asarray(value)
            if value.shape != self.params[key].shape:
                raise ValueError(f"{key} has shape {value.shape} but this net's {key} is "
                                 f"{self.params[key].shape}; build the net with the sizes the "
                                 f"weights were trained with")
            self.params[key][...] = value
        return self

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


class DropoutNetwork(Network):
    """A ``Network`` with Dropout layers: the book's ``train_flg``, and masks given from outside.

    A subclass's constructor also sets ``dropout_ratio`` (p) and ``dropout_shapes`` (OrderedDict
    Dropout layer name -> the shape of its mask for one sample). As in the book's deep nets,
    ``predict`` defaults to inference (dropout off) and ``loss``/``gradient`` to training. For
    training in lockstep with a framework the masks are drawn outside the net, once per step
    (``dropout_masks(n, rng)``), and passed as ``masks=`` to ``loss``/``gradient`` here and to the
    torch twin's ``loss``/``forward``: both then drop exactly the same units. Without ``masks``,
    each Dropout layer draws its own from its ``rng``.
    """

    def dropout_masks(self, n, rng):
        """Draw one training step's dropout masks for a batch of ``n``: {"Dropout1": bool (n, D1), …}.

        True = kept, drawn like ``reference.layers.Dropout`` (``rng.random(shape) > p``), from the
        given ``numpy.random.Generator``. Give the same dict to this net (``masks=``) and, as
        tensors or arrays, to the torch twin. Empty when the net has no dropout.
        """
        return {name: rng.random((n, *shape)) > self.dropout_ratio
                for name, shape in self.dropout_shapes.items()}

    def predict(self, x, train_flg=False, masks=None):
        """x (N, C, H, W) -> scores (N, output_size), before softmax.

        ``train_flg=False`` (default): inference (dropout is the identity when inverted, × (1 − p)
        in the book's convention). ``train_flg=True``: each Dropout layer uses ``masks[name]`` if
        given, else draws a mask from its ``rng``.
        """
        self._check_x(x)
        if masks is not None:
            if not train_flg:
                raise ValueError("masks are for training mode: pass train_flg=True (or use loss/gradient)")
            missing = sorted(set(self.dropout_shapes) - set(masks))
            if missing:
                raise ValueError(f"masks is missing {missing}; draw them with dropout_masks(n, rng)")
        for name, layer in self.layers.items():
            if isinstance(layer, Dropout):
                x = layer.forward(x, train_flg, mask=None if masks is None else masks[name])
            else:
                x = layer.forward(x)
        return x

    def loss(self, x, t, train_flg=True, masks=None):
        """Mean cross-entropy of the batch (training mode by default, as in the book's deep nets)."""
        return self.last_layer.forward(self.predict(x, train_flg, masks), t)

    def backward_layers(self, x, t, train_flg=True, masks=None):
        """Forward and backward pass; returns dx (N, C, H, W). Leaves dW, db in the layers."""
        self.loss(x, t, train_flg, masks)
        return self._backward()

    def gradient(self, x, t, masks=None, train_flg=True):
        """Backpropagation. Returns a dict like ``params`` holding dloss/dparam.

        Training mode by default; ``masks`` (from ``dropout_masks``) fixes the dropped units.
        """
        self.loss(x, t, train_flg, masks)
        self._backward(input_grad=False)
        return self._layer_gradients()
