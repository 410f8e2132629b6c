"""The book's ``predict`` / ``loss`` / ``accuracy``, shared by the ``nn.Sequential`` twins.

``DropoutNetMixin`` adds dropout masks given from outside (AlexNet, DeepConvNet), applied by
:func:`apply_dropout_mask`.

``class SimpleConvNet(BookNetMixin, nn.Sequential)``: the mixin comes first, so its methods are
found before ``nn.Module``'s; ``forward`` stays ``nn.Sequential``'s (or the twin's own, like
AlexNet's with dropout masks). The softmax-with-loss is not a child: ``loss`` applies
``F.cross_entropy`` to the scores, as the book keeps ``last_layer`` outside ``layers``.
"""

import numbers

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["BookNetMixin", "DropoutNetMixin", "apply_dropout_mask", "conv_output_size", "check_int",
           "check_conv_param", "numbered_book_params"]


def conv_output_size(size, filter_size, stride=1, pad=0):
    """OH = (H + 2P - FH) // S + 1, rounded down like ``nn.Conv2d`` and ``nn.MaxPool2d``."""
    return (size + 2 * pad - filter_size) // stride + 1


def check_int(name, value, minimum):
    """``value`` as an int >= ``minimum`` (a ``ValueError`` naming ``name`` otherwise), for the
    twins' size arguments. bool is a subclass of int; True/False here would be a bug, not 1/0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def check_conv_param(cp, name):
    """A dict like the book's ``conv_param`` with exactly filter_num, filter_size, pad, stride
    -> (filter_num, filter_size, pad, stride). ``name``: how the caller calls it."""
    keys = {"filter_num", "filter_size", "pad", "stride"}
    if not isinstance(cp, dict) or set(cp) != keys:
        raise ValueError(f"{name} must be a dict with exactly the keys {sorted(keys)}")
    return (check_int(f"{name}['filter_num']", cp["filter_num"], 1),
            check_int(f"{name}['filter_size']", cp["filter_size"], 1),
            check_int(f"{name}['pad']", cp["pad"], 0),
            check_int(f"{name}['stride']", cp["stride"], 1))


def numbered_book_params(n_conv, n_affine):
    """``book_params`` of a net of ``n_conv`` convolutions then ``n_affine`` affine layers, numbered
    like the book: W1, b1 … -> Conv1.weight, Conv1.bias …, then W<n_conv + 1> -> Affine1.weight …"""
    paths = [f"Conv{i}" for i in range(1, n_conv + 1)] + [f"Affine{j}" for j in range(1, n_affine + 1)]
    return {f"{p}{k}": f"{path}.{'weight' if p == 'W' else 'bias'}"
            for k, path in enumerate(paths, start=1) for p in ("W", "b")}


class BookNetMixin:
    """``predict``, ``loss`` and ``accuracy`` for an ``nn.Sequential`` twin of a book network.

    The module's last ``nn.Linear`` child is the output layer: its ``out_features`` is the
    number of classes (``output_size``). ``predict`` and ``loss`` pass extra keyword arguments
    on to ``forward`` (AlexNet: ``masks``).
    """

    @property
    def output_size(self):
        """Number of classes: ``out_features`` of the last ``nn.Linear`` child."""
        return [m for m in self.children() if isinstance(m, nn.Linear)][-1].out_features

    @staticmethod
    def _as_labels(t, num_classes):
        """Class indices (N,) int64 from indices or one-hot rows (N, classes)."""
        t = torch.as_tensor(t)
        if t.ndim == 2:
            if t.shape[1] != num_classes:
                raise ValueError(f"one-hot t must be (N, {num_classes}), got {tuple(t.shape)}")
            t = t.argmax(dim=1)
        elif t.ndim != 1:
            raise ValueError(f"t must be class indices (N,) or one-hot (N, classes), got {tuple(t.shape)}")
        if t.is_floating_point():
            raise ValueError("t of shape (N,) must hold integer class indices, not floats")
        return t.long()

    def predict(self, x, **forward_kwargs):
        """Scores before softmax: (N, C, H, W) -> (N, output_size). Same as ``self(x)``.

        ``x``: a tensor or a NumPy array (viewed, not copied).
        """
        return self(torch.as_tensor(x), **forward_kwargs)

    def loss(self, x, t, **forward_kwargs):
        """Mean cross-entropy over the batch (a 0-d tensor; call ``.backward()`` on it).

        ``t``: class indices (N,) or one-hot (N, output_size) (converted with argmax).
        """
        scores = self.predict(x, **forward_kwargs)
        return F.cross_entropy(scores, self._as_labels(t, scores.shape[1]))

    def accuracy(self, x, t, batch_size=100):
        """Fraction of the N samples classified correctly (a Python float).

        Works through ``x`` in batches of ``batch_size`` without building a graph, in eval mode
        (dropout off); every submodule's train/eval mode is restored afterwards. Unlike the
        book's version, the last partial batch is counted too (the book skips it but still
        divides by N).
        """
        batch_size = check_int("batch_size", batch_size, 1)
        x = torch.as_tensor(x)
        n = x.shape[0]
        if n == 0:
            raise ValueError("accuracy needs at least one sample")
        labels = self._as_labels(t, self.output_size)
        if labels.shape[0] != n:
            raise ValueError(f"x has {n} samples but t has {labels.shape[0]}")
        modes = [(m, m.training) for m in self.modules()]
        self.eval()
        correct = 0
        try:
            with torch.no_grad():
                for start in range(0, n, batch_size):  # the last batch may be shorter
                    predicted = self(x[start:start + batch_size]).argmax(dim=1)
                    batch_labels = labels[start:start + batch_size].to(predicted.device)
                    correct += int((predicted == batch_labels).sum())
        finally:
            for module, training in modes:
                module.training = training
        return correct / n


def apply_dropout_mask(x, mask, p):
    """Inverted dropout with a given mask: ``x * (mask / (1 - p))``, what ``nn.Dropout(p)`` computes.

    ``mask``: bool (True = kept) with the shape of ``x``, a tensor or a NumPy array. The scaled
    mask (0 or 1/(1-p), in x's dtype) is formed first, then multiplied, as in the reference.
    The gradient is ``dout * mask / (1 - p)``, as for ``nn.Dropout``.
    """
    mask = torch.as_tensor(mask, device=x.device)
    if mask.dtype != torch.bool:
        raise TypeError(f"a dropout mask must be bool (True = kept), got {mask.dtype}")
    if tuple(mask.shape) != tuple(x.shape):
        raise ValueError(f"dropout mask has shape {tuple(mask.shape)} but the activations are "
                         f"{tuple(x.shape)}")
    return x * (mask.to(x.dtype) * (1.0 / (1.0 - p)))


class DropoutNetMixin(BookNetMixin):
    """``BookNetMixin`` for twins with ``nn.Dropout`` children: ``forward(x, masks)``.

    The Dropout children are stock ``nn.Dropout``: in ``train()`` mode they draw their own masks
    from torch's RNG, in ``eval()`` mode they are the identity — normal torch use.
    ``nn.Dropout`` cannot take a mask, and its masks never equal a NumPy draw, so for parity
    runs and for training in lockstep with the reference, ``forward(x, masks)`` / ``loss(x, t,
    masks)`` take a dict ``{"Dropout1": mask, ...}`` (bool, True = kept; NumPy arrays or
    tensors, e.g. from the reference net's ``dropout_masks(n, rng)``) and, *instead of calling*
    those Dropout children, compute :func:`apply_dropout_mask` with the child's own ``p``.
    Masks are a training-mode thing: passing them to a net in ``eval()`` mode is an error.
    """

    def forward(self, x, masks=None):
        """Scores (N, output_size). ``masks``: {"Dropout1": bool, ...} replaces the Dropout
        children by :func:`apply_dropout_mask` (training mode only)."""
        if masks is not None:
            if not self.training:
                raise ValueError("dropout masks are for training mode; call net.train() first "
                                 "(in eval() mode dropout is the identity)")
            dropouts = [name for name, m in self.named_children() if isinstance(m, nn.Dropout)]
            missing = sorted(set(dropouts) - set(masks))
            if missing:
                raise ValueError(f"masks is missing {missing}")
        for name, child in self.named_children():
            if masks is not None and isinstance(child, nn.Dropout):
                x = apply_dropout_mask(x, masks[name], child.p)
            else:
                x = child(x)
        return x

    def predict(self, x, masks=None):
        """Scores before softmax (dropout follows the module's train()/eval() mode, or ``masks``)."""
        return super().predict(x, masks=masks)

    def loss(self, x, t, masks=None):
        """Mean cross-entropy over the batch (a 0-d tensor). ``masks`` as in ``forward``."""
        return super().loss(x, t, masks=masks)
