"""Runs parity cases and turns every comparison into a :class:`reports.records.Record`.

``run_layer_case``  forward output, input gradient and every parameter gradient of one layer.
``run_net_case``    a whole network: scores, loss, dx, every parameter gradient, and the
                    per-layer trace (each layer's output and the gradient arriving at it).
``first_divergence`` names the first layer where reference and torch disagree.
``known_answer_records`` the book's worked examples, checked in both frameworks.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

import reference as R
from torch_impl import layers as T
from torch_impl.transfer import export_grads

from .cases import LAYER_CASES, NET_CASES, LayerCase, NetCase
from .records import Record, Tolerance, compare, reduction_tolerance

DTYPES = ("float64", "float32")


def _to_torch(x: np.ndarray, requires_grad=False) -> torch.Tensor:
    t = torch.from_numpy(np.array(x, copy=True))
    return t.requires_grad_(True) if requires_grad else t


def case_tolerance(case, dtype) -> Tolerance:
    return reduction_tolerance(dtype, case.reduction, case.tol_factor)


def run_layer_case(case: LayerCase, dtype="float64", seed=0, group="layer") -> list[Record]:
    """Forward and backward of one layer case in both frameworks -> records.

    ``group`` labels the records ("layer" for registered cases, "sweep" for hypothesis sweeps).
    The upstream gradient ``dout`` is random (a fixed draw from the seeded generator), so
    every element of the backward pass is exercised, not only a sum.
    """
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    ref, module = case.build(rng, dtype)
    inputs = case.inputs(rng, dtype)
    x_t = _to_torch(inputs["x"], requires_grad=True)

    if case.forward is not None:
        y_ref, y_t = case.forward(ref, module, inputs, x_t)
    else:
        y_ref, y_t = ref.forward(inputs["x"]), module(x_t)
    dout = np.asarray(rng.standard_normal(np.shape(y_ref)), dtype=dtype)
    dx_ref = ref.backward(dout)
    y_t.backward(_to_torch(dout))

    tol = case_tolerance(case, dtype)
    name, cfg = case.layer, case.config
    records = [compare(name, "output", np.asarray(y_ref), y_t, tol, config=cfg, group=group),
               compare(name, "dx", dx_ref, x_t.grad, tol, config=cfg, group=group)]
    grads = export_grads(module) if module.book_params else {}
    for key, g in grads.items():
        records.append(compare(name, "d" + key, getattr(ref, "d" + key), g, tol, config=cfg, group=group))
    return records


def _torch_trace(net, x_t, t_t):
    """Run the torch net child by child, keeping each named output's gradient."""
    outputs = {}
    h = x_t
    for name, child in net.named_children():
        h = child(h)
        h.retain_grad()
        outputs[name] = h
    loss = F.cross_entropy(h, t_t)
    loss.backward()
    return loss, outputs


def _ref_trace(net, x, t):
    """Run the reference net layer by layer, keeping each output and the gradient arriving at it."""
    outputs, grads = {}, {}
    h = x
    for name, layer in net.layers.items():
        h = layer.forward(h)
        outputs[name] = h
    loss = net.last_layer.forward(h, t)
    dout = net.last_layer.backward(1)
    for name, layer in reversed(net.layers.items()):
        grads[name] = dout
        dout = layer.backward(dout)
    return loss, outputs, grads, dout


def run_net_case(case: NetCase, dtype="float64", seed=0) -> list[Record]:
    """A whole network: the loss, scores, dx and parameter gradients ("net" records) and the
    per-layer trace ("trace" records: ``<layer>.out`` forward, ``<layer>.grad`` backward)."""
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    ref, net = case.build(rng, dtype)
    inputs = case.inputs(rng, dtype)
    x, t = inputs["x"], inputs["t"]
    x_t = _to_torch(x, requires_grad=True)
    loss_t, outs_t = _torch_trace(net, x_t, torch.from_numpy(t))
    loss_r, outs_r, grads_r, dx_r = _ref_trace(ref, x, t)

    tol = case_tolerance(case, dtype)
    name, cfg = case.net, case.config
    last = list(ref.layers)[-1]
    records = [compare(name, "loss", np.asarray(loss_r), loss_t, tol, config=cfg, group="net"),
               compare(name, "scores", outs_r[last], outs_t[last], tol, config=cfg, group="net"),
               compare(name, "dx", dx_r, x_t.grad, tol, config=cfg, group="net")]
    ref_grads = {key: getattr(ref.layers[layer], "d" + attr)
                 for key, (layer, attr) in ref.PARAM_LAYERS.items()}
    for key, g in export_grads(net).items():
        records.append(compare(name, "d" + key, ref_grads[key], g, tol, config=cfg, group="net"))
    for layer in ref.layers:                      # forward order
        records.append(compare(name, f"{layer}.out", outs_r[layer], outs_t[layer], tol,
                               config=cfg, group="trace"))
    for layer in reversed(ref.layers):            # backward order
        records.append(compare(name, f"{layer}.grad", grads_r[layer], outs_t[layer].grad, tol,
                               config=cfg, group="trace"))
    return records


def first_divergence(records: list[Record]) -> Record | None:
    """The first failing trace record, in execution order (forward, then backward), or None."""
    for rec in records:
        if rec.group == "trace" and not rec.passed:
            return rec
    return None


def known_answer_records(dtype="float64") -> list[Record]:
    """The book's worked examples (§7.2, §7.3), checked in the reference AND in torch.

    Exact small integers: both frameworks must reproduce them to the bit (tolerance 0).
    """
    dtype = np.dtype(dtype)
    x = np.array([[1, 2, 3, 0], [0, 1, 2, 3], [3, 0, 1, 2], [2, 3, 0, 1]], dtype=dtype)[None, None]
    W = np.array([[2, 0, 1], [0, 1, 2], [1, 0, 2]], dtype=dtype)[None, None]
    pool_x = np.array([[1, 2, 1, 0], [0, 1, 2, 3], [3, 0, 1, 2], [2, 4, 0, 1]], dtype=dtype)[None, None]
    examples = [
        ("conv, stride 1, pad 0", 0.0, 0, [[15, 16], [6, 15]]),
        ("conv, bias 3", 3.0, 0, [[18, 19], [9, 18]]),
        ("conv, pad 1", 0.0, 1, [[7, 12, 10, 2], [4, 15, 16, 10], [10, 6, 15, 6], [8, 10, 4, 3]]),
    ]
    exact = Tolerance(0.0, "the book's worked example: small integers, exact in any float dtype")
    records = []
    for label, bias, pad, expected in examples:
        b = np.array([bias], dtype=dtype)
        expected = np.array(expected, dtype=dtype)[None, None]
        ref_out = R.Convolution(W, b, stride=1, pad=pad).forward(x)
        conv = T.convolution(1, 1, 3, 3, stride=1, pad=pad, dtype=dtype)
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(W))
            conv.bias.copy_(torch.from_numpy(b))
            torch_out = conv(torch.from_numpy(x))
        records.append(compare("book example", f"{label}: reference", ref_out, expected, exact, group="known"))
        records.append(compare("book example", f"{label}: torch", torch_out, expected, exact, group="known"))
    expected = np.array([[2, 3], [4, 2]], dtype=dtype)[None, None]
    records.append(compare("book example", "max pool 2×2 s2: reference",
                           R.Pooling(2, 2, stride=2).forward(pool_x), expected, exact, group="known"))
    records.append(compare("book example", "max pool 2×2 s2: torch",
                           T.pooling(2, 2, stride=2)(torch.from_numpy(pool_x)), expected, exact, group="known"))
    return records


def all_parity_records(dtypes=DTYPES, seed=0) -> list[Record]:
    """Every registered case in every dtype, plus the known answers: what the report shows."""
    records = []
    for dtype in dtypes:
        records += known_answer_records(dtype)
        for case in LAYER_CASES:
            records += run_layer_case(case, dtype, seed)
        for case in NET_CASES:
            records += run_net_case(case, dtype, seed)
    return records
