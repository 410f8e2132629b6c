"""``cnn-parity explain torch-conv``: how PyTorch computes the same convolution on this machine.

Two things, both shown by computing:

1. ``torch.nn.functional.unfold`` is im2col. It returns the windows as *columns*, batch first,
   (N, C·FH·FW, OH·OW); transposed and stacked it is the book's ``im2col`` matrix, to the bit, and
   ``W.view(FN, −1) @ F.unfold(x)`` is the convolution. ``F.fold`` is ``col2im``.
2. ``F.conv2d`` itself does not always go that way. At ``aten::_convolution`` PyTorch picks a
   kernel from the dtype, the shapes, the build and the flags: oneDNN (``aten::mkldnn_convolution``,
   Intel's library, float32 only on the CPU), PyTorch's own "slow" kernel (``aten::_slow_conv2d_forward``
   — ATen's im2col and a BLAS matrix product, the book's algorithm), or NNPACK. Which one ran is read
   from torch's own profiler (the operator names it records), for a few convolutions, with oneDNN
   on and off (the ``no-mkldnn`` configuration of ``reports.parity.configs``); the kernels' float32
   results are then compared with each other and with the float64 reference.
"""
from __future__ import annotations

import contextlib
import os
import sys
import textwrap
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

import reference as R

from ..html.sections.about import matrix_cells
from ..parity.configs import applied, by_name
from ..parity.records import reduction_tolerance
from .im2col import BOOK_FILTER, BOOK_INPUT
from .text import check_items, check_lines, grid, heading, labelled, table

__all__ = ["KERNELS", "CONVOLUTIONS", "KernelRun", "TorchConvSteps", "kernel_name", "ops_run",
           "compute", "to_text", "to_context"]

#: The operators that do a CPU (or GPU) convolution's work, and what each one is.
KERNELS = {
    "aten::mkldnn_convolution": "oneDNN",
    "aten::_slow_conv2d_forward": "native im2col + GEMM",
    "aten::thnn_conv2d": "native im2col + GEMM",
    "aten::_nnpack_spatial_convolution": "NNPACK",
    "aten::slow_conv_dilated2d": "native dilated",
    "aten::_conv_depthwise2d": "native depthwise",
    "aten::cudnn_convolution": "cuDNN",
}
#: Operators that only allocate or ask questions, never the kernel.
HELPERS = ("aten::empty", "aten::empty_strided", "aten::view", "aten::resize_", "aten::as_strided", "aten::zeros",
           "aten::zero_", "aten::_nnpack_available", "aten::contiguous", "aten::clone", "aten::copy_", "aten::fill_")
#: The convolutions whose kernel is shown: (what, input shape, filter shape).
CONVOLUTIONS = (
    ("the book's 4×4 example", (1, 1, 4, 4), (1, 1, 3, 3)),
    ("SimpleConvNet's conv, 1 image", (1, 1, 28, 28), (30, 1, 5, 5)),
    ("SimpleConvNet's conv, 100 images", (100, 1, 28, 28), (30, 1, 5, 5)),
)
#: The multi-channel check of unfold == im2col: input shape, filter size, stride, pad.
UNFOLD_CASE = ((2, 3, 7, 6), 3, 2, 1)


@dataclass(frozen=True)
class KernelRun:
    """One convolution, one dtype, oneDNN on or off: the operator that did the work, and all of them."""

    what: str
    dtype: str
    onednn: bool
    kernel: str
    ops: tuple

    @property
    def meaning(self) -> str:
        return KERNELS.get(self.kernel, "not known to cnn-parity")


@dataclass(frozen=True)
class TorchConvSteps:
    """unfold (C·FH·FW, L) = F.unfold of the book's example; col (L, C·FH·FW) = reference.im2col;
    out_unfold, out_conv2d (OH, OW); unfold_case: the multi-channel case's description; runs: every
    KernelRun; float32: (label, max |difference|, max relative error against float64) rows for the
    kernels on SimpleConvNet's batch; environment: (name, value) of the CPU side of torch."""

    unfold: np.ndarray
    col: np.ndarray
    out_unfold: np.ndarray
    out_conv2d: np.ndarray
    unfold_case: str
    runs: tuple
    float32: tuple
    environment: tuple
    checks: tuple


@contextlib.contextmanager
def _quiet_stderr():
    """Silence file descriptor 2 (the profiler's C++ side logs there on some builds)."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def ops_run(fn) -> tuple[str, ...]:
    """The names of the operators ``fn()`` runs, in order, from torch's profiler (CPU)."""
    with _quiet_stderr():
        try:           # the autograd profiler without Kineto starts in milliseconds
            with torch.autograd.profiler.profile(use_kineto=False) as prof:
                fn()
            events = prof.function_events
        except (TypeError, RuntimeError, AssertionError):      # a torch without it: torch.profiler
            with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
                fn()
            events = prof.events()
    return tuple(e.name for e in events)


def kernel_name(ops) -> str:
    """The operator that did the convolution's work: a known kernel, else the first operator after
    ``aten::_convolution`` that is not a helper (allocation, a question), else '?'."""
    known = [name for name in ops if name in KERNELS]
    if known:
        return known[-1]            # the innermost: aten::thnn_conv2d calls aten::_slow_conv2d_forward
    after = list(ops)[list(ops).index("aten::_convolution") + 1:] if "aten::_convolution" in ops else []
    return next((name for name in after if name not in HELPERS), "?")


def _kernel_runs(rng) -> tuple[list, list]:
    runs, float32 = [], []
    for what, x_shape, w_shape in CONVOLUTIONS:
        x64, w64 = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
        for dtype in ("float32", "float64"):
            x, w = torch.tensor(x64.astype(dtype)), torch.tensor(w64.astype(dtype))
            outs = {}
            for onednn in (True, False):
                with applied(by_name("no-mkldnn")) if not onednn else contextlib.nullcontext():
                    ops = ops_run(lambda: outs.__setitem__(onednn, F.conv2d(x, w)))
                runs.append(KernelRun(what, dtype, onednn, kernel_name(ops), ops))
            if dtype == "float32" and what == CONVOLUTIONS[-1][0]:
                oracle = R.Convolution(w.numpy().astype(np.float64), None).forward(x.numpy().astype(np.float64))
                scale = np.abs(oracle).max()
                a, b = outs[True].numpy(), outs[False].numpy()
                on, off = runs[-2].meaning, runs[-1].meaning
                float32 = [(f"oneDNN on ({on}) against the float64 reference", np.abs(a - oracle).max() / scale),
                           (f"oneDNN off ({off}) against the float64 reference", np.abs(b - oracle).max() / scale),
                           (f"{on} against {off}", np.abs(a - b).max() / scale)]
    return runs, float32


def compute() -> TorchConvSteps:
    x = np.asarray(BOOK_INPUT, dtype=np.float64)[None, None]
    W = np.asarray(BOOK_FILTER, dtype=np.float64)[None, None]
    fh, fw = W.shape[2:]
    unfold = F.unfold(torch.tensor(x), (fh, fw)).numpy()[0]               # (C·FH·FW, L)
    col = R.im2col(x, fh, fw)                                              # (L, C·FH·FW)
    out_unfold = (torch.tensor(W).view(1, -1) @ torch.tensor(unfold)).numpy().reshape(2, 2)
    out_conv2d = F.conv2d(torch.tensor(x), torch.tensor(W)).numpy()[0, 0]

    rng = np.random.default_rng(0)
    shape, k, stride, pad = UNFOLD_CASE
    xr = rng.standard_normal(shape)
    u = F.unfold(torch.tensor(xr), k, stride=stride, padding=pad)          # (N, C·k·k, L)
    stacked = u.transpose(1, 2).reshape(-1, u.shape[1]).numpy()
    cr = R.im2col(xr, k, k, stride=stride, pad=pad)
    dcol = rng.standard_normal(cr.shape)
    folded = F.fold(torch.tensor(dcol.reshape(shape[0], -1, cr.shape[1]).transpose(0, 2, 1)), shape[2:], k,
                    stride=stride, padding=pad).numpy()
    col2im = R.col2im(dcol, shape, k, k, stride=stride, pad=pad)
    case = f"x {shape}, {k}×{k} windows, stride {stride}, pad {pad}"
    runs, float32 = _kernel_runs(rng)
    tol = reduction_tolerance(np.float32, int(np.prod(CONVOLUTIONS[-1][2][1:]))).rtol   # k = C·FH·FW
    environment = (("torch", torch.__version__), ("CPU capability", torch.backends.cpu.get_cpu_capability()),
                   ("threads", str(torch.get_num_threads())),
                   ("oneDNN (mkldnn) available", str(torch.backends.mkldnn.is_available())))
    checks = (
        ("F.unfold(x) transposed is reference.im2col(x), to the bit (the book's example)", np.array_equal(unfold.T, col)),
        (f"F.unfold transposed and stacked is reference.im2col for {case}, to the bit", np.array_equal(stacked, cr)),
        ("F.fold is reference.col2im (the same case), within a few ulps",
         bool(np.abs(folded - col2im).max() <= 8 * np.finfo(np.float64).eps * np.abs(col2im).max())),
        ("W.view(FN, −1) @ F.unfold(x) is F.conv2d(x, W): [[15, 16], [6, 15]]", np.array_equal(out_unfold, out_conv2d)),
        (f"both kernels' float32 results are within the suite's tolerance of the float64 reference ({tol:.2g})",
         all(err <= tol for _, err in float32[:2])),
    )
    return TorchConvSteps(unfold, col, out_unfold, out_conv2d, case, tuple(runs), tuple(float32), environment, checks)


def kernel_summary(s: TorchConvSteps) -> list[str]:
    """Per dtype, which kernels ran with oneDNN on (how many of the convolutions each)."""
    out = []
    for dtype in ("float32", "float64"):
        runs = [r for r in s.runs if r.dtype == dtype and r.onednn]
        kinds = {}
        for r in runs:
            kinds[r.meaning] = kinds.get(r.meaning, 0) + 1
        out.append(f"{dtype}: " + ", ".join(f"{k} ({n} of {len(runs)})" for k, n in kinds.items()))
    return out


def kernel_rows(s: TorchConvSteps) -> list[list[str]]:
    """One row per convolution and dtype: the kernel with oneDNN on, and off."""
    rows = {}
    for r in s.runs:
        rows.setdefault((r.what, r.dtype), {})[r.onednn] = r
    return [[what, dtype, on[True].meaning, on[False].meaning] for (what, dtype), on in rows.items()]


def legend(s: TorchConvSteps) -> list[str]:
    """'oneDNN = aten::mkldnn_convolution', … for the kernels that ran."""
    seen = {}
    for r in s.runs:
        seen.setdefault(r.meaning, r.kernel)
    return [f"{meaning} = {kernel}" for meaning, kernel in seen.items()]


# ------------------------------------------------------------------------------------------
# Text
# ------------------------------------------------------------------------------------------

def to_text(s: TorchConvSteps) -> str:
    L = s.col.shape[0]
    out = heading("How PyTorch computes the same convolution on this machine")
    out += ["   " + ", ".join(f"{k} {v}" for k, v in s.environment), ""]
    out += [f"1. F.unfold is im2col. On the book's 4×4 example, F.unfold(x, 3) has shape (1, {s.unfold.shape[0]}, {L}):",
            "   one window per COLUMN (the book's im2col has one per row):", ""]
    out += labelled(s.unfold, [f"({i},{j})" for i in range(3) for j in range(3)],
                    [f"win {r}" for r in range(L)]) + [""]
    out += ["   Transposed, it is reference.im2col(x, 3, 3); with a batch, F.unfold(x).transpose(1, 2) stacked",
            "   gives the book's (N·OH·OW, C·FH·FW) matrix. F.fold adds columns back: it is col2im.", ""]
    out += ["2. The convolution is one matrix product with it: W.view(FN, −1) @ F.unfold(x), reshaped:", ""]
    out += grid(s.out_unfold) + [""]
    out += ["3. But F.conv2d picks a kernel at aten::_convolution — from the dtype, the shapes, the build, the",
            "   flags. The operator that did the work, read from torch's profiler, with oneDNN on and off",
            "   (torch.backends.mkldnn.enabled = False):", ""]
    out += table(["convolution", "dtype", "oneDNN on (the default)", "oneDNN off"],
                 kernel_rows(s)) + [""]
    out += ["   The operators:"] + [f"     {line}" for line in legend(s)]
    out += textwrap.wrap("With oneDNN on, the kernels that ran: " + "; ".join(kernel_summary(s)) + ". The native "
                         "\"slow\" kernel is the book's algorithm: ATen's own im2col, then one BLAS matrix product.",
                         100, initial_indent="   ", subsequent_indent="   ") + [""]
    out += [f"4. Different kernels add in a different order, so their float32 results differ in the last bits.",
            f"   {CONVOLUTIONS[-1][0]}, float32, the largest difference relative to the largest output:", ""]
    out += table(["", "difference"], [[label, f"{err:.2g}"] for label, err in s.float32]) + [""]
    out += check_lines(s.checks)
    return "\n".join(out)


# ------------------------------------------------------------------------------------------
# Page
# ------------------------------------------------------------------------------------------

def to_context(s: TorchConvSteps) -> dict:
    L = s.col.shape[0]
    return {
        "environment": s.environment,
        "unfold": matrix_cells(s.unfold, [f"({i},{j})" for i in range(3) for j in range(3)],
                               [f"win {r}" for r in range(L)], cls="grid wide"),
        "col": matrix_cells(s.col, [f"window {r}" for r in range(L)], [f"({i},{j})" for i in range(3) for j in range(3)]),
        "out": matrix_cells(s.out_unfold, cls="grid out"),
        "kernels": kernel_rows(s), "summary": kernel_summary(s), "legend": legend(s),
        "what": CONVOLUTIONS[-1][0],
        "float32": [[label, f"{err:.2g}"] for label, err in s.float32],
        "checks": check_items(s.checks),
    }
