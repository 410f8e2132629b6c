"""Runs parity cases and turns every comparison into a :class:`reports.parity.records.Record`.

``run_layer_case``  forward output, input gradient and every parameter gradient of one layer.
``run_net_case``    a whole network: scores, loss, dx, every parameter gradient, and the
                    per-layer trace (each layer's output and the gradient arriving at it).
``gradient_spot_records`` the reference's backprop against central differences at a few
                    coordinates per parameter array (for nets too large for a full check).
``torchvision_forward_records`` torchvision's own AlexNet forward against the reference.
``first_divergence`` names the first layer where reference and torch disagree.
``known_answer_records`` the book's worked examples, checked in both frameworks.
``all_parity_records`` every case in every dtype, less the cases that cannot run here
                    (``unavailable_cases``: the torchvision AlexNet without torchvision).
"""
from __future__ import annotations

import contextlib
import copy
import warnings

import numpy as np
import torch
import torch.nn.functional as F

import reference as R
from torch_impl import apply_dropout_mask
from torch_impl import layers as T
from torch_impl.transfer import book_layout_is_transposed, export_grads, resolve_param

from .cases import (LAYER_CASES, NET_CASES, LayerCase, NetCase, alexnet_plan,
                    reference_from_torchvision, reference_views_of)
from .records import DTYPES, Record, Tolerance, compare, config_str, first_divergence, reduction_tolerance


def _to_torch(x: np.ndarray, requires_grad=False, device="cpu") -> torch.Tensor:
    """A copy of ``x`` as a (leaf) tensor on ``device``."""
    t = torch.from_numpy(np.array(x, copy=True)).to(device)
    return t.requires_grad_(True) if requires_grad else t


def _labels_on(t, like: torch.Tensor) -> torch.Tensor:
    """Labels (indices or one-hot) as a tensor on the device of ``like``."""
    return torch.from_numpy(np.asarray(t)).to(like.device)


def case_tolerance(case, dtype) -> Tolerance:
    return reduction_tolerance(dtype, case.reduction, case.tol_factor)


@contextlib.contextmanager
def quiet_torch_notes():
    """Silence two torch warnings about inputs the cases choose on purpose: ``pad="same"`` with an
    even window span (torch pads a copy) and a Linear with no input features."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Using padding='same' with even kernel lengths", UserWarning)
        warnings.filterwarnings("ignore", "Initializing zero-element tensors is a no-op", UserWarning)
        yield


def run_layer_case(case: LayerCase, dtype="float64", seed=0, group="layer", device="cpu") -> list[Record]:
    """Forward and backward of one layer case in both frameworks -> records.

    ``group`` labels the records ("layer" for registered cases, "sweep" for hypothesis sweeps).
    ``device``: where the torch twin runs ("cpu", "cuda", ...); the reference is always NumPy.
    The upstream gradient ``dout`` is random (a fixed draw from the seeded generator), so
    every element of the backward pass is exercised, not only a sum.
    """
    with quiet_torch_notes():
        return _run_layer_case(case, dtype, seed, group, device)


def _run_layer_case(case, dtype, seed, group, device) -> list[Record]:
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    ref, module = case.build(rng, dtype)
    module = module.to(device)
    inputs = case.inputs(rng, dtype)
    x_t = _to_torch(inputs["x"], requires_grad=True, device=device)

    if case.forward is not None:
        y_ref, y_t = case.forward(ref, module, inputs, x_t)
    else:
        y_ref, y_t = ref.forward(inputs["x"]), module(x_t)
    dout = np.asarray(rng.standard_normal(np.shape(y_ref)), dtype=dtype)
    dx_ref = ref.backward(dout)
    y_t.backward(_to_torch(dout, device=device))

    tol = case_tolerance(case, dtype)
    name, cfg = case.layer, case.config
    records = [compare(name, "output", np.asarray(y_ref), y_t, tol, config=cfg, group=group),
               compare(name, "dx", dx_ref, x_t.grad, tol, config=cfg, group=group)]
    grads = export_grads(module) if module.book_params else {}
    for key, g in grads.items():
        records.append(compare(name, "d" + key, getattr(ref, "d" + key), g, tol, config=cfg, group=group))
    if case.extra is not None:
        for rec in case.extra(ref, module, inputs, x_t, tol):
            rec.group = group
            records.append(rec)
    return records


def _torch_trace(net, x_t, t_t, masks=None, after_child=None):
    """Run the torch net child by child, keeping each named output's gradient.

    ``masks`` ({"Dropout1": bool tensor, ...}): a Dropout child is replaced by
    ``torch_impl.apply_dropout_mask`` with that mask (see ``torch_impl.alexnet``).
    ``after_child(name, child, input)``: called after each child's forward, before the backward."""
    outputs = {}
    h = x_t
    for name, child in net.named_children():
        h_in = h
        if masks is not None and isinstance(child, torch.nn.Dropout):
            h = apply_dropout_mask(h, masks[name], child.p)
        else:
            h = child(h)
        h.retain_grad()
        outputs[name] = h
        if after_child is not None:
            after_child(name, child, h_in)
    loss = F.cross_entropy(h, t_t)
    loss.backward()
    return loss, outputs


def align_near_ties(layer: "R.Pooling", x_torch, rtol) -> int:
    """Where torch's max pooling picked another winner than the reference's, and only because
    the two largest values of the window are within rounding of each other, route the
    reference's backward through torch's winner; returns how many windows that was (0: none,
    or some window differs for another reason, and then nothing is changed and the gradient
    records show the difference).

    A near-tie: in both frameworks' inputs the two candidates differ by at most ``rtol`` × the
    array's largest |value| (the layer's own tolerance), and not by exactly 0 in both (an exact
    tie must go to the first maximum, as in torch: that rule is checked, never excused). Without
    this, float32 AlexNets fail at some seeds: a window whose top two values differ by less than
    float32's rounding is won by different pixels, and the gradient below it moves (found by
    ``cnn-parity parity --seeds 0-19``; see README)."""
    x_ref = layer.x
    idx_r = layer.flat_indices()
    k = (layer.pool_h, layer.pool_w)
    try:
        idx_t = F.max_pool2d(torch.from_numpy(x_torch), k, layer.stride, layer.pad, layer.dilation,
                             layer.ceil_mode, return_indices=True)[1].numpy()
    except RuntimeError:                           # options torch's max_pool2d does not take
        return 0
    differ = idx_r != idx_t
    if not differ.any():
        return 0
    N, C, H, W = x_ref.shape
    if idx_r.min() < 0 or idx_t.min() < 0 or idx_r.max() >= H * W or idx_t.max() >= H * W:
        return 0                                   # a window of padding only: not a near-tie

    def at(x, idx):
        return np.take_along_axis(x.reshape(N, C, -1), idx.reshape(N, C, -1), axis=2).reshape(idx.shape)

    gaps = [np.abs(at(x, idx_r) - at(x, idx_t)).astype(np.float64) for x in (x_ref, x_torch)]
    limits = [rtol * float(np.max(np.abs(x))) for x in (x_ref, x_torch)]
    near = (gaps[0] <= limits[0]) & (gaps[1] <= limits[1]) & ~((gaps[0] == 0) & (gaps[1] == 0))
    if not near[differ].all():
        return 0
    probe = copy.copy(layer)                       # the reference's rule on torch's values
    probe.forward(x_torch)
    if not np.array_equal(probe.flat_indices(), idx_t):
        return 0
    layer.arg_max = probe.arg_max
    return int(differ.sum())


def align_near_zeros(layer: "R.Relu", x_ref, x_torch, rtol) -> int:
    """ReLU's counterpart of :func:`align_near_ties`: where an input is within rounding of 0
    (at most ``rtol`` × the array's largest |value| in both frameworks) and its sign differs
    between them, the reference's backward passes or stops the gradient as torch's does. Only
    when the reference's rule applied to torch's values reproduces torch's decisions everywhere
    (so a wrong rule at exactly 0 is never excused); returns the number of entries routed."""
    torch_mask = x_torch <= 0                               # torch: gradient only where x > 0
    differ = layer.mask != torch_mask
    if not differ.any():                                    # the common case: nothing to route
        return 0
    near = ((np.abs(x_ref) <= rtol * float(np.max(np.abs(x_ref))))
            & (np.abs(x_torch) <= rtol * float(np.max(np.abs(x_torch)))))
    if not near[differ].all():
        return 0
    probe = copy.copy(layer)
    probe.forward(x_torch)
    if not np.array_equal(probe.mask, torch_mask):
        return 0
    layer.mask = probe.mask
    return int(differ.sum())


def _near_tie_note(near_ties: dict) -> str:
    """The dx record's note when some max-pool windows were routed as torch routed them."""
    routed = [f"{name}: {n}" for name, n in near_ties.items() if n]
    if not routed:
        return ""
    return ("decisions at a near-tie taken the other way by torch (a max-pool window whose two largest "
            "values, or a ReLU input and 0, are within rounding of each other); the reference's backward "
            "routed them as torch did (" + ", ".join(routed) + ")")


def _ref_forward(name, layer, h, train, masks):
    """One reference layer's forward; Dropout layers get the mode and the case's mask."""
    if isinstance(layer, R.Dropout):
        return layer.forward(h, train_flg=train, mask=None if masks is None else masks[name])
    return layer.forward(h)


def _ref_forward_trace(net, x, t, train=True, masks=None, after_layer=None):
    """The reference's forward, layer by layer: (loss, {layer: output}). ``after_layer(name,
    layer, input)`` is called after each layer's forward (before the backward)."""
    outputs = {}
    h = x
    for name, layer in net.layers.items():
        h_in, h = h, _ref_forward(name, layer, h, train, masks)
        outputs[name] = h
        if after_layer is not None:
            after_layer(name, layer, h_in)
    return net.last_layer.forward(h, t), outputs


def _ref_backward_trace(net, grads, dx):
    """The reference's backward after :func:`_ref_forward_trace`, one layer per step: a generator
    that yields each layer's name once its backward has run (its dW, db are then set), keeping
    the gradient arriving at each layer in ``grads``; ``dx["dx"]`` is the input's gradient."""
    dout = net.last_layer.backward(1)
    for name, layer in reversed(net.layers.items()):
        grads[name] = dout
        dout = layer.backward(dout)
        yield name
    dx["dx"] = dout


def ref_trace(net, x, t, train=True, masks=None, after_layer=None):
    """Run the reference net layer by layer, keeping each output and the gradient arriving at it.
    ``after_layer(name, layer, input)``: called after each layer's forward, before the backward
    (the fuzzer routes near-tie decisions there, as :func:`run_net_case` does)."""
    loss, outputs = _ref_forward_trace(net, x, t, train, masks, after_layer)
    grads, dx = {}, {}
    for _ in _ref_backward_trace(net, grads, dx):
        pass
    return loss, outputs, grads, dx["dx"]


def check_masks(case, ref, masks, train):
    """In training mode every reference Dropout layer needs a mask from the case's inputs:
    masks drawn inside each framework could never agree."""
    dropouts = [name for name, layer in ref.layers.items() if isinstance(layer, R.Dropout)]
    missing = [name for name in dropouts if masks is None or name not in masks]
    if train and missing:
        raise ValueError(f"{case.id}: training mode with Dropout layers {missing} but the case's "
                         "inputs give no mask for them; return inputs['masks'] (e.g. "
                         "ref.dropout_masks(N, rng)) or declare the case with mode='eval'")


#: Nets with more parameter values than this (the full-size AlexNets: 61-62 M) run with one copy
#: of their weights: the reference's arrays become views of the torch twin's parameters.
SHARE_WEIGHTS_ABOVE = 10_000_000


def run_net_case(case: NetCase, dtype="float64", seed=0, device="cpu") -> list[Record]:
    """A whole network: the loss, scores, dx and parameter gradients ("net" records) and the
    per-layer trace ("trace" records: ``<layer>.out`` forward, ``<layer>.grad`` backward).

    Dropout: in ``case.mode == "train"`` (the default) both frameworks use the masks of
    ``inputs["masks"]`` (drawn once from the case's numpy Generator); in ``"eval"`` the torch
    net is put in ``eval()`` mode and the reference runs with ``train_flg=False``.
    ``case.gradcheck`` > 0 adds central-difference spot checks of the reference gradient
    (float64 only, see :func:`gradient_spot_records`); ``case.extra`` adds case-specific records.

    Memory (a full-size AlexNet holds 62 M parameters: 0.5 GB per copy in float64): the
    reference runs first, then torch, and each parameter gradient of torch is compared with the
    reference's as soon as torch's backward has produced it, then both are released; a net of
    more than :data:`SHARE_WEIGHTS_ABOVE` parameter values keeps one copy of its weights.
    """
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    ref, net = case.build(rng, dtype)
    net = net.to(device)
    if device == "cpu" and sum(p.numel() for p in net.parameters()) > SHARE_WEIGHTS_ABOVE:
        reference_views_of(net, ref)              # one copy of the weights (the same bits)
    inputs = case.inputs(rng, dtype)
    x, t = inputs["x"], inputs["t"]
    masks = inputs.get("masks")
    train = case.mode == "train"
    check_masks(case, ref, masks, train)
    tol = case_tolerance(case, dtype)
    name, cfg = case.net, case.config

    spot = []
    if case.gradcheck and dtype == np.float64:     # the reference alone, before torch runs
        ref_trace(ref, x, t, train, masks)
        grads = {key: getattr(ref.layers[layer], "d" + attr) for key, (layer, attr) in ref.PARAM_LAYERS.items()}
        spot = gradient_spot_records(case, ref, inputs, grads, case.gradcheck, train, seed)
        del grads
        for layer, attr in ref.PARAM_LAYERS.values():
            setattr(ref.layers[layer], "d" + attr, None)

    # Both backward passes side by side: torch's drives the reference's. As soon as torch has
    # accumulated a parameter's gradient, the reference's backward runs down to that parameter's
    # layer, the two gradients are compared, and both are released.
    loss_r, outs_r = _ref_forward_trace(ref, x, t, train, masks)
    grads_r, dx = {}, {}
    ref_backward = _ref_backward_trace(ref, grads_r, dx)
    done = []

    def compare_grad(key, torch_grad):
        layer, attr = ref.PARAM_LAYERS[key]
        while layer not in done:
            done.append(next(ref_backward))
        grad_records[key] = compare(name, "d" + key, getattr(ref.layers[layer], "d" + attr), torch_grad,
                                    tol, config=cfg, group="net")
        setattr(ref.layers[layer], "d" + attr, None)

    grad_records = {}
    net.train(train)
    masks_t = None if masks is None else {k: _to_torch(v, device=device) for k, v in masks.items()}
    x_t = _to_torch(x, requires_grad=True, device=device)
    hooks = _on_each_param_grad(net, compare_grad)
    near_ties = {}
    names = list(ref.layers)
    layer_input = {n: (x if i == 0 else outs_r[names[i - 1]]) for i, n in enumerate(names)}

    def align(layer_name, child, h_in):
        layer = ref.layers.get(layer_name)
        if isinstance(layer, R.Pooling) and isinstance(child, torch.nn.MaxPool2d):
            near_ties[layer_name] = align_near_ties(layer, h_in.detach().cpu().numpy(), tol.rtol)
        elif isinstance(layer, R.Relu) and isinstance(child, torch.nn.ReLU):
            near_ties[layer_name] = align_near_zeros(layer, layer_input[layer_name],
                                                      h_in.detach().cpu().numpy(), tol.rtol)
    try:
        loss_t, outs_t = _torch_trace(net, x_t, _labels_on(t, x_t), masks_t, after_child=align)
    finally:
        for hook in hooks:
            hook.remove()
    for layer in ref_backward:                    # the layers below the first parameter, then dx
        done.append(layer)
    dx_r = dx["dx"]
    missing = [key for key in net.book_params if key not in grad_records]
    if missing:
        raise ValueError(f"{case.id}: torch computed no gradient for {missing}")

    last = list(ref.layers)[-1]
    records = [compare(name, "loss", np.asarray(loss_r), loss_t, tol, config=cfg, group="net"),
               compare(name, "scores", outs_r[last], outs_t[last], tol, config=cfg, group="net"),
               compare(name, "dx", dx_r, x_t.grad, tol, config=cfg, group="net", note=_near_tie_note(near_ties))]
    records += [grad_records[key] for key in net.book_params]
    for layer in ref.layers:                      # forward order
        records.append(compare(name, f"{layer}.out", outs_r[layer], outs_t[layer], tol,
                               config=cfg, group="trace"))
    for layer in reversed(ref.layers):            # backward order
        records.append(compare(name, f"{layer}.grad", grads_r[layer], outs_t[layer].grad, tol,
                               config=cfg, group="trace"))
    records += spot
    if case.extra is not None:
        del outs_t, outs_r, grads_r, x_t
        records += case.extra(ref, net, inputs, dtype, tol)
    return records


def _on_each_param_grad(net, compare_grad) -> list:
    """Hooks calling ``compare_grad(book name, gradient in the book's layout)`` as soon as torch's
    backward has accumulated each parameter's gradient, which is then released (``.grad = None``)."""
    hooks = []
    for key, path in net.book_params.items():
        owner, attr = resolve_param(net, path)
        transposed = book_layout_is_transposed(owner, attr)

        def hook(param, key=key, transposed=transposed):
            grad = param.grad.detach()
            compare_grad(key, grad.T if transposed else grad)
            param.grad = None
        hooks.append(getattr(owner, attr).register_post_accumulate_grad_hook(hook))
    return hooks


# Central differences in float64, h = 1e-5 (the step of parity_tests/test_gradcheck.py).
SPOT_H = 1e-5


def spot_tolerance(loss_value, scale, h=SPOT_H) -> Tolerance:
    """Tolerance of a central difference, normwise relative to ``scale`` (max |gradient|).

    Rounding: the loss is computed to a few ulps, |L|·eps each, and divided by 2h: we allow
    100·eps·max(|L|, 1)/h. Truncation: h²/6 times the third derivative, allowed 10·h² for the
    nets' O(1) curvature. Divided by the largest gradient entry of the array.
    """
    eps = float(np.finfo(np.float64).eps)
    abs_tol = 100 * eps * max(abs(float(loss_value)), 1.0) / h + 10 * h * h
    return Tolerance(abs_tol / scale, f"float64 central differences, h={h:g}: "
                     f"(100·eps·max(|L|,1)/h + 10·h²) / max|grad| = {abs_tol:.1e} / {scale:.2e}")


def _kink_state(ref):
    """The non-smooth decisions of the last forward pass: which ReLU inputs were ≤ 0 and which
    entry won each max-pool window. A difference quotient whose ±h steps change one of them
    straddles a kink, where the loss has no derivative to compare with."""
    state = {}
    for name, layer in ref.layers.items():
        if isinstance(layer, R.Relu):
            state[name] = layer.mask.copy()
        elif isinstance(layer, R.Pooling):
            state[name] = np.array(layer.arg_max, copy=True)
    return state


def gradient_spot_records(case, ref, inputs, grads, per_param=3, train=True, seed=0,
                          h=SPOT_H, keys=None) -> list[Record]:
    """The reference's backprop against central differences at a few coordinates per array.

    For each parameter array: its largest-|gradient| entry and ``per_param - 1`` random ones
    (drawn from ``seed``). Each difference quotient re-runs only the layers from the parameter's
    own layer on (the input of that layer is cached), so the full-size AlexNet's check costs
    seconds, not 2 × 61 M forward passes. A coordinate whose ±h steps flip a ReLU or change a
    max-pool winner straddles a kink (no derivative there): it is replaced by another random
    one, and the record's note says so. One "gradcheck" record per array: ``max |numeric −
    backprop|`` over its coordinates, relative to ``max |backprop|`` of the whole array.
    ``grads``: the backprop gradients (book names), computed before this call; ``keys``: the
    parameter arrays to check (default: all).
    """
    x, t, masks = inputs["x"], inputs["t"], inputs.get("masks")
    names = list(ref.layers)
    layer_inputs, h_in = {}, x                   # the input of every layer, for restarts
    for name, layer in ref.layers.items():
        layer_inputs[name] = h_in
        h_in = _ref_forward(name, layer, h_in, train, masks)
    base_loss = ref.last_layer.forward(h_in, t)
    base_kinks = _kink_state(ref)

    def loss_from(start):
        """(loss, True if a ReLU or max-pool decision differs from the unperturbed pass)."""
        h_ = layer_inputs[start]
        downstream = names[names.index(start):]
        for name in downstream:
            h_ = _ref_forward(name, ref.layers[name], h_, train, masks)
        kinked = any(not np.array_equal(base_kinks[name], getattr(ref.layers[name], attr))
                     for name in downstream if name in base_kinks
                     for attr in (("mask",) if isinstance(ref.layers[name], R.Relu) else ("arg_max",)))
        return ref.last_layer.forward(h_, t), kinked

    rng = np.random.default_rng(seed + 1)
    records = []
    for key, (layer_name, _) in ref.PARAM_LAYERS.items():
        if keys is not None and key not in keys:
            continue
        array, analytic = ref.params[key], grads[key]
        flat = analytic.reshape(-1)
        lo, hi = int(np.argmin(flat)), int(np.argmax(flat))     # no |.| temporary of 300 MB
        largest = lo if abs(flat[lo]) > abs(flat[hi]) else hi
        # A ±h step that crosses a kink is skipped; when every coordinate tried does (the first
        # layer of a deep ReLU/max-pool net moves every decision at once), the step shrinks
        # tenfold, twice: fewer decisions lie within a smaller step (the tolerance follows h).
        for step in (h, h / 10, h / 100):
            candidates = [largest]
            picks, numeric, skipped = [], [], []
            while len(picks) < min(per_param, flat.size) and len(skipped) <= 10:
                i = candidates.pop() if candidates else int(rng.integers(flat.size))
                if i in picks or i in skipped:
                    continue
                idx = np.unravel_index(i, array.shape)
                saved = array[idx]
                array[idx] = saved + step
                plus, kink_plus = loss_from(layer_name)
                array[idx] = saved - step
                minus, kink_minus = loss_from(layer_name)
                array[idx] = saved
                if kink_plus or kink_minus:
                    skipped.append(i)
                    continue
                picks.append(i)
                numeric.append((plus - minus) / (2 * step))
            if picks:
                break
        scale = abs(float(flat[largest])) or 1.0
        tol = spot_tolerance(base_loss, scale, step)
        err = float(np.max(np.abs(np.array(numeric) - flat[picks]))) if picks else float("inf")
        rel = err / scale
        note = f"reference backprop vs central differences at flat indices {picks}"
        if step != h:
            note += f" with h={step:g} (every ±{h:g} step tried crossed a kink)"
        elif skipped:
            note += f"; skipped {skipped} (a ±h step crossed a ReLU kink or a max-pool tie)"
        records.append(Record(
            case=case.net, quantity=f"d{key} central diff", dtype="float64",
            config=config_str(case.config), ref_shape=str(tuple(array.shape)),
            torch_shape=f"({len(picks)} coordinates)", max_abs=err, max_rel=rel, tol=tol.rtol,
            headroom=tol.rtol / rel if rel else float("inf"),
            verdict="pass" if rel <= tol.rtol else "fail", group="gradcheck",
            note=note, tol_why=tol.why))
    return records


def torchvision_forward_records(model, N=1, seed=0) -> list[Record]:
    """torchvision's own ``forward`` (eval mode: dropout off) against the reference built from
    the model's weights (``reports.parity.cases.reference_from_torchvision``), in the model's dtype.

    The cheap torchvision check of the default test tier: one forward pass in each framework
    (the registered ``AlexNet-torchvision`` case compares the whole trace and every gradient).
    """
    ref = reference_from_torchvision(model)
    dtype = ref.dtype
    x = np.random.default_rng(seed).standard_normal((N, *ref.input_dim)).astype(dtype)
    model.eval()
    with torch.no_grad():
        scores_t = model(torch.from_numpy(x))
    tol = reduction_tolerance(dtype, alexnet_plan(N, R.alexnet.TORCHVISION)[0])
    config = dict(N=N, input_dim="×".join(map(str, ref.input_dim)), mode="eval")
    return [compare("AlexNet-torchvision", "scores (torchvision forward, eval)",
                    ref.predict(x), scores_t, tol, config=config, group="net")]


#: The book's worked examples (§7.2, §7.3) as data, shared by :func:`known_answer_records` and the
#: grader of students' layers (``reports.classroom``): the input and filter of the convolution
#: examples, each example's (label, bias, pad, answer), and the max-pooling example's input and answer.
BOOK_CONV_X = [[1, 2, 3, 0], [0, 1, 2, 3], [3, 0, 1, 2], [2, 3, 0, 1]]
BOOK_CONV_W = [[2, 0, 1], [0, 1, 2], [1, 0, 2]]
BOOK_CONV_EXAMPLES = [
    ("conv, stride 1, pad 0", 0.0, 0, [[15, 16], [6, 15]]),
    ("conv, bias 3", 3.0, 0, [[18, 19], [9, 18]]),
    ("conv, pad 1", 0.0, 1, [[7, 12, 10, 2], [4, 15, 16, 10], [10, 6, 15, 6], [8, 10, 4, 3]]),
]
BOOK_POOL_X = [[1, 2, 1, 0], [0, 1, 2, 3], [3, 0, 1, 2], [2, 4, 0, 1]]
BOOK_POOL_EXAMPLE = ("max pool 2×2 s2", [[2, 3], [4, 2]])
#: The tolerance of the worked examples: none.
BOOK_EXACT = Tolerance(0.0, "the book's worked example: small integers, exact in any float dtype")


def known_answer_records(dtype="float64") -> list[Record]:
    """The book's worked examples (§7.2, §7.3), checked in the reference AND in torch.

    Exact small integers: both frameworks must reproduce them to the bit (tolerance 0).
    """
    dtype = np.dtype(dtype)
    x = np.array(BOOK_CONV_X, dtype=dtype)[None, None]
    W = np.array(BOOK_CONV_W, dtype=dtype)[None, None]
    pool_x = np.array(BOOK_POOL_X, dtype=dtype)[None, None]
    records = []
    for label, bias, pad, expected in BOOK_CONV_EXAMPLES:
        b = np.array([bias], dtype=dtype)
        expected = np.array(expected, dtype=dtype)[None, None]
        ref_out = R.Convolution(W, b, stride=1, pad=pad).forward(x)
        conv = T.convolution(1, 1, 3, 3, stride=1, pad=pad, dtype=dtype)
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(W))
            conv.bias.copy_(torch.from_numpy(b))
            torch_out = conv(torch.from_numpy(x))
        records.append(compare("book example", f"{label}: reference", ref_out, expected, BOOK_EXACT, group="known"))
        records.append(compare("book example", f"{label}: torch", torch_out, expected, BOOK_EXACT, group="known"))
    label, expected = BOOK_POOL_EXAMPLE
    expected = np.array(expected, dtype=dtype)[None, None]
    records.append(compare("book example", f"{label}: reference",
                           R.Pooling(2, 2, stride=2).forward(pool_x), expected, BOOK_EXACT, group="known"))
    records.append(compare("book example", f"{label}: torch",
                           T.pooling(2, 2, stride=2)(torch.from_numpy(pool_x)), expected, BOOK_EXACT, group="known"))
    return records + option_answer_records(dtype)


def _both(label, ref_out, torch_out, expected, tol, dtype, values="float"):
    """Two records: the reference's and torch's result against the answer (``values="int"``:
    integers, e.g. indices; the records still carry the example's dtype)."""
    expected = np.asarray(expected, dtype=np.int64 if values == "int" else dtype)
    return [compare("book example", f"{label}: reference", ref_out, expected, tol, group="known", dtype=dtype),
            compare("book example", f"{label}: torch", torch_out, expected, tol, group="known", dtype=dtype)]


def option_answer_records(dtype="float64") -> list[Record]:
    """PyTorch's options on the book's small examples, with answers worked out by hand (see
    the comments), checked in the reference and in torch. Integers are exact (tolerance 0); the
    cross-entropy answers are multiples of log 2 (a few ulps)."""
    dtype = np.dtype(dtype)
    exact = Tolerance(0.0, "worked by hand: small integers, exact in any float dtype")
    x = np.array([[1, 2, 3, 0], [0, 1, 2, 3], [3, 0, 1, 2], [2, 3, 0, 1]], dtype=dtype)[None, None]
    pool_x = np.array([[1, 2, 1, 0], [0, 1, 2, 3], [3, 0, 1, 2], [2, 4, 0, 1]], dtype=dtype)[None, None]
    book_W = np.array([[2, 0, 1], [0, 1, 2], [1, 0, 2]], dtype=dtype)
    xt, pool_xt = torch.from_numpy(x), torch.from_numpy(pool_x)
    records = []
    # dilation 2: a 2×2 identity filter adds x[i, j] and x[i + 2, j + 2]
    eye = np.eye(2, dtype=dtype)[None, None]
    records += _both("conv, dilation 2", R.Convolution(eye, None, dilation=2).forward(x),
                     F.conv2d(xt, torch.from_numpy(eye), dilation=2), [[[[2, 4], [0, 2]]]], exact, dtype)
    # depthwise (groups = C = 2): channel 0 is the book's input, channel 1 its negative
    x2 = np.concatenate([x, -x], axis=1)
    W2 = np.stack([book_W, book_W])[:, None]                          # (2, 1, 3, 3)
    records += _both("conv, depthwise (groups 2)", R.Convolution(W2, None, groups=2).forward(x2),
                     F.conv2d(torch.from_numpy(x2), torch.from_numpy(W2), groups=2),
                     [[[[15, 16], [6, 15]], [[-15, -16], [-6, -15]]]], exact, dtype)
    # pad "same" with a 3×3 filter is the book's pad 1
    records += _both('conv, pad "same"', R.Convolution(book_W[None, None], None, pad="same").forward(x),
                     F.conv2d(xt, torch.from_numpy(book_W[None, None]), padding="same"),
                     [[[[7, 12, 10, 2], [4, 15, 16, 10], [10, 6, 15, 6], [8, 10, 4, 3]]]], exact, dtype)
    # max pool 3×3 s2 with ceil_mode: windows rows/cols 0–2 and 2–3 (the second hangs over)
    ceil = R.Pooling(3, 3, stride=2, ceil_mode=True)
    records += _both("max pool 3×3 s2 ceil_mode", ceil.forward(pool_x),
                     F.max_pool2d(pool_xt, 3, 2, ceil_mode=True), [[[[3, 3], [4, 2]]]], exact, dtype)
    # dilation 2, 2×2, stride 1: the max of x[i, j], x[i, j + 2], x[i + 2, j], x[i + 2, j + 2]
    records += _both("max pool 2×2 s1 dilation 2", R.Pooling(2, 2, dilation=2).forward(pool_x),
                     F.max_pool2d(pool_xt, 2, 1, dilation=2), [[[[3, 2], [2, 4]]]], exact, dtype)
    # return_indices of the book's 2×2 s2 pool: maxima 2, 3, 4, 2 at (0, 1), (1, 3), (3, 1), (2, 3)
    book_pool = R.Pooling(2, 2, stride=2)
    book_pool.forward(pool_x)
    records += _both("max pool 2×2 s2 indices", book_pool.flat_indices(),
                     F.max_pool2d(pool_xt, 2, 2, return_indices=True)[1], [[[[1, 7], [13, 11]]]], exact, dtype, values="int")
    # average 2×2 s2 in ceil mode on a 3×3 all-ones input: every window averages ones (the
    # overhang does not count, even with count_include_pad) — dividing by 4 would give 1/2, 1/4
    ones = np.ones((1, 1, 3, 3), dtype=dtype)
    records += _both("avg pool 2×2 s2 ceil_mode on ones", R.AvgPooling(2, 2, 2, ceil_mode=True).forward(ones),
                     F.avg_pool2d(torch.from_numpy(ones), 2, 2, ceil_mode=True), [[[[1, 1], [1, 1]]]], exact, dtype)
    records += _both("avg pool, divisor_override 1 (window sums)",
                     R.AvgPooling(2, 2, 2, ceil_mode=True, divisor_override=1).forward(ones),
                     F.avg_pool2d(torch.from_numpy(ones), 2, 2, ceil_mode=True, divisor_override=1),
                     [[[[4, 2], [2, 1]]]], exact, dtype)
    # adaptive 4×4 -> 3×3: rows/cols [0, 2), [1, 3), [2, 4); each window holds 4 of the inputs
    records += _both("adaptive avg pool 4×4 -> 3×3", R.AdaptiveAvgPooling(3).forward(x),
                     F.adaptive_avg_pool2d(xt, 3), [[[[1, 2, 2], [1, 1, 2], [2, 1, 1]]]], exact, dtype)
    # Linear on the last axis of (1, 2, 2): [1, 2] and [3, 4] times W (in, out) plus b
    lx, lW, lb = (np.array(v, dtype=dtype) for v in ([[[1, 2], [3, 4]]], [[1, 0, 1], [0, 1, 1]], [0, 0, 1]))
    records += _both("Linear on the last axis", R.Linear(lW, lb).forward(lx),
                     F.linear(torch.from_numpy(lx), torch.from_numpy(lW.T.copy()), torch.from_numpy(lb)),
                     [[[1, 2, 4], [3, 4, 8]]], exact, dtype)
    # cross-entropy of zero scores (C = 2) is log 2 per sample, times its class weight (1, 3)
    log2 = np.log(2.0)
    ulps = Tolerance(8 * float(np.finfo(dtype).eps), "multiples of log 2: a few ulps")
    zeros, w = np.zeros((3, 2), dtype=dtype), np.array([1, 3], dtype=dtype)
    for label, t, options, expected in [
            ("weighted mean (indices [0, 1, 1]: Σw = 7)", np.array([0, 1, 1]), {}, log2),
            ("weighted sum", np.array([0, 1, 1]), {"reduction": "sum"}, 7 * log2),
            ("weighted none", np.array([0, 1, 1]), {"reduction": "none"}, [log2, 3 * log2, 3 * log2]),
            ("weighted mean, class 1 ignored", np.array([0, 1, 0]), {"ignore_index": 1}, log2),
            ("weighted mean, one-hot probabilities (÷ N = 3, not Σw)", np.eye(2, dtype=dtype)[[0, 1, 1]], {},
             7 * log2 / 3)]:
        loss = R.SoftmaxWithLoss(weight=w, **options).forward(zeros, t)
        theirs = F.cross_entropy(torch.from_numpy(zeros), torch.from_numpy(t), weight=torch.from_numpy(w), **options)
        records += _both(f"cross-entropy {label}", loss, theirs, expected, ulps, dtype)
    return records


def _unguarded(label, dtype, run, config="{}") -> list[Record]:
    return run()


def all_parity_records(dtypes=DTYPES, seed=0, skip=(), device="cpu", *, select=None,
                       guard=None, log=None) -> list[Record]:
    """Every registered case in every dtype, plus the known answers: what the report shows.

    ``skip``: network cases to leave out (``report --quick`` and the bug zoo drop the full-size
    AlexNets: ``reports.parity.cases.full_size_cases()``). ``device``: where the torch twins run
    (the known answers always run on the CPU). ``select(case)``: only the cases it accepts, and
    then no known answers. ``guard(label, dtype, run, config)`` runs each case's ``run()`` (its
    label is the layer or net name, "book example" for the known answers; ``config`` the case's
    configuration as a record has it) and returns its records — the bug zoo turns an exception
    under a planted bug into a failing record there; by default it calls ``run()``. A case that
    cannot run here (``NetCase.unavailable``: torchvision missing) is left out too, and ``log`` (a
    callable taking one line) hears why, once per case."""
    guard = guard or _unguarded
    skipped = {id(c) for c in skip}
    for case in unavailable_cases(skip):
        skipped.add(id(case))
        if log:
            log(f"skipped {case.id}: {case.unavailable()}")
    records = []
    for dtype in dtypes:
        if select is None:
            records += guard("book example", dtype, lambda: known_answer_records(dtype))
        for case in LAYER_CASES:
            if select is None or select(case):
                records += guard(case.layer, dtype, lambda: run_layer_case(case, dtype, seed, device=device),
                                 config_str(case.config))
        for case in NET_CASES:
            if id(case) not in skipped and (select is None or select(case)):
                records += guard(case.net, dtype, lambda: run_net_case(case, dtype, seed, device=device),
                                 config_str(case.config))
    return records


def unavailable_cases(skip=()) -> list[NetCase]:
    """The registered network cases that cannot run here (and are not in ``skip``)."""
    skipped = {id(c) for c in skip}
    return [c for c in NET_CASES if id(c) not in skipped and c.unavailable()]
