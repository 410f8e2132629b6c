"""MNIST for the parity experiments: the IDX ``.gz`` files read and checked by this module.

Three sources, one loader (:func:`load_mnist`, the book's interface):

* **the embedded sample** (default, ``data_dir=None``): the first 10,000 training and the
  first 2,000 test images of MNIST, shipped in ``reports/mnist/sample/`` as IDX ``.gz`` files with the
  original four file names (see ``reports/mnist/sample/README.md``). Runs offline on a fresh machine.
* **a folder with the four original files** (``data_dir=DIR``, the CLI's ``--data-dir``):
  ``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz``,
  ``t10k-labels-idx1-ubyte.gz``, byte-identical to the published ones.
* **a torchvision download** (``download=True``, needs a network and torchvision, the optional
  ``[vision]`` extra; the only source that needs torchvision).

Reading the files
-----------------
The sample and a data folder are read here, with numpy and the standard library only, so that
MNIST loads under any torch, with or without torchvision (docs/torch-versions.md). Each of the
four ``.gz`` files is read once and checked completely before any array is returned:

1. all four ``.gz`` files present (one error listing the missing ones);
2. each one a complete gzip stream holding an IDX file with the right magic number
   (2051 images, 2049 labels), 28x28 images, exactly the bytes its header announces and
   labels in 0..9;
3. images and labels of each split equally many;
4. the ``.gz`` md5s (``hashlib``) equal the published ones (:data:`ORIGINAL_MD5`, the list
   torchvision's ``MNIST.resources`` holds, for a data folder; :data:`SAMPLE_MD5` for the
   sample). This comes *last* on purpose: a truncated or swapped file gets the specific message
   from steps 2-3 (which says what to do), and the md5 message is kept for well-formed files
   that are simply not the originals (re-compressed, Fashion-MNIST under the MNIST names, ...).

Then :func:`read_idx` turns each IDX file into its uint8 array: the same arrays, byte for byte,
as torchvision's ``MNIST(root).data`` and ``.targets`` (a test compares them where torchvision
imports). Nothing is written to disk.

A download goes through ``torchvision.datasets.MNIST(root, download=True)`` into
``<cache>/torchvision`` (``cache_dir`` argument, else ``$CNN_PARITY_CACHE``, else
``~/.cache/cnn-parity``); torchvision checks the md5s of what it downloads and, offline, reads
files already in place there.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import struct
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np

__all__ = [
    "MnistDataError",
    "load_mnist",
    "read_mnist",
    "read_idx",
    "describe_source",
    "full_mnist_dir",
    "default_cache_dir",
    "validate_mnist_folder",
    "verify_checksums",
    "file_md5",
    "MNIST_FILES",
    "SPLITS",
    "ORIGINAL_MD5",
    "MIRRORS",
    "SAMPLE_MD5",
    "SAMPLE_DIR",
    "SAMPLE_TRAIN",
    "SAMPLE_TEST",
    "FULL_TRAIN",
    "FULL_TEST",
    "IMAGE_MAGIC",
    "LABEL_MAGIC",
    "MNIST_DIR_ENV",
    "CACHE_ENV",
]

# ---------------------------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------------------------

#: The four original file names and their published md5s (the list torchvision's
#: ``MNIST.resources`` holds; a test checks they agree where torchvision imports).
#: Order: train images, train labels, test images, test labels.
ORIGINAL_MD5: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
MNIST_FILES: tuple[str, ...] = tuple(ORIGINAL_MD5)

#: Where the originals are published (torchvision's ``MNIST.mirrors``, which ``--download`` uses).
MIRRORS: tuple[str, ...] = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")

#: (images file, labels file) of each split, in the order load_mnist returns them.
SPLITS: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

#: IDX magic numbers: 0x0000 08 03 (unsigned bytes, 3 dims) and 0x0000 08 01 (1 dim).
IMAGE_MAGIC = 2051
LABEL_MAGIC = 2049
IMAGE_SHAPE = (28, 28)

FULL_TRAIN, FULL_TEST = 60_000, 10_000

#: The embedded sample (made by scripts/make_mnist_sample.py; see reports/mnist/sample/README.md).
SAMPLE_DIR = Path(__file__).resolve().with_name("sample")
SAMPLE_TRAIN, SAMPLE_TEST = 10_000, 2_000
SAMPLE_MD5: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "cee9bc8e02c1837e7cdb710fa4b6c9c6",
    "train-labels-idx1-ubyte.gz": "36bfec0257dd309a1b103286d8166537",
    "t10k-images-idx3-ubyte.gz": "5e25928bca80b1fc4095aee566dd6c05",
    "t10k-labels-idx1-ubyte.gz": "46083c3de97d9f017cbf8cba3c90bbd3",
}

#: Environment variables: a folder with the four original files (the slow test tier uses
#: it), and where a download goes.
MNIST_DIR_ENV = "CNN_PARITY_MNIST_DIR"
CACHE_ENV = "CNN_PARITY_CACHE"

_WHERE_ORIGINALS = (
    "The original files are published at " + " and ".join(MIRRORS)
    + " (load_mnist(download=True) / --download fetches them, with torchvision)."
)


class MnistDataError(ValueError):
    """MNIST files that are missing or unusable. The message names the file and the fix."""


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------

def load_mnist(data_dir=None, *, download=False, normalize=True, flatten=False,
               one_hot_label=False, dtype=np.float64, cache_dir=None):
    """Load MNIST as NumPy arrays, in the book's style.

    Parameters
    ----------
    data_dir : str or Path, optional
        A folder holding the four original ``.gz`` files (full MNIST). ``None`` (and
        ``download=False``) uses the embedded sample: 10,000 train / 2,000 test images.
    download : bool
        Let torchvision download full MNIST into the cache (needs a network and torchvision).
        Not combinable with ``data_dir``.
    normalize : bool
        Scale pixels from 0..255 to [0, 1] (``x / 255``). ``False`` keeps 0..255, cast to
        ``dtype`` (pass ``dtype=np.uint8`` for the raw bytes).
    flatten : bool
        ``False``: images shaped ``(N, 1, 28, 28)`` (for the CNN); ``True``: ``(N, 784)``.
    one_hot_label : bool
        ``False``: labels int64 shaped ``(N,)``; ``True``: one-hot ``(N, 10)`` of ``dtype``.
    dtype : numpy dtype
        dtype of the images (and of one-hot labels); float64 (default) or float32.
    cache_dir : str or Path, optional
        Where a download goes (``<cache_dir>/torchvision``); default ``$CNN_PARITY_CACHE`` or
        ``~/.cache/cnn-parity``. The sample and a data folder are read in place.

    Returns
    -------
    ((x_train, t_train), (x_test, t_test))

    Raises
    ------
    MnistDataError
        The data folder (or the embedded sample) is missing files or holds unusable ones, or a
        download was asked for where torchvision does not import.
    """
    dtype = np.dtype(dtype)
    if normalize and dtype.kind != "f":
        raise ValueError(f"normalize=True scales pixels to [0, 1] and needs a floating dtype, "
                         f"got {dtype}; pass normalize=False for integer pixels")
    if download and data_dir is not None:
        raise ValueError("give either data_dir (a folder with the four MNIST files) or "
                         "download=True, not both")
    if download:
        splits = _read_with_torchvision(_cache_root(cache_dir) / "torchvision")
    else:
        splits = read_mnist(data_dir)
    return tuple(_to_arrays(images, labels, normalize=normalize, flatten=flatten,
                            one_hot_label=one_hot_label, dtype=dtype)
                 for images, labels in splits)


def read_mnist(data_dir=None, *, verify_md5=True):
    """The raw arrays of ``data_dir`` (``None``: the embedded sample), every check passed.

    Returns ``[(images, labels), (images, labels)]`` for train and test: images uint8
    ``(N, 28, 28)``, labels uint8 ``(N,)``, read-only. Raises :class:`MnistDataError` (see
    :func:`validate_mnist_folder`) before returning anything. ``verify_md5=False`` skips only the
    final comparison with the expected md5s (synthetic IDX files in tests, or a deliberately
    re-compressed copy); every structural check stays.
    """
    if data_dir is None:
        folder, expected, what = SAMPLE_DIR, SAMPLE_MD5, "the embedded MNIST sample"
        _check_present(folder, sample=True)
    else:
        folder, expected, what = Path(data_dir).expanduser(), ORIGINAL_MD5, "an MNIST original"
    contents = validate_mnist_folder(folder, expected if verify_md5 else None, what=what)
    return [(read_idx(contents[images]), read_idx(contents[labels])) for images, labels in SPLITS.values()]


def read_idx(data: bytes) -> np.ndarray:
    """The array of an IDX file of unsigned bytes (``data``: its decompressed bytes).

    IDX: a big-endian uint32 magic (0x0000, type 0x08 = unsigned byte, number of dims), one
    big-endian uint32 per dim, then the values in C order. Returns a read-only uint8 view of
    ``data`` shaped by the dims (no copy). Give it checked files (:func:`validate_mnist_folder`).
    """
    dims, header = _idx_dims(data)
    return np.frombuffer(data, np.uint8, offset=header).reshape(dims)


def describe_source(data_dir=None, *, download=False) -> str:
    """One line saying which MNIST :func:`load_mnist` uses with these arguments (for reports).

    It reads nothing: ``load_mnist`` accepts a data folder only if it holds the originals, so
    the counts follow from the arguments.
    """
    if data_dir is not None:
        return f"full MNIST ({FULL_TRAIN} train / {FULL_TEST} test) from {Path(data_dir)}"
    if download:
        return f"full MNIST ({FULL_TRAIN} train / {FULL_TEST} test), downloaded by torchvision"
    return f"embedded sample ({SAMPLE_TRAIN} train / {SAMPLE_TEST} test)"


def full_mnist_dir() -> Path | None:
    """The folder named by ``$CNN_PARITY_MNIST_DIR`` if it holds the four original file names.

    Returns ``None`` when the variable is unset or the folder lacks a file (only names are
    checked here; :func:`load_mnist` checks the contents). The slow test tier skips on ``None``.
    """
    value = os.environ.get(MNIST_DIR_ENV, "").strip()
    if not value:
        return None
    folder = Path(value).expanduser()
    if all((folder / name).is_file() for name in MNIST_FILES):
        return folder
    return None


def default_cache_dir() -> Path:
    """``$CNN_PARITY_CACHE`` if set, else ``~/.cache/cnn-parity``."""
    value = os.environ.get(CACHE_ENV, "").strip()
    return Path(value).expanduser() if value else Path.home() / ".cache" / "cnn-parity"


def validate_mnist_folder(folder, expected_md5: Mapping[str, str] | None = ORIGINAL_MD5, *,
                          what: str = "an MNIST original") -> dict[str, bytes]:
    """Check a folder of four MNIST ``.gz`` files completely; return their decompressed bytes.

    Checks, in this order (the first failure raises one :class:`MnistDataError`): folder and
    files present; each file a complete gzip stream with a valid IDX header of the right kind
    and exactly the announced size; equal image and label counts per split; and, unless
    ``expected_md5`` is ``None``, the ``.gz`` md5s. ``what`` names what the files claim to be,
    for the md5 message. Each file is read once. Returns ``{".gz name": IDX bytes}``.
    """
    folder = Path(folder)
    _check_present(folder, sample=False)
    raw = {name: (folder / name).read_bytes() for name in MNIST_FILES}
    contents = {name: _decompress(folder / name, raw[name]) for name in MNIST_FILES}
    dims = {name: _check_idx(folder / name, contents[name]) for name in MNIST_FILES}
    for split, (images, labels) in SPLITS.items():
        if dims[images][0] != dims[labels][0]:
            raise MnistDataError(
                f"MNIST {split} files disagree: {folder / images} holds {dims[images][0]} images "
                f"but {folder / labels} holds {dims[labels][0]} labels. The two files must come "
                f"from the same release; copy both again. {_WHERE_ORIGINALS}")
    if expected_md5 is not None:
        _check_md5(folder, {name: _md5(raw[name]) for name in MNIST_FILES}, expected_md5, what)
    return contents


def verify_checksums(folder, expected_md5: Mapping[str, str] = ORIGINAL_MD5, *,
                     what: str = "an MNIST original") -> None:
    """Check that the four ``.gz`` files exist and have the expected md5s (nothing else).

    One :class:`MnistDataError` lists every file that differs, with both md5s.
    """
    folder = Path(folder)
    _check_present(folder, sample=False)
    actual = {name: file_md5(folder / name) for name in MNIST_FILES}
    _check_md5(folder, actual, expected_md5, what)


def file_md5(path) -> str:
    """The md5 of a file's bytes, as hex (what ``md5sum`` prints)."""
    return _md5(Path(path).read_bytes())


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


# ---------------------------------------------------------------------------------------------
# Validation steps
# ---------------------------------------------------------------------------------------------

def _check_present(folder: Path, *, sample: bool) -> None:
    """Raise if the folder or any of the four ``.gz`` files is missing (all named at once)."""
    need = ", ".join(MNIST_FILES)
    if sample:
        fix = ("The embedded sample ships with the package (reports/mnist/sample/); reinstall it, or "
               "regenerate the files with scripts/make_mnist_sample.py.")
    else:
        fix = f"It must contain the four original MNIST files: {need}. {_WHERE_ORIGINALS}"
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise MnistDataError(f"MNIST data folder {folder} {what}. {fix}")
    missing = [name for name in MNIST_FILES if not (folder / name).is_file()]
    if missing:
        # A common mix-up: the files were decompressed by hand. Say so.
        unpacked = [name[:-3] for name in missing if (folder / name[:-3]).is_file()]
        hint = (f" Found uncompressed {', '.join(unpacked)}: this loader needs the original "
                f".gz files (it checks their published md5s)." if unpacked else "")
        raise MnistDataError(
            f"MNIST data folder {folder} lacks {len(missing)} of the 4 files: "
            f"{', '.join(missing)}.{hint} {fix}")


def _decompress(path: Path, raw: bytes) -> bytes:
    """The decompressed bytes of the ``.gz`` file at ``path`` (``raw``: its bytes), or an error
    that names it."""
    fix = "Copy the file again from the original source. " + _WHERE_ORIGINALS
    if not raw:
        raise MnistDataError(f"MNIST file {path} is empty (0 bytes). {fix}")
    if raw[:2] != b"\x1f\x8b":  # the gzip magic bytes
        raise MnistDataError(f"MNIST file {path} is not gzip-compressed (it starts with bytes "
                             f"{raw[:4].hex(' ')}, a .gz file starts with 1f 8b). {fix}")
    try:
        return gzip.decompress(raw)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise MnistDataError(f"MNIST file {path} is truncated or corrupt: its gzip stream does "
                             f"not decompress ({exc}). {fix}") from None


def _idx_dims(data: bytes) -> tuple[tuple[int, ...], int]:
    """The dims an IDX header announces and the header's length in bytes (see :func:`read_idx`)."""
    ndim = data[3]
    header = 4 + 4 * ndim
    return struct.unpack(f">{ndim}I", data[4:header]), header


def _check_idx(path: Path, data: bytes) -> tuple[int, ...]:
    """Check the IDX header and size of one decompressed file; return its dims.

    IDX: a big-endian uint32 magic (0x0000, type 0x08 = unsigned byte, number of dims), one
    big-endian uint32 per dim, then the data. Images: (N, 28, 28); labels: (N,) in 0..9.
    """
    is_images = "-images-" in path.name
    kind, expected_magic = ("image", IMAGE_MAGIC) if is_images else ("label", LABEL_MAGIC)
    other = ("label", LABEL_MAGIC) if is_images else ("image", IMAGE_MAGIC)
    fix = "Copy the file again from the original source. " + _WHERE_ORIGINALS
    if len(data) < 4:
        raise MnistDataError(f"MNIST file {path} is too short for an IDX header "
                             f"({len(data)} bytes decompressed). {fix}")
    magic = int.from_bytes(data[:4], "big")
    if magic != expected_magic:
        swapped = (f" ({other[1]} is the magic of {other[0]} files: are files renamed or "
                   f"swapped?)" if magic == other[1] else "")
        raise MnistDataError(f"MNIST file {path} has IDX magic number {magic}, expected "
                             f"{expected_magic} for an {kind} file{swapped}. {fix}")
    if len(data) < 4 + 4 * (magic & 0xFF):
        raise MnistDataError(f"MNIST file {path} is truncated inside its IDX header. {fix}")
    dims, header = _idx_dims(data)
    if is_images and dims[1:] != IMAGE_SHAPE:
        raise MnistDataError(f"MNIST file {path} holds images of {dims[1]}x{dims[2]} pixels, "
                             f"expected 28x28: this is not MNIST. {fix}")
    announced = int(np.prod(dims))
    if len(data) - header != announced:
        raise MnistDataError(
            f"MNIST file {path} holds {len(data) - header} bytes of {kind} data, but its IDX "
            f"header announces {' x '.join(map(str, dims))} = {announced}: the file is "
            f"truncated or damaged. {fix}")
    if not is_images and announced and int(np.frombuffer(data, np.uint8, offset=header).max()) > 9:
        raise MnistDataError(f"MNIST file {path} holds labels above 9: this is not MNIST. {fix}")
    return dims


def _check_md5(folder: Path, actual: Mapping[str, str], expected: Mapping[str, str],
               what: str) -> None:
    """Raise one error listing every file whose md5 differs from the expected one."""
    wrong = [name for name in MNIST_FILES if actual[name] != expected[name]]
    if not wrong:
        return
    lines = "; ".join(f"{folder / name}: md5 {actual[name]}, expected {expected[name]}"
                      for name in wrong)
    if dict(expected) == SAMPLE_MD5:
        fix = ("The embedded sample is damaged or was regenerated without updating SAMPLE_MD5 "
               "in reports/mnist/data.py; reinstall the package or rerun scripts/make_mnist_sample.py.")
    else:
        fix = ("The files are well-formed IDX but not the original distribution files (for "
               "example re-compressed, or another dataset under the MNIST names). "
               + _WHERE_ORIGINALS)
    raise MnistDataError(f"{len(wrong)} file(s) in {folder} fail the md5 check for {what}: "
                         f"{lines}. {fix}")


# ---------------------------------------------------------------------------------------------
# A torchvision download
# ---------------------------------------------------------------------------------------------

def _cache_root(cache_dir) -> Path:
    return Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()


def _read_with_torchvision(root: Path):
    """``[(images uint8 (N, 28, 28), labels int64 (N,))]`` for train and test, downloaded by
    torchvision into ``root`` (files already there are read, not downloaded again)."""
    from ..parity.net_cases import torchvision_unavailable

    why = torchvision_unavailable()
    if why:
        raise MnistDataError(f"downloading MNIST (download=True, --download) needs torchvision, and {why}; "
                             f"pass data_dir (--data-dir) a folder with the four original .gz files instead, "
                             f"or use the embedded sample (data_dir=None)")
    from torchvision.datasets import MNIST

    splits = []
    for train in (True, False):
        try:
            dataset = MNIST(root=str(root), train=train, download=True)
        except RuntimeError as exc:
            raise MnistDataError(
                f"torchvision could not download MNIST into {root}: {exc}. Without a network, "
                f"pass data_dir (--data-dir) a folder with the four original files, or use the "
                f"embedded sample (data_dir=None).") from exc
        except (AssertionError, ValueError, TypeError) as exc:
            # torchvision's IDX reader asserts: files in its folder changed after the download.
            raise _damaged_download(root, exc) from exc
        images, labels = dataset.data.numpy(), dataset.targets.numpy()
        if len(images) != len(labels):  # torchvision does not check this
            raise _damaged_download(root, f"{len(images)} images but {len(labels)} labels")
        splits.append((images, labels))
    return splits


def _damaged_download(root: Path, why) -> MnistDataError:
    return MnistDataError(f"torchvision could not read the MNIST files in {root / 'MNIST' / 'raw'} "
                          f"({why or 'no message'}). That folder is damaged: delete {root} and run again.")


def _to_arrays(images, labels, *, normalize, flatten, one_hot_label, dtype):
    """The book's conversion: scale, reshape, optional one-hot."""
    n = len(images)
    x = images.astype(dtype)
    if normalize:
        x /= dtype.type(255)  # in place, in `dtype` arithmetic: float32 stays float32
    x = x.reshape(n, -1) if flatten else x.reshape(n, 1, *IMAGE_SHAPE)
    t = labels.astype(np.int64)
    if one_hot_label:
        t = np.eye(10, dtype=dtype)[t]
    return x, t
