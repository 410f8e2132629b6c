"""The registry of configurations: the ways of running the torch twin, declared once as data.

A :class:`Configuration` says what it sets (process-wide flags, each with the way to read and
restore it; a module and input transform such as ``channels_last``; ``torch.compile``;
``torch.autocast``; a device), the precision it really computes in, and what it needs to run.
``reports.parity.matrix`` runs every parity case under it; nothing else in the project knows
how a configuration is made.

Precision
---------
A configuration computes in a precision (``reports.parity.records.Precision``: float64, float32,
TF32, bfloat16, float16) and is judged with the project's tolerance rule in that precision
(``reports.parity.records.config_tolerance``; the convention is explained there).

Set and undo
------------
:func:`configured` runs a twin under a configuration, and is the only place that knows the
order in which one is made: the flags are set (:func:`applied`: it reads every flag, sets it,
and restores the value it read on the way out — also when the body raises, and also when
setting a later flag fails), the twin moves to the device and the memory format, its call goes
through ``torch.compile``, the inputs follow the twin, and the forward pass runs under autocast.
The matrix's layer and network runners (``reports.parity.matrix``) and lockstep training
(``reports.mnist.training``) all go through it. Module and input transforms act on the copies a
run builds for itself, so they need no undo.

The CUDA entries go through the very same code: the same flags, the same context manager, the
same runner with ``device="cuda"``. Without a GPU they are skipped with their reason
(:func:`unavailable`), and the tests run them with ``device`` replaced by ``"cpu"``
(:func:`on_cpu`), so that no line of theirs is only ever run on a GPU.
"""
from __future__ import annotations

import functools
import os
import shutil
import sys
import warnings
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils._triton import has_triton

from ..errors import UsageError
from .cells import NOT_APPLICABLE
from .records import DTYPES, PRECISIONS, Precision

__all__ = ["Flag", "Configuration", "CONFIGS", "TEST_ONLY", "by_name",
           "resolve", "applied", "one_thread", "configured", "Configured", "unavailable", "not_applicable",
           "precision_of", "Plan", "plan", "on_cpu", "round_to_tf32", "describe", "ALL"]


# ------------------------------------------------------------------------------------------
# Flags: how a setting is read, set and restored
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Flag:
    """One process-wide setting: ``label`` says what is set (``name = value``)."""

    label: str
    get: Callable[[], object]
    set: Callable[[object], None]
    value: object


def _attr_flag(owner: str, attr: str, value) -> Flag:
    """``<owner>.<attr> = value`` for a dotted module path under ``torch`` (read when used, so a
    test may replace the object)."""
    def obj():
        o = torch
        for part in owner.split(".")[1:]:
            o = getattr(o, part)
        return o
    return Flag(f"{owner}.{attr} = {value!r}", lambda: getattr(obj(), attr),
                lambda v: setattr(obj(), attr, v), value)


def _threads(n: int) -> Flag:
    return Flag(f"torch.set_num_threads({n})", torch.get_num_threads, torch.set_num_threads, n)


def _deterministic_flag(on: bool) -> Flag:
    """torch.use_deterministic_algorithms(on); the previous mode *and* its warn_only are restored.

    The public function also sets Inductor's own ``deterministic`` flag, and imports Inductor
    (and Dynamo) to do so: 2-14 s on 2 cores. Until Inductor is imported nothing compiled can
    run, so the flag for the eager kernels alone (``torch._C._set_deterministic_algorithms``,
    what the public function calls) is set; once it is imported, the public function."""
    def get():
        return torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()

    def set_(v):
        mode, warn_only = v if isinstance(v, tuple) else (v, False)
        if "torch._inductor.config" in sys.modules:
            torch.use_deterministic_algorithms(mode, warn_only=warn_only)
        else:
            torch._C._set_deterministic_algorithms(mode, warn_only=warn_only)
    return Flag(f"torch.use_deterministic_algorithms({on})", get, set_, (on, False))


def _env_flag(name: str, value: str) -> Flag:
    """An environment variable (None: unset), e.g. CUBLAS_WORKSPACE_CONFIG for deterministic cuBLAS."""
    def set_(v):
        if v is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = v
    return Flag(f"os.environ[{name!r}] = {value!r}", lambda: os.environ.get(name), set_, value)


def _tf32(kind: str, on: bool) -> Flag:
    """TF32 for cuDNN convolutions (``kind="conv"``) or cuBLAS matmuls (``"matmul"``).

    torch >= 2.9 has ``fp32_precision`` ("tf32" / "ieee"); reading the legacy ``allow_tf32``
    after a program set the new one raises, so the new API is used where it exists."""
    owner = torch.backends.cudnn.conv if kind == "conv" else torch.backends.cuda.matmul
    if hasattr(owner, "fp32_precision"):
        path = "torch.backends.cudnn.conv" if kind == "conv" else "torch.backends.cuda.matmul"
        return _attr_flag(path, "fp32_precision", "tf32" if on else "ieee")
    legacy = "torch.backends.cudnn" if kind == "conv" else "torch.backends.cuda.matmul"
    return _attr_flag(legacy, "allow_tf32", on)


@contextmanager
def _flags(flags):
    """Set ``flags`` in order; on exit restore, in reverse order, every flag that was read —
    each one even if restoring another fails (the first such failure is raised afterwards)."""
    saved = []
    try:
        for flag in flags:
            saved.append((flag, flag.get()))
            flag.set(flag.value)
        yield
    finally:
        failures = []
        for flag, old in reversed(saved):
            try:
                flag.set(old)
            except Exception as exc:             # keep restoring the others
                failures.append(exc)
        if failures:
            raise failures[0]


# ------------------------------------------------------------------------------------------
# Configurations
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Configuration:
    """One way of running the torch twin.

    flags: process-wide settings, set on entry and restored on exit (:func:`applied`).
    memory_format: ``"channels_last"``: the twin (4-D weights) and 4-D inputs in that layout.
    compile: run forward and backward through ``torch.compile`` (``compile_kwargs`` passed on;
        default: the Inductor backend).
    autocast: ``"bfloat16"`` / ``"float16"``: the forward pass under ``torch.autocast``.
    computes_in: the precision a float32 run really computes in, where it is not float32
        (TF32 convolutions, autocast); float64 runs are never lowered by these settings.
    dtypes: the dtypes in which the configuration means something (others: not applicable).
    baseline: the configuration it is judged against for "no worse than" (None: it is the baseline).
    claims_deterministic: runs must be bit-identical (a test asserts it).
    needs: what must be present here (see :func:`unavailable`).
    patch: a context manager factory entered with the flags (test-only: spoils a kernel).
    """

    name: str
    what: str
    device: str = "cpu"
    flags: tuple = ()
    memory_format: str | None = None
    compile: bool = False
    compile_kwargs: tuple = ()
    autocast: str | None = None
    computes_in: str | None = None
    dtypes: tuple = DTYPES
    baseline: str | None = "eager"
    claims_deterministic: bool = False
    needs: tuple = ()
    patch: Callable | None = field(default=None, repr=False)
    test_only: bool = False

    @property
    def sets(self) -> str:
        """What entering the configuration does, in words (flags, transforms, device)."""
        parts = [f.label for f in self.flags]
        if self.memory_format:
            parts.append(f"twin and 4-D inputs .to(memory_format=torch.{self.memory_format})")
        if self.compile:
            kw = dict(self.compile_kwargs)
            parts.append("torch.compile(" + (", ".join(f"{k}={v!r}" for k, v in kw.items()) or
                                             "backend='inductor'") + "), forward and backward")
        if self.autocast:
            parts.append(f"forward under torch.autocast({self.device.split(':')[0]!r}, dtype=torch.{self.autocast})")
        if self.patch is not None:
            parts.append(self.what)
        parts.append(f"device {self.device}")
        return "; ".join(parts)

    @property
    def undo(self) -> str:
        """How it is undone afterwards."""
        text = ("every flag is restored to the value read on entry (also after an error)"
                if self.flags or self.patch else "no process-wide setting")
        return text + "; transforms act on the run's own copy of the twin and inputs"

    def precision(self, dtype) -> Precision:
        return precision_of(self, dtype)


def _patch_conv_tf32():
    """Test-only: round the inputs and weights of every ``F.conv2d`` to TF32 (10 explicit
    mantissa bits, round to nearest even) — what a GPU does with TF32 on — while the
    configuration claims float32. The gradient passes straight through the rounding, and the
    backward convolutions see the rounded tensors, as with TF32."""
    original = F.conv2d

    def spoiled(input, weight, *args, **kwargs):
        def rounded(t):
            return t + (round_to_tf32(t) - t).detach() if t.dtype == torch.float32 else t
        return original(rounded(input), rounded(weight), *args, **kwargs)

    @contextmanager
    def ctx():
        F.conv2d = spoiled
        try:
            yield
        finally:
            F.conv2d = original
    return ctx()


def round_to_tf32(t: torch.Tensor) -> torch.Tensor:
    """float32 -> the nearest float32 with 10 explicit mantissa bits (ties to even)."""
    bits = t.detach().view(torch.int32)
    lsb = (bits >> 13) & 1
    return ((bits + 0x0FFF + lsb) & ~0x1FFF).view(torch.float32)


_TF32_OFF = (_tf32("conv", False), _tf32("matmul", False))
_DETERMINISTIC_CUDA = (_deterministic_flag(True), _attr_flag("torch.backends.cudnn", "deterministic", True),
                       _attr_flag("torch.backends.cudnn", "benchmark", False),
                       _env_flag("CUBLAS_WORKSPACE_CONFIG", ":4096:8"))

CONFIGS: list[Configuration] = [
    # --- CPU ---
    Configuration("eager", "eager execution, default flags (what every other test runs)", baseline=None),
    Configuration("compile", "torch.compile with the default Inductor backend (fused, reordered sums)",
                  compile=True, needs=("inductor",)),
    Configuration("channels_last", "NHWC memory layout for the twin's 4-D weights and the inputs",
                  memory_format="channels_last"),
    Configuration("no-mkldnn", "oneDNN (mkldnn) off: PyTorch's own CPU kernels",
                  flags=(_attr_flag("torch.backends.mkldnn", "enabled", False),)),
    Configuration("threads-1", "one intra-op thread (a different summation split)", flags=(_threads(1),)),
    Configuration("deterministic", "torch.use_deterministic_algorithms(True)",
                  flags=(_deterministic_flag(True),), claims_deterministic=True),
    Configuration("autocast-bf16", "torch.autocast on the CPU with bfloat16", autocast="bfloat16",
                  computes_in="bfloat16", dtypes=("float32",), needs=("autocast-cpu-bfloat16",)),
    Configuration("autocast-fp16", "torch.autocast on the CPU with float16", autocast="float16",
                  computes_in="float16", dtypes=("float32",), needs=("autocast-cpu-float16",)),
    # --- CUDA ---
    Configuration("cuda", "on the GPU in true float32: TF32 off for cuDNN and cuBLAS", device="cuda",
                  flags=_TF32_OFF, needs=("cuda",)),
    Configuration("cuda-tf32", "on the GPU with the default flags: cuDNN convolutions in TF32, "
                               "matmuls in float32", device="cuda",
                  flags=(_tf32("conv", True), _tf32("matmul", False)), computes_in="tf32",
                  dtypes=("float32",), baseline="cuda", needs=("cuda",)),
    Configuration("cuda-deterministic", "on the GPU, TF32 off, deterministic algorithms "
                                        "(cudnn.deterministic, no benchmark, cuBLAS workspace config)",
                  device="cuda", flags=_TF32_OFF + _DETERMINISTIC_CUDA, baseline="cuda",
                  claims_deterministic=True, needs=("cuda",)),
    Configuration("cuda-benchmark", "on the GPU, TF32 off, cudnn.benchmark=True (autotuned algorithms)",
                  device="cuda", flags=_TF32_OFF + (_attr_flag("torch.backends.cudnn", "benchmark", True),),
                  baseline="cuda", needs=("cuda",)),
    Configuration("cuda-amp-bf16", "on the GPU, TF32 off, torch.autocast with bfloat16", device="cuda",
                  flags=_TF32_OFF, autocast="bfloat16", computes_in="bfloat16", dtypes=("float32",),
                  baseline="cuda", needs=("cuda", "cuda-bfloat16")),
    Configuration("cuda-amp-fp16", "on the GPU, TF32 off, torch.autocast with float16", device="cuda",
                  flags=_TF32_OFF, autocast="float16", computes_in="float16", dtypes=("float32",),
                  baseline="cuda", needs=("cuda",)),
    Configuration("cuda-compile", "on the GPU, TF32 off, torch.compile (Inductor, Triton kernels)",
                  device="cuda", flags=_TF32_OFF, compile=True, baseline="cuda", needs=("cuda", "triton")),
    # --- test-only: the matrix must be able to fail ---
    Configuration("spoiled-conv-tf32", "test-only: F.conv2d rounds its inputs and weights to 10 mantissa "
                                       "bits (TF32) while the configuration claims float32",
                  patch=_patch_conv_tf32, dtypes=("float32",), test_only=True),
]

TEST_ONLY = [c for c in CONFIGS if c.test_only]
#: What ``all`` means: every configuration except the test-only ones.
ALL = [c for c in CONFIGS if not c.test_only]


def by_name(name: str) -> Configuration:
    for cfg in CONFIGS:
        if cfg.name == name:
            return cfg
    raise KeyError(name)


def resolve(spec: str, option: str = "--config") -> list[Configuration]:
    """``"eager,compile"``, ``"all"`` or ``"all,spoiled-conv-tf32"`` -> configurations, in the
    given order (``all``: every one but the test-only ones, in registry order), each once; an
    unknown name raises :class:`UsageError` naming the known ones."""
    names = []
    for n in (n.strip() for n in str(spec).split(",")):
        names += [c.name for c in ALL] if n == "all" else [n] if n else []
    known = [c.name for c in CONFIGS]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        what = f"unknown configuration {unknown[0]!r}" if unknown else "no configuration given"
        raise UsageError(f"{option}: {what}; use one or more of {', '.join(c.name for c in ALL)} "
                         f"(comma-separated), all, or the test-only {', '.join(c.name for c in TEST_ONLY)}")
    out = []
    for n in names:
        if by_name(n) not in out:
            out.append(by_name(n))
    return out


# ------------------------------------------------------------------------------------------
# Availability, applicability, precision
# ------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _requirement_missing(need: str) -> str | None:
    """Why ``need`` is not met on this machine (None: it is)."""
    if need == "cuda":
        return None if torch.cuda.is_available() else "no CUDA device here (torch.cuda.is_available() is False)"
    if need == "cuda-bfloat16":
        return None if torch.cuda.is_bf16_supported() else "this GPU has no bfloat16 support"
    if need == "triton":
        return None if has_triton() else "Triton is not installed (torch.compile on CUDA needs it)"
    if need == "inductor":
        cxx = os.environ.get("CXX") or "g++"
        if not any(shutil.which(c) for c in (cxx, "g++", "c++", "clang++")):
            return "no C++ compiler found (Inductor compiles its CPU kernels with g++/clang++)"
        return None
    if need.startswith("autocast-cpu-"):
        dtype = getattr(torch, need.rsplit("-", 1)[1])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")     # an unsupported dtype warns and disables autocast
            with torch.autocast("cpu", dtype=dtype):
                out = torch.ones(2, 2) @ torch.ones(2, 2)
        return None if out.dtype == dtype else f"torch {torch.__version__} has no {dtype} autocast on the CPU"
    raise ValueError(f"unknown requirement {need!r}")


def unavailable(cfg: Configuration) -> str | None:
    """Why ``cfg`` cannot run on this machine, or None."""
    for need in cfg.needs:
        reason = _requirement_missing(need)
        if reason:
            return reason
    return None


def not_applicable(cfg: Configuration, dtype) -> str | None:
    """Why ``cfg`` means nothing in ``dtype`` (autocast and TF32 leave float64 alone), or None."""
    dtype = np.dtype(dtype).name
    if dtype in cfg.dtypes:
        return None
    if cfg.autocast:
        return f"autocast leaves {dtype} tensors alone: a {dtype} run would be the baseline's"
    if cfg.computes_in == "tf32":
        return f"TF32 applies to float32 only: a {dtype} run would be the baseline's"
    return f"declared for {', '.join(cfg.dtypes)} only"


def precision_of(cfg: Configuration, dtype) -> Precision:
    """The precision a run of ``cfg`` in ``dtype`` really computes in."""
    dtype = np.dtype(dtype).name
    if cfg.computes_in and dtype == "float32":
        return PRECISIONS[cfg.computes_in]
    return PRECISIONS[dtype]


@dataclass(frozen=True)
class Plan:
    """What a run of ``config`` in ``dtype`` means, asked of the registry once (:func:`plan`):
    ``skip`` why it does not run (unavailable here, or ``"not applicable: ..."`` in this dtype;
    None: it runs), the ``precision`` it computes in, and the ``baseline`` it is judged against
    ("no worse than"; None for a baseline) with that one's precision."""

    config: Configuration
    dtype: str
    skip: str | None
    precision: Precision
    baseline: Configuration | None = None
    baseline_precision: Precision | None = None


def plan(cfg: Configuration, dtype, baselines=None) -> Plan:
    """The :class:`Plan` of ``cfg`` in ``dtype``; ``baselines`` (name -> Configuration) replaces
    registry entries as baselines (the CPU dry run of the CUDA entries)."""
    dtype = np.dtype(dtype).name
    skip = unavailable(cfg)
    if skip is None and (why := not_applicable(cfg, dtype)):
        skip = f"{NOT_APPLICABLE}: {why}"
    base = ((baselines or {}).get(cfg.baseline) or by_name(cfg.baseline)) if cfg.baseline else None
    return Plan(cfg, dtype, skip, precision_of(cfg, dtype), base, precision_of(base, dtype) if base else None)


def describe(cfg: Configuration) -> dict:
    """The configuration as plain data for the terminal and the page: name, what, sets, undo,
    device, precision (per dtype, in words), dtypes, baseline, reason (why it cannot run here,
    or "")."""
    precision = "; ".join(f"{d} runs compute in {precision_of(cfg, d).name} (p={precision_of(cfg, d).bits})"
                          for d in cfg.dtypes)
    return {"name": cfg.name, "what": cfg.what, "sets": cfg.sets, "undo": cfg.undo, "device": cfg.device,
            "precision": precision, "dtypes": ", ".join(cfg.dtypes), "baseline": cfg.baseline or "",
            "reason": unavailable(cfg) or "", "test_only": cfg.test_only}


def on_cpu(cfg: Configuration) -> Configuration:
    """The same configuration, named ``<name>-on-cpu``, with ``device="cpu"`` and no CUDA
    requirement: its flags, context managers and runner path run here (the GPU-only kernels, of
    course, do not), and its records never pass for a GPU run."""
    needs = tuple(n for n in cfg.needs if not n.startswith("cuda") and n != "triton")
    if cfg.compile and "inductor" not in needs:
        needs += ("inductor",)
    if cfg.autocast:
        needs += (f"autocast-cpu-{cfg.autocast}",)
    return replace(cfg, name=f"{cfg.name}-on-cpu", device="cpu", needs=needs)


# ------------------------------------------------------------------------------------------
# Running under a configuration
# ------------------------------------------------------------------------------------------

@contextmanager
def one_thread():
    """torch on one intra-op thread (the ``threads-1`` configuration's flag), restored on exit:
    for tiny runs, where a busy two-core machine's thread wake-ups cost more than the work."""
    with _flags((_threads(1),)):
        yield


@contextmanager
def applied(cfg: Configuration):
    """Set every flag of ``cfg`` (and its patch); restore them all on exit, even after an error."""
    with ExitStack() as stack:
        stack.enter_context(_flags(cfg.flags))
        if cfg.patch is not None:
            stack.enter_context(cfg.patch())
        yield


@contextmanager
def configured(cfg: Configuration, module: torch.nn.Module):
    """Run ``module`` (a torch twin) under ``cfg``; yields a :class:`Configured`::

        with configured(cfg, module) as run:         # the flags are set
            x = run.leaf(inputs["x"])                 # device, memory format, requires grad
            with run.autocast():                      # the forward pass (autocast entries)
                y = run.call(x)                       # the twin, through torch.compile
            y.backward(run.tensor(dout, y.dtype))     # on the device, in y's dtype
                                                      # on exit every flag is restored

    In this order: the flags (and a test-only patch) are set; ``module`` moves to ``cfg.device`` and
    ``cfg.memory_format`` (in place, as ``Module.to`` does: ``run.module`` is the same object);
    ``run.call`` is the module through ``torch.compile`` when ``cfg`` compiles, and
    ``run.compiled(fn)`` does the same for another function of the run (a training loss, a
    network run layer by layer); inputs follow the module (:meth:`Configured.leaf`,
    :meth:`Configured.input`). On exit, also after an error, every flag is restored.
    """
    with applied(cfg):
        yield Configured(cfg, module)


class Configured:
    """A twin made ready for a run under a configuration (see :func:`configured`)."""

    def __init__(self, cfg: Configuration, module: torch.nn.Module):
        self.cfg = cfg
        self.module = module.to(cfg.device)
        if cfg.memory_format:
            self.module = self.module.to(memory_format=getattr(torch, cfg.memory_format))
        self._call = None

    @property
    def call(self):
        """The module, through ``torch.compile`` when the configuration compiles (made once)."""
        if self._call is None:
            self._call = self.compiled(self.module)
        return self._call

    def compiled(self, fn):
        """``fn`` through ``torch.compile`` (with the configuration's options) when it compiles,
        else ``fn`` itself."""
        if not self.cfg.compile:
            return fn
        return torch.compile(fn, **dict(self.cfg.compile_kwargs))

    def input(self, array: np.ndarray) -> torch.Tensor:
        """An input batch as a tensor on the device, a 4-D one in the memory format (on the CPU it
        shares memory with ``array``)."""
        t = torch.from_numpy(array).to(self.cfg.device)
        if self.cfg.memory_format and t.dim() == 4:
            t = t.to(memory_format=getattr(torch, self.cfg.memory_format))
        return t

    def leaf(self, array: np.ndarray) -> torch.Tensor:
        """An input whose gradient is compared: a copy of ``array`` as :meth:`input` makes it, a
        leaf that requires grad."""
        return self.input(np.array(array, copy=True)).requires_grad_(True)

    def tensor(self, array: np.ndarray, dtype=None) -> torch.Tensor:
        """Anything else the run needs on the device, in the default layout (labels, masks, an
        upstream gradient; ``dtype``: cast to this torch dtype too)."""
        return torch.from_numpy(array).to(device=self.cfg.device, dtype=dtype)

    def autocast(self):
        """The autocast context of a forward pass (a null context without autocast)."""
        if not self.cfg.autocast:
            return nullcontext()
        return torch.autocast(self.cfg.device.split(":")[0], dtype=getattr(torch, self.cfg.autocast))
