"""The known findings (``findings/``) and their runner (``reports.findings``).

Each script is a standalone repro: torch, NumPy and the standard library only, under 100 lines, a
header saying what, where and which upstream issues, exit 1 while the problem is present, 0 once
fixed, 2 when it could not run. The scripts run here as the user would run them (a subprocess);
their "fixed" and "could not run" branches run in-process with torch patched to behave as a fixed
or a broken torch would. ``rerun`` is judged on tiny fake scripts with known exits.
"""
from __future__ import annotations

import ast
import importlib.util
import json
import os
import sys
import textwrap
import time
from types import SimpleNamespace

import pytest
import torch

from parity_tests.conftest import ROOT
from reports import findings as FD
from reports.errors import RunError, UsageError

FINDINGS = ROOT / "findings"
SCRIPTS = sorted(FINDINGS.glob("*.py"))
KNOWN = FD.known_findings()
BY_SCRIPT = {f.script.name: f for f in KNOWN}
HEADER_FIELDS = ("Finding:", "Found on:", "Upstream:", "Run:", "Exit:")


def _load(name: str):
    """A finding's script as a module (its ``main()`` not run)."""
    spec = importlib.util.spec_from_file_location(f"finding_{name.removesuffix('.py')}", FINDINGS / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _expect_present_here(finding) -> bool:
    """Found on this torch: the problem must show (elsewhere a fix is allowed, not a script that cannot run)."""
    return torch.__version__.split("+")[0] == dict(finding.found_on)["torch"].split("+")[0]


#: What each script must say while its problem is present, besides its PRESENT: line.
PRESENT_SAYS = {
    "maxpool-dilated-window-in-padding": ["torch indices [3 4 5 3 4 5]", "indices not the oracle's",
                                          "elements written outside the gradient buffer"],
    "compile-conv-empty-batch-backward": ["first backend that fails: inductor", "aot_eager_decomp_partition   agrees",
                                          "grad_weight strides eager (27, 1, 9, 3), fake (27, 9, 3, 1)"],
    "channels-last-conv-one-channel-wrong-output": ["has strides (12, 1, 4, 1)",
                                                    "the contiguous input and oneDNN off"],
    "compile-avgpool-ceil-mode-backward": ["first backend that fails: inductor", "aot_eager_decomp_partition   agrees"],
}


# ----------------------------------------------------------------------------- the index and the files

def test_the_index_lists_every_script_and_every_script_is_listed():
    assert [f.script.name for f in KNOWN] and sorted(BY_SCRIPT) == [p.name for p in SCRIPTS]
    assert len({f.id for f in KNOWN}) == len(KNOWN)
    for f in KNOWN:
        assert f.kind in FD.KINDS and f.upstream and all(u.startswith("pytorch/pytorch#") for u in f.upstream)
        assert {"torch", "python", "cpu", "date"} <= dict(f.found_on).keys()


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_a_script_is_short_and_imports_only_torch_numpy_and_the_standard_library(path):
    source = path.read_text(encoding="utf-8")
    assert len(source.splitlines()) < 100, f"{path.name}: {len(source.splitlines())} lines"
    allowed = {"torch", "numpy"} | set(sys.stdlib_module_names)
    for node in ast.walk(ast.parse(source)):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        assert not (isinstance(node, ast.ImportFrom) and node.level), f"{path.name}: a relative import"
        for name in names:
            assert name.split(".")[0] in allowed, f"{path.name} imports {name}"


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_a_script_has_its_header(path):
    """Finding, found on (torch, CPU, date as in the index), upstream (every issue of the index),
    how to run it, what its exit statuses mean."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    finding = BY_SCRIPT[path.name]
    fields = {}
    for line in doc.splitlines():
        key = next((k for k in HEADER_FIELDS if line.startswith(k)), None)
        if key:
            current = fields.setdefault(key, [])
        if key or (line.startswith(" ") and fields):
            current.append(line[len(key):] if key else line)
    assert set(fields) == set(HEADER_FIELDS), f"{path.name} lacks {set(HEADER_FIELDS) - set(fields)}"
    text = {k: " ".join(" ".join(v).split()) for k, v in fields.items()}
    found = dict(finding.found_on)
    for key in ("torch", "python", "date"):
        assert found[key] in text["Found on:"], f"{path.name}: {key} {found[key]} not in the header"
    assert found["cpu"].split("(")[0].split(",")[0].strip() in text["Found on:"]
    for issue in finding.upstream:
        assert f"#{issue.rsplit('#', 1)[1]}" in text["Upstream:"], f"{path.name}: {issue} not in the header"
    assert f"findings/{path.name}" in text["Run:"]
    assert all(f"{code} " in text["Exit:"] for code in (0, 1, 2))


# ----------------------------------------------------------------------------- the scripts, as run by a user

@pytest.mark.parametrize("finding", [pytest.param(f, id=f.id, marks=[pytest.mark.compile if f.kind == "compile"
                                                                    else pytest.mark.slow])
                                     for f in KNOWN])
def test_a_finding_script_runs_and_is_present_on_the_torch_it_was_found_on(finding):
    """As a user runs it (a subprocess, this interpreter): never "could not run"; on the torch it was
    found on, present, saying what it must. The slow tier (a fresh interpreter importing torch: 2 s
    here; .ci/run runs it every time); compile findings run in the compile tier."""
    if finding.kind == "compile":
        from reports.parity import configs as C

        reason = C.unavailable(C.by_name("compile"))
        if reason:
            pytest.skip(reason)
    result = FD.rerun(finding)
    assert result.status != FD.COULD_NOT_RUN, result.output
    if _expect_present_here(finding):
        assert (result.status, result.returncode) == (FD.PRESENT, 1), result.output
        for text in PRESENT_SAYS.get(finding.id, []):
            assert text in result.output, result.output


def test_what_the_scripts_must_say_names_known_findings():
    assert set(PRESENT_SAYS) <= {f.id for f in KNOWN}         # a renamed id must not skip its checks


# ----------------------------------------------------------------------------- what "fixed" and "could not run" look like

def test_maxpool_script_says_fixed_when_torch_refuses_the_window(monkeypatch, capsys):
    script = _load("maxpool_dilated_window_in_padding.py")

    def refuse(*args, **kwargs):
        raise RuntimeError("max_pool2d(): a window has no element inside the input")
    monkeypatch.setattr(script.F, "max_pool2d", refuse)
    assert script.main() == 0
    assert "FIXED: torch refuses the configuration: RuntimeError: max_pool2d(): a window" in capsys.readouterr().out


@pytest.mark.parametrize("index, status, says", [
    (-1, 0, "FIXED: indices inside the input"),
    (0, 1, "PRESENT: 2 gradient elements differ from the oracle"),
], ids=["index-minus-1", "index-0"])
def test_maxpool_script_judges_the_indices_of_an_empty_window(monkeypatch, capsys, index, status, says):
    """A window with no element inside marked by the index -1 (torch's backward skips -1): fixed.
    An index inside the input sends the window's gradient to an element the window does not hold: present."""
    script = _load("maxpool_dilated_window_in_padding.py")
    real = torch.nn.functional.max_pool2d

    def patched(*args, **kwargs):
        out, idx = real(*args, **kwargs)
        return out, torch.full_like(idx, index)
    monkeypatch.setattr(script.F, "max_pool2d", patched)
    assert script.main() == status
    out = capsys.readouterr().out
    assert says in out and "0 of 12 elements written" in out


class _FakeCompileTorch:
    """torch, but ``torch.compile`` runs eagerly (no Inductor) and fails where asked, and
    ``torch._dynamo`` is a stand-in listing ``backends`` (the default tier never imports dynamo)."""

    def __init__(self, fail_on_empty=False, fail_always=False, backends=None):
        self.fail_on_empty, self.fail_always = fail_on_empty, fail_always
        listed = list(backends or ["eager", "aot_eager", "aot_eager_decomp_partition", "inductor"])
        self._dynamo = SimpleNamespace(reset=lambda: None, list_backends=lambda exclude_tags=(): listed)
        self._subclasses = SimpleNamespace()      # FakeTensorMode imports sympy (seconds): its line is the compile test's

    def compile(self, fn, backend=None):
        def compiled(x, *rest):
            if self.fail_always or (self.fail_on_empty and x.shape[0] == 0):
                raise AssertionError(f"expected size 3==3 (planted, {backend})")
            return fn(x, *rest)
        return compiled

    def __getattr__(self, name):
        return getattr(torch, name)


@pytest.mark.parametrize("fake, status, says", [
    (_FakeCompileTorch(), 0, "FIXED: every backend agrees"),
    (_FakeCompileTorch(fail_on_empty=True), 1, "PRESENT: first backend that fails: eager"),
    (_FakeCompileTorch(fail_always=True), 2, "COULD NOT RUN: eager, aot_eager, aot_eager_decomp_partition, inductor fail"),
], ids=["fixed", "present", "fails-on-N=1-too"])
def test_compile_script_judges_the_ablation(monkeypatch, capsys, fake, status, says):
    """The compile script's verdicts, with torch.compile replaced by eager stand-ins (no compiling)."""
    script = _load("compile_conv_empty_batch_backward.py")
    monkeypatch.setattr(script, "torch", fake)
    assert script.main() == status
    out = capsys.readouterr().out
    assert says in out
    if status == 1:
        assert "raises AssertionError: expected size 3==3 (planted, eager)" in out
        assert "cause: not shown (AttributeError" in out         # a failing diagnosis changes no verdict


def test_compile_script_cannot_run_without_its_backends(monkeypatch):
    script = _load("compile_conv_empty_batch_backward.py")
    monkeypatch.setattr(script, "torch", _FakeCompileTorch(backends=["eager", "inductor"]))
    with pytest.raises(RuntimeError, match="lacks the backends"):
        script.main()                     # the __main__ block turns this into COULD NOT RUN, exit 2


# ----------------------------------------------------------------------------- rerun() on fake scripts

def _fake_findings(tmp_path, scripts: dict):
    """Write ``scripts`` ({file name: source}) and an index listing them; return {id: Finding}."""
    for name, body in scripts.items():
        (tmp_path / name).write_text(textwrap.dedent(body), encoding="utf-8")
    rows = [{"id": name.removesuffix(".py"), "title": name, "script": name, "kind": "eager", "timeout_s": 30,
             "upstream": [], "found_on": {"torch": "0"}} for name in scripts]
    (tmp_path / "index.json").write_text(json.dumps({"findings": rows}), encoding="utf-8")
    return {f.id: f for f in FD.known_findings(tmp_path)}


@pytest.mark.skipif(os.name != "posix", reason="a script killed by a signal, process groups: POSIX")
def test_rerun_classifies_exit_statuses(tmp_path):
    """Exit 1 with PRESENT: is present, exit 0 with FIXED: is fixed; every other ending could not run —
    a traceback (Python exits 1) and a verdict line without its exit status included."""
    found = _fake_findings(tmp_path, {
        "fixed.py": "print('FIXED: fine')\n",
        "present.py": "import sys\nprint('out'); print('PRESENT: bad', file=sys.stderr); sys.exit(1)\n",
        "cannot.py": "import sys\nprint('COULD NOT RUN: no'); sys.exit(2)\n",
        "other.py": "import sys\nprint('PRESENT: but exit 3'); sys.exit(3)\n",
        "crash.py": "raise ValueError('a bug in the script')\n",
        "silent.py": "pass\n",
        "killed.py": "import os, signal\nprint('PRESENT: then killed', flush=True)\nos.kill(os.getpid(), signal.SIGKILL)\n",
    })
    got = {k: FD.rerun(f) for k, f in found.items()}
    assert {k: (r.status, r.returncode, r.reason) for k, r in got.items()} == {
        "fixed": (FD.FIXED, 0, "exit 0"), "present": (FD.PRESENT, 1, "exit 1"),
        "cannot": (FD.COULD_NOT_RUN, 2, "exit 2"), "other": (FD.COULD_NOT_RUN, 3, "exit 3"),
        "crash": (FD.COULD_NOT_RUN, 1, "exit 1 without a 'PRESENT:' line (did the script crash?)"),
        "silent": (FD.COULD_NOT_RUN, 0, "exit 0 without a 'FIXED:' line (did the script crash?)"),
        "killed": (FD.COULD_NOT_RUN, -9, "killed by SIGKILL")}
    assert "ValueError: a bug in the script" in got["crash"].output
    assert got["present"].output.splitlines() == ["out", "PRESENT: bad"]          # stdout and stderr, in order
    assert got["present"].line().startswith("present: present (exit 1, ") and got["present"].line().endswith("— PRESENT: bad")
    assert FD.status_of(None, "PRESENT: x") == (FD.COULD_NOT_RUN, "timed out")
    assert FD.status_of(1, "log\nPRESENT: x\nmore") == (FD.PRESENT, "exit 1")
    assert FD.status_of(1, " PRESENT: indented")[0] == FD.COULD_NOT_RUN


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="a script killed by a signal, process groups: POSIX")
def test_rerun_times_out_and_leaves_nothing_running(tmp_path):
    """A script past its limit is killed with everything it started (its process group). The slow
    tier (it waits out its 2 s limit; .ci/run runs it every time)."""
    child = tmp_path / "child.pid"
    found = _fake_findings(tmp_path, {"slow.py": f"""
        import subprocess, sys, time
        p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        open({str(child)!r}, "w").write(str(p.pid))
        print("started", flush=True)
        time.sleep(60)
        """})
    t0 = time.perf_counter()
    result = FD.rerun(found["slow"], timeout=2)
    assert time.perf_counter() - t0 < 30
    assert (result.status, result.returncode, result.reason) == (FD.COULD_NOT_RUN, None, "timed out after 2 s")
    assert "started" in result.output
    pid = int(child.read_text())
    deadline = time.time() + 10
    while time.time() < deadline and _alive(pid):
        time.sleep(0.05)
    assert not _alive(pid), "the script's own child survived the time-out"


def _alive(pid: int) -> bool:
    if os.path.isdir("/proc"):
        try:
            with open(f"/proc/{pid}/stat") as fh:               # a zombie has been killed, only not reaped
                return fh.read().split(")")[-1].split()[0] != "Z"
        except FileNotFoundError:
            return False
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def test_the_index_is_checked(tmp_path):
    with pytest.raises(RunError, match="no findings index at .*; run from a cnn-parity checkout"):
        FD.known_findings(tmp_path)
    _fake_findings(tmp_path, {"a.py": "pass\n"})
    rows = json.loads((tmp_path / "index.json").read_text())["findings"]
    for change, message in [({"script": "missing.py"}, "is not a file in"), ({"kind": "gpu"}, "has kind 'gpu'"),
                            ({"timeout_s": 0}, "not a positive number"), ({"upstream": "#1"}, "needs a list 'upstream'"),
                            ({"title": None, "upstream": None}, None)]:
        row = {k: v for k, v in dict(rows[0], **change).items() if v is not None}
        (tmp_path / "index.json").write_text(json.dumps({"findings": [row]}))
        with pytest.raises(RunError, match=message or "lacks title, upstream"):
            FD.known_findings(tmp_path)
    (tmp_path / "index.json").write_text(json.dumps({"findings": rows * 2}))
    with pytest.raises(RunError, match="ids appear twice"):
        FD.known_findings(tmp_path)
    with pytest.raises(UsageError, match="no finding 'nope'; known: compile-conv-empty-batch-backward, maxpool"):
        FD.find("nope")


# ----------------------------------------------------------------------------- cnn-parity findings, the statuses, the report's data

def _fake_folder(tmp_path, monkeypatch, scripts: dict, kinds: dict | None = None):
    """Fake findings (see ``_fake_findings``) that ``known_findings()`` reads by default."""
    found = _fake_findings(tmp_path, scripts)
    if kinds:
        rows = json.loads((tmp_path / "index.json").read_text())["findings"]
        for row in rows:
            row["kind"] = kinds.get(row["id"], row["kind"])
        (tmp_path / "index.json").write_text(json.dumps({"findings": rows}))
    monkeypatch.setattr(FD, "FINDINGS_DIR", tmp_path)
    return found


def test_findings_command_reruns_each_script_and_says_what_it_saw(tmp_path, monkeypatch, capsys):
    """One line per finding; exit 0 when every script gave a verdict (present or fixed), 1 when one
    could not run; --list runs nothing; --json records the statuses, keeping those not rerun."""
    from reports.cli import main

    _fake_folder(tmp_path, monkeypatch, {"a_present.py": "import sys\nprint('PRESENT: still'); sys.exit(1)\n",
                                         "b_fixed.py": "print('FIXED: fine')\n"}, kinds={"b_fixed": "compile"})
    assert main(["findings"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("a_present: present (exit 1, ") and out[0].endswith("— PRESENT: still")
    assert out[1].startswith("b_fixed: fixed (exit 0, ") and out[2] == "2 findings: 1 present, 1 fixed, 0 could not run"
    assert main(["findings", "--list"]) == 0
    assert capsys.readouterr().out.splitlines() == ["a_present (eager): a_present.py", "b_fixed (compile): b_fixed.py"]
    statuses = tmp_path / "statuses.json"
    assert main(["findings", "--json", str(statuses)]) == 0
    (tmp_path / "a_present.py").write_text("raise SystemExit('crashed')\n")
    assert main(["findings", "--kind", "eager", "--json", str(statuses)]) == 1     # exit 1 without PRESENT:
    saved = FD.load_statuses(statuses)["findings"]
    assert saved["a_present"]["status"] == FD.COULD_NOT_RUN and saved["b_fixed"]["status"] == FD.FIXED
    assert saved["b_fixed"]["torch"] == FD.torch_version() and saved["b_fixed"]["last_line"] == "FIXED: fine"
    capsys.readouterr()
    assert main(["findings", "--kind", "compile", "--id", "a_present"]) == 2
    assert "no finding of kind compile" in capsys.readouterr().err


def test_section_data_reruns_the_cheap_findings_and_reads_the_others(tmp_path, monkeypatch):
    _fake_folder(tmp_path, monkeypatch, {"a.py": "import sys\nprint('PRESENT: x'); sys.exit(1)\n",
                                         "b.py": "print('FIXED: y')\n"}, kinds={"b": "compile"})
    statuses = tmp_path / "statuses.json"
    data = FD.section_data(rerun_kinds=("eager",), statuses_path=statuses, fuzz_path=tmp_path / "none.json")
    rows = {r["id"]: r for r in data["known"]}
    assert rows["a"]["status"] == FD.PRESENT and rows["a"]["source"].startswith("rerun now, torch")
    assert rows["b"]["status"] == "not run" and "no statuses yet" in rows["b"]["reason"]
    assert data["fuzz"] is None and "no fuzz results" in data["fuzz_problem"]
    FD.save_statuses(statuses, [FD.rerun(FD.find("b"))], date="2026-12-06 05:00 UTC")
    rows = {r["id"]: r for r in FD.section_data(rerun_kinds=(), statuses_path=statuses)["known"]}
    assert rows["b"]["status"] == FD.FIXED and rows["b"]["source"] == f"last rerun 2026-12-06 05:00 UTC, torch {FD.torch_version()}"
    assert rows["a"]["status"] == "not run" and rows["a"]["reason"] == "no recorded rerun"
    statuses.write_text("[]")
    with pytest.raises(RunError, match="not a statuses file"):
        FD.load_statuses(statuses)


def test_the_page_names_a_duplicate_first_and_the_related_issues_short():
    from reports.html.sections.findings import upstream_text

    assert upstream_text({"upstream": ["pytorch/pytorch#2", "pytorch/pytorch#1"], "upstream_duplicate": "pytorch/pytorch#1"}) \
        == "duplicate of #1; related: #2"
    assert upstream_text({"upstream": ["pytorch/pytorch#3"], "upstream_duplicate": None}) == "#3"
    assert upstream_text({"upstream": ["pytorch/pytorch#1"], "upstream_duplicate": "pytorch/pytorch#1"}) == "duplicate of #1"
    rows = {r["id"]: r for r in FD.section_data(rerun_kinds=(), fuzz_path=None)["known"]}
    assert upstream_text(rows["compile-avgpool-ceil-mode-backward"]).startswith("duplicate of #198119")
