"""MNIST and lockstep training of the two frameworks.

``data``      :func:`load_mnist` (the book's interface) over torchvision: the embedded sample in
              ``sample/`` (10,000 + 2,000 images, offline), ``--data-dir`` folders, downloads
``training``  :func:`train_lockstep` -> ``TrainingResult``, ``training_records``, the CSV writers
              and the ``cnn-parity train`` subcommand

Uses ``reports.files`` and ``reports.parity`` (records).
"""

__all__ = ["data", "training"]
