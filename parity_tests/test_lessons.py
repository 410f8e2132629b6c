"""The lessons (lessons/NN_*.py) stay notebooks a teacher can hand out, cheaply checked here;
CI executes them as notebooks (jupytext + nbmake, a line of .ci/run — see docs/lessons.md).

Checked without running them: each is a jupytext percent script that reads as a notebook with a
Python 3 kernel; it is plain Python too (no IPython magics), so `python lessons/01_im2col.py`
runs it; it ends with its exercises, which show `cnn-parity exercise` and `cnn-parity check`; the
cell that runs the grader is the same in every lesson and is guarded only by whether the
`check` command exists; CI runs every lesson; docs/lessons.md lists every lesson.
"""
from __future__ import annotations

import ast
import re

import pytest

from .conftest import ROOT

LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.py"))
def notebook(path):
    jupytext = pytest.importorskip("jupytext", reason="jupytext (the test extra) reads the lessons as notebooks")
    return jupytext.read(path)


def test_there_are_lessons_from_im2col_to_a_training_step():
    names = [p.stem for p in LESSONS]
    assert len(names) >= 3 and names[0] == "01_im2col" and "training" in names[-1], names


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_a_lesson_is_a_notebook_that_ends_with_graded_exercises(path):
    nb = notebook(path)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    kinds = [c.cell_type for c in nb.cells]
    assert kinds[0] == "markdown" and nb.cells[0].source.startswith("# Lesson ")
    assert kinds.count("code") >= 5 and kinds.count("markdown") >= 5
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    for source in code:
        assert not re.search(r"^\s*[!%]", source, re.M), f"an IPython magic in {path.name}: the lesson must be plain Python"
    ast.parse(path.read_text(encoding="utf-8"))
    graders = [source for source in code if 'cnn_parity("check"' in source]
    assert len(graders) == 1, f"{path.name}: one cell runs the grader"
    assert_guarded_only_by_the_command(graders[0])
    exercises = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and "## Exercises" in c.source)
    after = "\n".join(c.source for c in nb.cells[exercises:])
    assert "cnn-parity check my_cnn/layers.py" in after and graders[0] in after
    assert "cnn-parity exercise my_cnn" in "\n".join(c.source for c in nb.cells)


def assert_guarded_only_by_the_command(source: str):
    """Every call of the grader (`cnn_parity("check" | "exercise", ...)`) sits under one
    `if has_command("check"):`, and nothing else decides whether it runs: no other condition
    around it, no try/except in the cell."""
    tree = ast.parse(source)
    assert not any(isinstance(node, ast.Try) for node in ast.walk(tree)), "no try/except around the grader"
    guards = [node for node in tree.body if isinstance(node, ast.If)]
    assert len(guards) == 1 and ast.unparse(guards[0].test) == "has_command('check')"
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and ast.unparse(node.func) == "cnn_parity"]
    inside = {id(node) for stmt in guards[0].body for node in ast.walk(stmt)}
    assert calls and all(id(call) in inside for call in calls)
    assert all(not isinstance(node, ast.If) or node is guards[0] or ast.unparse(node.test).startswith("not (WORK")
               for node in ast.walk(tree)), "the only other condition: whether the starter file is there"


def test_the_guard_check_catches_another_condition():
    good = 'if has_command("check"):\n    status = cnn_parity("check", "f.py")\n'
    assert_guarded_only_by_the_command(good)
    for bad in ('if has_command("check") and False:\n    cnn_parity("check", "f.py")\n',
                'try:\n    cnn_parity("check", "f.py")\nexcept Exception:\n    pass\n',
                'if has_command("check"):\n    pass\ncnn_parity("check", "f.py")\n'):
        with pytest.raises(AssertionError):
            assert_guarded_only_by_the_command(bad)


def test_the_helpers_and_the_grader_cell_are_the_same_in_every_lesson():
    """cnn_parity, has_command and the grader cell are repeated in each lesson (a notebook stands
    alone): one text each."""
    helpers, cells = set(), set()
    for path in LESSONS:
        text = path.read_text(encoding="utf-8")
        helpers.add(text[text.index("def cnn_parity"):text.index("# %% [markdown]", text.index("def has_command"))])
        start = text.index("from pathlib import Path\n\nWORK")
        cells.add(text[start:text.index("# %% [markdown]", start)])
    assert len(helpers) == 1 and len(cells) == 1


def test_ci_executes_every_lesson_and_the_docs_list_them():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"for lesson in lessons/\[0-9\]\*\.py", ci) and "jupytext" in ci and "--nbmake" in ci
    docs = (ROOT / "docs" / "lessons.md").read_text(encoding="utf-8")
    for path in LESSONS:
        assert f"lessons/{path.name}" in docs, f"docs/lessons.md does not list {path.name}"
