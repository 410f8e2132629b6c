"""The starter file of ``cnn-parity exercise DIR``: the book's names to write, with the grader's hints.

:func:`starter` is made from the answer key (``answer_key.py``): every function and method keeps its
signature and its docstring with the shapes, and its body becomes ``raise NotImplementedError`` with
a one-line hint (:data:`HINTS`). ``cnn-parity check`` reports those names as "to do". The text is
generated from the source without importing it (no torch, no reference).
"""
from __future__ import annotations

import ast
from pathlib import Path

from . import NAMES

__all__ = ["HINTS", "STARTER_NAME", "starter", "bodies"]

#: The file ``cnn-parity exercise DIR`` writes into DIR.
STARTER_NAME = "layers.py"
_KEY = Path(__file__).with_name("answer_key.py")

#: One hint per function and method of the answer key (a test checks that each has one).
HINTS = {
    "im2col": "pad with np.pad; for each offset (y, x) of the window copy img[:, :, y:y + stride*OH:stride, "
              "x:x + stride*OW:stride] into col (N, C, FH, FW, OH, OW), then transpose to (N, OH, OW, C, FH, FW) "
              "and reshape; keep x's dtype",
    "col2im": "im2col backwards: reshape col to (N, OH, OW, C, FH, FW) and for each offset (y, x) ADD (+=) its "
              "slice into a zero image with the padding; cut the padding off",
    "Convolution.__init__": "keep W, b, stride and pad; dW = db = None",
    "Convolution.forward": "col = im2col(x, FH, FW, stride, pad); out = col @ W.reshape(FN, -1).T + b, "
                           "reshaped to (N, OH, OW, FN) and transposed to (N, FN, OH, OW); keep x and col",
    "Convolution.backward": "dout as (N·OH·OW, FN); db = its column sums; dW = col.T @ dout, back to W's shape; "
                            "dx = col2im(dout @ W.reshape(FN, -1), x.shape, FH, FW, stride, pad)",
    "Pooling.__init__": "keep pool_h, pool_w, stride and pad",
    "Pooling.forward": "im2col with −inf padding (padding must never win), rows of pool_h·pool_w; out = each "
                       "row's max, keep each row's argmax; reshape to (N, OH, OW, C), transpose to (N, C, OH, OW)",
    "Pooling.backward": "put each dout at its row's argmax in zeros (N·OH·OW·C, pool_h·pool_w), then col2im it "
                        "back to x's shape",
    "Relu.__init__": "mask = None",
    "Relu.forward": "mask = (x <= 0); out = a copy of x with 0 where mask",
    "Relu.backward": "dx = a copy of dout with 0 where mask (leave dout as it is)",
    "Sigmoid.__init__": "out = None",
    "Sigmoid.forward": "out = 1 / (1 + np.exp(-x)); keep it",
    "Sigmoid.backward": "dx = dout * out * (1 - out)",
    "Affine.__init__": "keep W and b; dW = db = None",
    "Affine.forward": "keep x's shape; x2 = x.reshape(N, -1); out = x2 @ W + b",
    "Affine.backward": "dx = dout @ W.T, reshaped to x's shape; dW = x2.T @ dout; db = dout summed over the batch",
    "SoftmaxWithLoss.__init__": "loss = y = t = None",
    "SoftmaxWithLoss.forward": "log y = x − max − log Σ exp(x − max) per row; y = exp(log y); loss = the mean "
                               "of −log y[n, t_n] (one-hot t: labels = t.argmax(axis=1))",
    "SoftmaxWithLoss.backward": "dx = (y − one-hot t) / N, in x's dtype",
    "Dropout.__init__": "keep the dropout ratio p; mask = None",
    "Dropout.forward": "training: mask = np.random.rand(*x.shape) > p, out = x * mask / (1 − p); "
                       "inference: out = x (mask = None)",
    "Dropout.backward": "dx = dout * mask / (1 − p) after training, dout after inference",
    "SimpleConvNet.__init__": "params as in the docstring (PH = OH // 2, PW = OW // 2); the six layers in an "
                              "OrderedDict, in order; last_layer = SoftmaxWithLoss()",
    "SimpleConvNet.predict": "x = layer.forward(x) for every layer, in order",
    "SimpleConvNet.loss": "last_layer.forward(predict(x), t)",
    "SimpleConvNet.accuracy": "the share of samples whose argmax of predict(x) equals the label (one-hot t: "
                              "its argmax), batch by batch",
    "SimpleConvNet.gradient": "loss(x, t); dout = last_layer.backward(1); dout = layer.backward(dout) in reverse "
                              "order; then W1, b1 = Conv1's dW, db; W2, b2 = Affine1's; W3, b3 = Affine2's",
    "SGD.__init__": "keep lr",
    "SGD.update": "params[key] -= lr * grads[key] for every key (in place)",
    "Momentum.__init__": "keep lr and momentum; v = None (a dict of buffers, made at the first update)",
    "Momentum.update": "first update: v[key] = a copy of g; later v[key] = momentum * v[key] + g; "
                       "params[key] -= lr * v[key]",
    "AdaGrad.__init__": "keep lr; h = None (a dict of zeros, made at the first update)",
    "AdaGrad.update": "h[key] += g * g; params[key] -= lr * g / (np.sqrt(h[key]) + 1e-10)",
    "Adam.__init__": "keep lr, beta1, beta2; m = v = None; the step count t = 0",
    "Adam.update": "t += 1 (once per update); m = beta1·m + (1 − beta1)·g; v = beta2·v + (1 − beta2)·g²; "
                   "p -= lr / (1 − beta1**t) * m / (√v / √(1 − beta2**t) + 1e-8)",
}

_HEADER = '''"""Your CNN from scratch: the book's names and signatures (Deep Learning from Scratch, chapter 7).

Write each body in place of its ``raise NotImplementedError`` (the hint says how), then grade the file:

    cnn-parity check {name}

The grader runs this file (as pytest runs a test file), puts each name through the parity cases of
cnn-parity against PyTorch, in float64 and float32, and for a mistake names the known bug that its
failures look like. A name still raising NotImplementedError is "to do". Keep the dtype: float32 in,
float32 out (np.zeros(..., dtype=x.dtype)).
"""
from collections import OrderedDict

import numpy as np
'''


def _functions(tree, names):
    """(qualified name, FunctionDef) of the answer key's functions and methods among ``names``."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in names:
            yield node.name, node, None
        elif isinstance(node, ast.ClassDef) and node.name in names:
            yield node.name, node, "class"
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    yield f"{node.name}.{item.name}", item, None


def _has_docstring(node) -> bool:
    first = node.body[0]
    return isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant) \
        and isinstance(first.value.value, str)


def bodies(names=NAMES) -> dict:
    """{qualified name: (source lines of its def line(s) and docstring, its body's lines, indent)}."""
    lines = _KEY.read_text(encoding="utf-8").splitlines()
    out = {}
    for qualname, node, kind in _functions(ast.parse("\n".join(lines)), names):
        doc_end = node.body[0].end_lineno if _has_docstring(node) else node.body[0].lineno - 1
        head = lines[node.lineno - 1:doc_end]
        rest = node.body[1:] if _has_docstring(node) else node.body
        indent = " " * node.body[0].col_offset
        body = lines[rest[0].lineno - 1:node.end_lineno] if rest and kind is None else []
        out[qualname] = (head, body, indent, kind)
    return out


def starter(names=NAMES, file_name=STARTER_NAME) -> str:
    """The starter file's text, for ``names`` (in the grader's order)."""
    chunks = [_HEADER.format(name=file_name).rstrip("\n")]
    for qualname, (head, _, indent, kind) in bodies(names).items():
        if kind == "class":
            chunks.append("\n\n" + "\n".join(head))
            continue
        hint = HINTS[qualname].replace("\\", "\\\\").replace('"', '\\"')
        text = "\n".join(head) + f'\n{indent}raise NotImplementedError("{hint}")'
        chunks.append(("\n" if "." in qualname else "\n\n") + text)
    return "\n".join(chunks).rstrip() + "\n"
