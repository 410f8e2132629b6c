"""Tests of the MNIST data layer (reports.mnist.data) and of scripts/make_mnist_sample.py.

Offline throughout. Tests that need the four original MNIST files use
``$CNN_PARITY_MNIST_DIR`` or ``../shared/datasets/mnist`` next to the repository, and skip
with a reason where neither holds them. Error cases use small synthetic IDX files.
"""
from __future__ import annotations

import gzip
import importlib.util
import re
import struct
from pathlib import Path

import numpy as np
import pytest
from torchvision.datasets import MNIST
from torchvision.datasets.utils import calculate_md5

from reports.mnist import data
from reports.mnist.data import MnistDataError, load_mnist

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


def nothing_written(cache: Path) -> bool:
    return not cache.exists() or not any(cache.iterdir())


@pytest.fixture
def synthetic(tmp_path):
    folder = tmp_path / "mnist"
    make_synthetic(folder)
    return folder


@pytest.fixture(scope="module")
def sample_cache(tmp_path_factory):
    """A temporary cache for the embedded sample, shared by the module (placed once)."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def sample(sample_cache):
    """The embedded sample, float64 (loaded once for the module, into a temporary cache)."""
    return load_mnist(cache_dir=sample_cache)


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


def test_sample_float32_and_raw_pixels(sample, sample_cache):
    (x64, _), _ = sample
    (x32, t32), _ = load_mnist(dtype=np.float32, cache_dir=sample_cache)
    (raw, _), _ = load_mnist(normalize=False, dtype=np.uint8, cache_dir=sample_cache)
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
def test_sample_is_the_start_of_mnist(tmp_path):
    (raw_train, t_train), (raw_test, t_test) = load_mnist(normalize=False, dtype=np.uint8,
                                                         cache_dir=tmp_path)
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


def test_flatten_and_one_hot(sample, sample_cache):
    (x, t), (x_test, t_test) = load_mnist(flatten=True, one_hot_label=True, cache_dir=sample_cache)
    (x_ref, t_ref), _ = sample
    assert x.shape == (10_000, 784) and x_test.shape == (2_000, 784)
    assert np.array_equal(x, x_ref.reshape(10_000, 784))     # (np.testing's assert: seconds on 7.8 M values)
    assert t.shape == (10_000, 10) and t_test.shape == (2_000, 10) and t.dtype == np.float64
    assert (t.sum(axis=1) == 1.0).all() and np.array_equal(t.argmax(axis=1), t_ref)
    (_, t32), _ = load_mnist(one_hot_label=True, dtype=np.float32, cache_dir=sample_cache)
    assert t32.dtype == np.float32


def test_sample_md5_constants_match_files():
    readme = (data.SAMPLE_DIR / "README.md").read_text(encoding="utf-8")
    for name in data.MNIST_FILES:
        actual = calculate_md5(data.SAMPLE_DIR / name)
        assert actual == data.SAMPLE_MD5[name], f"update SAMPLE_MD5[{name!r}] to {actual}"
        assert actual in readme, f"README.md does not list the md5 of {name}"
    assert "CC BY-SA 3.0" in readme and "Yann LeCun and Corinna Cortes" in readme


def test_describe_source(tmp_path):
    assert data.describe_source() == "embedded sample (10000 train / 2000 test)"
    full = f"full MNIST (60000 train / 10000 test) from {tmp_path}"
    assert data.describe_source(tmp_path) == full
    assert "downloaded" in data.describe_source(download=True)


# --- the cache --------------------------------------------------------------------------------

def test_placed_files_read_by_torchvision(synthetic, tmp_path):
    arrays = make_synthetic(synthetic)  # same seed: the same arrays as the fixture wrote
    root = data.prepare_mnist_root(synthetic, cache_dir=tmp_path / "cache", verify_md5=False)
    assert root.parent == tmp_path / "cache"
    for train, split in ((True, "train"), (False, "test")):
        dataset = MNIST(root, train=train)
        np.testing.assert_array_equal(dataset.data.numpy(), arrays[split][0])
        np.testing.assert_array_equal(dataset.targets.numpy(), arrays[split][1])
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [root.name]  # no temp folder left


def test_cache_is_reused_and_keyed_by_content(synthetic, tmp_path):
    cache = tmp_path / "cache"
    root = data.prepare_mnist_root(synthetic, cache_dir=cache, verify_md5=False)
    raw = root / "MNIST" / "raw" / "train-images-idx3-ubyte"
    before = raw.stat()
    assert data.prepare_mnist_root(synthetic, cache_dir=cache, verify_md5=False) == root
    after = raw.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # not redone

    other = tmp_path / "other"
    make_synthetic(other, seed=1)
    assert data.prepare_mnist_root(other, cache_dir=cache, verify_md5=False) != root
    assert data.prepare_mnist_root(cache_dir=cache) != root  # the sample: its own key


def test_half_written_cache_is_not_trusted(synthetic, tmp_path):
    cache = tmp_path / "cache"
    root = data.prepare_mnist_root(synthetic, cache_dir=cache, verify_md5=False)
    expected = {p.name: p.read_bytes() for p in (root / "MNIST" / "raw").iterdir()}
    # Simulate an interrupted run: a leftover temp folder and an incomplete final folder.
    (cache / f"{root.name}.partial-x" / "MNIST" / "raw").mkdir(parents=True)
    (root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").unlink()
    (root / "MNIST" / "raw" / "train-images-idx3-ubyte").write_bytes(b"half")
    assert data.prepare_mnist_root(synthetic, cache_dir=cache, verify_md5=False) == root
    assert {p.name: p.read_bytes() for p in (root / "MNIST" / "raw").iterdir()} == expected


def test_cache_env_var(monkeypatch, tmp_path):
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "envcache"))
    assert data.default_cache_dir() == tmp_path / "envcache"
    assert data.prepare_mnist_root().parent == tmp_path / "envcache"
    monkeypatch.delenv(data.CACHE_ENV)
    assert data.default_cache_dir() == Path.home() / ".cache" / "cnn-parity"


def test_full_mnist_dir(monkeypatch, synthetic):
    monkeypatch.delenv(data.MNIST_DIR_ENV, raising=False)
    assert data.full_mnist_dir() is None
    monkeypatch.setenv(data.MNIST_DIR_ENV, str(synthetic))
    assert data.full_mnist_dir() == synthetic
    (synthetic / "t10k-labels-idx1-ubyte.gz").unlink()
    assert data.full_mnist_dir() is None


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


# --- errors: one clear message each, nothing written -------------------------------------------

def test_error_missing_folder(tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(MnistDataError, match=r"nowhere does not exist\. It must contain the four "
                                             r"original MNIST files: train-images-idx3-ubyte\.gz"):
        load_mnist(tmp_path / "nowhere", cache_dir=cache)
    assert nothing_written(cache)


def test_error_missing_files(synthetic, tmp_path):
    cache = tmp_path / "cache"
    (synthetic / "train-labels-idx1-ubyte.gz").unlink()
    (synthetic / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(MnistDataError, match=r"lacks 2 of the 4 files: train-labels-idx1-ubyte"
                                             r"\.gz, t10k-images-idx3-ubyte\.gz\. It must contain"):
        load_mnist(synthetic, cache_dir=cache)
    assert nothing_written(cache)


def test_error_missing_files_found_uncompressed(synthetic, tmp_path):
    gz = synthetic / "train-images-idx3-ubyte.gz"
    (synthetic / "train-images-idx3-ubyte").write_bytes(gzip.decompress(gz.read_bytes()))
    gz.unlink()
    with pytest.raises(MnistDataError, match=r"Found uncompressed train-images-idx3-ubyte: this "
                                             r"loader needs the original \.gz files"):
        load_mnist(synthetic, cache_dir=tmp_path / "cache")


def test_error_truncated_gzip(synthetic, tmp_path):
    cache = tmp_path / "cache"
    path = synthetic / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(MnistDataError, match=rf"{re.escape(str(path))} is truncated or corrupt.*"
                                             r"Copy the file again"):
        load_mnist(synthetic, cache_dir=cache)
    assert nothing_written(cache)


def test_error_corrupt_gzip(synthetic, tmp_path):
    path = synthetic / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(path.read_bytes())
    raw[-6] ^= 0xFF  # inside the CRC32 trailer
    path.write_bytes(bytes(raw))
    with pytest.raises(MnistDataError, match=r"t10k-labels-idx1-ubyte\.gz is truncated or corrupt"):
        load_mnist(synthetic, cache_dir=tmp_path / "cache")
    assert nothing_written(tmp_path / "cache")


def test_error_not_gzip(synthetic, tmp_path):
    path = synthetic / "train-labels-idx1-ubyte.gz"
    path.write_bytes(idx_bytes(2049, (3,), bytes(3)))
    with pytest.raises(MnistDataError, match=r"train-labels-idx1-ubyte\.gz is not gzip-compressed "
                                             r"\(it starts with bytes 00 00 08 01"):
        load_mnist(synthetic, cache_dir=tmp_path / "cache")
    assert nothing_written(tmp_path / "cache")


@pytest.mark.parametrize("name, magic, expected", [
    ("train-images-idx3-ubyte.gz", 2049, 2051),
    ("t10k-labels-idx1-ubyte.gz", 2051, 2049),
])
def test_error_wrong_magic(synthetic, tmp_path, name, magic, expected):
    # A swapped file: the header of the other kind (dims made to match it).
    dims, payload = ((3,), bytes(3)) if magic == 2049 else ((2, 28, 28), bytes(2 * 784))
    write_gz(synthetic / name, idx_bytes(magic, dims, payload))
    cache = tmp_path / "cache"
    with pytest.raises(MnistDataError, match=rf"{re.escape(name)} has IDX magic number {magic}, "
                                             rf"expected {expected} .*renamed or swapped"):
        load_mnist(synthetic, cache_dir=cache)
    assert nothing_written(cache)


def test_error_idx_data_shorter_than_header_says(synthetic, tmp_path):
    write_gz(synthetic / "t10k-images-idx3-ubyte.gz", idx_bytes(2051, (2, 28, 28), bytes(784)))
    with pytest.raises(MnistDataError, match=r"holds 784 bytes of image data, but its IDX "
                                             r"header announces 2 x 28 x 28 = 1568: the file is "
                                             r"truncated"):
        load_mnist(synthetic, cache_dir=tmp_path / "cache")
    assert nothing_written(tmp_path / "cache")


def test_error_count_mismatch(synthetic, tmp_path):
    write_gz(synthetic / "train-labels-idx1-ubyte.gz", idx_bytes(2049, (2,), bytes([1, 2])))
    cache = tmp_path / "cache"
    with pytest.raises(MnistDataError, match=r"train files disagree: .*train-images-idx3-ubyte\.gz "
                                             r"holds 3 images but .*train-labels-idx1-ubyte\.gz "
                                             r"holds 2 labels"):
        load_mnist(synthetic, cache_dir=cache)
    assert nothing_written(cache)


def test_error_md5_mismatch(synthetic, tmp_path):
    """Well-formed files that are not the originals: all four listed, with both md5s."""
    cache = tmp_path / "cache"
    actual = calculate_md5(synthetic / "train-images-idx3-ubyte.gz")
    with pytest.raises(MnistDataError) as info:
        load_mnist(synthetic, cache_dir=cache)
    message = str(info.value)
    assert message.startswith(f"4 file(s) in {synthetic} fail the md5 check for an MNIST original")
    expected = data.ORIGINAL_MD5["train-images-idx3-ubyte.gz"]  # f68b3c2d...
    assert f"train-images-idx3-ubyte.gz: md5 {actual}, expected {expected}" in message
    assert "not the original distribution files" in message
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/" in message
    assert nothing_written(cache)


def test_error_damaged_sample(synthetic, tmp_path, monkeypatch):
    monkeypatch.setattr(data, "SAMPLE_DIR", synthetic)
    with pytest.raises(MnistDataError, match=r"fail the md5 check for the embedded MNIST sample.*"
                                             r"rerun scripts/make_mnist_sample\.py"):
        load_mnist(cache_dir=tmp_path / "cache")
    assert nothing_written(tmp_path / "cache")


# --- full MNIST ---------------------------------------------------------------------------------

@needs_originals
def test_full_mnist_from_data_dir(tmp_path):
    """Full MNIST via data_dir: about 0.5 s here (validate 55 MB, place, read), so not `slow`."""
    src = originals_dir()
    (x, t), (x_test, t_test) = load_mnist(src, dtype=np.float32, cache_dir=tmp_path)
    assert x.shape == (60_000, 1, 28, 28) and x_test.shape == (10_000, 1, 28, 28)
    assert x.dtype == np.float32
    assert np.bincount(t, minlength=10).tolist() == FULL_TRAIN_PER_DIGIT
    assert np.bincount(t_test, minlength=10).tolist() == FULL_TEST_PER_DIGIT
    assert t[:10].tolist() == FIRST_TRAIN_LABELS and t_test[:10].tolist() == FIRST_TEST_LABELS
    assert abs(float(x.mean(dtype=np.float64)) - 0.130660) < 1e-6  # SOURCE.md
    assert data.prepare_mnist_root(src, cache_dir=tmp_path).parent == tmp_path


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
    if {n: calculate_md5(tmp_path / "a" / n) for n in data.MNIST_FILES} != data.SAMPLE_MD5:
        pytest.skip("this zlib compresses differently from the one that made the shipped sample")
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (data.SAMPLE_DIR / name).read_bytes(), name


def test_script_rejects_non_originals(synthetic, tmp_path, capsys):
    script = load_script()
    assert script.main(["--source", str(synthetic), "--out", str(tmp_path / "out")]) == 1
    assert "fail the md5 check for an MNIST original" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
