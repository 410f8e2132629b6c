"""The package layout of DESIGN.md, checked from the source: who may import whom, and module sizes.

``reference/`` imports NumPy and the standard library only; ``torch_impl/`` never imports
``reference/`` or ``reports/``. Inside ``reports/`` every package and top-level module has a rank
(:data:`LAYERS`, the order of ``reports/__init__.py``): a module may import its own layer and the
layers before it, never a later one, so there is no import loop between them; and no module of
the project is part of an import loop at all (imports inside functions included).
"""
from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

import reports

from .conftest import project_py_files

ROOT = Path(__file__).resolve().parents[1]

#: reports' packages and top-level modules, lowest first (as listed in ``reports/__init__.py``):
#: each may import those before it, never one after it. A new one gets its place here.
LAYERS = ["reports.errors", "reports.files", "reports.parity", "reports.mnist", "reports.html",
          "reports.environment", "reports.benchmark_results", "reports.explain", "reports.configurations",
          "reports.seeds", "reports.bugzoo", "reports.findings", "reports.diff", "reports.report",
          "reports.classroom", "reports.commands", "reports.cli"]
#: The folders whose modules are capped, and the cap: about 600 lines, 700 at the very most.
MAX_LINES = {"reports": 700, "benchmarks": 700, "parity_tests": 700,
             # a student reads reference/ top-down, like the book: what is not the book's algorithm
             # moves beside it (fast, extensions)
             "reference": 600}
#: The folders whose modules must not import each other in a loop.
PACKAGES = ["reference", "torch_impl", "reports", "benchmarks", "parity_tests", "scripts"]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path, module: str | None = None) -> frozenset[str]:
    """Absolute names of everything ``path`` imports (relative imports resolved as if the file
    were the module ``module``, by default its own name)."""
    module = module or _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    return _imports_of_source(path.read_text(encoding="utf-8"), package)


@functools.lru_cache(maxsize=None)          # the per-file tests and the whole graph parse each text once
def _imports_of_source(text: str, package: str) -> frozenset[str]:
    out = set()
    for node in ast.walk(ast.parse(text)):
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
    return frozenset(out)


def _layer(name: str) -> int | None:
    """The layer of a reports module (None for names outside reports); a module of reports that
    has no place in :data:`LAYERS` is an error."""
    if not name.startswith("reports."):
        return len(LAYERS) if name == "reports" else None      # the package's face stands above all
    for i, layer in enumerate(LAYERS):
        if name == layer or name.startswith(layer + "."):
            return i
    raise LookupError(f"{name} has no place in LAYERS (parity_tests/test_layout.py): give it one")


def _py_files(folder: str):
    return project_py_files(ROOT, folder)


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


def test_every_part_of_reports_has_its_rank():
    """LAYERS is reports/__init__.py's list, in its order, and names every package and module."""
    parts = {f"reports.{p.stem if p.is_file() else p.name}" for p in (ROOT / "reports").iterdir()
             if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()}
    assert set(LAYERS) == parts

    assert [f"reports.{name}" for name in reports.__all__] == LAYERS


def test_the_layer_check_catches_an_upward_import(tmp_path):
    """The checker itself: imports that reach a later layer are flagged, relative ones included;
    imports of earlier layers and of other packages are not."""
    page = tmp_path / "page.py"
    page.write_text("from ..report import ReportInputs\nfrom ..parity.records import dedupe\nimport numpy\n")
    assert upward_imports(page, "reports.html.page") == [
        "reports.html.page (layer 4) imports reports.report (layer 13)",
        "reports.html.page (layer 4) imports reports.report.ReportInputs (layer 13)"]
    data = tmp_path / "data.py"
    data.write_text("from reports.html import charts\nfrom ..files import atomic_output\n")
    assert upward_imports(data, "reports.mnist.data") == [
        "reports.mnist.data (layer 3) imports reports.html (layer 4)",
        "reports.mnist.data (layer 3) imports reports.html.charts (layer 4)"]
    seeds = tmp_path / "seeds.py"                 # a top-level module reaching a later one, in a function
    seeds.write_text("def run():\n    from .report import sweep_records\n    from .parity import harness\n")
    assert upward_imports(seeds, "reports.seeds") == [
        "reports.seeds (layer 9) imports reports.report (layer 13)",
        "reports.seeds (layer 9) imports reports.report.sweep_records (layer 13)"]


# ------------------------------------------------------------------------------------------
# No import loop anywhere
# ------------------------------------------------------------------------------------------

def import_graph(root: Path, folders) -> dict[str, set[str]]:
    """{module: the project modules it imports} for every module under ``folders`` of ``root``,
    imports inside functions included. A name is resolved to the longest module it starts with;
    a module's import of its own package (``from . import x``) counts as an import of ``x``."""
    files = {}
    for folder in folders:
        for path in project_py_files(root, folder):
            parts = list(path.relative_to(root).with_suffix("").parts)
            files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for module, path in files.items():
        edges = set()
        for name in _imports(path, module):
            parts = name.split(".")
            target = next((".".join(parts[:n]) for n in range(len(parts), 0, -1) if ".".join(parts[:n]) in files),
                          None)
            if target and target != module and not module.startswith(target + "."):
                edges.add(target)
        graph[module] = edges
    return graph


def import_loops(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every set of modules that import each other in a loop (the strongly connected components
    of more than one module), each sorted, in sorted order."""
    index, low, stack, on_stack, loops = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                loops.append(sorted(component))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(loops)


def test_no_import_loop_anywhere():
    assert import_loops(import_graph(ROOT, PACKAGES)) == []


def test_the_loop_check_catches_a_loop(tmp_path):
    """The checker itself: a loop through an import inside a function, across two packages, is
    found (with nothing else); a package importing its own modules is not a loop."""
    for folder, files in {"pkg": {"__init__.py": "from . import low, high\n",
                                  "low.py": "import os\n\ndef run():\n    from .high import top\n",
                                  "high.py": "from other.mid import value\nfrom . import low\n"},
                          "other": {"__init__.py": "", "mid.py": "from pkg.low import run as value\n"}}.items():
        (tmp_path / folder).mkdir()
        for name, text in files.items():
            (tmp_path / folder / name).write_text(text)
    graph = import_graph(tmp_path, ["pkg", "other"])
    assert graph["pkg.low"] == {"pkg.high"} and graph["pkg"] == {"pkg.low", "pkg.high"}
    assert import_loops(graph) == [["other.mid", "pkg.high", "pkg.low"]]
    (tmp_path / "pkg" / "low.py").write_text("import os\n")
    assert import_loops(import_graph(tmp_path, ["pkg", "other"])) == []


@pytest.mark.parametrize("path", [p for folder in MAX_LINES for p in _py_files(folder)],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_too_long(path):
    cap = MAX_LINES[path.relative_to(ROOT).parts[0]]
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= cap, f"{path.relative_to(ROOT)} has {n} lines (at most {cap}): split it by subject"


def test_every_package_says_what_it_is():
    for init in (ROOT / "reports").rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc.splitlines()) >= 3, f"{init.relative_to(ROOT)} needs a docstring: what it is, what it exports"
