"""The judges check themselves: every verdict, ratio and count of the configuration matrix and of
the OpInfo corpus against an answer worked out by hand (reports/parity/judgecheck.py, the same
table the bug zoo's ``judges`` check runs), and the terminal table, configurations.csv, the
``opinfo`` command's totals and exit status and the report's corpus section read from them.

docs/judges.md lists the faults these tests were written to catch (mutants) and which test kills each.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from reports.cli import main
from reports.commands.opinfo import format_opinfo_table
from reports.configurations import configurations_frame, format_matrix, matrix_line, split_matrix_records
from reports.html.sections import comparisons, corpus
from reports.parity import opinfo as O
from reports.parity.judgecheck import (JUDGE_CHECKS, JudgeCheck, judge_check_records, synthetic_cell_records,
                                       synthetic_corpus)
from reports.parity.matrix import MatrixResult
from reports.parity.records import compare
from reports.report import ReportInputs


@pytest.mark.parametrize("check", JUDGE_CHECKS, ids=lambda c: c.run.__name__.removeprefix("_check_"))
def test_known_answer(check):
    """One row of the table: the judge gives the answer worked out by hand (its docstring and
    comments in reports/parity/judgecheck.py say how)."""
    assert check.problems() == [], check.name


def test_a_wrong_answer_is_a_failing_record():
    """The bug zoo's records of the same table: a check that finds a problem fails, with the problem
    in its note; one that raises is a problem too."""
    def crashes():
        raise ZeroDivisionError("float division by zero")
    checks = [JudgeCheck("holds", "matrix", lambda: []), JudgeCheck("differs", "cells", lambda: ["x: 1, expected 2"]),
              JudgeCheck("raises", "corpus", crashes)]
    got = [(r.verdict, r.group, r.headroom, r.note) for r in judge_check_records(checks)]
    assert got == [("pass", "selfcheck", math.inf, "matrix: the known answer, as it should"),
                   ("fail", "selfcheck", 0.0, "cells: x: 1, expected 2"),
                   ("fail", "selfcheck", 0.0, "corpus: raised ZeroDivisionError: float division by zero")]


# ------------------------------------------------------------------------------------------
# The matrix for its readers: configurations.csv and the terminal table
# ------------------------------------------------------------------------------------------

def test_configurations_csv_columns_come_from_the_records():
    a = np.array([1.0, 0.5, -0.25])
    plain = compare("Relu", "output", a, a, 1e-6)            # no configuration: not a row
    records = synthetic_cell_records()
    frame = configurations_frame(records + [plain])
    assert len(frame) == len(records) and set(frame.config) == {"c"} and set(frame.case_id) == set("ABCDE")
    row = frame[(frame.case == "A") & (frame.quantity == "dx") & (frame.compared_with == "oracle")].iloc[0]
    assert (row.max_rel, row.bits, row.ratio, row.headroom) == (2.0 ** -16, 16.0, 40.0, 1.5)
    assert (row.verdict, row.deterministic, row.run_diff) == ("worse than eager", "no", 1e-7)
    row = configurations_frame([replace(records[0], max_abs=3.0, max_rel=0.25)]).iloc[0]
    assert (row.max_abs, row.max_rel, row.bits) == (3.0, 0.25, 2.0)


def test_the_terminal_line_counts_cells_and_what_fails_the_command():
    result = MatrixResult(synthetic_cell_records())
    line, bad = matrix_line(result)
    assert line == "configuration matrix: 1 worse than eager, 1 disagrees, 1 failed, 2 skipped (5 cells)"
    assert bad == 2                        # disagrees and failed; "worse than eager" is a finding


def test_the_terminal_table_shows_each_cell():
    _, result = split_matrix_records(synthetic_cell_records())
    text = format_matrix(result)
    rows = {line.split()[-1]: line.split()[1:-1] for line in text.splitlines() if line.startswith("float32 ")}
    assert rows == {"A": ["WORSE", "16.0*≠"], "B": ["FAIL", "8.0"], "C": ["n/a"], "D": ["ERROR"], "E": ["skip"]}
    assert "c float32 A: worse than eager, worst dx 16.0 bits; first: dx" in text
    assert "c float32 B: disagrees, worst Relu1.out 8.0 bits; first: Conv1 (forward)" in text
    assert "1 worse than eager, 1 disagrees, 1 failed, 2 skipped. Worst 8.0 bits (B float32 Relu1.out)" in text
    assert "NOT bit-identical in 1 of 1 cells, largest difference 3.00e-07 (A float32 dW)" in text
    assert "c float32 A: first dx, 12.0 bits of agreement with eager" in text
    assert "c float32 D: RuntimeError: kernel exploded" in text and "c: no CUDA device here" in text


# ------------------------------------------------------------------------------------------
# The corpus's totals: the command's table and exit status, the report's section and card
# ------------------------------------------------------------------------------------------

def test_the_opinfo_table_prints_the_totals():
    run = synthetic_corpus()
    lines = format_opinfo_table(O.summarize(run), run).splitlines()
    assert lines[-1] == "10 samples, 6 run (60.0 %), 4 agree, 2 disagree, 4 not run; torch x, reference path fast, 0.0 s"
    assert lines[2].split() == ["a", "float64", "7", "4", "2", "3", "0.5", "1×", "inplace=True;", "2×",
                                "label_smoothing"]


@pytest.mark.parametrize("samples, status", [(None, 1), (slice(-3, None), 0)], ids=["disagreements", "agree-or-not-run"])
def test_the_opinfo_exit_status_counts_disagreements_only(monkeypatch, capsys, samples, status):
    """Exit 1 when a sample that ran disagrees; samples not run (the last three: exact, exact,
    not run) do not fail the command."""
    run = synthetic_corpus()
    if samples is not None:
        run = O.CorpusRun(run.results[samples], "x", 0.0)
    monkeypatch.setattr(O, "run_corpus", lambda **kwargs: run)
    assert main(["opinfo", "--op", "sigmoid"]) == status
    assert f"{run.totals()['disagree']} disagree" in capsys.readouterr().out


def test_the_report_section_and_card_read_the_same_totals():
    inputs = ReportInputs(records=[], sweeps=[], environment=[], opinfo=synthetic_corpus())
    ctx = corpus.opinfo_context(inputs)
    assert (ctx["samples"], ctx["run"], ctx["agree"], ctx["share"], ctx["all_agree"]) == (10, 6, 4, "60.0", False)
    assert [str(row["worst"]) for row in ctx["tables"]["float64"]] == ["0.5", '∞ <span class="muted">(exact)</span>']
    card = corpus.opinfo_card(inputs)
    assert (card.value, card.note) == ("4 / 10", "agree (4 not run; torch x)")
    assert comparisons.verdict_context(inputs)["n_opinfo_samples"] == 10
    agreeing = O.CorpusRun(synthetic_corpus().results[-3:], "x", 0.0)        # 2 agree, 1 not run
    ctx = corpus.opinfo_context(ReportInputs(records=[], sweeps=[], environment=[], opinfo=agreeing))
    assert (ctx["samples"], ctx["run"], ctx["agree"], ctx["all_agree"]) == (3, 2, 2, True)


def test_every_mutant_of_the_judges_still_finds_its_text():
    """scripts/judge_mutants.py plants each fault by a text replacement; a refactor that moves the
    text makes the mutant stale (the script reports it, but nobody runs the script every day)."""
    import importlib.util

    from .conftest import ROOT

    spec = importlib.util.spec_from_file_location("judge_mutants", ROOT / "scripts" / "judge_mutants.py")
    mutants = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mutants)
    stale = [(mid, old[:60]) for mid, file, pairs, _ in mutants.MUTANTS for old, _ in pairs
             if (ROOT / file).read_text(encoding="utf-8").count(old) != 1]
    assert not stale, f"mutants whose text is not found exactly once (update scripts/judge_mutants.py): {stale}"
