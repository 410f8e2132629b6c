"""The package layout of DESIGN.md, checked from the source: who may import whom, and module sizes.

``reference/`` imports NumPy and the standard library only; ``torch_impl/`` never imports
``reference/`` or ``reports/``. Inside ``reports/`` the layers are ordered (see
``reports/__init__.py``): a module may import its own layer and the layers before it, never a
later one, so there is no import cycle between the packages.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: reports' layers, lowest first; the top-level modules of reports/ come last.
LAYERS = ["reports.errors", "reports.files", "reports.parity", "reports.mnist", "reports.html"]
TOP = len(LAYERS)
#: No module of reports/ grows beyond this (issue: about 600 lines, 700 at the very most).
MAX_LINES = 700
#: No module of reference/ grows beyond this: a student reads it top-down, like the book.
REFERENCE_MAX_LINES = 600


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path, module: str | None = None) -> set[str]:
    """Absolute names of everything ``path`` imports (relative imports resolved as if the file
    were the module ``module``, by default its own name)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module = module or _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            out.add(name)
            out.update(f"{name}.{a.name}" for a in node.names)   # `from . import cases`
    return out


def _layer(name: str) -> int | None:
    """The layer of a reports module (None for names outside reports)."""
    if not (name == "reports" or name.startswith("reports.")):
        return None
    for i, layer in enumerate(LAYERS):
        if name == layer or name.startswith(layer + "."):
            return i
    return TOP


def _py_files(folder: str):
    return sorted((ROOT / folder).rglob("*.py"))


def test_reference_imports_numpy_only():
    for path in _py_files("reference"):
        for name in _imports(path):
            top = name.split(".")[0]
            assert top not in ("torch", "torch_impl", "reports", "torchvision"), f"{path.name} imports {name}"


def test_torch_impl_never_imports_the_reference_or_the_harness():
    for path in _py_files("torch_impl"):
        for name in _imports(path):
            assert name.split(".")[0] not in ("reference", "reports"), f"{path.name} imports {name}"


def upward_imports(path: Path, module: str | None = None) -> list[str]:
    """The imports of ``path`` that reach a later layer of reports than its own."""
    module = module or _module_name(path)
    own = _layer(module)
    bad = []
    for name in sorted(_imports(path, module)):
        other = _layer(name)
        if other is not None and name != "reports" and other > own:
            bad.append(f"{module} (layer {own}) imports {name} (layer {other})")
    return bad


@pytest.mark.parametrize("path", _py_files("reports"), ids=lambda p: str(p.relative_to(ROOT)))
def test_reports_layers_import_only_downwards(path):
    assert upward_imports(path) == [], "a package may use only the ones listed before it in reports/__init__.py"


def test_the_layer_check_catches_an_upward_import(tmp_path):
    """The checker itself: imports that reach a later layer are flagged, relative ones included;
    imports of earlier layers and of other packages are not."""
    page = tmp_path / "page.py"
    page.write_text("from ..report import ReportInputs\nfrom ..parity.records import dedupe\nimport numpy\n")
    assert upward_imports(page, "reports.html.page") == [
        "reports.html.page (layer 4) imports reports.report (layer 5)",
        "reports.html.page (layer 4) imports reports.report.ReportInputs (layer 5)"]
    data = tmp_path / "data.py"
    data.write_text("from reports.html import charts\nfrom ..files import atomic_output\n")
    assert upward_imports(data, "reports.mnist.data") == [
        "reports.mnist.data (layer 3) imports reports.html (layer 4)",
        "reports.mnist.data (layer 3) imports reports.html.charts (layer 4)"]


@pytest.mark.parametrize("path", _py_files("reports"), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_reports_module_is_too_long(path):
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(ROOT)} has {n} lines (at most {MAX_LINES}): split it by job"


@pytest.mark.parametrize("path", _py_files("reference"), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_reference_module_is_too_long(path):
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= REFERENCE_MAX_LINES, (f"{path.relative_to(ROOT)} has {n} lines (at most {REFERENCE_MAX_LINES}): "
                                      f"move what is not the book's algorithm beside it (fast, extensions)")


def test_every_package_says_what_it_is():
    for init in (ROOT / "reports").rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc.splitlines()) >= 3, f"{init.relative_to(ROOT)} needs a docstring: what it is, what it exports"
