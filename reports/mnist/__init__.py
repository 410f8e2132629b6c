"""MNIST and lockstep training of the two frameworks.

``data``      :func:`load_mnist` (the book's interface): the embedded sample in ``sample/``
              (10,000 + 2,000 images, offline) and ``--data-dir`` folders, read by its own IDX
              reader (no torchvision needed); downloads through torchvision
``training``  :func:`train_lockstep` -> ``TrainingResult`` (the twin under a configuration, through
              ``reports.parity.configs.configured``), ``training_records``, the CSV writers

Uses ``reports.files`` and ``reports.parity`` (records, configurations); the ``cnn-parity train``
command is ``reports.commands.train``. The names below are what lockstep
training accepts; they live here, without torch, so that the command line can offer them and
reject anything else before torch is imported (``training.NETS`` maps each name to its builder).
"""
from reference.optimizer import TORCH_EQUIVALENT

__all__ = ["data", "training", "NET_NAMES", "LOCKSTEP_OPTIMIZERS"]

#: The networks train_lockstep can train (``training.NETS`` holds their builders).
NET_NAMES = ("simple", "lenet5", "alexnet-mnist")

#: Optimizers with an exact torch.optim counterpart (the book's variants have none).
LOCKSTEP_OPTIMIZERS = tuple(k for k, v in TORCH_EQUIVALENT.items() if v["relation"] == "identical")
