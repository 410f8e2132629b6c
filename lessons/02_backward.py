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
# # Lesson 2 — The backward pass: col2im, the convolution's gradients, max pooling
#
# *Deep Learning from Scratch*, §7.4 and §5 (backpropagation). Lesson 1 wrote the forward pass
# as `out = col @ W_col`. Training needs the gradients: how the loss L changes with each weight
# (dW, db) and with the layer's input (dx, passed to the layer below). They come from the
# gradient of the layer above, `dout = ∂L/∂out`, by two matrix products and one new function,
# **col2im**.
#
# In this lesson you will
#
# 1. see why `dW = colᵀ · dout`, and check it against a numerical gradient,
# 2. write col2im with loops and see why it must *add*,
# 3. check the whole layer against PyTorch's autograd,
# 4. route max pooling's gradient, ties included, the way PyTorch does,
# 5. and write `col2im`, `Convolution` and `Pooling` yourself (the exercises).

# %%
import subprocess
import sys

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
# ## 1. Why dW = colᵀ · dout
#
# Row r of the product is one output: out_r = Σ_k col[r, k] · W_k. The weight W_k appears in
# *every* row, multiplied by col[r, k] — the input value it saw in window r. By the chain rule,
#
#     ∂L/∂W_k = Σ_r ∂L/∂out_r · col[r, k] = (colᵀ · dout)_k.
#
# Each weight's gradient adds, over all windows, "what it saw" times "how much that window's
# output mattered". The same for the input copies: ∂L/∂col[r, k] = ∂L/∂out_r · W_k, so
# `dcol = dout · W_colᵀ`. And the bias is added to every output: db = Σ dout.
#
# With the book's example and dout = 1, 2, 3, 4:

# %%
x = np.array([[1, 2, 3, 0], [0, 1, 2, 3], [3, 0, 1, 2], [2, 3, 0, 1]], dtype=np.float64)
W = np.array([[2, 0, 1], [0, 1, 2], [1, 0, 2]], dtype=np.float64)
dout = np.array([[1, 2], [3, 4]], dtype=np.float64)

col = R.im2col(x[None, None], 3, 3)             # (4 windows, 9 values)
dW = (col.T @ dout.reshape(-1, 1)).reshape(3, 3)
print(dW)

# %% [markdown]
# Is that really the gradient? Take L = Σ out · dout (its gradient with respect to out is exactly
# dout) and nudge each weight by ±h: central differences, the book's `numerical_gradient` (§4.4).

# %%
def L_of(W_):
    out = (col @ W_.reshape(-1, 1)).reshape(2, 2)
    return float((out * dout).sum())


numerical = R.numerical_gradient(L_of, W.copy())
print(numerical)
print("largest difference:", np.abs(numerical - dW).max())

# %% [markdown]
# ## 2. col2im: putting the gradients back, adding
#
# `dcol` has one row per window. Each row goes back where its window came from — and where
# windows overlap, the values **add**, because im2col had copied that input pixel into several
# windows, and each copy's gradient counts.

# %%
def col2im_by_hand(dcol, H, Wd, FH, FW):
    OH, OW = H - FH + 1, Wd - FW + 1
    dx = np.zeros((H, Wd))
    for r in range(OH * OW):
        i, j = divmod(r, OW)
        dx[i:i + FH, j:j + FW] += dcol[r].reshape(FH, FW)      # += : overlapping windows add up
    return dx


dcol = dout.reshape(-1, 1) @ W.reshape(1, -1)                 # dout · W_colᵀ, (4, 9)
dx = col2im_by_hand(dcol, 4, 4, 3, 3)
print(dx)
print("the reference's col2im gives the same:",
      np.array_equal(dx, R.col2im(dcol, (1, 1, 4, 4), 3, 3)[0, 0]))

# %% [markdown]
# `cnn-parity explain conv-backward` shows every sum of this, pixel by pixel (try `--pad 1`):

# %%
cnn_parity("explain", "conv-backward")

# %% [markdown]
# ## 3. The whole layer against PyTorch
#
# The reference's `Convolution` keeps `col` from the forward pass and computes dW, db and dx in
# `backward`. PyTorch's autograd computes the same three from its own kernels. A random case with
# a batch, channels, stride and padding:

# %%
rng = np.random.default_rng(1)
xb = rng.standard_normal((2, 3, 7, 6))
Wb = rng.standard_normal((4, 3, 3, 3))
bb = rng.standard_normal(4)
g = rng.standard_normal((2, 4, 4, 3))                # dout for stride 2, pad 1: OH = 4, OW = 3

conv = R.Convolution(Wb, bb, stride=2, pad=1)
conv.forward(xb)
dx_ref = conv.backward(g)

xt = torch.tensor(xb, requires_grad=True)
Wt = torch.tensor(Wb, requires_grad=True)
bt = torch.tensor(bb, requires_grad=True)
F.conv2d(xt, Wt, bt, stride=2, padding=1).backward(torch.tensor(g))
for name, ours, theirs in (("dW", conv.dW, Wt.grad), ("db", conv.db, bt.grad), ("dx", dx_ref, xt.grad)):
    print(f"{name}: largest difference from torch {np.abs(ours - theirs.numpy()).max():.1e}")

# %% [markdown]
# ## 4. Max pooling: the gradient goes to the maximum
#
# Forward, each window keeps its largest value. Backward, the window's whole gradient goes to the
# place that value came from, and nothing to the others (they did not change the output). The book
# remembers the place with `arg_max = np.argmax(col, axis=1)`.
#
# What if the maximum appears twice — an all-zero window after a ReLU is common? `np.argmax` takes
# the **first**. Does PyTorch agree?

# %%
xp = np.array([[1, 3, 0, 0], [2, 3, 0, 0], [5, 1, 4, 2], [0, 2, 6, 1]], dtype=np.float64)
pool = R.Pooling(2, 2, stride=2)
pool.forward(xp[None, None])
dx_pool = pool.backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))

xt = torch.tensor(xp[None, None], requires_grad=True)
out, indices = F.max_pool2d(xt, 2, 2, return_indices=True)
out.backward(torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]))
print("reference dx:\n", dx_pool[0, 0])
print("torch's indices (h·W + w):\n", indices[0, 0].numpy())
print("the same dx:", np.array_equal(dx_pool, xt.grad.numpy()))

# %% [markdown]
# The top-left window holds 3 twice; both send the gradient to the first, (0, 1). `torch.amax`
# would split it instead — `cnn-parity explain max-pool` shows both, and overlapping windows
# with `--stride 1`:

# %%
cnn_parity("explain", "max-pool")

# %% [markdown]
# ## Exercises
#
# In `my_cnn/layers.py` (made by `cnn-parity exercise my_cnn` in lesson 1; the cell below makes
# it if it is not there), write:
#
# 1. `col2im(col, input_shape, filter_h, filter_w, stride=1, pad=0)` — the adjoint of your
#    `im2col`: with stride and padding, it must *add* overlapping windows and drop the padding.
# 2. `Convolution(W, b, stride=1, pad=0)` — `forward(x)` with your `im2col` (keep `x`, `col`,
#    `col_W`), `backward(dout)` setting `self.dW`, `self.db` and returning dx with your `col2im`.
# 3. `Pooling(pool_h, pool_w, stride=1, pad=0)` — max pooling with `arg_max`; ties to the first.
#
# Grade them (`Convolution` needs your `im2col` and `col2im` to pass first):
#
#     cnn-parity check my_cnn/layers.py
#
# A classic mistake is to *assign* instead of add in col2im (`=` for `+=`): try it, and read what
# the grader says about it.

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
# **To think about:**
#
# 4. dx of a convolution is itself a convolution: of dout, padded, with the filter turned by 180°.
#    Check it on the book's example with `conv_loops` from lesson 1 (pad `dout` with 2 zeros).
# 5. The book's `Pooling` pads with 0, PyTorch with −∞. For a window of negative numbers that
#    overlaps the padding, what does each return? (`R.Pooling(2, 2, stride=2, pad=1)` is PyTorch's.)
