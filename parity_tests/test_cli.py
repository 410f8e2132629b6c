"""The ``cnn-parity`` command line as a user meets it: one-line errors with the right exit status,
checked before any work (and before torch is imported), ``--help`` with defaults and examples,
``train``'s progress, per-epoch CSVs and Ctrl-C.

The real console script runs in subprocesses, started together so that they overlap; the many
small usage errors run in one extra subprocess that calls ``reports.cli.main`` for each and then
reports whether torch was imported (it must not be: those errors come before any work). A real
SIGINT to the console script is in the slow tier (``.ci/run`` runs it every time).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from reports import report as REPORT
from reports.cli import main
from reports.commands import build_parser, train
from reports.errors import UsageError
from reports.mnist import data as D
from reports.mnist import training

from .conftest import ROOT, cli_env, one_line

def console_script() -> list[str]:
    """The installed ``cnn-parity`` (beside this Python, or on PATH)."""
    for candidate in (Path(sys.executable).with_name("cnn-parity"), shutil.which("cnn-parity")):
        if candidate and Path(candidate).is_file():
            return [str(candidate)]
    pytest.skip("the cnn-parity console script is not installed (pip install -e .)")


def run_together(commands, timeout=120):
    """Start every (argv, env) at once; return [(exit status, stdout, stderr)] in order."""
    procs = [subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, text=True) for argv, env in commands]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        results.append((proc.returncode, out, err))
    return results


def garbage_mnist_folder(folder: Path) -> Path:
    """Three MNIST-named files from the embedded sample and one garbage ``.gz``."""
    folder.mkdir()
    for name in D.MNIST_FILES:
        shutil.copy(D.SAMPLE_DIR / name, folder / name)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(b"this is not gzip\n")
    return folder


# ------------------------------------------------------------------------------------------
# Errors through the real console script
# ------------------------------------------------------------------------------------------

def test_bad_input_through_the_console_script(tmp_path):
    """Three of the issue's four through the real console script: a negative learning rate, a zero
    batch, a missing data folder (usage errors, exit status 2, reported before torch is imported:
    under a second each). The fourth, a garbage .gz, needs torch in the subprocess: the slow
    tier runs it (test_garbage_data_through_the_console_script), the default
    tier in-process (test_errors_found_in_the_data_or_the_device)."""
    script, env = console_script(), cli_env()
    runs = run_together([
        (script + ["train", "--lr", "-1"], env),
        (script + ["train", "--batch-size", "0"], env),
        (script + ["train", "--data-dir", str(tmp_path / "nowhere")], env),
    ])
    (lr, batch, missing) = runs
    assert lr[0] == 2 and "--lr: '-1' is not a finite number > 0; for example --lr 0.001" in one_line(lr[2], "train")
    assert batch[0] == 2 and "--batch-size: '0' is not a whole number ≥ 1" in one_line(batch[2], "train")
    assert missing[0] == 2 and "nowhere does not exist; give an existing folder" in one_line(missing[2], "train")
    assert all(out == "" for _, out, _ in runs), "errors go to standard error"


@pytest.mark.slow
def test_garbage_data_through_the_console_script(tmp_path):
    """A folder with a garbage .gz: exit status 1, one line naming the file, nothing written."""
    garbage = garbage_mnist_folder(tmp_path / "garbage")
    (status, out, err), = run_together([(console_script() + ["train", "--data-dir", str(garbage), "--out",
                                                             str(tmp_path / "out")], cli_env())])
    assert status == 1 and out == ""
    assert "t10k-labels-idx1-ubyte.gz is not gzip-compressed" in one_line(err, "train")
    assert not (tmp_path / "out").exists(), "nothing is written when the data is bad"


#: Usage errors that must be reported before torch is imported: (argv, command, expected text).
LIGHT_ERRORS = [
    (["train", "--lr", "nan"], "train", "--lr: 'nan' is not a finite number > 0"),
    (["train", "--lr", "x"], "train", "--lr: 'x' is not a finite number > 0"),
    (["train", "--epochs", "0"], "train", "--epochs: '0' is not a whole number ≥ 1; for example --epochs 1"),
    (["train", "--steps", "-5"], "train", "--steps: '-5' is not a whole number ≥ 1; see 'cnn-parity train --help'"),
    (["train", "--steps", "2.5"], "train", "--steps: '2.5' is not a whole number ≥ 1"),
    (["train", "--steps", "3", "--epochs", "2"], "train", "not allowed with argument --steps; give only one"),
    (["train", "--seed", "-1"], "train", "--seed: '-1' is not a whole number ≥ 0 (a seed); for example --seed 0"),
    (["train", "--param-every", "0"], "train", "--param-every: '0' is not a whole number ≥ 1"),
    (["train", "--net", "resnet"], "train", "invalid choice: 'resnet' (choose from 'simple', 'lenet5', 'alexnet-mnist')"),
    (["train", "--optimizer", "book_adam"], "train", "invalid choice: 'book_adam'"),
    (["train", "--data-dir", "DIR", "--download"], "train", "not allowed with argument"),
    (["train", "--out", "BLOCKER/out"], "train", "BLOCKER is a file, not a folder"),
    (["report", "--epochs", "0"], "report", "--epochs: '0' is not a whole number ≥ 1"),
    (["report", "--seed", "x"], "report", "--seed: 'x' is not a whole number ≥ 0"),
    (["report", "--data-dir", "NOWHERE"], "report", "NOWHERE does not exist; give an existing folder"),
    (["report", "--benchmarks", "NOWHERE"], "report", "NOWHERE does not exist; give an existing file"),
    (["report", "--out", "OTHERS"], "report", "is not an earlier report"),
    (["report", "--out", "BLOCKER"], "report", "exists and is not a folder; choose another --out folder"),
    (["parity", "--csv", "NOWHERE/x.csv"], "parity", "does not exist; create it first"),
    (["parity", "--dtype", "float16"], "parity", "invalid choice: 'float16'"),
    (["explain", "im2col", "--pad", "5"], "explain", "invalid choice: 5 (choose from 0, 1, 2)"),
    (["explain", "fft"], "explain", "invalid choice: 'fft'"),
    (["explain", "adam", "--pad", "1"], "explain", "adam takes no --pad (only im2col, conv-backward do); leave it out"),
    (["explain", "dropout", "--stride", "2"], "explain", "dropout takes no --stride (only im2col, conv-backward, max-pool do)"),
    (["explain", "dropout", "--seed", "-1"], "explain", "--seed: '-1' is not a whole number ≥ 0 (a seed)"),
    (["explain", "max-pool", "--stride", "3"], "explain", "invalid choice: 3 (choose from 1, 2)"),
    (["explain", "all", "--html", "NOWHERE/how.html"], "explain", "does not exist; create it first"),
    (["parity", "--seeds", "3-1"], "parity", "--seeds 3-1: '3-1' is not a seed or a range; write e.g. --seeds 0-19"),
    (["opinfo", "--csv", "NOWHERE/x.csv"], "opinfo", "does not exist; create it first"),
    (["opinfo", "--subset", "0"], "opinfo", "--subset: '0' is not a whole number ≥ 1"),
    (["bugs", "--csv", "NOWHERE/bugs.csv"], "bugs", "does not exist; create it first"),
    (["check", "NOWHERE/layers.py"], "check", "layers.py does not exist; give an existing file"),
    (["check", "DIR"], "check", "is a folder, not a file; give an existing file"),
    (["check", "BLOCKER"], "check", "is not a Python file (.py); give the file with your layers"),
    (["check", "--time-limit", "0", "NOWHERE/x.py"], "check", "--time-limit: '0' is not a finite number > 0"),
    (["check", "--names", "Conv", "NOWHERE/x.py"], "check", "--names: 'Conv': Conv is not one of the book's names"),
    (["exercise", "BLOCKER"], "exercise", "BLOCKER exists and is not a folder; choose another folder"),
    (["exercise", "DIR", "--names", "relu"], "exercise", "--names: 'relu': relu is not one of the book's names"),
    (["fuzz", "--budget", "0"], "fuzz", "--budget: '0' is not a budget: give at least 1 network"),
    (["fuzz", "--budget", "10x"], "fuzz", "'10x' is not a budget: give a number of networks (200) or a time"),
    (["fuzz", "--seed", "-1"], "fuzz", "--seed: '-1' is not a whole number ≥ 0 (a seed)"),
    (["fuzz", "--compile-every", "0"], "fuzz", "--compile-every: '0' is not a whole number ≥ 1"),
    (["fuzz", "--json", "NOWHERE/fuzz.json"], "fuzz", "does not exist; create it first"),
    (["fuzz", "--dtype", "float16"], "fuzz", "invalid choice: 'float16'"),
    (["fuzz", "--out", "BLOCKER/repros"], "fuzz", "BLOCKER is a file, not a folder"),
    (["findings", "--timeout", "0"], "findings", "--timeout: '0' is not a finite number > 0"),
    (["findings", "--kind", "gpu"], "findings", "invalid choice: 'gpu'"),
    (["findings", "--json", "NOWHERE/findings.json"], "findings", "does not exist; create it first"),
    (["findings", "--id", "nope"], "findings", "no finding 'nope'; known: compile-conv-empty-batch-backward"),
    (["parity", "--save-arrays"], "parity", "--save-arrays saves the outputs beside the --csv file; add --csv FILE"),
    (["diff", "NOWHERE", "DIR"], "diff", "A NOWHERE does not exist; give a folder written by `cnn-parity report`"),
    (["diff", "OTHERS", "DIR"], "diff", "A OTHERS is not a cnn-parity report folder: it has no layers.csv"),
    (["diff", "BLOCKER", "DIR"], "diff", "A BLOCKER is neither a report folder nor a CSV file"),
    (["diff", "DIR"], "diff", "the following arguments are required: B"),
    (["report", "--compare-with", "NOWHERE"], "report", "NOWHERE does not exist; give an existing folder"),
    (["report", "--compare-with", "OTHERS", "--out", "DIR/new"], "report",
     "--compare-with OTHERS is not a cnn-parity report folder"),
]


def test_usage_errors_come_before_torch_is_imported(tmp_path):
    """Every usage error above in one fresh interpreter: exit status 2, one line naming the
    option and how to fix it, nothing written, and torch never imported."""
    blocker, others = tmp_path / "blocker", tmp_path / "others"
    blocker.write_text("a file")
    others.mkdir()
    (others / "notes.txt").write_text("precious")
    names = {"BLOCKER": str(blocker), "OTHERS": str(others), "NOWHERE": str(tmp_path / "nowhere"),
             "DIR": str(tmp_path)}
    cases = [[names.get(a.split("/")[0], a.split("/")[0]) + a[len(a.split("/")[0]):] for a in argv]
             for argv, _, _ in LIGHT_ERRORS]
    program = textwrap.dedent("""
        import contextlib, io, json, sys
        from reports.cli import main
        results = []
        for argv in json.loads(sys.argv[1]):
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                try:
                    status = main(argv)
                except SystemExit as exc:
                    status = exc.code
            results.append([status, err.getvalue()])
        print(json.dumps({"results": results, "torch": "torch" in sys.modules}))
    """)
    proc = subprocess.run([sys.executable, "-c", program, json.dumps(cases)], env=cli_env(), cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    for (status, stderr), (argv, command, expected) in zip(answer["results"], LIGHT_ERRORS):
        assert status == 2, (argv, stderr)
        line = one_line(stderr, command)
        for key, value in names.items():
            expected = expected.replace(key, value)
        assert expected in line, (argv, line)
    assert answer["torch"] is False, "a usage error imported torch: it must be reported before any work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker", "others"]
    assert [p.name for p in others.iterdir()] == ["notes.txt"]


def test_garbage_data_in_process(tmp_path, capsys):
    """A folder with a garbage .gz, for ``train`` and ``report``: exit status 1, one line naming
    the file, before any work (the report runs no comparison), nothing written."""
    garbage = garbage_mnist_folder(tmp_path / "garbage")
    for command in ("train", "report"):
        assert main([command, "--data-dir", str(garbage), "--out", str(tmp_path / command)]) == 1
        assert "t10k-labels-idx1-ubyte.gz is not gzip-compressed" in one_line(capsys.readouterr().err, command)
        assert not (tmp_path / command).exists()


def test_errors_found_in_the_data_or_the_device(tmp_path, capsys, sample_for_train):
    """Checks that need the data or torch, in-process: a batch larger than the training set and an
    unusable device (exit status 2)."""
    assert main(["train", "--batch-size", "20000", "--out", str(tmp_path / "t")]) == 2
    line = one_line(capsys.readouterr().err, "train")
    assert "--batch-size 20000 is larger than the 10000 training images" in line and "give at most 10000" in line
    assert main(["train", "--train-images", "20000", "--out", str(tmp_path / "t")]) == 2
    assert "--train-images 20000: the embedded sample" in one_line(capsys.readouterr().err, "train")
    assert main(["parity", "--device", "no-such-device"]) == 2
    assert "--device no-such-device is not usable here" in one_line(capsys.readouterr().err, "parity")
    assert not (tmp_path / "t").exists()


def test_debug_shows_the_traceback(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")

    for argv in (["--debug", "train", "--out", str(blocker / "o")], ["train", "--debug", "--out", str(blocker / "o")]):
        with pytest.raises(UsageError, match="is a file, not a folder"):
            main(argv)
    monkeypatch.setenv("CNN_PARITY_DEBUG", "1")
    with pytest.raises(UsageError):
        main(["train", "--out", str(blocker / "o")])


# ------------------------------------------------------------------------------------------
# --help
# ------------------------------------------------------------------------------------------

def _subparsers():
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return parser, action.choices


def test_every_option_has_help_and_its_default():
    parser, commands = _subparsers()
    assert set(commands) == {"parity", "train", "report", "diff", "explain", "opinfo", "bugs", "fuzz", "findings", "check",
                             "exercise"}
    for name, sub in commands.items():
        text = sub.format_help()
        assert sub.epilog and sub.epilog.startswith("examples:") and f"cnn-parity {name}" in sub.epilog
        assert text.rstrip().endswith(sub.epilog.rstrip().splitlines()[-1].strip()), "examples come last"
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help and action.help.strip(), f"{name} {action.option_strings}: no help"
            shown = action.default not in (None, argparse.SUPPRESS) and action.default is not False
            if shown and action.option_strings:
                assert f"(default: {action.default})" in " ".join(text.split()), \
                    f"cnn-parity {name} --help does not show the default of {action.option_strings[0]}"
    train_help = commands["train"].format_help()
    assert "(default: 0.001)" in train_help and "--steps N" in train_help
    assert train_help.rstrip().endswith("# a quick look")


def test_defaults_agree_with_the_modules():
    _, commands = _subparsers()
    report_out = next(a for a in commands["report"]._actions if a.dest == "out")
    assert report_out.default == str(REPORT.DEFAULT_OUT)
    net = next(a for a in commands["train"]._actions if a.dest == "net")
    assert tuple(net.choices) == tuple(training.NETS)


# ------------------------------------------------------------------------------------------
# cnn-parity train: --steps, one line per epoch, CSVs after every epoch, Ctrl-C
# ------------------------------------------------------------------------------------------

@pytest.fixture
def sample_for_train(monkeypatch, mnist_sample):
    """``cnn-parity train`` in-process, without reading the sample again for each test."""
    monkeypatch.setattr(train, "load_training_data", lambda data_dir=None, download=False: mnist_sample)


def _csvs(out: Path):
    return [pd.read_csv(out / name) for name in ("training_curves.csv", "training_epochs.csv", "training_timing.csv")]


def test_train_steps_progress_and_csvs(tmp_path, capsys, sample_for_train):
    """--steps 5 with 2 steps per epoch: 5 steps in 3 epochs (the last partial), one progress line
    per epoch (the arithmetic at more sizes: test_training.py's steps test)."""
    out = tmp_path / "new" / "out"
    argv = ["train", "--steps", "5", "--batch-size", "50", "--train-images", "100", "--test-images", "100",
            "--dtype", "float32", "--optimizer", "sgd", "--lr", "0.05", "--out", str(out)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert lines[0].startswith("data: embedded sample") and "the first 100 training and 100 test images" in lines[0]
    assert [line.split(" (")[0] for line in lines[1:]] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    assert "(2 steps," in lines[1] and "(1 step," in lines[3]
    assert "test accuracy" in lines[1] and "(reference / torch); largest loss difference so far" in lines[1]
    curves, epochs, timing = _csvs(out)
    assert curves.step.max() == 5 and sorted(set(epochs.epoch)) == [1, 2, 3] and len(timing) == 10
    assert f"wrote {out / 'training_curves.csv'}" in captured.out


def test_train_interrupted_keeps_the_completed_epochs(tmp_path, capsys, monkeypatch, sample_for_train):
    """Ctrl-C (a KeyboardInterrupt) right after the second epoch's line: exit status 130, one line
    saying what was kept, and the CSVs of exactly those two epochs (the slow tier sends a real
    SIGINT to the console script: test_train_ctrl_c_keeps_the_completed_epochs)."""
    said = []

    def say(line):
        said.append(line)
        if line.startswith("epoch 2/"):
            raise KeyboardInterrupt
    monkeypatch.setattr(train, "_say", say)
    out = tmp_path / "out"
    argv = ["train", "--epochs", "50", "--batch-size", "50", "--train-images", "100", "--test-images", "100",
            "--dtype", "float32", "--optimizer", "sgd", "--lr", "0.05", "--out", str(out)]
    assert main(argv) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"cnn-parity train: interrupted in epoch 3 of 50; kept the 2 completed epochs in {out} "
                   "(training_curves.csv, training_epochs.csv, training_timing.csv)"]
    curves, epochs, timing = _csvs(out)
    assert sorted(set(epochs.epoch)) == [1, 2] and curves.step.max() == 4 and len(timing) == 8


@pytest.mark.slow
def test_train_ctrl_c_keeps_the_completed_epochs(tmp_path):
    """The real console script, interrupted with SIGINT once two epochs are complete: exit status
    130, one line saying what was kept, and three complete CSVs holding exactly those epochs, with
    the permissions a plain mkdir/open gives under the user's umask (here 027)."""
    out = tmp_path / "out"
    argv = console_script() + ["train", "--epochs", "1000", "--batch-size", "50", "--train-images", "200",
                               "--test-images", "100", "--dtype", "float32", "--optimizer", "sgd",
                               "--lr", "0.05", "--out", str(out)]
    def child_setup():
        os.umask(0o027)
        # A shell starts background jobs with SIGINT ignored, and exec keeps that: give the
        # command the disposition of a foreground one, whatever ran this test.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    proc = subprocess.Popen(argv, env=cli_env(), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True, preexec_fn=child_setup)
    seen = []
    try:
        for line in proc.stderr:
            seen.append(line)
            if line.startswith("epoch 2/1000"):
                proc.send_signal(signal.SIGINT)
                break
        rest, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = "".join(seen) + err
    assert proc.returncode == 130, err
    last = err.strip().splitlines()[-1]
    assert "Traceback" not in err and last.startswith("cnn-parity train: interrupted in epoch ")
    kept = int(last.split("kept the ")[1].split()[0])
    assert kept >= 2 and f"interrupted in epoch {kept + 1} of 1000" in last and str(out) in last
    curves, epochs, timing = _csvs(out)
    assert sorted(set(epochs.epoch)) == list(range(1, kept + 1)) and len(epochs) == 2 * kept
    assert curves.epoch.max() == kept and curves.step.max() == 4 * kept and len(timing) == 2 * 4 * kept
    assert sorted(p.name for p in out.iterdir()) == ["training_curves.csv", "training_epochs.csv",
                                                     "training_timing.csv"]
    assert out.stat().st_mode & 0o777 == 0o750
    assert {p.stat().st_mode & 0o777 for p in out.iterdir()} == {0o640}
    assert "wrote" not in rest
