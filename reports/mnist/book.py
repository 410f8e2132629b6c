"""The book's trained networks as known answers: its weight files, read by one loader.

The book ships trained weights: ``ch07/params.pkl`` (SimpleConvNet) and
``ch08/deep_convnet_params.pkl`` (DeepConvNet, §8.1). Both are read by
``reference.network.read_params`` and put into a reference net by ``load_params`` (DeepConvNet:
``load_book_params``, which also moves the book's test-time dropout scale into W8, see
``reference.deep_convnet``); the torch twin gets the same weights from the reference net.

The book's files are outside the project (MIT, see ``../shared/book/SOURCE.md``): :func:`book_dir`
finds them through ``$CNN_PARITY_BOOK_DIR`` or beside the repository, and returns None where
they are absent, so that the tests that need them skip.

The known answer: with the book's DeepConvNet weights, on the 10,000 MNIST test images read as
the book reads them (float32 pixels / 255, computed in float64), the book's own code gets an
accuracy of 0.9797 (``SOURCE.md``). :func:`deep_convnet_answer` computes ours, through the
reference and through the twin.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

import reference as R
import torch_impl
from torch_impl.transfer import load_params

from ..parity.records import Record, compare, reduction_tolerance
from .data import load_mnist

__all__ = ["BOOK_DIR_ENV", "SIMPLE_CONVNET_PARAMS", "DEEP_CONVNET_PARAMS", "book_dir", "book_file",
           "book_test_set", "book_simple_convnet", "book_deep_convnet", "scores", "BookAnswer",
           "deep_convnet_answer"]

#: A folder holding the book's code and weights (``common/``, ``ch07/``, ``ch08/``).
BOOK_DIR_ENV = "CNN_PARITY_BOOK_DIR"
SIMPLE_CONVNET_PARAMS = "ch07/params.pkl"
DEEP_CONVNET_PARAMS = "ch08/deep_convnet_params.pkl"

_BESIDE_REPO = Path(__file__).resolve().parents[2].parent / "shared" / "book"


def book_dir() -> Path | None:
    """``$CNN_PARITY_BOOK_DIR``, else ``../shared/book`` beside the repository, if it holds the
    book's two weight files; None otherwise."""
    value = os.environ.get(BOOK_DIR_ENV, "").strip()
    folder = Path(value).expanduser() if value else _BESIDE_REPO
    if all((folder / name).is_file() for name in (SIMPLE_CONVNET_PARAMS, DEEP_CONVNET_PARAMS)):
        return folder
    return None


def book_file(name: str, folder=None) -> Path:
    """The path of one of the book's files (e.g. :data:`DEEP_CONVNET_PARAMS`); FileNotFoundError
    with the fix when the book's folder is not found."""
    folder = Path(folder) if folder is not None else book_dir()
    if folder is None or not (folder / name).is_file():
        raise FileNotFoundError(f"the book's {name} is not found; set ${BOOK_DIR_ENV} to the folder "
                                f"holding the book's code and weights (ch07/, ch08/)")
    return folder / name


def book_test_set(data_dir=None, n=None):
    """The MNIST test images as the book reads them, for a float64 net: (x, t).

    The book's ``load_mnist`` scales the pixels in float32 (x / 255); its networks then compute
    in float64. So do we: float32 division, then an exact cast to float64. ``data_dir``: the
    four original files (full test set: 10,000 images); None: the embedded sample (2,000).
    ``n``: only the first n images.
    """
    _, (x, t) = load_mnist(data_dir, dtype=np.float32)
    if n is not None:
        x, t = x[:n], t[:n]
    return x.astype(np.float64), t


def book_simple_convnet(folder=None, dtype=np.float64):
    """The reference SimpleConvNet with the book's trained ``ch07/params.pkl``."""
    return R.SimpleConvNet(dtype=dtype).load_params(book_file(SIMPLE_CONVNET_PARAMS, folder))


def book_deep_convnet(folder=None, dtype=np.float64):
    """(reference DeepConvNet, torch twin in eval mode) with the book's trained weights.

    The reference reads ``deep_convnet_params.pkl`` (inverted dropout: W8 · (1 − p), see
    ``reference.deep_convnet``); the twin gets the reference's params, bit for bit.
    """
    ref = R.DeepConvNet(dtype=dtype).load_book_params(book_file(DEEP_CONVNET_PARAMS, folder))
    twin = torch_impl.DeepConvNet(weight_init_std=0.0, dtype=dtype)
    return ref, load_params(twin, ref.params).eval()


def scores(net, x, batch_size=100) -> np.ndarray:
    """Scores (N, classes) of a reference net (inference) or a torch module (as it is set up:
    call ``.eval()`` first), in batches, as a NumPy array (bfloat16 scores as float64)."""
    out = []
    for start in range(0, len(x), batch_size):
        batch = x[start:start + batch_size]
        if isinstance(net, torch.nn.Module):
            with torch.no_grad():
                y = net(torch.as_tensor(batch)).detach().cpu()
            # NumPy has no bfloat16 and no GPU half: those come back as float64 (exact)
            out.append((y if y.dtype in (torch.float32, torch.float64, torch.float16) else y.double()).numpy())
        else:
            out.append(net.predict(batch))
    return np.concatenate(out)


@dataclass(frozen=True, eq=False)
class BookAnswer:
    """The book's DeepConvNet weights run through the reference and the twin on ``n`` images."""

    n: int
    accuracy: float            # the reference's
    twin_accuracy: float
    disagreements: int         # images whose predicted class differs between the two
    record: Record             # the scores, reference vs twin, against their tolerance
    scores: np.ndarray         # the reference's scores (N, 10): 1/(1 − p) = 2 times the book's


def deep_convnet_answer(x, t, folder=None, batch_size=100) -> BookAnswer:
    """Run the book's trained DeepConvNet through the reference and the twin (float64, or the
    dtype of ``x``) and compare: accuracy of each, disagreeing predictions, the scores' record.

    The tolerance is the project's rule for the longest reduction in the net (Affine1's 1,024
    terms, and Conv6's 64·3·3 = 576).
    """
    ref, twin = book_deep_convnet(folder, x.dtype)
    s_ref, s_twin = scores(ref, x, batch_size), scores(twin, x, batch_size)
    tol = reduction_tolerance(x.dtype, max(ref.params["W7"].shape[0], 64 * 9))
    record = compare("DeepConvNet (book's weights)", "scores", s_ref, s_twin, tol, group="known",
                     config={"images": len(x)})
    p_ref, p_twin = s_ref.argmax(axis=1), s_twin.argmax(axis=1)
    return BookAnswer(len(x), float(np.mean(p_ref == t)), float(np.mean(p_twin == t)),
                      int(np.sum(p_ref != p_twin)), record, s_ref)
