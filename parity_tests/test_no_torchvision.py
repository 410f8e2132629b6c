"""Without torchvision: what skips says so in one line, and everything else runs.

torchvision is optional (the ``[vision]`` extra, docs/torch-versions.md): under a torch without a
matching torchvision build (torch 2.13.0+cpu here) it is missing or does not import. These tests
make it so in any environment — ``sys.modules["torchvision"] = None`` (not installed) or a stand-in
package whose import fails as a mismatched build's does — and check the one-line reasons, the
skipped torchvision AlexNet case, the ``--download`` error and that MNIST still loads.
"""
from __future__ import annotations

import gzip
import shutil
import sys

import numpy as np
import pytest

from reports.cli import main
from reports.mnist import data
from reports.parity import harness
from reports.parity.net_cases import simple_convnet_case, torchvision_alexnet_case, torchvision_unavailable

from .conftest import one_line

#: What torchvision 0.29.1 raises on import under torch 2.13.0+cpu (measured here).
MISMATCH = "operator torchvision::nms does not exist"


@pytest.fixture
def fresh_probe():
    """torchvision_unavailable() tries the import once per process: forget it before and after."""
    torchvision_unavailable.cache_clear()
    yield
    torchvision_unavailable.cache_clear()


@pytest.fixture
def no_torchvision(monkeypatch, fresh_probe):
    """As if torchvision were not installed (``import torchvision`` raises ModuleNotFoundError)."""
    monkeypatch.setitem(sys.modules, "torchvision", None)


@pytest.fixture
def broken_torchvision(monkeypatch, tmp_path, fresh_probe):
    """As if the torchvision installed were built for another torch: its import raises."""
    package = tmp_path / "site" / "torchvision"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f"raise RuntimeError({MISMATCH!r})\n")
    for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))


def test_reason_when_torchvision_is_not_installed(no_torchvision):
    why = torchvision_unavailable()
    assert why.startswith("torchvision is not installed") and "[vision]" in why and "\n" not in why
    assert torchvision_alexnet_case().unavailable() == why
    assert simple_convnet_case().unavailable() is None


def test_reason_when_torchvision_does_not_import(broken_torchvision):
    why = torchvision_unavailable()
    assert "does not import under torch" in why and f"(RuntimeError: {MISMATCH})" in why and "\n" not in why


def test_parity_skips_the_torchvision_case_in_one_line(no_torchvision, monkeypatch):
    """all_parity_records (``cnn-parity parity``, the report) leaves the case out, says why once,
    and runs the rest."""
    small = simple_convnet_case(N=1, input_dim=(1, 8, 8), filter_num=2, filter_size=3, hidden_size=4)
    tv = torchvision_alexnet_case()
    monkeypatch.setattr(harness, "LAYER_CASES", [])
    monkeypatch.setattr(harness, "NET_CASES", [small, tv])
    lines = []
    records = harness.all_parity_records(("float64", "float32"), log=lines.append)
    assert lines == [f"skipped {tv.id}: {torchvision_unavailable()}"]
    assert {r.case for r in records if r.group == "net"} == {"SimpleConvNet"}
    assert all(r.passed for r in records)
    assert harness.unavailable_cases() == [tv] and harness.unavailable_cases(skip=[tv]) == []


@pytest.mark.parametrize("missing", ["no_torchvision", "broken_torchvision"])
def test_mnist_loads_without_torchvision_and_download_says_why(missing, request, tmp_path, capsys):
    request.getfixturevalue(missing)
    (x, t), (x_test, _) = data.load_mnist(dtype=np.float32)          # the sample, read here
    assert x.shape == (10_000, 1, 28, 28) and x_test.shape == (2_000, 1, 28, 28) and t[0] == 5
    with pytest.raises(data.MnistDataError, match="needs torchvision, and torchvision") as info:
        data.load_mnist(download=True, cache_dir=tmp_path / "cache")
    assert "\n" not in str(info.value) and "--data-dir" in str(info.value)
    assert main(["train", "--download", "--out", str(tmp_path / "out")]) == 1
    line = one_line(capsys.readouterr().err, "train")
    assert "needs torchvision" in line and "data_dir (--data-dir)" in line
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()


def test_md5_check_catches_one_changed_pixel(tmp_path, monkeypatch, capsys):
    """A sample file changed in one pixel and re-compressed (a well-formed IDX file, so only the
    md5 can tell): one line naming that file and both md5s, from the loader and from the command."""
    for name in data.MNIST_FILES:
        shutil.copy(data.SAMPLE_DIR / name, tmp_path / name)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[16 + 5 * 784 + 400] ^= 0x01                                  # image 5, one pixel, one bit
    path.write_bytes(gzip.compress(bytes(raw), compresslevel=1, mtime=0))
    monkeypatch.setattr(data, "SAMPLE_DIR", tmp_path)
    with pytest.raises(data.MnistDataError) as info:
        data.load_mnist()
    message = str(info.value)
    assert message.startswith(f"1 file(s) in {tmp_path} fail the md5 check for the embedded MNIST sample: "
                              f"{path}: md5 {data.file_md5(path)}, expected {data.SAMPLE_MD5[path.name]}.")
    assert "\n" not in message
    assert main(["train", "--out", str(tmp_path / "out")]) == 1
    assert "fail the md5 check for the embedded MNIST sample" in one_line(capsys.readouterr().err, "train")
    assert not (tmp_path / "out").exists()


def test_torchvision_is_optional():
    """Not a dependency of the package (the [vision] extra), and imported only inside the functions
    that need it, so that importing any module of the project works without it."""
    import ast

    from .conftest import ROOT, project_py_files

    tomllib = pytest.importorskip("tomllib", reason="Python 3.10 has no tomllib")

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert not [d for d in project["dependencies"] if d.startswith("torchvision")]
    assert [d for d in project["optional-dependencies"]["vision"] if d.startswith("torchvision")]

    def module_level_imports(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(child, ast.Import):
                yield from (alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module:
                yield child.module
            yield from module_level_imports(child)

    found = [f"{path.relative_to(ROOT)}: {name}"
             for package in ("reference", "torch_impl", "reports") for path in project_py_files(ROOT, package)
             for name in module_level_imports(ast.parse(path.read_text(encoding="utf-8")))
             if name.split(".")[0] == "torchvision"]
    assert not found, found
