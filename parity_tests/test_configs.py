"""The configuration matrix: every way of running the twin, judged against the float64 oracle
and against eager torch (reports/parity/configs.py, reports/parity/matrix.py).

Default tier: the cheap CPU configurations on a representative subset of cases.
``pytest parity_tests --config NAME[,NAME...]|all``: those configurations on every case of the
matrix instead. ``pytest -m compile``: torch.compile (a first compile takes 10-80 s here).
"""
import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from reports.configurations import configurations_frame, representative_cases
from reports.errors import UsageError
from reports.parity import configs as C
from reports.parity.cases import LAYER_CASES, NET_CASES, elementwise_case
from reports.parity.harness import run_layer_case
from reports.parity.matrix import cells, judge_verdict, matrix_cases, run_case, run_matrix
from reports.parity.records import CONFIGURATION_FIELDS, DTYPES, records_to_frame

from .conftest import check, check_against_oracle, one_line

CHEAP = [c for c in C.ALL if c.device == "cpu" and not c.compile and c.name != "eager"]
CUDA = [c for c in C.ALL if c.device == "cuda"]
CONV = LAYER_CASES[0]
SMALL_NET = min((c for c in NET_CASES if c.net == "SimpleConvNet"), key=lambda c: c.reduction)
POOL = next(c for c in LAYER_CASES if c.layer == "Pooling" and c.config["pad"] == 1)
#: The default tier's subset: a convolution (float32), an overlapping padded max-pool (float64),
#: the smallest SimpleConvNet (convolution, ReLU, max-pool, affine, the loss, the trace; float32).
TIER = [(CONV, "float32"), (POOL, "float64"), (SMALL_NET, "float32")]


def _params(spec):
    if spec:
        configs = C.resolve(spec)
        return [pytest.param(case, dtype, configs, id=f"{case.id}-{dtype}")
                for case in matrix_cases() for dtype in DTYPES]
    params = []
    for case, dtype in TIER:
        # autocast on a net: see test_autocast_net_finding
        configs = [c for c in CHEAP if not (c.autocast and case is SMALL_NET)]
        params.append(pytest.param(case, dtype, configs, id=f"cheap-{case.id}-{dtype}"))
    compile_ = C.by_name("compile")
    params += [pytest.param(case, dtype, [compile_], id=f"compile-{case.id}-{dtype}",
                            marks=pytest.mark.compile)
               for case in representative_cases() for dtype in DTYPES]
    return params


def pytest_generate_tests(metafunc):
    if metafunc.function.__name__ == "test_configurations":
        metafunc.parametrize("case,dtype,configs", _params(metafunc.config.getoption("--config")))


def test_configurations(case, dtype, configs, request):
    """Every quantity agrees with the oracle within the precision the configuration computes in
    and no worse than eager; configurations that claim determinism are bit-identical twice.
    The default tier runs only those twice (the report and --config run every one twice)."""
    explicit = request.config.getoption("--config")
    result = run_matrix(configs, [case], [dtype],
                        twice=True if explicit else {c.name for c in configs if c.claims_deterministic})
    ran = [r for r in result.records if r.verdict != "skipped"]
    if not ran:
        pytest.skip("; ".join(sorted({f"{r.configuration}: {r.note}" for r in result.records})))
    check_against_oracle(ran)
    for cfg in configs:
        if cfg.claims_deterministic:
            assert all(r.deterministic == "yes" for r in ran if r.configuration == cfg.name), cfg.name


# ------------------------------------------------------------------------------------------
# The matrix must be able to fail
# ------------------------------------------------------------------------------------------

SPOILED = C.by_name("spoiled-conv-tf32")


def test_spoiled_kernel_disagrees_and_is_located():
    """F.conv2d rounding its inputs to TF32 while claiming float32: the convolution disagrees
    with about TF32's 11 bits; the same run judged at TF32 precision agrees; in a net the trace
    names Conv1's forward as the first diverging layer."""
    layer = run_matrix([SPOILED, replace(SPOILED, name="as-tf32", computes_in="tf32")], [CONV], ["float32"],
                       twice=False)
    table = cells(layer.records)
    spoiled, honest = table[(CONV.id, SPOILED.name, "float32")], table[(CONV.id, "as-tf32", "float32")]
    assert spoiled.verdict == "disagrees" and 10 < spoiled.bits < 14, spoiled
    assert honest.verdict == "agrees", honest
    net = run_matrix([SPOILED], [SMALL_NET], ["float32"], twice=False)
    cell = cells(net.records)[(SMALL_NET.id, SPOILED.name, "float32")]
    assert cell.verdict == "disagrees" and cell.first_divergence == "Conv1.out", cell
    conv1 = next(r for r in net.records if r.compared_with == "oracle" and r.quantity == "Conv1.out")
    assert conv1.ratio > 100          # eager never ran the patched kernel


def test_round_to_tf32_keeps_10_mantissa_bits():
    x = torch.tensor([1 + 2 ** -10, 1 + 2 ** -11, 1 + 3 * 2 ** -11, -(1 + 2 ** -12), 3.0])
    assert C.round_to_tf32(x).tolist() == [1 + 2 ** -10, 1.0, 1 + 2 ** -9, -1.0, 3.0]   # ties to even


FLOOR = 16 * C.PRECISIONS["float32"].eps       # 1.9e-6


@pytest.mark.parametrize("err,base,expected", [
    (1e-7, 1e-7, "agrees"), (5e-6, 1e-7, "worse than eager"), (2e-3, 1e-7, "disagrees"),
    (1e-6, 1e-8, "agrees"),           # 100 times eager, but below the floor 16*eps
    (1e-7, 0.0, "agrees"),            # eager exact, one rounding: below the floor
    (5e-6, 0.0, "worse than eager")])
def test_verdicts(err, base, expected):
    tol = 1e-3
    assert judge_verdict(err, err <= tol, FLOOR, base) == expected
    assert judge_verdict(err, err <= tol, FLOOR, None) == ("disagrees" if err > tol else "agrees")


def test_worse_than_eager_scales_with_the_precision():
    """A bfloat16 run is judged against eager's float32 error times 2**16, not against it raw."""
    bf16 = C.PRECISIONS["bfloat16"]
    scale = bf16.eps / C.PRECISIONS["float32"].eps
    assert scale == 2 ** 16
    assert judge_verdict(0.1, True, 16 * bf16.eps, 1e-7, scale) == "agrees"      # 0.1 <= 0.02 + 0.125
    assert judge_verdict(0.5, True, 16 * bf16.eps, 1e-7, scale) == "worse than eager"


# ------------------------------------------------------------------------------------------
# Findings on this machine, kept as tests (numbers in the report)
# ------------------------------------------------------------------------------------------

def test_autocast_net_finding():
    """Autocast on SimpleConvNet: the forward pass keeps about the format's bits (bfloat16 8,
    float16 11), but rounding can tip ReLU signs and max-pool winners, so gradients may lose most
    of theirs (see the report). The trace never puts the first divergence in the forward pass."""
    configs = [c for c in CHEAP if c.autocast and not C.unavailable(c)]
    if not configs:
        pytest.skip("no CPU autocast here")
    result = run_matrix(configs, [SMALL_NET], ["float32"], twice=False)
    for cfg in configs:
        forward = [r for r in result.records if r.compared_with == "oracle" and r.configuration == cfg.name
                   and (r.quantity.endswith(".out") or r.quantity in ("scores", "loss"))]
        bits = C.PRECISIONS[cfg.autocast].bits
        assert all(r.verdict == "agrees" and r.bits > bits - 3 for r in forward), [r.describe() for r in forward]
        cell = cells(result.records)[(SMALL_NET.id, cfg.name, "float32")]
        assert cell.first_divergence == "" or cell.first_divergence.endswith(".grad"), cell


def test_channels_last_dropout_draws_another_mask():
    """With the same seed, nn.Dropout on a channels_last input draws its random numbers in memory
    order, so the mask differs from eager's: the run agrees with the oracle (given its own mask)
    and differs from eager — the matrix says which side is right."""
    dropout = next(c for c in LAYER_CASES if c.layer == "Dropout" and c.config["mode"] == "train")
    result = run_matrix([C.by_name("channels_last")], [dropout], ["float32"], twice=False)
    cell = cells(result.records)[(dropout.id, "channels_last", "float32")]
    assert cell.verdict == "agrees" and cell.differs_from_eager and cell.eager_first == "output", cell


# ------------------------------------------------------------------------------------------
# Set and undo; the CUDA entries on the CPU
# ------------------------------------------------------------------------------------------

def _state():
    return {"threads": torch.get_num_threads(), "mkldnn": torch.backends.mkldnn.enabled,
            "det": (torch.are_deterministic_algorithms_enabled(),
                    torch.is_deterministic_algorithms_warn_only_enabled()),
            "bench": torch.backends.cudnn.benchmark, "cudnn_det": torch.backends.cudnn.deterministic,
            "tf32": tuple(f.get() for f in C._TF32_OFF),
            "cublas": __import__("os").environ.get("CUBLAS_WORKSPACE_CONFIG"),
            "conv2d": torch.nn.functional.conv2d}


@pytest.mark.parametrize("cfg", C.CONFIGS, ids=lambda c: c.name)
def test_flags_are_set_and_restored_even_after_an_error(cfg):
    before = _state()
    with pytest.raises(RuntimeError, match="inside"):
        with C.applied(cfg):
            for flag in cfg.flags:
                assert flag.get() == flag.value, flag.label
            raise RuntimeError("inside")
    assert _state() == before


def test_a_flag_that_fails_to_set_restores_the_ones_before_it():
    def refuse(value):
        raise ValueError("cannot set")
    broken = C.Configuration("broken", "test", flags=(C._threads(1), C.Flag("refuses", lambda: 0, refuse, 1)))
    before = _state()
    with pytest.raises(ValueError):
        with C.applied(broken):
            pass
    assert _state() == before


def test_tf32_flags_without_a_gpu():
    """cuda-tf32 sets TF32 for convolutions (the default) and float32 matmuls; cuda sets both off."""
    with C.applied(C.by_name("cuda-tf32")):
        assert [f.get() for f in C._TF32_OFF] in (["tf32", "ieee"], [True, False])
    with C.applied(C.by_name("cuda")):
        assert [f.get() for f in C._TF32_OFF] in (["ieee", "ieee"], [False, False])


def test_configured_makes_a_run_in_one_order():
    """configs.configured: the flags set inside and restored after (also after an error); the twin
    and its inputs on the device in the memory format, an input as a copy that requires grad,
    other tensors in the default layout; no compile and no autocast unless the entry says so."""
    cfg = replace(C.by_name("channels_last"), flags=C.by_name("threads-1").flags)
    before = _state()
    conv = torch.nn.Conv2d(2, 3, 3).double()
    x = np.ones((1, 2, 5, 5))
    with pytest.raises(RuntimeError, match="inside"):
        with C.configured(cfg, conv) as run:
            assert torch.get_num_threads() == 1
            assert run.module is conv and conv.weight.is_contiguous(memory_format=torch.channels_last)
            assert run.call is conv and run.compiled(len) is len
            leaf = run.leaf(x)
            x[0, 0, 0, 0] = 7.0
            assert leaf.is_leaf and leaf.requires_grad and float(leaf.detach()[0, 0, 0, 0]) == 1.0
            assert leaf.is_contiguous(memory_format=torch.channels_last) and not leaf.is_contiguous()
            other = run.tensor(x, torch.float32)
            assert other.dtype == torch.float32 and other.is_contiguous() and not other.requires_grad
            with run.autocast():
                assert not torch.is_autocast_enabled("cpu")
            raise RuntimeError("inside")
    assert _state() == before
    bf16 = C.by_name("autocast-bf16")
    if not C.unavailable(bf16):
        with C.configured(bf16, torch.nn.Linear(2, 2)) as run, run.autocast():
            assert torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the skip without CUDA")
def test_cuda_entries_skip_cleanly_without_cuda():
    result = run_matrix(CUDA, [CONV], DTYPES)
    assert {r.verdict for r in result.records} == {"skipped"}
    assert all("CUDA" in r.note for r in result.records if not r.note.startswith("not applicable")), result.records
    assert {r.configuration for r in result.records} == {c.name for c in CUDA}


@pytest.mark.parametrize("compile_", [pytest.param(False, id="cuda-entries"),
                                      pytest.param(True, id="cuda-compile", marks=pytest.mark.compile)])
def test_cuda_entries_dry_run_on_the_cpu(compile_):
    """Each CUDA entry through the same runner with device="cpu" (named <name>-on-cpu): flags,
    autocast, compile and the judging all run here (the GPU kernels do not)."""
    dry = [C.on_cpu(c) for c in CUDA if c.compile == compile_]
    result = run_matrix(dry, [CONV], ["float32"], baselines={"cuda": C.on_cpu(C.by_name("cuda"))},
                        twice=False)
    ran = [r for r in result.records if r.verdict != "skipped"]
    assert {r.configuration for r in ran} == {c.name for c in dry if not C.unavailable(c)}
    check_against_oracle(ran)


# ------------------------------------------------------------------------------------------
# Bad input, failures, and the records
# ------------------------------------------------------------------------------------------

def test_unknown_configuration_name_lists_the_known_ones():
    with pytest.raises(UsageError) as info:
        C.resolve("eager,warp-speed")
    msg = str(info.value)
    assert "'warp-speed'" in msg and "\n" not in msg
    assert all(c.name in msg for c in C.CONFIGS)


def test_cli_unknown_configuration_is_one_line(capsys):
    from reports.cli import main

    assert main(["parity", "--config", "warp-speed"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cnn-parity parity: --config: unknown configuration 'warp-speed'; use one or more of")
    assert "\n" not in err


def test_cli_configurations_that_cannot_run_here_are_one_line_before_any_work(capsys, monkeypatch):
    """Every named configuration unavailable here or meaningless in the dtype: exit 2, one line with
    each reason, before the matrix runs (it used to print an empty matrix and exit 0)."""
    from reports import configurations
    from reports.cli import main

    monkeypatch.setattr(configurations, "run_matrix", lambda *a, **k: pytest.fail("the matrix ran"))
    monkeypatch.setattr(C, "unavailable", lambda cfg: "no such device in this test" if cfg.device == "cuda" else None)
    assert main(["parity", "--config", "cuda,autocast-bf16", "--dtype", "float64"]) == 2
    line = one_line(capsys.readouterr().err, "parity")
    assert "--config cuda,autocast-bf16: nothing can run here with --dtype float64" in line
    assert "cuda: no such device in this test" in line and "autocast-bf16: autocast leaves float64" in line


@pytest.mark.compile
def test_a_compile_error_is_recorded():
    def backend(gm, example_inputs):
        raise RuntimeError("no code for you")
    broken = C.Configuration("broken-compile", "test", compile=True, compile_kwargs=(("backend", backend),))
    result = run_matrix([broken], [elementwise_case("Relu")], ["float32"])
    assert [r.verdict for r in result.records] == ["failed"]
    assert "no code for you" in result.records[0].note and "\n" not in result.records[0].note


def test_eager_float64_is_the_harness_comparison():
    """The matrix's eager float64 run feeds the oracle exactly what run_layer_case does."""
    old = {r.quantity: r.max_abs for r in run_layer_case(CONV, "float64")}
    run = run_case(CONV, C.by_name("eager"), "float64")
    assert old == {q: float(np.max(np.abs(run.oracle[q] - v))) for q, v in run.values.items()}


def test_determinism_is_measured():
    from reports.parity.matrix import determinism

    a = np.array([1.0, 2.0])
    assert determinism(a, a.copy()) == ("yes", 0.0)
    assert determinism(a, np.array([1.0, 2.5])) == ("no", 0.5)
    assert determinism(np.array([0.0]), np.array([-0.0]))[0] == "no"     # bit-identical means bits


def test_records_and_csv():
    """configurations.csv has its columns; plain records keep their old CSV columns."""
    result = run_matrix([C.by_name("threads-1")], [elementwise_case("Sigmoid", scale=8.0)], ["float32"])
    frame = configurations_frame(result.records)
    for col in ["case", "config", "dtype", "quantity", "compared_with", "max_abs", "max_rel", "tol",
                "headroom", "bits", "verdict", "deterministic", "note"]:
        assert col in frame.columns
    assert set(frame.compared_with) == {"oracle", "eager"} and set(frame.config) == {"threads-1"}
    assert (frame.bits >= 20).all() and set(frame.deterministic) == {"yes"}
    plain = run_layer_case(elementwise_case("Relu"), "float32")
    assert not set(CONFIGURATION_FIELDS) & set(records_to_frame(plain).columns)
    assert set(CONFIGURATION_FIELDS) <= set(records_to_frame(result.records).columns)
    assert all(math.isfinite(b) or b == math.inf for b in frame.bits)


# ------------------------------------------------------------------------------------------
# The report: the Configurations section and configurations.csv
# ------------------------------------------------------------------------------------------

def _broken_relu():
    from contextlib import contextmanager

    @contextmanager
    def ctx():
        original = torch.nn.functional.relu

        def fail(*a, **k):
            raise RuntimeError("kernel exploded\nsecond line")
        torch.nn.functional.relu = fail
        try:
            yield
        finally:
            torch.nn.functional.relu = original
    return ctx()


def test_a_failing_run_is_recorded_and_the_others_go_on():
    """A configuration whose run raises (its patch breaks the layer, standing in for a compile
    error) gives one 'failed' record with the first line of the error; the next one still runs."""
    broken = C.Configuration("broken", "test", patch=_broken_relu)
    result = run_matrix([broken, C.by_name("threads-1")], [elementwise_case("Relu")], ["float32"])
    failed = [r for r in result.records if r.configuration == "broken"]
    assert len(failed) == 1 and failed[0].verdict == "failed"
    assert failed[0].note == "RuntimeError: kernel exploded"
    assert all(r.passed for r in result.records if r.configuration == "threads-1")


def test_the_report_section_and_csv(tmp_path):
    """Every kind of cell reaches the page and configurations.csv: agrees, disagrees (with its
    first diverging layer), failed (with its error), not run (with its reason)."""
    from html import unescape

    from reports import report as REPORT
    from reports.configurations import split_matrix_records
    from reports.html import page

    relu = elementwise_case("Relu")
    broken = C.Configuration("broken", "test", patch=_broken_relu)
    result = run_matrix([C.by_name("threads-1"), SPOILED, broken] + CUDA[:1], [CONV, relu], ["float32"],
                        twice={"threads-1"})
    plain, matrix = split_matrix_records(result.records + run_layer_case(relu, "float32"))
    assert len(plain) == 2 and matrix.records == result.records
    inputs = REPORT.ReportInputs(records=plain, sweeps=[], environment=[("date (UTC)", "x")], catalog=[],
                                 im2col={}, matrix=matrix)
    html = unescape(str(page.render_section("configurations", inputs)))
    assert '<td class="cfg disagrees"' in html and "✗ 12." in html             # spoiled conv, ~TF32's bits
    assert '<td class="cfg agrees"' in html and "✓ exact" in html              # Relu is exact
    assert "RuntimeError: kernel exploded" in html and "second line" not in html
    assert "no CUDA device here" in html and "cuda" in html
    assert "bit-identical in all 2 cells" in html                              # threads-1 ran twice
    names = REPORT.write_report_files(tmp_path, inputs)
    assert "configurations.csv" in names
    frame = __import__("pandas").read_csv(tmp_path / "configurations.csv")
    assert set(frame.verdict) == {"agrees", "disagrees", "failed", "skipped"}
    assert (tmp_path / "index.html").read_text(encoding="utf-8").count('<section id="configurations">') == 1


def test_a_failed_baseline_is_said():
    """A configuration whose baseline fails is still judged against the oracle; its records say
    why there is no ratio and no comparison with eager."""
    broken = C.Configuration("broken", "test", patch=_broken_relu)
    mine = C.Configuration("mine", "test", baseline="broken")
    result = run_matrix([mine], [elementwise_case("Relu")], ["float32"], baselines={"broken": broken},
                        twice=False)
    assert {r.compared_with for r in result.records} == {"oracle"}
    assert all(r.passed and "baseline broken failed: RuntimeError: kernel exploded" in r.note
               for r in result.records)


def test_training_under_a_configuration():
    """train_lockstep(config=...): the twin in channels_last on one thread, float64 against the
    float64 reference step by step; the curves name the configuration; the flags come back."""
    from reports.mnist.training import train_lockstep, training_records

    rng = np.random.default_rng(0)
    data = ((rng.random((20, 1, 12, 12)), rng.integers(0, 10, 20)),      # small images: a fast test
            (rng.random((10, 1, 12, 12)), rng.integers(0, 10, 10)))
    cfg = replace(C.by_name("channels_last"), name="channels_last+threads-1", flags=C.by_name("threads-1").flags)
    threads = torch.get_num_threads()
    result = train_lockstep(data, batch_size=10, steps=3, dtype="float64", config=cfg, progress=False)
    assert set(result.curves.config) == {"channels_last+threads-1"} and set(result.epochs.config) == {cfg.name}
    check(training_records(result))                   # the float64 lockstep tolerances
    assert torch.get_num_threads() == threads
