"""The torch twin of a lockstep training run under a configuration (``cnn-parity train --config``).

:class:`ConfiguredTwin` wraps the twin the way ``reports.parity.matrix`` runs a case: on the
configuration's device, in its memory format, its loss through ``torch.compile`` when the
configuration compiles, its forward pass under autocast, and every torch step of the run inside
:meth:`ConfiguredTwin.active` (the configuration's flags, restored after each step). With no
configuration it is eager on the CPU, exactly the calls of a plain lockstep run.
"""
from __future__ import annotations

import numpy as np
import torch

from ..parity import configs as C

__all__ = ["ConfiguredTwin"]


class ConfiguredTwin:
    """``loss(xb, tb, masks)`` and ``accuracy(x, t, batch_size)`` of a twin under ``config``."""

    def __init__(self, twin, config: C.Configuration | None = None):
        self.config = config or C.by_name("eager")
        cfg = self.config
        reason = C.unavailable(cfg)
        if reason:
            raise ValueError(f"configuration {cfg.name} cannot run here: {reason}")
        self.twin = C.to_memory_format(cfg, twin.to(cfg.device))
        self._loss = C.compiled(cfg, self.twin.loss)

    def active(self):
        """The configuration's flags (and patch), set for one step and restored after it."""
        return C.applied(self.config)

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return C.to_memory_format(self.config, torch.from_numpy(array).to(self.config.device))

    def loss(self, xb: np.ndarray, tb: np.ndarray, masks: dict | None = None) -> torch.Tensor:
        """The mean cross-entropy of a batch (a 0-d tensor to call ``backward`` on)."""
        extra = {}
        if masks is not None:
            extra["masks"] = {k: torch.from_numpy(m).to(self.config.device) for k, m in masks.items()}
        with C.autocast(self.config):
            return self._loss(self._tensor(xb), torch.from_numpy(tb).to(self.config.device), **extra)

    def accuracy(self, x: np.ndarray, t: np.ndarray, batch_size: int) -> float:
        """``twin.accuracy`` (eager, eval mode) under the configuration's flags and autocast."""
        with self.active(), C.autocast(self.config):
            return self.twin.accuracy(self._tensor(x), torch.from_numpy(t), batch_size=batch_size)
