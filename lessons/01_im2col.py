# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 1 — im2col: a convolution as one matrix product
#
# *Deep Learning from Scratch*, §7.2–7.4. A convolution slides a small filter over an image and,
# at each position, multiplies the window it covers by the filter and adds up. Written as loops it
# is four nested `for`s — slow in Python. The book's trick, **im2col**, copies every window into
# one row of a matrix, so that the whole convolution becomes **one matrix product**, which NumPy
# (and every framework) does fast.
#
# In this lesson you will
#
# 1. compute the book's 4×4 example with loops,
# 2. build the im2col matrix by hand and check it against the reference's `im2col`,
# 3. do the convolution as one product, for a whole batch with many channels and filters,
# 4. see that PyTorch has the very same function, `F.unfold`,
# 5. and write your own `im2col` (the exercises at the end; `cnn-parity check` grades it).
#
# Run the cells from top to bottom. Every number is computed; nothing is typed in.

# %%
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

import reference as R


def cnn_parity(*args):
    """Run `cnn-parity ARGS` (as you would in a terminal), show its output, return its exit status."""
    run = subprocess.run([sys.executable, "-m", "reports.cli", *map(str, args)], capture_output=True, text=True)
    print(run.stdout + run.stderr)
    return run.returncode


def has_command(name):
    """Whether this cnn-parity has the command `name` (`cnn-parity name --help` works)."""
    return subprocess.run([sys.executable, "-m", "reports.cli", name, "--help"], capture_output=True).returncode == 0


# %% [markdown]
# ## 1. The book's example, with loops
#
# A 4×4 input and a 3×3 filter, stride 1, no padding. The output has
# OH = (H + 2P − FH) / S + 1 = (4 + 0 − 3) / 1 + 1 = 2 rows, and as many columns.

# %%
x = np.array([[1, 2, 3, 0], [0, 1, 2, 3], [3, 0, 1, 2], [2, 3, 0, 1]], dtype=np.float64)
W = np.array([[2, 0, 1], [0, 1, 2], [1, 0, 2]], dtype=np.float64)


def conv_loops(x, W):
    """out[i, j] = Σ_a Σ_b x[i + a, j + b] · W[a, b] — the definition, four loops."""
    FH, FW = W.shape
    OH, OW = x.shape[0] - FH + 1, x.shape[1] - FW + 1
    out = np.zeros((OH, OW))
    for i in range(OH):
        for j in range(OW):
            for a in range(FH):
                for b in range(FW):
                    out[i, j] += x[i + a, j + b] * W[a, b]
    return out


print(conv_loops(x, W))

# %% [markdown]
# That is the book's answer, [[15, 16], [6, 15]]. Note that the filter is *not* flipped: what deep
# learning calls convolution is, strictly, cross-correlation — in every framework.
#
# ## 2. im2col by hand
#
# Each window becomes one row, read left to right and top to bottom. Four windows, nine values each:

# %%
def im2col_by_hand(x, FH, FW):
    OH, OW = x.shape[0] - FH + 1, x.shape[1] - FW + 1
    rows = [x[i:i + FH, j:j + FW].ravel() for i in range(OH) for j in range(OW)]
    return np.array(rows)


col = im2col_by_hand(x, 3, 3)
print(col)
print("the reference's im2col gives the same:", np.array_equal(col, R.im2col(x[None, None], 3, 3)))

# %% [markdown]
# The reference's `im2col(input_data, filter_h, filter_w, stride=1, pad=0)` takes a batch shaped
# (N, C, H, W) — here N = C = 1, hence `x[None, None]` — and returns (N·OH·OW, C·FH·FW).
#
# ## 3. One matrix product
#
# Flatten the filter into a column in the same order, and multiply: each row of `col` times the
# filter column is one output value.

# %%
W_col = W.reshape(1, -1).T            # (9, 1), as the book writes it: self.W.reshape(FN, -1).T
out = (col @ W_col).reshape(2, 2)
print(out)
print("same as the loops:", np.array_equal(out, conv_loops(x, W)))

# %% [markdown]
# `cnn-parity explain im2col` draws every step of this (try `--pad 1`):

# %%
cnn_parity("explain", "im2col")

# %% [markdown]
# ## 4. Batches, channels, filters
#
# A real layer has N images with C channels and FN filters of C channels each. im2col does not
# change: a row is still one window, now with C·FH·FW values (every channel of the window), and
# there are N·OH·OW rows. The filters become FN columns, and one product computes
# N·OH·OW·FN outputs. The book's `Convolution.forward` is these few lines:

# %%
rng = np.random.default_rng(0)
N, C, H, Wd, FN, K = 2, 3, 6, 5, 4, 3
xb = rng.standard_normal((N, C, H, Wd))
Wb = rng.standard_normal((FN, C, K, K))
b = rng.standard_normal(FN)

OH, OW = R.conv_output_size(H, K, 1, 1), R.conv_output_size(Wd, K, 1, 1)
col = R.im2col(xb, K, K, stride=1, pad=1)                  # (N·OH·OW, C·K·K)
out = col @ Wb.reshape(FN, -1).T + b                        # (N·OH·OW, FN)
out = out.reshape(N, OH, OW, FN).transpose(0, 3, 1, 2)      # (N, FN, OH, OW)
print("col", col.shape, "-> out", out.shape)

reference_out = R.Convolution(Wb, b, stride=1, pad=1).forward(xb)
torch_out = F.conv2d(torch.tensor(xb), torch.tensor(Wb), torch.tensor(b), padding=1).numpy()
print("largest difference from reference.Convolution:", np.abs(out - reference_out).max())
print("largest difference from torch's F.conv2d:     ", np.abs(out - torch_out).max())

# %% [markdown]
# The differences are zero or a few units of the last place (about 1e-16 in float64): the same
# sums, added in a different order. The test suite of this project calls that a pass; the
# tolerance is in `docs/judging.md`.
#
# ## 5. Why bother? Speed
#
# The four loops of section 1 against im2col and one product, on 2 MNIST-sized images (28×28)
# with 3 filters of 5×5 — small, because the loops are slow. (Timings depend on your machine.)

# %%
xs = rng.standard_normal((2, 1, 28, 28))
Ws = rng.standard_normal((3, 1, 5, 5))

t0 = time.perf_counter()
slow = np.array([[conv_loops(image[0], filt[0]) for filt in Ws] for image in xs])      # (2, 3, 24, 24)
t1 = time.perf_counter()
fast = (R.im2col(xs, 5, 5) @ Ws.reshape(3, -1).T).reshape(2, 24, 24, 3).transpose(0, 3, 1, 2)
t2 = time.perf_counter()
print(f"four loops: {t1 - t0:.3f} s;  im2col + one product: {t2 - t1:.4f} s;  "
      f"{(t1 - t0) / (t2 - t1):.0f} times faster")
print("same result:", np.allclose(slow, fast))

# %% [markdown]
# The gap grows with the batch: the product runs in compiled code (BLAS), the loops in Python.
# The price is memory: `col` holds each input value up to FH·FW times (exercise 5).
#
# %% [markdown]
# ## 6. PyTorch has im2col too: `F.unfold`
#
# `torch.nn.functional.unfold` returns the same windows with one window per **column**, batch
# first: (N, C·FH·FW, OH·OW). Transposed, it is the book's matrix.

# %%
u = F.unfold(torch.tensor(x[None, None]), 3)         # (1, 9, 4)
print(u[0].T.numpy())
print("F.unfold transposed is im2col:", np.array_equal(u[0].T.numpy(), R.im2col(x[None, None], 3, 3)))

# %% [markdown]
# Does `F.conv2d` itself use it? Sometimes. `cnn-parity explain torch-conv` asks PyTorch's
# profiler which kernel ran on this machine.
#
# ## Exercises
#
# **In your own file.** `cnn-parity exercise my_cnn` writes `my_cnn/layers.py`: the book's names
# with their signatures and shape docstrings, every body a `raise NotImplementedError`. Write, in it:
#
# 1. `im2col(input_data, filter_h, filter_w, stride=1, pad=0)` — with stride and zero padding
#    (`np.pad`), rows ordered (n, oh, ow), columns (c, fh, fw). Start from `im2col_by_hand` above.
# 2. `Relu` — `forward(x)` keeps the positive values; `backward(dout)` lets the gradient through
#    where `x > 0`. (A warm-up: the book's is six lines.)
#
# Then grade your file; run it again after every change:
#
#     cnn-parity check my_cnn/layers.py
#
# It runs your `im2col` and `Relu` through the same parity cases as the test suite, against
# PyTorch, in float64 and float32. The names you have not written yet are "to do"; a failing name
# gets its first failing comparison and, when it looks like a known bug, which one.
#
# The cell below does both for you (it makes the file only once, and never overwrites your work).

# %%
from pathlib import Path

WORK = Path("my_cnn")
if has_command("check"):
    if not (WORK / "layers.py").exists():
        cnn_parity("exercise", WORK)
    status = cnn_parity("check", WORK / "layers.py")
    assert status != 2, "cnn-parity check could not grade the file (exit status 2): see its message above"
else:
    print("This cnn-parity has no `check` command yet: update the project (git pull, pip install -e .).")

# %% [markdown]
# **On paper**, then check with `R.conv_output_size` or `R.im2col(...).shape`:
#
# 3. A batch of 100 MNIST images (1×28×28), a 5×5 filter, stride 1, pad 0: what shape has `col`?
#    And with stride 2, pad 2?
# 4. Why does the product `col @ W_col` need `W.reshape(FN, -1).T` and not `W.reshape(-1, FN)`?
#    (Hint: print both for the `Wb` above.)
# 5. `col` holds every input value up to FH·FW times. For SimpleConvNet's first layer (28×28
#    input, 5×5 filter), how many times larger than the input is `col`?
