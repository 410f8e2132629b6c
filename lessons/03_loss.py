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
# # Lesson 3 — Affine, softmax with cross-entropy, and checking a whole network's gradient
#
# *Deep Learning from Scratch*, §3.5, §4.2, §5.6 and §5.7. The end of a CNN is ordinary: Affine
# layers (a matrix product plus a bias) and a softmax-with-loss layer that turns scores into
# probabilities and scores them against the labels. Its gradient is famously short,
# **(y − t) / N**. Then a gradient check: backpropagation against central differences, for every
# parameter of a small SimpleConvNet.
#
# In this lesson you will
#
# 1. write Affine's forward and backward and meet PyTorch's transposed layout,
# 2. compute softmax stably, the cross-entropy loss, and see why its gradient is (y − t) / N,
# 3. see where the book's `1e-7` inside the log changes the loss,
# 4. gradient-check a whole network,
# 5. and write `Affine`, `SoftmaxWithLoss` and `Sigmoid` yourself (the exercises).

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
# ## 1. Affine, and PyTorch's layout
#
# `out = x · W + b` with x (N, in) and W (in, out). Backward: dx = dout · Wᵀ, dW = xᵀ · dout,
# db = Σ over the batch of dout. PyTorch's `nn.Linear` computes the same, but keeps its weight
# the other way round, (out, in), and computes x · Wᵀ. Moving weights between the two means a
# transpose (this project does it in one place, `torch_impl.transfer`).

# %%
rng = np.random.default_rng(0)
x = rng.standard_normal((4, 5))
W = rng.standard_normal((5, 3))
b = rng.standard_normal(3)
dout = rng.standard_normal((4, 3))

out = x @ W + b
dx, dW, db = dout @ W.T, x.T @ dout, dout.sum(axis=0)

linear = torch.nn.Linear(5, 3, dtype=torch.float64)
with torch.no_grad():
    linear.weight.copy_(torch.tensor(W.T))          # (out, in): the transpose
    linear.bias.copy_(torch.tensor(b))
xt = torch.tensor(x, requires_grad=True)
yt = linear(xt)
yt.backward(torch.tensor(dout))
print("out:", np.abs(out - yt.detach().numpy()).max())
print("dx: ", np.abs(dx - xt.grad.numpy()).max())
print("dW: ", np.abs(dW - linear.weight.grad.numpy().T).max(), "(torch's weight.grad transposed)")
print("db: ", np.abs(db - linear.bias.grad.numpy()).max())

# %% [markdown]
# ## 2. Softmax with cross-entropy
#
# softmax(x)_k = exp(x_k) / Σ_j exp(x_j). Computed as written, exp overflows for scores above
# about 709 (float64). Subtracting each row's maximum first changes nothing (it cancels in the
# ratio) and keeps every exp ≤ 1:

# %%
def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


big = np.array([1010.0, 1000.0, 990.0])
with np.errstate(over="ignore", invalid="ignore"):
    print("as written:", np.exp(big) / np.exp(big).sum())
print("shifted:   ", softmax(big))

# %% [markdown]
# The loss of a sample is −log of the probability of its right class, and the layer's loss is the
# mean over the batch. Its gradient with respect to the scores is (y − t) / N: for one sample
# whose right class is c, −log y_c = −x_c + log Σ_j exp(x_j), whose derivative by x_k is
# y_k − [k = c]; the mean divides by N. `cnn-parity explain softmax-loss` works it through with
# numbers and checks it three ways:

# %%
cnn_parity("explain", "softmax-loss")

# %% [markdown]
# ## 3. The book's `1e-7`
#
# The book's `cross_entropy_error` computes `-np.sum(t * np.log(y + 1e-7))`: the `1e-7` keeps
# `log(0)` away. PyTorch's `F.cross_entropy` works from log-softmax (x − max − log Σ exp) and
# needs no such guard. For ordinary predictions the two agree to about 1e-7; for a confident
# wrong answer the book's loss is capped near −log(1e-7) ≈ 16.1:

# %%
for score in (2.0, 20.0, 40.0):
    scores = np.array([[score, 0.0, 0.0]])           # very sure of class 0; the right class is 2
    y = softmax(scores)
    book = float(-np.log(y[0, 2] + 1e-7))
    exact = float(F.cross_entropy(torch.tensor(scores), torch.tensor([2])))
    print(f"score {score:4}: book {book:8.4f}   PyTorch {exact:8.4f}")

# %% [markdown]
# The reference does it PyTorch's way, and offers the book's with `SoftmaxWithLoss(eps=1e-7)`.
#
# ## 4. Checking a whole network's gradient
#
# Backpropagation chains every layer's backward. One wrong line anywhere gives a wrong gradient —
# that a network still "trains" with. The cure is the book's §5.7: compare every parameter's
# gradient with central differences. A small SimpleConvNet (8×8 images, 3 filters), float64:

# %%
net = R.SimpleConvNet(input_dim=(1, 8, 8), conv_param={"filter_num": 3, "filter_size": 3, "pad": 0, "stride": 1},
                      hidden_size=6, output_size=4, weight_init_std=0.3)
xs = rng.standard_normal((2, 1, 8, 8))
ts = np.array([1, 3])
for name, error in R.gradient_check(net, xs, ts).items():
    print(f"{name}: relative error {error:.1e}")

# %% [markdown]
# Errors around 1e-8 or below mean the two agree (central differences are only that accurate).
# A wrong backward typically gives an error near 1. (The test suite's bug zoo plants such bugs on
# purpose: `cnn-parity bugs`.)
#
# ## Exercises
#
# In `my_cnn/layers.py` (made by `cnn-parity exercise my_cnn`; the cell below makes it if it is not
# there), write:
#
# 1. `Affine(W, b)` — `forward(x)` (flatten x to (N, in) first, as the book does: it follows a
#    convolution), `backward(dout)` setting `dW`, `db` and returning dx in x's original shape.
# 2. `SoftmaxWithLoss()` — `forward(x, t)` returns the mean loss (t: class indices or one-hot),
#    `backward(dout=1)` returns (y − t) / N · dout. Use the shifted softmax; no `1e-7` needed.
# 3. `Sigmoid()` — `out = 1 / (1 + exp(−x))`, backward `dout · out · (1 − out)`.
#
# Grade them:
#
#     cnn-parity check my_cnn/layers.py
#
# Then try forgetting the `/ N` in `SoftmaxWithLoss.backward`, and read the grader's diagnosis.

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
# 4. Why does `gradient_check` use float64? Run it on `net` built from float32 arrays
#    (`xs.astype(np.float32)`), and explain the errors with the rounding error of float32 (about
#    6e-8) divided by h = 1e-4.
# 5. With `reduction="sum"` (`R.SoftmaxWithLoss(reduction="sum")`) the gradient is y − t. Which
#    learning rate would give the same SGD steps as the mean with lr = 0.1 and N = 100?
