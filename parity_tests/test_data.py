"""Tests of the MNIST data layer (reports.mnist.data) and of scripts/make_mnist_sample.py.

Offline throughout. Tests that need the four original MNIST files use
``$CNN_PARITY_MNIST_DIR`` or ``../shared/datasets/mnist`` next to the repository, and skip
with a reason where neither holds them. Error cases use small synthetic IDX files. The loader
reads the files itself; the tests that compare it with torchvision's reader skip (one line)
where torchvision does not import (test_no_torchvision.py runs the rest as if it were missing).
"""
from __future__ import annotations

import gzip
import importlib.util
import re
import struct
from pathlib import Path

import numpy as np
import pytest

from reports.mnist import data
from reports.mnist.data import MnistDataError, file_md5, load_mnist
REPO = Path(__file__).resolve().parents[1]

# Known answers from ../shared/datasets/mnist/SOURCE.md.
FIRST_TRAIN_LABELS = [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
FIRST_TEST_LABELS = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
FULL_TRAIN_PER_DIGIT = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
FULL_TEST_PER_DIGIT = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def originals_dir() -> Path | None:
    """A folder with the four originals: $CNN_PARITY_MNIST_DIR, else ../shared/datasets/mnist."""
    folder = data.full_mnist_dir()
    if folder is None:
        shared = REPO.parent / "shared" / "datasets" / "mnist"
        if all((shared / name).is_file() for name in data.MNIST_FILES):
            folder = shared
    return folder


needs_originals = pytest.mark.skipif(
    originals_dir() is None,
    reason="the original MNIST files are not here (set CNN_PARITY_MNIST_DIR to a folder with them)")


def read_idx_prefix(path: Path, count: int, item_size: int, header: int) -> np.ndarray:
    """The first ``count`` items of an IDX .gz file (decompresses only that prefix)."""
    with gzip.open(path, "rb") as f:
        raw = f.read(header + count * item_size)
    return np.frombuffer(raw, np.uint8, offset=header)


# --- synthetic IDX files ----------------------------------------------------------------------

def idx_bytes(magic: int, dims, payload: bytes) -> bytes:
    return struct.pack(f">I{len(dims)}I", magic, *dims) + payload


def write_gz(path: Path, raw: bytes) -> None:
    path.write_bytes(gzip.compress(raw, mtime=0))


def make_synthetic(folder: Path, n_train=3, n_test=2, seed=0):
    """Write four valid, small MNIST-format .gz files; return {split: (images, labels)}."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        images[0, 0, 0], images[0, 0, 1] = 0, 255  # both ends of the pixel range
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        images_name, labels_name = data.SPLITS[split]
        write_gz(folder / images_name, idx_bytes(2051, (n, 28, 28), images.tobytes()))
        write_gz(folder / labels_name, idx_bytes(2049, (n,), labels.tobytes()))
        arrays[split] = (images, labels)
    return arrays


@pytest.fixture
def synthetic(tmp_path):
    folder = tmp_path / "mnist"
    make_synthetic(folder)
    return folder


@pytest.fixture(scope="module")
def sample():
    """The embedded sample, float64 (loaded once for the module)."""
    return load_mnist()


def torchvision_reads(gz_folder: Path, root: Path):
    """What torchvision's ``MNIST(root)`` (the loader's reader until torch 2.13 support) gives
    for the four ``.gz`` files of ``gz_folder``: [(data, targets)] for train and test, as
    NumPy arrays. The files are decompressed into ``root/MNIST/raw``, where torchvision reads them."""
    from torchvision.datasets import MNIST

    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in data.MNIST_FILES:
        (raw / name[:-3]).write_bytes(gzip.decompress((gz_folder / name).read_bytes()))
    return [(ds.data.numpy(), ds.targets.numpy()) for ds in (MNIST(root, train=True), MNIST(root, train=False))]


# --- the embedded sample ----------------------------------------------------------------------

def test_sample_loads_offline(sample):
    (x_train, t_train), (x_test, t_test) = sample
    assert x_train.shape == (10_000, 1, 28, 28) and x_test.shape == (2_000, 1, 28, 28)
    assert x_train.dtype == x_test.dtype == np.float64
    assert t_train.shape == (10_000,) and t_test.shape == (2_000,)
    assert t_train.dtype == t_test.dtype == np.int64
    for x in (x_train, x_test):
        assert x.min() == 0.0 and x.max() == 1.0
    for t in (t_train, t_test):
        assert set(np.unique(t)) == set(range(10))
    assert t_train[0] == 5  # the first training label of MNIST
    assert t_train[:10].tolist() == FIRST_TRAIN_LABELS
    assert t_test[:10].tolist() == FIRST_TEST_LABELS


def test_sample_float32_and_raw_pixels(sample):
    (x64, _), _ = sample
    (x32, t32), _ = load_mnist(dtype=np.float32)
    (raw, _), _ = load_mnist(normalize=False, dtype=np.uint8)
    assert x32.dtype == np.float32 and t32.dtype == np.int64
    assert raw.dtype == np.uint8 and raw.max() == 255
    # (np.array_equal, not np.testing's asserts: on 7.8 M values they take seconds)
    assert np.array_equal(x64, raw / 255.0)                        # the book's scaling, exactly
    # float32 is the exact quotient rounded once: rounding float64's quotient again gives the same
    # (53 ≥ 2·24 + 2 bits: double rounding of a division is harmless)
    assert np.array_equal(x32, x64.astype(np.float32))


def test_normalize_needs_float_dtype():
    with pytest.raises(ValueError, match="floating dtype"):
        load_mnist(dtype=np.uint8)


@needs_originals
def test_sample_is_the_start_of_mnist():
    (raw_train, t_train), (raw_test, t_test) = load_mnist(normalize=False, dtype=np.uint8)
    src = originals_dir()
    expect = {
        "train-images-idx3-ubyte.gz": (raw_train, 784, 16),
        "train-labels-idx1-ubyte.gz": (t_train, 1, 8),
        "t10k-images-idx3-ubyte.gz": (raw_test, 784, 16),
        "t10k-labels-idx1-ubyte.gz": (t_test, 1, 8),
    }
    for name, (array, item_size, header) in expect.items():
        original = read_idx_prefix(src / name, len(array), item_size, header)
        np.testing.assert_array_equal(array.reshape(-1), original, err_msg=name)


def test_flatten_and_one_hot(sample):
    (x, t), (x_test, t_test) = load_mnist(flatten=True, one_hot_label=True)
    (x_ref, t_ref), _ = sample
    assert x.shape == (10_000, 784) and x_test.shape == (2_000, 784)
    assert np.array_equal(x, x_ref.reshape(10_000, 784))     # (np.testing's assert: seconds on 7.8 M values)
    assert t.shape == (10_000, 10) and t_test.shape == (2_000, 10) and t.dtype == np.float64
    assert (t.sum(axis=1) == 1.0).all() and np.array_equal(t.argmax(axis=1), t_ref)
    (_, t32), _ = load_mnist(one_hot_label=True, dtype=np.float32)
    assert t32.dtype == np.float32


def test_sample_md5_constants_match_files():
    readme = (data.SAMPLE_DIR / "README.md").read_text(encoding="utf-8")
    for name in data.MNIST_FILES:
        actual = file_md5(data.SAMPLE_DIR / name)
        assert actual == data.SAMPLE_MD5[name], f"update SAMPLE_MD5[{name!r}] to {actual}"
        assert actual in readme, f"README.md does not list the md5 of {name}"
    assert "CC BY-SA 3.0" in readme and "Yann LeCun and Corinna Cortes" in readme


def test_describe_source(tmp_path):
    assert data.describe_source() == "embedded sample (10000 train / 2000 test)"
    full = f"full MNIST (60000 train / 10000 test) from {tmp_path}"
    assert data.describe_source(tmp_path) == full
    assert "downloaded" in data.describe_source(download=True)


# --- the reader ------------------------------------------------------------------------------

def test_reader_gives_the_arrays_written(synthetic, tmp_path, monkeypatch):
    """read_mnist returns exactly the arrays in the files (uint8, read-only) and writes nothing:
    not in the cache (which only a download uses), not beside the files."""
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "cache"))
    before = sorted(p.name for p in synthetic.iterdir())
    arrays = make_synthetic(tmp_path / "same")                     # the same seed: the same arrays
    for (images, labels), split in zip(data.read_mnist(synthetic, verify_md5=False), ("train", "test")):
        assert images.dtype == labels.dtype == np.uint8 and not images.flags.writeable
        assert np.array_equal(images, arrays[split][0]) and np.array_equal(labels, arrays[split][1])
    assert sorted(p.name for p in synthetic.iterdir()) == before
    assert not (tmp_path / "cache").exists()


def test_read_idx_reads_any_shape():
    """An IDX file of unsigned bytes with 1, 2 or 3 dims: the dims from the header, C order."""
    values = np.arange(24, dtype=np.uint8)
    for dims in ((24,), (4, 6), (2, 3, 4)):
        array = data.read_idx(idx_bytes(0x0800 + len(dims), dims, values.tobytes()))
        assert array.shape == dims and np.array_equal(array.ravel(), values)


@pytest.mark.torchvision
def test_sample_is_what_torchvision_reads(sample, tmp_path):
    """The loader's own reader gives the sample bit for bit as torchvision's MNIST does: the
    uint8 images, the int64 labels, and (the same conversion after it) the float64 pixels."""
    mine = [load_mnist(normalize=False, dtype=np.uint8), sample]
    for i, (tv_images, tv_labels) in enumerate(torchvision_reads(data.SAMPLE_DIR, tmp_path)):
        raw, t = mine[0][i]
        assert raw.dtype == tv_images.dtype == np.uint8 and t.dtype == tv_labels.dtype == np.int64
        assert np.array_equal(raw[:, 0], tv_images) and np.array_equal(t, tv_labels)
        x64 = mine[1][i][0]
        assert x64.tobytes() == (tv_images.astype(np.float64) / 255.0)[:, None].tobytes()


@pytest.mark.torchvision
def test_synthetic_files_are_what_torchvision_reads(synthetic, tmp_path):
    for (images, labels), (tv_images, tv_labels) in zip(data.read_mnist(synthetic, verify_md5=False),
                                                        torchvision_reads(synthetic, tmp_path)):
        assert images.tobytes() == tv_images.tobytes() and images.shape == tv_images.shape
        assert np.array_equal(labels.astype(np.int64), tv_labels)


@pytest.mark.torchvision
def test_published_md5s_and_mirrors_are_torchvisions():
    from torchvision.datasets import MNIST

    assert data.ORIGINAL_MD5 == dict(MNIST.resources) and list(data.MIRRORS) == list(MNIST.mirrors)


def test_cache_env_var(monkeypatch, tmp_path):
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "envcache"))
    assert data.default_cache_dir() == tmp_path / "envcache"
    monkeypatch.delenv(data.CACHE_ENV)
    assert data.default_cache_dir() == Path.home() / ".cache" / "cnn-parity"


def test_full_mnist_dir(monkeypatch, synthetic):
    monkeypatch.delenv(data.MNIST_DIR_ENV, raising=False)
    assert data.full_mnist_dir() is None
    monkeypatch.setenv(data.MNIST_DIR_ENV, str(synthetic))
    assert data.full_mnist_dir() == synthetic
    (synthetic / "t10k-labels-idx1-ubyte.gz").unlink()
    assert data.full_mnist_dir() is None


@pytest.mark.torchvision
def test_download_reads_files_already_in_place(tmp_path):
    """download=True hands the cache to torchvision, which downloads nothing when files exist."""
    arrays = make_synthetic(tmp_path / "gz")
    raw = tmp_path / "cache" / "torchvision" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in data.MNIST_FILES:
        (raw / name[:-3]).write_bytes(gzip.decompress((tmp_path / "gz" / name).read_bytes()))
    (x, t), _ = load_mnist(download=True, cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(x[:, 0], arrays["train"][0] / 255.0)
    np.testing.assert_array_equal(t, arrays["train"][1])
    with pytest.raises(ValueError, match="not both"):
        load_mnist(tmp_path / "gz", download=True)


# --- errors: one clear message each -------------------------------------------------------------

def test_error_missing_folder(tmp_path):
    with pytest.raises(MnistDataError, match=r"nowhere does not exist\. It must contain the four "
                                             r"original MNIST files: train-images-idx3-ubyte\.gz"):
        load_mnist(tmp_path / "nowhere")


def test_error_missing_files(synthetic):
    (synthetic / "train-labels-idx1-ubyte.gz").unlink()
    (synthetic / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(MnistDataError, match=r"lacks 2 of the 4 files: train-labels-idx1-ubyte"
                                             r"\.gz, t10k-images-idx3-ubyte\.gz\. It must contain"):
        load_mnist(synthetic)


def test_error_missing_files_found_uncompressed(synthetic):
    gz = synthetic / "train-images-idx3-ubyte.gz"
    (synthetic / "train-images-idx3-ubyte").write_bytes(gzip.decompress(gz.read_bytes()))
    gz.unlink()
    with pytest.raises(MnistDataError, match=r"Found uncompressed train-images-idx3-ubyte: this "
                                             r"loader needs the original \.gz files"):
        load_mnist(synthetic)


def test_error_truncated_gzip(synthetic):
    path = synthetic / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(MnistDataError, match=rf"{re.escape(str(path))} is truncated or corrupt.*"
                                             r"Copy the file again"):
        load_mnist(synthetic)


def test_error_corrupt_gzip(synthetic):
    path = synthetic / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(path.read_bytes())
    raw[-6] ^= 0xFF  # inside the CRC32 trailer
    path.write_bytes(bytes(raw))
    with pytest.raises(MnistDataError, match=r"t10k-labels-idx1-ubyte\.gz is truncated or corrupt"):
        load_mnist(synthetic)


def test_error_not_gzip(synthetic):
    path = synthetic / "train-labels-idx1-ubyte.gz"
    path.write_bytes(idx_bytes(2049, (3,), bytes(3)))
    with pytest.raises(MnistDataError, match=r"train-labels-idx1-ubyte\.gz is not gzip-compressed "
                                             r"\(it starts with bytes 00 00 08 01"):
        load_mnist(synthetic)


@pytest.mark.parametrize("name, magic, expected", [
    ("train-images-idx3-ubyte.gz", 2049, 2051),
    ("t10k-labels-idx1-ubyte.gz", 2051, 2049),
])
def test_error_wrong_magic(synthetic, name, magic, expected):
    # A swapped file: the header of the other kind (dims made to match it).
    dims, payload = ((3,), bytes(3)) if magic == 2049 else ((2, 28, 28), bytes(2 * 784))
    write_gz(synthetic / name, idx_bytes(magic, dims, payload))
    with pytest.raises(MnistDataError, match=rf"{re.escape(name)} has IDX magic number {magic}, "
                                             rf"expected {expected} .*renamed or swapped"):
        load_mnist(synthetic)


def test_error_idx_data_shorter_than_header_says(synthetic):
    write_gz(synthetic / "t10k-images-idx3-ubyte.gz", idx_bytes(2051, (2, 28, 28), bytes(784)))
    with pytest.raises(MnistDataError, match=r"holds 784 bytes of image data, but its IDX "
                                             r"header announces 2 x 28 x 28 = 1568: the file is "
                                             r"truncated"):
        load_mnist(synthetic)


def test_error_count_mismatch(synthetic):
    write_gz(synthetic / "train-labels-idx1-ubyte.gz", idx_bytes(2049, (2,), bytes([1, 2])))
    with pytest.raises(MnistDataError, match=r"train files disagree: .*train-images-idx3-ubyte\.gz "
                                             r"holds 3 images but .*train-labels-idx1-ubyte\.gz "
                                             r"holds 2 labels"):
        load_mnist(synthetic)


def test_error_md5_mismatch(synthetic):
    """Well-formed files that are not the originals: all four listed, with both md5s."""
    actual = file_md5(synthetic / "train-images-idx3-ubyte.gz")
    with pytest.raises(MnistDataError) as info:
        load_mnist(synthetic)
    message = str(info.value)
    assert message.startswith(f"4 file(s) in {synthetic} fail the md5 check for an MNIST original")
    expected = data.ORIGINAL_MD5["train-images-idx3-ubyte.gz"]  # f68b3c2d...
    assert f"train-images-idx3-ubyte.gz: md5 {actual}, expected {expected}" in message
    assert "not the original distribution files" in message
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/" in message


def test_error_damaged_sample(synthetic, monkeypatch):
    monkeypatch.setattr(data, "SAMPLE_DIR", synthetic)
    with pytest.raises(MnistDataError, match=r"fail the md5 check for the embedded MNIST sample.*"
                                             r"rerun scripts/make_mnist_sample\.py"):
        load_mnist()


# --- full MNIST ---------------------------------------------------------------------------------

@needs_originals
def test_full_mnist_from_data_dir():
    """Full MNIST via data_dir: about a second here (decompress and check 55 MB, convert), so not `slow`."""
    src = originals_dir()
    (x, t), (x_test, t_test) = load_mnist(src, dtype=np.float32)
    assert x.shape == (60_000, 1, 28, 28) and x_test.shape == (10_000, 1, 28, 28)
    assert x.dtype == np.float32
    assert np.bincount(t, minlength=10).tolist() == FULL_TRAIN_PER_DIGIT
    assert np.bincount(t_test, minlength=10).tolist() == FULL_TEST_PER_DIGIT
    assert t[:10].tolist() == FIRST_TRAIN_LABELS and t_test[:10].tolist() == FIRST_TEST_LABELS
    assert abs(float(x.mean(dtype=np.float64)) - 0.130660) < 1e-6  # SOURCE.md


# --- scripts/make_mnist_sample.py ---------------------------------------------------------------

def load_script():
    spec = importlib.util.spec_from_file_location("make_mnist_sample",
                                                  REPO / "scripts" / "make_mnist_sample.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@needs_originals
def test_script_is_byte_reproducible(tmp_path):
    script = load_script()
    for out in ("a", "b"):
        assert script.main(["--source", str(originals_dir()), "--out", str(tmp_path / out)]) == 0
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted([*data.MNIST_FILES, "README.md"])
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    for name in data.MNIST_FILES:  # the same content as the shipped sample, whatever the zlib
        made = gzip.decompress((tmp_path / "a" / name).read_bytes())
        assert made == gzip.decompress((data.SAMPLE_DIR / name).read_bytes()), name
    if {n: file_md5(tmp_path / "a" / n) for n in data.MNIST_FILES} != data.SAMPLE_MD5:
        pytest.skip("this zlib compresses differently from the one that made the shipped sample")
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (data.SAMPLE_DIR / name).read_bytes(), name


def test_script_rejects_non_originals(synthetic, tmp_path, capsys):
    script = load_script()
    assert script.main(["--source", str(synthetic), "--out", str(tmp_path / "out")]) == 1
    assert "fail the md5 check for an MNIST original" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
