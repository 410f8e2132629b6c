"""The network cases of the parity registry: whole networks (SimpleConvNet, LeNet-5, AlexNet,
torchvision's AlexNet, DeepConvNet) and their torch twins with the same weights, declared once as data.

Re-exported by ``reports.parity.cases`` (the registry's one entry point: ``LAYER_CASES``,
``NET_CASES``, ``case_by_id``); kept apart so that each module stays one screenful of concepts.
"""
from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass
from importlib import metadata
from typing import Callable

import torch

import reference as R
import torch_impl
from torch_impl.alexnet import TORCHVISION_BOOK_PARAMS
from torch_impl.transfer import book_layout_is_transposed, load_params, resolve_param

from .records import DTYPES, compare

__all__ = ["NetCase", "NET_CASES", "simple_convnet_case", "lenet5_case", "alexnet_case", "alexnet_plan",
           "torchvision_alexnet_case", "torchvision_alexnet", "reference_from_torchvision", "reference_views_of",
           "FULL_SIZE_INPUT", "full_size", "full_size_cases", "deep_convnet_case", "deep_convnet_plan",
           "torchvision_unavailable", "REQUIREMENTS"]


# ------------------------------------------------------------------------------------------
# Network cases
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NetCase:
    """A whole network: the reference net and its torch twin with the same weights.

    build(rng, dtype) -> (ref_net, torch_net); inputs(rng, dtype) -> {"x", "t"} and, for nets
    with dropout in training mode, "masks" ({"Dropout1": bool (N, D), ...}, given to both).
    The nets' layer names match (``ref.layers`` keys are torch child names).
    mode: "train" (dropout with the given masks) or "eval" (dropout off in both).
    gradcheck: coordinates per parameter array for a float64 central-difference spot check of
        the reference's backprop (0: none).
    extra(ref, net, inputs, dtype, tol) -> more records (e.g. torchvision's own forward).
    slow_dtypes: dtypes in which the case belongs to the slow test tier (``pytest -m slow``);
        ``cnn-parity parity`` runs every case in every dtype.
    needs: what must be importable here besides torch (names of :data:`REQUIREMENTS`); where
        one is missing, :meth:`unavailable` says why, and the case is skipped with that line.
    """

    net: str
    config: dict
    build: Callable
    inputs: Callable
    reduction: int
    tol_factor: float = 16.0
    mode: str = "train"
    gradcheck: int = 0
    extra: Callable | None = None
    slow_dtypes: tuple = ()
    needs: tuple = ()

    @property
    def id(self) -> str:
        return f"{self.net}[{' '.join(f'{k}={v}' for k, v in self.config.items())}]"

    def unavailable(self) -> str | None:
        """Why this case cannot run here (one line), or None."""
        return next(filter(None, (REQUIREMENTS[need]() for need in self.needs)), None)


@functools.cache
def torchvision_unavailable() -> str | None:
    """Why torchvision cannot be used here, in one line, or None: not installed, or installed but
    not importable (a torchvision build belongs to one torch release; under another its import
    fails, e.g. ``RuntimeError: operator torchvision::nms does not exist``). Tried once."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")          # its "Failed to load image Python extension"
            import torchvision.models  # noqa: F401
    except ModuleNotFoundError as exc:
        if exc.name in ("torchvision", "torchvision.models"):
            return ("torchvision is not installed (the optional extra: pip install -e '.[vision]', "
                    "where a torchvision build matches this torch; see docs/torch-versions.md)")
        return _not_importable(exc)
    except Exception as exc:                          # noqa: BLE001 - any failure of its import
        return _not_importable(exc)
    return None


def _not_importable(exc: Exception) -> str:
    try:
        version = f"torchvision {metadata.version('torchvision')}"
    except metadata.PackageNotFoundError:
        version = "torchvision"
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else "no message"
    return (f"{version} does not import under torch {torch.__version__} ({type(exc).__name__}: {message}); "
            f"install the torchvision built for this torch, or none")


#: What a case may need (``NetCase.needs``): name -> a function saying why it is missing, or None.
REQUIREMENTS: dict[str, Callable[[], str | None]] = {"torchvision": torchvision_unavailable}


def simple_convnet_case(N=4, input_dim=(1, 28, 28), filter_num=30, filter_size=5, pad=0, stride=1,
                        hidden_size=100, weight_init_std=0.1):
    """SimpleConvNet (reference) vs torch_impl.SimpleConvNet, weights moved by load_params.

    A larger init std than the book's 0.01 (default 0.1) keeps the activations away from
    the ReLU kink at 0, so gradients are O(1) and errors are measured at a meaningful scale.
    """
    conv_param = dict(filter_num=filter_num, filter_size=filter_size, pad=pad, stride=stride)
    config = dict(N=N, input_dim="×".join(map(str, input_dim)), **conv_param, hidden=hidden_size)

    def build(rng, dtype):
        ref = R.SimpleConvNet(input_dim, conv_param, hidden_size, 10, weight_init_std, dtype=dtype, rng=rng)
        for key in ("b1", "b2", "b3"):   # non-zero biases, so the bias paths are exercised
            ref.params[key][...] = 0.1 * rng.standard_normal(ref.params[key].shape)
        twin = torch_impl.SimpleConvNet(input_dim, conv_param, hidden_size, 10, dtype=dtype)
        return ref, load_params(twin, ref.params)

    def inputs(rng, dtype):
        return {"x": rng.random((N, *input_dim)).astype(dtype), "t": rng.integers(0, 10, size=N)}

    C, H, W = input_dim
    oh = (H + 2 * pad - filter_size) // stride + 1
    ow = (W + 2 * pad - filter_size) // stride + 1
    reduction = max(N * oh * ow, C * filter_size ** 2, filter_num * (oh // 2) * (ow // 2), hidden_size)
    return NetCase("SimpleConvNet", config, build, inputs, reduction)


NET_CASES: list[NetCase] = [
    simple_convnet_case(),
    simple_convnet_case(N=3, filter_size=4, pad=1, stride=1, filter_num=8, hidden_size=20),  # odd conv output
    simple_convnet_case(N=2, input_dim=(3, 17, 13), filter_num=6, filter_size=3, pad=0, stride=2, hidden_size=16),
]


# ------------------------------------------------------------------------------------------
# LeNet-5 and AlexNet (the book's §7.7)
# ------------------------------------------------------------------------------------------

def _random_biases(ref, rng, scale=0.1):
    """Non-zero biases (the nets start with zero biases, as the book), so every bias path counts."""
    for key, value in ref.params.items():
        if key.startswith("b"):
            value[...] = scale * rng.standard_normal(value.shape)


def lenet5_case(N=4, c3_table=False, input_dim=(1, 28, 28), pad=2):
    """LeNet-5 (sigmoid, average pooling) vs torch_impl.LeNet5, weights moved by load_params.

    ``c3_table=True``: the paper's partial C3 connections, a PartialConvolution in the reference
    and a parametrized (masked) nn.Conv2d weight in torch (test_lenet_alexnet.py also checks that
    dW2 is exactly 0 off the table in both).
    """
    config = dict(N=N, input_dim="×".join(map(str, input_dim)), c3_table=c3_table)

    def build(rng, dtype):
        ref = R.LeNet5(input_dim, pad, 10, c3_table=c3_table, dtype=dtype, rng=rng)
        _random_biases(ref, rng)
        twin = torch_impl.LeNet5(input_dim, pad, 10, c3_table=c3_table, weight_init_std=0.0,
                                 dtype=dtype)
        return ref, load_params(twin, ref.params)

    def inputs(rng, dtype):
        return {"x": rng.random((N, *input_dim)).astype(dtype), "t": rng.integers(0, 10, size=N)}

    C, H, W = input_dim
    h1 = H + 2 * pad - 4                     # C1 output side; then S2, C3, S4, C5
    h3 = h1 // 2 - 4
    h5 = h3 // 2 - 4
    reduction = max(N * h1 * h1, C * 25, 6 * 25,            # C1: dW, forward, dx
                    N * h3 * h3, 6 * 25, 16 * 25,           # C3
                    N * h5 * h5, 16 * 25, 120 * 25,         # C5
                    120 * h5 * h5, 84, N, 4)                # F6, Output, dW of affines, S2/S4
    return NetCase("LeNet5", config, build, inputs, reduction)


def _conv_step(N, c, h, w, cp):
    """A convolution of ``cp`` (the book's conv_param) on N images c×h×w: its output's (c, h, w)
    and the lengths of its sums (forward, dW, dx)."""
    fn, fs, pad, st = cp["filter_num"], cp["filter_size"], cp["pad"], cp["stride"]
    h, w = (h + 2 * pad - fs) // st + 1, (w + 2 * pad - fs) // st + 1
    return fn, h, w, [c * fs * fs, N * h * w, fn * fs * fs]


def alexnet_plan(N, cfg):
    """(reduction length, dropout mask shape per sample) of an AlexNet configuration."""
    c, h, w = cfg["input_dim"]
    sums = [N]                                                   # dW of the affine layers
    pool, stride = cfg["pool"]
    for i, cp in enumerate(cfg["conv_params"], start=1):
        c, h, w, conv_sums = _conv_step(N, c, h, w, cp)
        sums += conv_sums
        if i <= 2 and cfg["lrn"] is not None:
            sums.append(2 * cfg["lrn"]["size"])
        if i in (1, 2, 5):
            h, w = (h - pool) // stride + 1, (w - pool) // stride + 1
            sums.append(-(-pool // stride) ** 2)
    if cfg["adaptive_pool"]:
        sums.append((h // cfg["adaptive_pool"]) ** 2)
        h = w = cfg["adaptive_pool"]
    widths = [c * h * w, *cfg["hidden_sizes"], cfg["output_size"]]
    sums += widths + [N * cfg["output_size"]]                    # affine forward/dx, softmax
    if cfg["dropout_ratio"] is None:
        shapes = {}
    elif cfg["dropout_position"] == "after":
        shapes = {"Dropout1": (widths[1],), "Dropout2": (widths[2],)}
    else:
        shapes = {"Dropout1": (widths[0],), "Dropout2": (widths[1],)}
    return max(sums), shapes


def _alexnet_inputs(N, cfg, mode):
    _, shapes = alexnet_plan(N, cfg)

    def inputs(rng, dtype):
        x = rng.standard_normal((N, *cfg["input_dim"])).astype(dtype)
        t = rng.integers(0, cfg["output_size"], size=N)
        if mode == "eval":
            return {"x": x, "t": t}
        # One training step's dropout masks, drawn once and given to both frameworks
        # (the rule of reference.AlexNet.dropout_masks: kept where uniform > p).
        masks = {name: rng.random((N, *shape)) > cfg["dropout_ratio"] for name, shape in shapes.items()}
        return {"x": x, "t": t, "masks": masks}

    return inputs


def alexnet_case(variant="mnist", N=4, mode="train", gradcheck=0, slow_dtypes=()):
    """reference.AlexNet vs torch_impl.AlexNet in one of the configurations of ``reference.alexnet``.

    ``variant``: "paper" (3×227×227, 62 M parameters), "mnist" (the small AlexNet-style net for
    1×28×28) or "torchvision" (torchvision's layer sizes, our own twin). He-initialised weights,
    random biases, x standard normal. ``mode="train"``: dropout with masks drawn once from the
    case's Generator and given to both; ``"eval"``: dropout off. ``gradcheck``: coordinates per
    parameter array for the float64 central-difference spot check.
    """
    cfg = {"paper": R.alexnet.PAPER, "mnist": R.alexnet.MNIST, "torchvision": R.alexnet.TORCHVISION}[variant]
    config = dict(variant=variant, N=N, input_dim="×".join(map(str, cfg["input_dim"])), mode=mode)

    def build(rng, dtype):
        ref = R.AlexNet(**cfg, weight_init_std="he", dtype=dtype, rng=rng)
        _random_biases(ref, rng)
        twin = torch_impl.AlexNet(**cfg, weight_init_std=0.0, dtype=dtype)
        return ref, load_params(twin, ref.params)

    reduction, _ = alexnet_plan(N, cfg)
    return NetCase("AlexNet", config, build, _alexnet_inputs(N, cfg, mode), reduction, mode=mode,
                   gradcheck=gradcheck, slow_dtypes=tuple(slow_dtypes))


def torchvision_alexnet(seed: int, dtype="float32"):
    """``torchvision.models.alexnet(weights=None)`` — its own init, drawn under ``seed`` without
    touching torch's global RNG; never downloaded — converted to ``dtype``."""
    why = torchvision_unavailable()
    if why:
        raise RuntimeError(f"the torchvision AlexNet cannot be built here: {why}")
    import torchvision              # only the torchvision comparison needs it

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = torchvision.models.alexnet(weights=None)
    return model.to(torch_impl.as_torch_dtype(dtype))


def reference_from_torchvision(model):
    """A reference AlexNet (``TORCHVISION`` configuration, the model's dtype) holding the weights
    of a torchvision AlexNet: ``TORCHVISION_BOOK_PARAMS`` maps ``features.0.weight`` …
    ``classifier.6.bias`` to W1 … b8, Linear weights transposed to the book's (in, out). The
    arrays are views of the model's parameters (:func:`reference_views_of`): no copy of its
    61 M values — writing into one writes into the other."""
    dtype = next(model.parameters()).detach().numpy().dtype
    ref = R.AlexNet(**R.alexnet.TORCHVISION, weight_init_std=0.0, dtype=dtype)   # zeros: never touched
    reference_views_of(model, ref, TORCHVISION_BOOK_PARAMS)
    return ref


def reference_views_of(module, ref, mapping=None) -> None:
    """Make ``ref``'s parameters (``ref.params`` and the layers that hold them) views of the
    module's parameters, in the book's layout (a Linear weight transposed): one copy of a
    full-size net's weights instead of two. ``mapping``: book name -> parameter path
    (default ``module.book_params``); the module must be on the CPU."""
    mapping = module.book_params if mapping is None else mapping
    for key, path in mapping.items():
        owner, attr = resolve_param(module, path)
        tensor = getattr(owner, attr).detach()
        view = (tensor.T if book_layout_is_transposed(owner, attr) else tensor).numpy()
        if view.shape != ref.params[key].shape or view.dtype != ref.params[key].dtype:
            raise ValueError(f"{key}: {path} is {view.shape} {view.dtype} in the book's layout, the "
                             f"reference holds {ref.params[key].shape} {ref.params[key].dtype}")
        layer, layer_attr = ref.PARAM_LAYERS[key]
        setattr(ref.layers[layer], layer_attr, view)
        ref.params[key] = view


def torchvision_alexnet_case(N=1, mode="train", slow_dtypes=()):
    """torchvision.models.alexnet (weights=None: its own init) vs the reference.

    The weights go *from torchvision into the reference* (:func:`reference_from_torchvision`).
    The torch side of the trace is ``torch_impl.AlexNet.from_torchvision(model)``: the model's
    own modules under the reference's layer names. One extra record runs torchvision's own
    ``forward`` (eval mode) against ``ref.predict``. Dropout sits before Affine1 and Affine2, as
    in torchvision.
    """
    cfg = R.alexnet.TORCHVISION
    config = dict(N=N, input_dim="×".join(map(str, cfg["input_dim"])), mode=mode,
                  weights="None (torchvision init)")
    models = {}                      # the torchvision model of the latest build, for extra()

    def build(rng, dtype):
        model = torchvision_alexnet(int(rng.integers(2 ** 31)), dtype)
        models["model"] = model
        return reference_from_torchvision(model), torch_impl.AlexNet.from_torchvision(model)

    def extra(ref, net, inputs, dtype, tol):
        model = models.pop("model")
        model.eval()
        with torch.no_grad():
            scores_t = model(torch.from_numpy(inputs["x"]).to(next(model.parameters()).device))
        scores_r = ref.predict(inputs["x"], train_flg=False)
        return [compare("AlexNet-torchvision", "scores (torchvision forward, eval)", scores_r,
                        scores_t, tol, config=config, group="net")]

    reduction, _ = alexnet_plan(N, cfg)
    return NetCase("AlexNet-torchvision", config, build, _alexnet_inputs(N, cfg, mode), reduction,
                   mode=mode, extra=extra, slow_dtypes=tuple(slow_dtypes), needs=("torchvision",))


# The full-size nets (61-62 M parameters) cost 3-25 s per dtype on 2 cores, mostly
# parameter-sized memory traffic (init, copies, gradients, comparisons of 37 M-entry arrays), not
# arithmetic, so both run in the slow tier (``pytest -m slow``), the paper's AlexNet with its
# central-difference spot check. The default tier covers what they are made of at a smaller
# size: every layer type and the paper's LRN, overlapping pooling and dropout in the MNIST
# AlexNet-style net (with a spot check too), the paper's first convolution (11×11, stride 4) as
# a layer case, the full-size shapes and parameter counts (test_lenet_alexnet.py) and
# torchvision's own forward (``reports.parity.harness.torchvision_forward_records``).
# ``cnn-parity parity`` and the full report run them all.
NET_CASES += [
    lenet5_case(),
    lenet5_case(c3_table=True),
    alexnet_case("mnist", N=4, gradcheck=2),
    alexnet_case("mnist", N=2, mode="eval"),
    alexnet_case("paper", N=1, gradcheck=2, slow_dtypes=DTYPES),
    torchvision_alexnet_case(N=1, slow_dtypes=DTYPES),
]

# ------------------------------------------------------------------------------------------
# DeepConvNet (the book's §8.1): six 3×3 convolutions, dropout after Affine1 and Affine2
# ------------------------------------------------------------------------------------------

def deep_convnet_plan(N, input_dim, conv_params, hidden_size, output_size):
    """(reduction length, dropout mask shape per sample) of a DeepConvNet."""
    c, h, w = input_dim
    sums = [N, N * output_size]                                  # dW of the affines, softmax
    for i, cp in enumerate(conv_params, start=1):
        c, h, w, conv_sums = _conv_step(N, c, h, w, cp)
        sums += conv_sums
        if i % 2 == 0:                                           # 2×2 max pool after Conv2, 4, 6
            h, w = h // 2, w // 2
    sums += [c * h * w, hidden_size, output_size]                # affine forward / dx
    return max(sums), {"Dropout1": (hidden_size,), "Dropout2": (output_size,)}


def deep_convnet_case(N=3, input_dim=(1, 12, 12), mode="train", gradcheck=0, slow_dtypes=()):
    """reference.DeepConvNet vs torch_impl.DeepConvNet, the book's layers and channel counts.

    The default input is 1×12×12, not MNIST's 28×28: the same layers, pads (Conv4's pad 2) and
    pools at a fifth of the cost (Pool3 gives 64×2×2). He-initialised weights, random biases,
    x uniform in [0, 1) like images. ``mode="train"``: dropout with masks drawn once from the
    case's Generator and given to both (Dropout2 acts on the scores); ``"eval"``: dropout off.
    """
    conv_params = R.deep_convnet.CONV_PARAMS
    config = dict(N=N, input_dim="×".join(map(str, input_dim)), mode=mode)
    reduction, shapes = deep_convnet_plan(N, input_dim, conv_params, 50, 10)

    def build(rng, dtype):
        ref = R.DeepConvNet(input_dim, dtype=dtype, rng=rng)
        _random_biases(ref, rng)
        twin = torch_impl.DeepConvNet(input_dim, weight_init_std=0.0, dtype=dtype)
        return ref, load_params(twin, ref.params)

    def inputs(rng, dtype):
        x = rng.random((N, *input_dim)).astype(dtype)
        t = rng.integers(0, 10, size=N)
        if mode == "eval":
            return {"x": x, "t": t}
        # kept where uniform > p: the rule of reference.DeepConvNet.dropout_masks
        return {"x": x, "t": t, "masks": {name: rng.random((N, *shape)) > 0.5 for name, shape in shapes.items()}}

    return NetCase("DeepConvNet", config, build, inputs, reduction, mode=mode, gradcheck=gradcheck,
                   slow_dtypes=tuple(slow_dtypes))


NET_CASES += [deep_convnet_case(gradcheck=2)]


#: A network case with more input values per image than this is full-size (ImageNet-shaped):
#: seconds per run in eager against milliseconds for the rest, minutes to compile. ``report
#: --quick``, the bug zoo and the configuration matrix leave them out.
FULL_SIZE_INPUT = 10_000


def full_size(case) -> bool:
    """Whether ``case`` is a full-size AlexNet (3×227×227, 3×224×224; see :data:`FULL_SIZE_INPUT`)."""
    dims = str(case.config.get("input_dim", "")).replace("x", "×").split("×")
    try:
        return dims != [""] and math.prod(int(d) for d in dims) > FULL_SIZE_INPUT
    except ValueError:
        return False


def full_size_cases() -> list:
    """The registered network cases that are full-size, in registry order."""
    return [c for c in NET_CASES if full_size(c)]
