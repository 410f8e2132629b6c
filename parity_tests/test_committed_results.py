"""Committed benchmark results name no machine: no absolute path in any file of benchmarks/results/,
and the benchmark writes its data source portably."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmarks.speed import describe_data_folder

ROOT = Path(__file__).resolve().parents[1]
RESULTS = sorted(p for p in (ROOT / "benchmarks" / "results").iterdir() if p.is_file())

#: An absolute POSIX path (a token starting with "/" and holding at least one more "/"), a
#: home-relative path, or a Windows drive path.
ABSOLUTE = re.compile(r"""(?:^|[\s"'(=,;:])(/[^\s/"',;]+/|~/|[A-Za-z]:\\)""")


def test_the_pattern_finds_absolute_paths():
    for text in ('x,"full MNIST from /work/shared/datasets/mnist; acc",y', "a,/home/me/data,b", "(~/mnist)",
                 r"C:\data\mnist"):
        assert ABSOLUTE.search(text), text
    for text in ("full MNIST from ../shared/datasets/mnist", "forward+backward", "N=100 1x28x28 5x5 s1 p0",
                 "3/4 of the rows", "OpenBLAS 0.3.31 (SkylakeX)", "2026-11-26 10:00 UTC"):
        assert not ABSOLUTE.search(text), text


def test_results_are_committed():
    assert RESULTS, "benchmarks/results/ holds the committed results"


@pytest.mark.parametrize("path", RESULTS, ids=lambda p: p.name)
def test_no_committed_results_file_holds_an_absolute_path(path):
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        found = ABSOLUTE.search(line)
        assert found is None, f"{path.name}:{number} names a machine path ({found.group(1)}…): {line[:120]}"


def test_the_benchmark_names_its_data_folder_portably(tmp_path):
    assert describe_data_folder(ROOT.parent / "shared" / "datasets" / "mnist") == \
        "full MNIST from ../shared/datasets/mnist"
    assert describe_data_folder(ROOT / "data" / "mnist") == "full MNIST from data/mnist"
    elsewhere = Path("/") / "somewhere" / "else"
    if ROOT.parent not in elsewhere.parents:
        assert describe_data_folder(elsewhere, "--data-dir") == "full MNIST (--data-dir)"
        assert describe_data_folder(elsewhere, "$CNN_PARITY_MNIST_DIR") == "full MNIST ($CNN_PARITY_MNIST_DIR)"
