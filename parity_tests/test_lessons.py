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
#: The grader cell of every lesson: make the starter file once, grade it, never overwrite it.
GRADER_CELL = '''from pathlib import Path

WORK = Path("my_cnn")
if has_command("check"):
    if not (WORK / "layers.py").exists():
        cnn_parity("exercise", WORK)
    status = cnn_parity("check", WORK / "layers.py")
    assert status != 2, "cnn-parity check could not grade the file (exit status 2): see its message above"
else:
    print("This cnn-parity has no `check` command yet: update the project (git pull, pip install -e .).")'''


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
    assert code.count(GRADER_CELL) == 1, f"{path.name}: the grader cell differs from the other lessons'"
    exercises = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and "## Exercises" in c.source)
    after = "\n".join(c.source for c in nb.cells[exercises:])
    assert "cnn-parity check my_cnn/layers.py" in after and GRADER_CELL in after
    assert "cnn-parity exercise my_cnn" in "\n".join(c.source for c in nb.cells)


def test_the_helpers_are_the_same_in_every_lesson():
    """cnn_parity and has_command are repeated in each lesson (a notebook stands alone): one text."""
    helpers = set()
    for path in LESSONS:
        text = path.read_text(encoding="utf-8")
        helpers.add(text[text.index("def cnn_parity"):text.index("# %% [markdown]", text.index("def has_command"))])
    assert len(helpers) == 1


def test_ci_executes_every_lesson_and_the_docs_list_them():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"for lesson in lessons/\[0-9\]\*\.py", ci) and "jupytext" in ci and "--nbmake" in ci
    docs = (ROOT / "docs" / "lessons.md").read_text(encoding="utf-8")
    for path in LESSONS:
        assert f"lessons/{path.name}" in docs, f"docs/lessons.md does not list {path.name}"
