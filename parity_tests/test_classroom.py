"""The classroom (``reports.classroom``): ``cnn-parity check`` grading a student's own layers, the
diagnosis by failure signatures, the child process that isolates the student's code, and the
starter file of ``cnn-parity exercise``.

Default tier: the judges' known answers (agreement, similarity, closeness, the diagnosis, verdicts,
exit statuses), the starter, one cheap name at a time graded in-process (a student's exception,
wrong shape or dtype, a planted mistake and its diagnosis), the supervisor of the child process with
a stand-in worker, the signatures file. Slow tier: whole files through the real child process — the
book's own layers.py, a file with every kind of misbehaviour, the starter with the answers pasted in.
"""
from __future__ import annotations

import ast
import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from reports.classroom import NAMES, answer_key as K
from reports.classroom import exercise, isolation, signatures as S, verdicts as V
from reports.classroom.grading import grade_name, plan
from reports.commands import check as check_command
from reports.parity.records import Record, compare

from .conftest import BOOK, ROOT, cli_env, needs_book_code, one_line


def _record(quantity="output", dtype="float64", max_rel=0.0, tol=1e-10, note="", group="layer", case="Relu",
            config="{}"):
    return Record(case=case, quantity=quantity, dtype=dtype, config=config, ref_shape="()", torch_shape="()",
                  max_abs=max_rel, max_rel=max_rel, tol=tol, headroom=math.inf, verdict="pass" if max_rel <= tol
                  and not note else "fail", group=group, note=note)


# ------------------------------------------------------------------------------------------
# The judges: known answers
# ------------------------------------------------------------------------------------------

def test_agreement_known_answers():
    assert S.agreement(("numeric", 1e-3), ("numeric", 1e-3)) == 1.0
    assert S.agreement(("numeric", 1e-3), ("numeric", 9e-3)) == 1.0          # within a factor 10
    assert S.agreement(("numeric", 1e-3), ("numeric", 5e-2)) == 0.5          # within a factor 100
    assert S.agreement(("numeric", 1e-3), ("numeric", 2e-1)) == 0.0          # beyond
    assert S.agreement(("numeric", 2e-1), ("numeric", 1e-3)) == 0.0          # symmetric
    assert S.agreement(("dtype", 0.0), ("dtype", 5.0)) == 1.0                # same mismatch
    assert S.agreement(("error", math.inf), ("error", math.inf)) == 1.0
    assert S.agreement(("error", math.inf), ("numeric", 1.0)) == 0.0         # different ways
    assert S.agreement(("shape", math.inf), ("dtype", 0.0)) == 0.0


def test_similarity_is_a_weighted_jaccard_index():
    a = {"k1": ("numeric", 1.0), "k2": ("error", math.inf)}
    b = {"k1": ("numeric", 1.0), "k3": ("dtype", 0.0)}
    assert S.similarity(a, b) == pytest.approx(1 / 3)                         # 1 agreed of 3 keys
    assert S.similarity(a, a) == 1.0
    assert S.similarity(a, {}) == 0.0 and S.similarity({}, {}) == 0.0
    half = {"k1": ("numeric", 50.0), "k2": ("error", math.inf)}               # k1 a factor 50 off
    assert S.similarity(a, half) == pytest.approx((0.5 + 1) / 2)


def test_closeness_words():
    assert [S.closeness(v) for v in (1.0, 0.9, 0.89, 0.6, 0.59, 0.0)] == \
        ["a match", "a match", "close", "close", "partial", "partial"]


def _keys(prefix, n, kind="numeric", rel=1.0):
    return {f"{prefix}{i}": (kind, rel) for i in range(n)}


def test_diagnose_one_bug():
    student = _keys("a", 10)
    known = {"other": _keys("b", 4), "bug": _keys("a", 10), "near": _keys("a", 5)}
    found = S.diagnose(student, set(student) | set(_keys("b", 4)), known)
    assert [p.candidate for p in found.parts] == ["bug"]
    assert found.similarity == 1.0 and found.unexplained == 0 and found.failing == 10
    assert found.parts[0].precision == 1.0 and found.parts[0].explains == 10


def test_diagnose_two_parts_and_what_is_left():
    student = {**_keys("a", 6), **_keys("b", 3, "dtype"), "z": ("error", math.inf)}
    known = {"A": _keys("a", 6), "B": _keys("b", 3, "dtype"), "wrong_way": _keys("b", 3, "numeric")}
    found = S.diagnose(student, set(student), known)
    assert [(p.candidate, p.explains) for p in found.parts] == [("A", 6), ("B", 3)]
    assert found.unexplained == 1                              # "z" matches nothing
    assert found.similarity == pytest.approx(9 / 10)           # 9 agreed over the union of 10 keys
    assert found.parts[0].similarity == pytest.approx(6 / 10) and found.parts[1].similarity == pytest.approx(3 / 4)


def test_diagnose_precision_threshold_and_nearest():
    student = _keys("a", 4)
    half = {**_keys("a", 2), **_keys("x", 2)}                  # the student reproduces half of it
    less = {**_keys("a", 2), **_keys("x", 3)}                  # 2 of 5: below MIN_PRECISION
    assert S.diagnose(student, set(student) | set(less), {"half": half}).parts[0].precision == 0.5
    found = S.diagnose(student, set(student) | set(less), {"less": less})
    assert found.parts == [] and found.nearest == ("less", pytest.approx(2 / 7))
    # keys outside what both ran do not count
    assert S.diagnose(student, {"a0"}, {"bug": {"a0": ("numeric", 1.0)}}).failing == 1


def test_outcome_of_records():
    x = np.zeros((2, 3))
    assert S.outcome(compare("L", "q", x, x, 0.0)) is None
    assert S.outcome(compare("L", "q", x, np.zeros((3, 2)), 1.0))[0] == "shape"
    assert S.outcome(compare("L", "q", x, x.astype(np.float32), 1.0))[0] == "dtype"
    assert S.outcome(compare("L", "q", np.array([np.nan, 1.0]), np.array([1.0, np.nan]), 1.0))[0] == "nonfinite"
    assert S.outcome(compare("L", "q", np.ones(2), np.full(2, 2.0), 0.1)) == ("numeric", 0.5)
    assert S.outcome(_record(group="error", max_rel=math.inf, note="raises")) == ("error", math.inf)
    assert S.outcome(_record(group="todo", max_rel=math.inf, note="raises NotImplementedError")) is None


def test_exit_status_and_verdicts():
    def result(*records, status="graded", message=""):
        return isolation.NameResult("Relu", status, list(records), [], ["case"], message)

    ok, bad = _record(), _record(max_rel=1e-3)
    todo = _record(group="todo", max_rel=math.inf, note="Relu.forward raises NotImplementedError (hint)")
    sigs = S.Signatures("", [], {}, {})
    assert V.verdict_of(result(ok), sigs).verdict == "pass"
    failing = V.verdict_of(result(ok, bad, todo), sigs)
    assert failing.verdict == "fail" and failing.first.endswith("max_rel 1.00e-03 > tol 1.0e-10 (max_abs 1.00e-03)")
    assert V.verdict_of(result(todo), sigs).verdict == "to do"
    assert V.verdict_of(result(status="timeout", message="did not finish in 3 s")).first == "Relu did not finish in 3 s"
    assert V.verdict_of(result(status="internal", message="x")).verdict == "error"
    verdict = lambda *words: [V.Verdict("n", w) for w in words]
    assert V.exit_status(verdict("pass", "pass")) == 0
    assert V.exit_status(verdict("pass", "to do")) == 3 and V.exit_status(verdict("to do")) == 3
    assert V.exit_status(verdict("pass", "fail", "to do")) == 1 and V.exit_status(verdict("error")) == 1


def test_skip_rules_tolerance_and_summary_known_answers():
    from reports.classroom.grading import beyond_reason, student_tolerance, takes
    assert beyond_reason({"N": 2, "stride": (3, 2), "pad": 1}) == "stride (3, 2) per axis"
    assert beyond_reason({"N": 2, "stride": 1, "pad": "same"}) == 'pad="same"'
    assert beyond_reason({"N": 2, "stride": 1, "pad": 0, "bias": False}) == "no bias (b=None)"
    assert beyond_reason({"N": 6, "labels": "probabilities"}) == "probability targets"
    assert beyond_reason({"shape": "1×0×3"}) == beyond_reason({"N": 0}) == "an empty batch or axis (size 0)"
    assert beyond_reason({"N": 2, "stride": 2, "pad": 1, "kind": "ties"}) == ""
    assert student_tolerance("float64").rtol == 50 * np.finfo(np.float64).eps
    assert student_tolerance("float32").rtol == pytest.approx(50 * 1.1920929e-07)
    assert takes(K.Convolution, {"groups": 2, "dilation": 2}) == ["groups", "dilation"]
    assert takes(lambda W, b, **options: None, {"groups": 2}) == []
    assert V.skipped_summary([("a", "beyond the book's interface: x"), ("b", "needs groups: ..."),
                       ("c", "beyond the book's interface: y")], ["d", "e"]) == \
        "2 case(s) run, 3 skipped: beyond the book's interface (2); needs groups (1)"


def test_the_command_and_the_classroom_agree():
    """``check``'s help names the grader's names and default limit without importing it."""
    assert check_command.NAMES == NAMES
    assert check_command.TIME_LIMIT == isolation.DEFAULT_TIME_LIMIT


# ------------------------------------------------------------------------------------------
# The starter file, and the starter with the answers pasted in
# ------------------------------------------------------------------------------------------

def _functions(text):
    """{qualified name: FunctionDef} of a module's functions and methods."""
    out = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef):
            out[node.name] = node
        elif isinstance(node, ast.ClassDef):
            out.update({f"{node.name}.{f.name}": f for f in node.body if isinstance(f, ast.FunctionDef)})
    return out


def test_the_starter_keeps_signatures_and_docstrings_and_raises():
    text = exercise.starter()
    starter, key = _functions(text), _functions(Path(K.__file__).read_text(encoding="utf-8"))
    assert list(starter) == list(key) == list(exercise.HINTS), "one hint per function and method of the key"
    for name, node in starter.items():
        assert ast.unparse(node.args) == ast.unparse(key[name].args), name
        assert ast.get_docstring(node) == ast.get_docstring(key[name]), name
        raise_ = node.body[-1]
        assert len(node.body) == 2 and isinstance(raise_, ast.Raise), name
        assert raise_.exc.func.id == "NotImplementedError" and raise_.exc.args[0].value == exercise.HINTS[name]
    top = [n.name for n in ast.parse(text).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    assert top == list(NAMES)
    assert "(N, FN, OH, OW)" in text and "import reference" not in text and "cnn-parity check layers.py" in text
    assert [n.name for n in ast.parse(exercise.starter(["Relu", "SGD"])).body if isinstance(n, ast.ClassDef)] == \
        ["Relu", "SGD"]


def pasted(mistakes=None, names=NAMES) -> str:
    """The starter with the answer key's bodies pasted in place of each ``raise NotImplementedError``
    (``mistakes``: {qualified name: body} pasted instead, one mistake each)."""
    lines = exercise.starter(names).splitlines()
    for name, node in sorted(_functions("\n".join(lines)).items(), key=lambda p: -p[1].lineno):
        head, body, indent, _ = exercise.bodies(names)[name]
        if mistakes and name in mistakes:
            body = [indent + line for line in textwrap.dedent(mistakes[name]).strip().splitlines()]
        lines[node.body[-1].lineno - 1:node.body[-1].end_lineno] = body
    header = ["import reference as R", "from reference import optimizer as O", "METHOD = 'book'"]
    return "\n".join([*header, *lines]) + "\n"


def load_file(path: Path):
    """A student's file, imported in this process (its folder first on sys.path, then restored)."""
    from reports.classroom.worker import load_student
    saved = list(sys.path)
    try:
        return load_student(path)
    finally:
        sys.path[:] = saved


#: Names that grade in well under a second each (torch.optim's first optimizer imports torch._dynamo:
#: seconds; the optimizers are graded in the slow tier).
CHEAP = ("Relu", "Sigmoid", "Affine", "SoftmaxWithLoss", "Dropout")


def test_the_starter_with_the_answers_pasted_in_passes(tmp_path):
    path = tmp_path / "pasted_answers.py"
    path.write_text(pasted(), encoding="utf-8")
    module = load_file(path)
    for name in CHEAP:
        graded = grade_name(getattr(module, name), name)
        assert graded.records and all(r.passed for r in graded.records), [r.describe() for r in graded.records
                                                                        if not r.passed]


# ------------------------------------------------------------------------------------------
# Grading a name in-process: how the student's misbehaviour shows in the records
# ------------------------------------------------------------------------------------------

class RaisingRelu(K.Relu):
    def backward(self, dout):
        raise ValueError("shapes do not line up")


class WrongShapeRelu(K.Relu):
    def forward(self, x):
        return super().forward(x).reshape(len(x), -1)


class UpcastRelu(K.Relu):
    def forward(self, x):
        return super().forward(x.astype(np.float64))


class InPlaceRelu(K.Relu):              # the book's backward writes into dout: the grader gives a copy
    def backward(self, dout):
        dout[self.layer.mask] = 0
        return dout


class ForwardOnlyRelu:
    def forward(self, x):
        return np.maximum(x, 0)


class TodoRelu(K.Relu):
    def backward(self, dout):
        raise NotImplementedError("dx = dout where x > 0")


def test_a_students_exception_shape_and_dtype_become_failing_records():
    raised = grade_name(RaisingRelu, "Relu").records
    assert [(r.quantity, r.passed) for r in raised[:2]] == [("output", True), ("dx", False)]
    assert raised[1].group == "error" and raised[1].note == "Relu.backward raises ValueError: shapes do not line up"
    shape = grade_name(WrongShapeRelu, "Relu").records
    assert "shape mismatch (2, 60) vs (2, 3, 4, 5)" in shape[0].note and S.outcome(shape[0])[0] == "shape"
    upcast = [r for r in grade_name(UpcastRelu, "Relu").records if r.dtype == "float32"]
    assert upcast and all(S.outcome(r) == ("dtype", 0.0) for r in upcast if r.quantity == "output")
    assert all(r.passed for r in grade_name(InPlaceRelu, "Relu").records)
    missing = grade_name(ForwardOnlyRelu, "Relu").records
    assert missing[0].passed and missing[1].note == ("Relu.backward raises AttributeError: 'ForwardOnlyRelu' "
                                                     "object has no attribute 'backward'")
    todo = grade_name(TodoRelu, "Relu").records
    assert {r.group for r in todo if not r.passed} == {"todo"}


def test_a_network_is_graded_with_its_trace_and_its_own_loss_and_gradient():
    from reports.classroom.known import answer_namespace
    small = lambda item: "3×17×13" in item.label            # the cheapest registered SimpleConvNet case
    graded = grade_name(K.SimpleConvNet, "SimpleConvNet", select=small)
    quantities = {r.quantity for r in graded.records}
    assert all(r.passed for r in graded.records) and {"params W2 shape", "Conv1.out", "Conv1.grad", "loss()",
                                                      "gradient() W1", "dW3"} <= quantities

    def forgetful(ns):                                     # its Convolution never sets dW
        class Convolution(ns.Convolution):
            def __init__(self, *args):
                super().__init__(*args)
                del self.dW

            def backward(self, dout):
                return self.layer.backward(dout)
        return Convolution
    net = answer_namespace("book", {"Convolution": forgetful}).SimpleConvNet
    failed = [r for r in grade_name(net, "SimpleConvNet", select=small).records if not r.passed]
    assert failed[0].note == "layers['Conv1'].dW raises AttributeError: 'Convolution' object has no attribute 'dW'"


class GroupsConvolution(K.Convolution):
    def __init__(self, W, b, stride=1, pad=0, groups=1):
        super().__init__(W, b, stride, pad)
        self.groups = groups

    def forward(self, x):
        import reference as R
        self.layer = R.Convolution(self.W, self.b, self.stride, self.pad, groups=self.groups)
        return self.layer.forward(x)


class RefusingConvolution(K.Convolution):
    def __init__(self, W, b, stride=1, pad=0, **options):
        if options:
            raise TypeError(f"unexpected {options}")
        super().__init__(W, b, stride, pad)


def test_an_option_runs_when_the_signature_takes_it_and_is_skipped_otherwise():
    depthwise = lambda item: "groups=4" in item.label
    assert len([i for i in plan("Convolution") if depthwise(i)]) == 1
    runs = grade_name(GroupsConvolution, "Convolution", select=depthwise)
    assert runs.skipped == [] and len(runs.records) == 8 and all(r.passed for r in runs.records)
    skipped = grade_name(K.Convolution, "Convolution", select=depthwise)
    assert skipped.records == [] and skipped.skipped[0][1] == \
        "needs groups: Convolution(W, b, stride=1, pad=0) does not take groups=4"
    refused = grade_name(RefusingConvolution, "Convolution", select=depthwise)
    assert refused.records == [] and refused.skipped[0][1].startswith("needs groups: ") and "TypeError" in \
        refused.skipped[0][1]
    beyond = grade_name(K.Convolution, "Convolution", select=lambda i: "N=0" in i.label)
    assert beyond.skipped[0][1] == "beyond the book's interface: an empty batch or axis (size 0)"


# ------------------------------------------------------------------------------------------
# The child process: a stand-in worker that misbehaves on cue (the real one: slow tier)
# ------------------------------------------------------------------------------------------

FAKE_WORKER = '''
import json, os, sys, time
fd, path, names = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
out = os.fdopen(fd, "w")
def send(**m):
    out.write(json.dumps(m) + "\\n"); out.flush()
spec = json.load(open(path))
send(event="ready")
if spec.get("import") == "hang": time.sleep(60)
if spec.get("import") == "die": os._exit(5)
if spec.get("import") == "error": send(event="import_error", message="importing it raises NameError: x"); sys.exit()
send(event="imported", defined=spec["defined"], imported={})
for name in [n for n in names if n in spec["defined"]] or spec["defined"]:
    send(event="start", name=name)
    do = spec["do"][name]
    if do == "hang": time.sleep(60)
    if do == "die": os._exit(7)
    if do == "exit": send(event="exited", name=name, status=3); continue
    record = dict(case=name, quantity="output", dtype="float64", config="{}", ref_shape="()", torch_shape="()",
                  max_abs=0.0, max_rel=0.0, tol=1.0, headroom=float("inf"), verdict="pass")
    send(event="done", name=name, records=[record], skipped=[], ran=["case"])
'''


def test_the_supervisor_isolates_hangs_and_exits(tmp_path):
    """A name that hangs is "did not finish in N s", one that kills the process "exited with status
    K", one that calls sys.exit "exited with status K (it called sys.exit)"; a new child grades the
    names left, in order; a file that does not import is an ImportFailure with one line."""
    worker = tmp_path / "worker.py"
    worker.write_text(FAKE_WORKER)
    spec = tmp_path / "student.json"

    def grade(names=None, **content):
        spec.write_text(json.dumps(content))
        return isolation.grade_file(spec, 0.5, names, worker=(sys.executable, str(worker)))

    result = grade(defined=["A", "B", "C", "D", "E"], do={"A": "ok", "B": "hang", "C": "die", "D": "exit", "E": "ok"})
    assert [(r.name, r.status, r.message) for r in result.names] == [
        ("A", "graded", ""), ("B", "timeout", "did not finish in 0.5 s"), ("C", "exited", "exited with status 7"),
        ("D", "exited", "exited with status 3 (it called sys.exit)"), ("E", "graded", "")]
    assert result.names[4].records[0].passed
    assert [r.name for r in grade(["E", "A", "Z"], defined=["A", "E"], do={"A": "ok", "E": "ok"}).names] == ["E", "A"]
    for import_, words in (("hang", "importing it did not finish in 0.5 s"),
                           ("die", "importing it exited with status 5"), ("error", "importing it raises NameError: x")):
        with pytest.raises(isolation.ImportFailure, match=words):
            grade(defined=["A"], do={"A": "ok"}, **{"import": import_})


# ------------------------------------------------------------------------------------------
# Planted mistakes and the book's own code: the diagnosis
# ------------------------------------------------------------------------------------------

#: One mistake each, pasted into the starter in place of the answer key's body.
MISTAKES = {
    "conv_kernel_flipped": {"Convolution.forward": """
        self.layer = R.Convolution(self.W[:, :, ::-1, ::-1], self.b, self.stride, self.pad, method=METHOD)
        return self.layer.forward(x)                  # MISTAKE: the kernel flipped"""},
    "maxpool_zero_padding": {"Pooling.forward": """
        p = self.pad                                  # MISTAKE: padded with zeros, not −inf
        self.layer = R.Pooling(self.pool_h, self.pool_w, self.stride, 0, method=METHOD)
        return self.layer.forward(np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))))""",
                             "Pooling.backward": """
        dx, p = self.layer.backward(dout), self.pad
        return dx[:, :, p:dx.shape[2] - p, p:dx.shape[3] - p]"""},
    "softmax_grad_not_divided": {"SoftmaxWithLoss.backward": """
        return self.layer.backward(dout) * len(self.layer.t)      # MISTAKE: (y − t) without / N"""},
}


def _diagnosis(obj, name):
    graded = grade_name(obj, name)
    assert any(not r.passed for r in graded.records), f"{name}: nothing failed"
    return V.diagnosis_lines(name, graded.records, S.load())


@pytest.mark.parametrize("bug, name", [("maxpool_zero_padding", "Pooling"),
                                       ("softmax_grad_not_divided", "SoftmaxWithLoss")])
def test_one_planted_mistake_is_diagnosed(tmp_path, bug, name):
    path = tmp_path / f"{bug}.py"
    path.write_text(pasted(MISTAKES[bug]), encoding="utf-8")
    lines = _diagnosis(getattr(load_file(path), name), name)
    assert lines[0].startswith(f"diagnosis: like {bug} (similarity 1.00, a match): "), lines
    if bug == "maxpool_zero_padding":
        assert lines[1].startswith('  book vs PyTorch, "Max-pool padding" — book: pads with 0'), lines


def test_what_matches_nothing_is_said():
    class Scaled(K.Sigmoid):                      # a mistake no known bug makes
        def forward(self, x):
            return 2 * super().forward(x)
    lines = _diagnosis(Scaled, "Sigmoid")
    assert lines[0].startswith("diagnosis: no known bug matches (nearest: "), lines


@needs_book_code
def test_the_books_cheap_layers_are_explained_by_the_catalog():
    """The book's SoftmaxWithLoss, Dropout and Relu from its own common/layers.py, unchanged (the whole
    file, through the command, is in the slow tier)."""
    book = load_file(BOOK / "common" / "layers.py")
    assert all(r.passed for r in grade_name(book.Relu, "Relu").records)
    loss = _diagnosis(book.SoftmaxWithLoss, "SoftmaxWithLoss")
    assert loss[0].startswith("diagnosis: like softmax_book_eps (similarity 1.00, a match)")
    assert '"Cross-entropy epsilon" — book: −log(y + 1e−7)' in loss[1]
    dropout = _diagnosis(book.Dropout, "Dropout")
    assert dropout[0].startswith("diagnosis: like book_dropout (similarity 1.00, a match): the book's Dropout")
    assert '"Dropout scaling" — book: training: x·mask; inference: x·(1 − p)' in dropout[1]


def test_the_signatures_file_is_current():
    """What the committed signatures depend on — every name's plan, the candidates, their catalog
    entries — is what the code says now (the failures themselves: ``python -m
    reports.classroom.signatures``, checked on a sample in the slow tier)."""
    from reports.classroom.known import candidates
    committed = S.load()
    assert committed.fingerprint == S.fingerprint(), "rewrite it: python -m reports.classroom.signatures"
    live = [{"name": c.name, "kind": c.kind, "describes": c.describes, "explained_by": c.explained_by,
             "explanation": S.explanation(c.explained_by)} for c in candidates()]
    assert [{k: c[k] for k in live[0]} for c in committed.candidates] == live
    assert set(committed.ran) == set(NAMES) and all(committed.ran.values())


def test_cnn_parity_exercise(tmp_path, capsys):
    from reports.cli import main
    assert main(["exercise", str(tmp_path / "lesson"), "--names", "SGD,im2col"]) == 0
    written = tmp_path / "lesson" / "layers.py"
    assert f"wrote {written}: 2 name(s) to write (im2col, SGD)" in capsys.readouterr().out
    assert written.read_text(encoding="utf-8") == exercise.starter(["im2col", "SGD"])
    before = written.read_bytes()
    assert main(["exercise", str(tmp_path / "lesson")]) == 2
    assert "layers.py exists (it may hold your work)" in one_line(capsys.readouterr().err, "exercise")
    assert written.read_bytes() == before and sorted(p.name for p in written.parent.iterdir()) == ["layers.py"]


# ------------------------------------------------------------------------------------------
# Whole files through the command and the real child process (slow: a child imports torch,
# and torch.optim's first optimizer imports torch._dynamo)
# ------------------------------------------------------------------------------------------

def run_check(*args, timeout=600):
    proc = subprocess.run([sys.executable, "-m", "reports.cli", "check", *map(str, args)], env=cli_env(),
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def blocks(stdout) -> dict:
    """{name: its lines} of check's report."""
    out, name = {}, None
    for line in stdout.splitlines()[1:-1]:
        if line[:1].strip():
            name = line.split()[0] if line.split()[0] in NAMES else None
            if name:
                out[name] = [line]
        elif name:
            out[name].append(line.strip())
    return out


@pytest.mark.slow
@needs_book_code
def test_the_books_layers_are_graded_and_every_difference_explained():
    status, out, err = run_check(BOOK / "common" / "layers.py")
    assert status == 1 and err == "", err
    got = blocks(out)
    assert "imported, not graded here (check the file that defines them): im2col from common.util" in out
    assert list(got) == ["Convolution", "Pooling", "Relu", "Sigmoid", "Affine", "SoftmaxWithLoss", "Dropout"]
    assert [got[n][0].split()[1] for n in got] == ["FAIL", "FAIL", "pass", "pass", "pass", "FAIL", "FAIL"]
    explained = {n: " ".join(lines) for n, lines in got.items()}
    for name, entries in {"Convolution": ['"dtype"'], "Pooling": ['"Max-pool padding"', '"dtype"'],
                          "SoftmaxWithLoss": ['"Cross-entropy epsilon"'], "Dropout": ['"Dropout scaling"']}.items():
        assert "no known bug matches" not in explained[name], explained[name]
        assert all(f"book vs PyTorch, {entry}" in explained[name] for entry in entries), explained[name]
        assert "similarity 1.00, a match" in explained[name], explained[name]
    assert "Pooling.forward raises ValueError: cannot reshape" in got["Pooling"][0]


MISBEHAVING = '''
import os, sys, time
import numpy as np
print("the student's own output")
from reports.classroom.answer_key import Momentum, Affine as _Affine, Relu as _Relu


class Relu(_Relu):
    def forward(self, x): return super().forward(x).astype(np.float64)    # float64 out for float32 in


class Sigmoid:
    def __init__(self): pass
    def forward(self, x):
        while True: time.sleep(0.05)                # hangs


class Affine(_Affine):
    def forward(self, x): sys.exit(3)


class Dropout:
    def __init__(self, p=0.5): pass
    def forward(self, x, train_flg=True): os._exit(4)


class Convolution:
    def __init__(self, W, b, stride=1, pad=0): raise KeyError("W")


class Pooling:
    def __init__(self, pool_h, pool_w, stride=1, pad=0): pass
    def forward(self, x): return x                  # the wrong shape


class SGD:
    def __init__(self, lr=0.01): self.lr = lr
    def update(self, params, grads):
        for k in params: params[k] -= self.lr * grads[k]
'''


@pytest.mark.slow
def test_a_misbehaving_file_gets_one_line_per_name_and_the_rest_is_graded(tmp_path):
    path = tmp_path / "misbehaving.py"
    path.write_text(MISBEHAVING, encoding="utf-8")
    status, out, err = run_check(path, "--time-limit", "20")
    assert status == 1 and err == "" and "Traceback" not in out, out + err
    got = blocks(out)
    first = {name: lines[0].split(None, 2)[2] for name, lines in got.items()}
    assert first["Sigmoid"] == "Sigmoid did not finish in 20 s"
    assert first["Affine"] == "Affine exited with status 3 (it called sys.exit)"
    assert first["Dropout"] == "Dropout exited with status 4"
    assert first["Convolution"].endswith("Convolution.__init__ raises KeyError: 'W'")
    assert first["Pooling"].endswith("[float64]: shape mismatch (1, 1, 4, 4) vs (1, 1, 2, 2)")   # the book's example
    assert first["Relu"].endswith("output [float32]: dtype mismatch float64 vs float32")
    assert got["SGD"][0].split()[1] == "pass"
    assert "imported, not graded here (check the file that defines them): Momentum from " \
        "reports.classroom.answer_key" in out
    assert "the student's own output" not in out


@pytest.mark.slow
def test_the_pasted_answers_pass_and_one_mistake_is_named(tmp_path):
    good, flipped = tmp_path / "good" / "layers.py", tmp_path / "flipped" / "layers.py"
    for path, mistakes in ((good, None), (flipped, MISTAKES["conv_kernel_flipped"])):
        path.parent.mkdir()
        path.write_text(pasted(mistakes), encoding="utf-8")
    status, out, err = run_check(good)
    assert status == 0 and err == "" and out.splitlines()[-1] == "14 name(s): 14 pass, 0 fail, 0 to do", out
    status, out, err = run_check(flipped, "--names", "Convolution,SimpleConvNet,Relu")
    got = blocks(out)
    assert status == 1 and got["Relu"][0].split()[1] == "pass", out
    assert got["Convolution"][1].startswith("diagnosis: like conv_kernel_flipped (similarity 1.00, a match)"), out
    assert got["SimpleConvNet"][1].startswith("first divergence: Conv1.out (float64)"), out


@pytest.mark.slow
def test_a_file_that_does_not_import_is_a_usage_error(tmp_path):
    for text, words in (("import numpy\nraise RuntimeError('half written')\n", "importing it raises RuntimeError: "
                         "half written"), ("import sys\nsys.exit(2)\n", "importing it called sys.exit(2)"),
                        ("while True:\n    pass\n", "importing it did not finish in 3 s")):
        path = tmp_path / "broken.py"
        path.write_text(text)
        status, out, err = run_check(path, "--time-limit", "3")
        assert status == 2 and out == "", out
        assert f"broken.py does not import: {words}" in one_line(err, "check")


@pytest.mark.slow
def test_a_sample_of_the_signatures_is_what_the_code_gives():
    """Recompute a few candidates and compare with the committed file: the same failing comparisons,
    failing the same way, errors within a factor 2 (the whole file: python -m reports.classroom.signatures)."""
    sample = {"softmax_grad_not_divided", "maxpool_zero_padding", "book_pooling_pad", "adam_eps_uncorrected"}
    fresh, committed = S.compute(only=sample), S.load()
    for cand in sample:
        for name, rows in fresh["failing"][cand].items():
            mine = {tuple(r[:5]): r[5] for r in rows}
            theirs = {k + (v[0],): v[1] for k, v in committed.failing[cand][name].items()}
            assert set(mine) == set(theirs), (cand, name, set(mine) ^ set(theirs))
            assert all(math.isinf(mine[k]) or 0.5 <= mine[k] / theirs[k] <= 2 for k in mine), (cand, name)
