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
# # Lesson 4 — A training step, in NumPy and in PyTorch side by side
#
# *Deep Learning from Scratch*, §6.1 and §7.5. Everything so far comes together: SimpleConvNet
# (conv – ReLU – pool – affine – ReLU – affine – softmax), its gradient by backpropagation, and an
# optimizer step. Its PyTorch twin — stock `torch.nn` layers — starts from the very same weights,
# and the two take the same steps on the same MNIST images. How close do they stay?
#
# In this lesson you will
#
# 1. load MNIST (a real sample ships with the project) and build both networks with one set of weights,
# 2. compare their loss and every gradient,
# 3. take Adam steps in both, in lockstep, and watch the loss fall,
# 4. meet the two places where the book and PyTorch do an optimizer step or dropout differently,
# 5. and write `SGD`, `Adam`, `Dropout` and `SimpleConvNet` yourself (the exercises).

# %%
import subprocess
import sys

import numpy as np
import torch

import reference as R
import torch_impl as T
from reference.optimizer import Adam
from reports.mnist.data import load_mnist


def cnn_parity(*args):
    """Run `cnn-parity ARGS` (as you would in a terminal), show its output, return its exit status."""
    run = subprocess.run([sys.executable, "-m", "reports.cli", *map(str, args)], capture_output=True, text=True)
    print(run.stdout + run.stderr)
    return run.returncode


def has_command(name):
    """Whether this cnn-parity has the command `name` (`cnn-parity name --help` works)."""
    return subprocess.run([sys.executable, "-m", "reports.cli", name, "--help"], capture_output=True).returncode == 0


# %% [markdown]
# ## 1. Data and two networks with one set of weights
#
# `load_mnist()` reads the sample inside the package (10,000 training and 2,000 test images,
# offline); give it `data_dir=` for the full set. The reference draws its weights from a seeded
# NumPy generator; `load_params` copies them into the twin (transposing the Affine weights, which
# PyTorch keeps as (out, in)).

# %%
(x_train, t_train), (x_test, t_test) = load_mnist()
print("train", x_train.shape, "test", x_test.shape)

net = R.SimpleConvNet(weight_init_std=0.01, rng=0)          # the book's defaults: 30 filters of 5×5, hidden 100
twin = T.SimpleConvNet(weight_init_std=0.01)
T.load_params(twin, net.params)
for name, path in twin.book_params.items():
    print(f"{name:3} {str(net.params[name].shape):16} -> {path}")

# %% [markdown]
# ## 2. Loss and gradients
#
# One batch of 100 images. The reference computes the gradient layer by layer (each `backward`
# of lessons 1–3); PyTorch's autograd does it from its own kernels.

# %%
x, t = x_train[:100], t_train[:100]
loss_ref = net.loss(x, t)
grads_ref = net.gradient(x, t)

twin.zero_grad()
loss_torch = twin.loss(torch.tensor(x), torch.tensor(t))
loss_torch.backward()
grads_torch = T.export_grads(twin)

print(f"loss: reference {loss_ref:.12f}, torch {loss_torch.item():.12f}")
for name in net.params:
    diff = np.abs(grads_ref[name] - grads_torch[name]).max() / np.abs(grads_torch[name]).max()
    print(f"d{name}: largest difference {diff:.1e} (relative to the largest entry)")

# %% [markdown]
# Differences of about 1e-16 to 1e-14: float64 rounding, the same sums in another order.
#
# ## 3. Steps in lockstep
#
# An optimizer step changes every parameter in place. The reference's optimizers
# (`reference.optimizer`: `SGD`, `Momentum`, `AdaGrad`, `Adam`) follow `torch.optim`'s arithmetic
# operation for operation. Ten Adam
# steps, each on the next batch of 100, in both frameworks:

# %%
opt_ref = Adam(lr=0.001)
opt_torch = torch.optim.Adam(twin.parameters(), lr=0.001, foreach=False)
for step in range(10):
    xb, tb = x_train[100 * step:100 * (step + 1)], t_train[100 * step:100 * (step + 1)]
    loss_ref = net.loss(xb, tb)
    grads = net.gradient(xb, tb)
    opt_ref.update(net.params, grads)                  # writes into net.params, in place

    opt_torch.zero_grad()
    loss = twin.loss(torch.tensor(xb), torch.tensor(tb))
    loss.backward()
    opt_torch.step()
    params_torch = T.export_params(twin)
    gap = max(np.abs(net.params[k] - params_torch[k]).max() for k in net.params)
    print(f"step {step + 1:2}: loss {loss_ref:.6f} (torch {loss.item():.6f}); "
          f"largest parameter difference {gap:.1e}")

# %% [markdown]
# The loss falls, and after ten steps every parameter of the two networks still agrees to about
# 16 significant digits: the same arithmetic, step after step. (`cnn-parity train` runs this for whole epochs and writes the
# curves; `docs/training.md`.) Accuracy on the 2,000 test images after these ten steps:

# %%
print(f"reference {net.accuracy(x_test, t_test):.3f}, torch {twin.accuracy(torch.tensor(x_test), torch.tensor(t_test)):.3f}")

# %% [markdown]
# ## 4. Where the book and PyTorch differ: Adam's eps and dropout
#
# The book's own Adam (`common/optimizer.py`) adds its eps = 1e-7 before the bias correction;
# PyTorch after. The same step otherwise — except where gradients are tiny:

# %%
cnn_parity("explain", "adam")

# %% [markdown]
# And dropout: the book scales at inference, PyTorch in training ("inverted" dropout). Both keep
# the scale of training and inference the same on average; they differ by the factor 1 − p:

# %%
cnn_parity("explain", "dropout")

# %% [markdown]
# ## Exercises
#
# In `my_cnn/layers.py` (made by `cnn-parity exercise my_cnn`; the cell below makes it if it is not
# there), write:
#
# 1. `SGD(lr=0.01)` with `update(params, grads)` — in place: `params[key] -= lr * grads[key]`.
# 2. `Adam(lr=0.001, beta1=0.9, beta2=0.999)` — the grader compares your steps with
#    `torch.optim.Adam`'s, which adds eps = 1e-8 *after* the bias correction; the book's adds its
#    1e-7 before (section 4). Write one, and read what the grader says.
# 3. `Dropout(dropout_ratio=0.5)` — `forward(x, train_flg=True)`, `backward(dout)`, in the book's
#    convention or PyTorch's (section 4).
# 4. `SimpleConvNet(...)` — the book's constructor, `params`, `layers`, `predict`, `loss`,
#    `gradient`, built from your own layers.
#
# Grade everything you have written in the four lessons:
#
#     cnn-parity check my_cnn/layers.py

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
# 5. Repeat section 3 in float32 (`R.SimpleConvNet(dtype=np.float32, rng=0)`,
#    `T.SimpleConvNet(dtype=torch.float32)`, `x.astype(np.float32)`). How large is the gap after
#    ten steps, and why does it grow?
# 6. Replace the reference's `Adam` by `reference.optimizer.BookAdam` in section 3. After how many
#    steps can you see the difference in the loss? (`cnn-parity explain adam` says where to look.)
