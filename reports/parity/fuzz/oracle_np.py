"""The float64 oracle a repro carries: each layer in a few lines of NumPy, written for complex input.

A generated repro (``reports.parity.fuzz.repro``) copies the functions it needs from here, source
and all (``inspect.getsource``), so the script shares no code with this project, nor any kernel
with torch. Gradients come from :func:`grad` by complex steps: for a function made of real-analytic
pieces (sums, products, exp, log, powers) whose decisions (a ReLU's sign, a max-pool winner, the
log-sum-exp shift) are taken on the real part, ``Im f(a + i·h·e_k) / h`` is the derivative along
``e_k`` to rounding, with no subtraction — every gradient exact to float64, for any layer, without a
backward pass written per layer. The decisions follow PyTorch's conventions: ReLU passes nothing at
0, a max-pool window sends its gradient to its first maximum, a window's padding never wins.

Every function takes and returns arrays in PyTorch's layouts: images (N, C, H, W), a convolution's
weight (FN, C/groups, FH, FW), a Linear's weight (out, in). ``parity_tests/test_fuzz.py`` checks
each against the reference's layers (forward and backward) on random inputs.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view as windows

__all__ = ["pair", "taps", "conv", "max_pool", "avg_pool", "adaptive_avg_pool", "lrn", "relu", "sigmoid",
           "linear", "affine", "dropout", "cross_entropy", "cross_entropy_mean", "grad", "FUNCTIONS", "NEEDS"]


def pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def taps(x, k, s, p, d=1, ceil=False, fill=0.0, end=0.0):
    """(N, C, OH, OW, KH, KW): each window's taps, padding ``fill``, ceil mode's overhang ``end``."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), out, extra = pair(k), pair(s), pair(p), pair(d), [], []
    for n, k_, s_, p_, d_ in zip(x.shape[2:], (kh, kw), (sh, sw), (ph, pw), (dh, dw)):
        o = (n + 2 * p_ - d_ * (k_ - 1) - 1 + (s_ - 1) * ceil) // s_ + 1
        out.append(o - (ceil and (o - 1) * s_ >= n + p_))
        extra.append(max(0, (out[-1] - 1) * s_ + d_ * (k_ - 1) + 1 - n - 2 * p_))
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    x = np.pad(x, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])), constant_values=end)
    w = windows(x, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(2, 3))
    return w[:, :, ::sh, ::sw, ::dh, ::dw][:, :, :out[0], :out[1]]


def conv(x, W, b=None, stride=1, pad=0, dilation=1, groups=1):
    """nn.Conv2d; pad an int, a pair, "valid" or "same" (the odd pixel at the end, as torch)."""
    FN, Cg, FH, FW = W.shape
    if pad == "same":
        t = [d * (k - 1) for d, k in zip(pair(dilation), (FH, FW))]
        x, pad = np.pad(x, ((0, 0), (0, 0), (t[0] // 2, t[0] - t[0] // 2), (t[1] // 2, t[1] - t[1] // 2))), 0
    w = taps(x, (FH, FW), stride, 0 if pad == "valid" else pad, dilation)
    N, _, oh, ow = w.shape[:4]
    y = np.einsum("ngchwij,gfcij->ngfhw", w.reshape(N, groups, Cg, oh, ow, FH, FW),
                  W.reshape(groups, FN // groups, Cg, FH, FW)).reshape(N, FN, oh, ow)
    return y if b is None else y + b[:, None, None]


def max_pool(x, k, s, p=0, d=1, ceil_mode=False):
    """nn.MaxPool2d: the first maximum (of the real parts) of each window; padding never wins."""
    w = taps(x, k, s, p, d, ceil_mode, -np.inf, -np.inf)
    w = w.reshape(*w.shape[:4], w.shape[4] * w.shape[5])
    return np.take_along_axis(w, np.argmax(w.real, axis=-1)[..., None], -1)[..., 0]


def avg_pool(x, k, s, p=0, ceil=False, count_include_pad=True, divisor_override=None):
    """nn.AvgPool2d: the ceil-mode overhang never counts, the padding does with count_include_pad."""
    total = taps(x, k, s, p, 1, ceil).sum(axis=(-2, -1))
    if divisor_override:
        return total / divisor_override
    return total / taps(np.ones((1, 1) + x.shape[2:]), k, s, p, 1, ceil, float(count_include_pad)).sum(axis=(-2, -1))


def adaptive_avg_pool(x, size):
    """nn.AdaptiveAvgPool2d: output (i, j) averages rows ⌊iH/OH⌋..⌈(i+1)H/OH⌉ (columns alike)."""
    H, W = x.shape[2:]
    oh, ow = [n if o is None else o for n, o in zip((H, W), pair(size))]
    return np.stack([np.stack([x[:, :, i * H // oh:-(-(i + 1) * H // oh), j * W // ow:-(-(j + 1) * W // ow)]
                               .mean(axis=(2, 3)) for j in range(ow)], -1) for i in range(oh)], -2)


def lrn(x, size, alpha=1e-4, beta=0.75, k=1.0):
    """nn.LocalResponseNorm: x / (k + alpha/size · Σ x² over channels c − size//2 … c + (size − 1)//2)^beta."""
    sq = np.pad(x * x, ((0, 0), (size // 2, (size - 1) // 2)) + ((0, 0),) * (x.ndim - 2))
    return x / (k + alpha / size * sum(sq[:, i:i + x.shape[1]] for i in range(size))) ** beta


def relu(x):
    return np.where(x.real > 0, x, 0)


def sigmoid(x):
    with np.errstate(over="ignore", invalid="ignore"):        # the branch not taken may overflow
        return np.where(x.real >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))


def linear(x, W, b=None):
    """nn.Linear on the last axis, W (out, in)."""
    return x @ W.T if b is None else x @ W.T + b


def affine(x, W, b):
    """nn.Flatten + nn.Linear: the book's Affine."""
    return x.reshape(len(x), int(np.prod(x.shape[1:]))) @ W.T + b


def dropout(x, mask, p):
    """Inverted dropout with a given mask (True = kept)."""
    return x * (mask / (1 - p))


def cross_entropy(s, t, weight=None, ignore_index=-100, reduction="mean"):
    """F.cross_entropy; t class indices (N,) or probabilities (N, C) (their "mean" divides by N)."""
    logp = s - (m := s.real.max(axis=1, keepdims=True) if s.size else 0) - np.log(np.exp(s - m).sum(1, keepdims=True))
    tw = (np.eye(s.shape[1])[np.where(t == ignore_index, 0, t)] * (t != ignore_index)[:, None] if t.ndim == 1
          else t) * (1 if weight is None else weight)
    loss = -(tw * logp).sum(axis=1)
    count = tw.sum() if t.ndim == 1 else len(t)
    if reduction == "mean" and not count:                    # 0/0: NaN as in torch, whose gradient is 0
        return np.nan + 0 * loss.sum()
    return {"none": loss, "sum": loss.sum()}.get(reduction, loss.sum() / count)


def cross_entropy_mean(s, t, **_):
    """F.cross_entropy with its defaults: class indices, the mean over a non-empty batch."""
    logp = s - (m := s.real.max(axis=1, keepdims=True)) - np.log(np.exp(s - m).sum(1, keepdims=True))
    return -np.take_along_axis(logp, t[:, None], 1).mean()


def grad(f, a, h=1e-30):
    """d Σ f(a) / da by complex steps (see the module docstring)."""
    steps = (h * 1j * np.eye(1, a.size, k).reshape(a.shape) for k in range(a.size))
    return np.array([np.sum(f(a + d)).imag / h for d in steps]).reshape(a.shape)


#: The function of each layer kind in a repro, and what else it needs.
FUNCTIONS = {"Convolution": conv, "Pooling": max_pool, "AvgPooling": avg_pool, "AdaptiveAvgPooling": adaptive_avg_pool,
             "LRN": lrn, "Relu": relu, "Sigmoid": sigmoid, "Linear": linear, "Affine": affine, "Dropout": dropout}
NEEDS = {conv: (pair, taps), max_pool: (pair, taps), avg_pool: (pair, taps), adaptive_avg_pool: (pair,)}
