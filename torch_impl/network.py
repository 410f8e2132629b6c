"""The book's ``predict`` / ``loss`` / ``accuracy``, shared by the ``nn.Sequential`` twins.

``class SimpleConvNet(BookNetMixin, nn.Sequential)``: the mixin comes first, so its methods are
found before ``nn.Module``'s; ``forward`` stays ``nn.Sequential``'s (or the twin's own, like
AlexNet's with dropout masks). The softmax-with-loss is not a child: ``loss`` applies
``F.cross_entropy`` to the scores, as the book keeps ``last_layer`` outside ``layers``.
"""

import numbers

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["BookNetMixin", "conv_output_size", "check_int"]


def conv_output_size(size, filter_size, stride=1, pad=0):
    """OH = (H + 2P - FH) // S + 1, rounded down like ``nn.Conv2d`` and ``nn.MaxPool2d``."""
    return (size + 2 * pad - filter_size) // stride + 1


def check_int(name, value, minimum):
    """``value`` as an int >= ``minimum`` (a ``ValueError`` naming ``name`` otherwise), for the
    twins' size arguments. bool is a subclass of int; True/False here would be a bug, not 1/0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


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
