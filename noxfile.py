"""The environment matrix on nox: one virtual environment per environment, the report in each, the diffs.

    pip install -e ".[matrix]"      # nox
    nox                             # every session: the three reports, then the two diffs
    nox -s torch-2.13.0-cpu         # one environment
    nox -s diff                     # the diffs of the reports already made
    nox -- --full                   # the full report instead of --quick (minutes per environment)

Sessions (docs/environments.md):

``torch-2.14.1``        torch 2.14.1 with torchvision (the project's own environment)
``torch-2.13.0-cpu``    torch 2.13.0+cpu, without torchvision (none of the torchvision wheels here
                        imports under it): the project runs without it (MNIST through its own IDX reader)
``torch-2.14.1-avx2``   the torch-2.14.1 environment again with ``ATEN_CPU_CAPABILITY=avx2``: torch's
                        AVX2 kernels instead of AVX-512 on the same machine (an older CPU's kernels).
                        It shares torch-2.14.1's virtual environment (no second 5.5 GB install): it has
                        no environment of its own (``venv_backend="none"``) and runs that one's programs.
``diff``                ``cnn-parity diff`` of 2.13.0 -> 2.14.1 and AVX-512 -> AVX2, in a small
                        environment without torch (the diff reads CSV files and manifests only)

Each report goes to ``matrix-out/<session>/`` (``CNN_PARITY_MATRIX_OUT`` moves it) with its saved
outputs and arrays (``--save-arrays``), each diff to ``matrix-out/diff-<A>-to-<B>/`` (``diff.csv``,
``diff.html``). Environments are reused (``reuse_venv = "yes"``): a second run finds torch installed
and installs nothing again; ``nox -R`` skips the install commands altogether.
"""
from __future__ import annotations

import os
from pathlib import Path

import nox

nox.options.reuse_venv = "yes"
nox.options.default_venv_backend = "venv"
nox.options.sessions = ["torch-2.14.1", "torch-2.13.0-cpu", "torch-2.14.1-avx2", "diff"]

ROOT = Path(__file__).resolve().parent
OUT = Path(os.environ.get("CNN_PARITY_MATRIX_OUT", ROOT / "matrix-out"))
#: The pairs the diff session compares: (A, B), B the new one.
DIFFS = [("torch-2.13.0-cpu", "torch-2.14.1"), ("torch-2.14.1", "torch-2.14.1-avx2")]
#: Where torch-2.14.1 notes its environment's bin folder, which torch-2.14.1-avx2 runs.
BIN_NOTE = OUT / ".torch-2.14.1-bin"
#: What the project needs besides torch (pyproject.toml's dependencies), and what the report's OpInfo section needs.
PROJECT_DEPS = ["numpy>=1.24", "pandas>=2.0", "tqdm>=4.60", "jinja2>=3.1", "pillow>=9.1",
                "expecttest>=0.2"]   # expecttest: torch.testing._internal (the OpInfo corpus) imports it


def _install(session: nox.Session, torch_pins: list[str]) -> None:
    """torch (pinned, with a constraints file so nothing can replace it), the project's other
    dependencies, and the project itself without its dependencies (so that pip never reaches for a
    torchvision, which would pull another torch)."""
    constraints = Path(session.create_tmp()) / "torch-pins.txt"
    constraints.write_text("\n".join(torch_pins) + "\n", encoding="utf-8")
    session.install(*torch_pins, *PROJECT_DEPS, "-c", str(constraints))
    session.install("--no-deps", "-e", str(ROOT))


def _report(session: nox.Session, name: str, bin_dir: str | None = None, env: dict | None = None) -> None:
    """``cnn-parity report`` (``--quick`` unless ``-- --full``) into ``OUT/<name>``, with its arrays."""
    program = "cnn-parity" if bin_dir is None else str(Path(bin_dir) / "cnn-parity")
    args = [] if "--full" in session.posargs else ["--quick"]
    ran = session.run(program, "report", *args, "--save-arrays", "--out", str(OUT / name),
                      env=env or {}, external=bin_dir is not None, success_codes=[0, 1])   # 1: a comparison failed
    if ran is not None and not (OUT / name / "outputs.json").is_file():    # ... not a crash (None: --install-only)
        session.error(f"the report did not complete: {OUT / name} has no outputs.json")


@nox.session(name="torch-2.14.1")
def torch_2_14_1(session: nox.Session) -> None:
    """torch 2.14.1 and torchvision 0.29.1: the report."""
    _install(session, ["torch==2.14.1", "torchvision==0.29.1"])
    OUT.mkdir(parents=True, exist_ok=True)
    BIN_NOTE.write_text(session.bin + "\n", encoding="utf-8")     # for torch-2.14.1-avx2
    _report(session, "torch-2.14.1")


@nox.session(name="torch-2.13.0-cpu")
def torch_2_13_0_cpu(session: nox.Session) -> None:
    """torch 2.13.0+cpu without torchvision: the report."""
    _install(session, ["torch==2.13.0+cpu"])
    session.run("python", "-c", "import importlib.util, sys; sys.exit(importlib.util.find_spec('torchvision') is not None)")
    _report(session, "torch-2.13.0-cpu")


@nox.session(name="torch-2.14.1-avx2", venv_backend="none")
def torch_2_14_1_avx2(session: nox.Session) -> None:
    """torch-2.14.1's environment with ATEN_CPU_CAPABILITY=avx2: the report."""
    bin_dir = Path(BIN_NOTE.read_text(encoding="utf-8").strip()) if BIN_NOTE.is_file() else None
    if bin_dir is None or not (bin_dir / "cnn-parity").exists():
        session.error("run `nox -s torch-2.14.1` first: this session runs that session's environment")
    _report(session, "torch-2.14.1-avx2", bin_dir=str(bin_dir), env={"ATEN_CPU_CAPABILITY": "avx2"})


@nox.session(name="diff")
def diff(session: nox.Session) -> None:
    """cnn-parity diff of each pair of DIFFS whose reports exist (no torch needed)."""
    session.install("numpy>=1.24", "pandas>=2.0", "jinja2>=3.1", "pillow>=9.1")
    session.install("--no-deps", "-e", str(ROOT))
    done = 0
    for a, b in DIFFS:
        if not ((OUT / a).is_dir() and (OUT / b).is_dir()):
            session.warn(f"skipping {a} -> {b}: run the sessions {a} and {b} first")
            continue
        session.run("cnn-parity", "diff", str(OUT / a), str(OUT / b), "--out", str(OUT / f"diff-{a}-to-{b}"),
                    success_codes=[0, 1])
        done += 1
    if not done:
        session.error("no pair of reports to diff: run the report sessions first")
