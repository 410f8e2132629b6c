"""Weight transfer between book-style params dicts and the torch twins (torch_impl.transfer).

These tests need no reference network: the params are plain NumPy dicts shaped like the book's
SimpleConvNet (W1 (30, 1, 5, 5), b1 (30,), W2 (4320, 100), b2 (100,), W3 (100, 10), b3 (10,)).
"""

import numpy as np
import pytest
import torch

from torch_impl import (SimpleConvNet, as_torch_dtype, export_grads, export_params, layers,
                        load_params, share_params)

BOOK_SHAPES = {"W1": (30, 1, 5, 5), "b1": (30,), "W2": (4320, 100), "b2": (100,),
               "W3": (100, 10), "b3": (10,)}
DTYPES = [np.float32, np.float64]


def book_params(dtype=np.float64, seed=0):
    """A params dict like the book's SimpleConvNet().params, random but reproducible."""
    rng = np.random.default_rng(seed)
    return {name: (0.1 * rng.standard_normal(shape)).astype(dtype)
            for name, shape in BOOK_SHAPES.items()}


def net(dtype=np.float64):
    return SimpleConvNet(dtype=dtype, seed=0)


def images(n, dtype=np.float64, seed=1):
    return torch.from_numpy(np.random.default_rng(seed).standard_normal((n, 1, 28, 28)).astype(dtype))


def snapshot(module):
    """Values and storage addresses of every parameter, to prove a failed call changed nothing."""
    return {name: (p.detach().clone(), p.data_ptr()) for name, p in module.named_parameters()}


def assert_unchanged(module, before):
    for name, p in module.named_parameters():
        value, ptr = before[name]
        assert p.data_ptr() == ptr, f"{name} was re-pointed"
        assert torch.equal(p.detach(), value), f"{name} was modified"


def array_address(arr):
    return arr.__array_interface__["data"][0]


# ---------------------------------------------------------------------------------------------
# load_params / export_params
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trip_is_bit_exact(dtype):
    params = book_params(dtype)
    # Values whose bits a careless conversion would change: -0.0, nan, inf, a subnormal.
    params["W1"].flat[:5] = [-0.0, np.nan, np.inf, -np.inf, np.finfo(dtype).smallest_subnormal]
    module = load_params(net(dtype), params)
    exported = export_params(module)

    assert list(exported) == list(BOOK_SHAPES)
    for name, original in params.items():
        out = exported[name]
        assert out.dtype == original.dtype and out.shape == original.shape
        assert out.flags.c_contiguous
        assert out.tobytes() == original.tobytes(), name
        assert not np.shares_memory(out, original)


def test_linear_weight_is_transposed_inside_torch():
    params = book_params()
    module = load_params(net(), params)
    assert module.Affine1.weight.shape == (100, 4320)
    assert module.Affine2.weight.shape == (10, 100)
    assert np.array_equal(module.Affine1.weight.detach().numpy(), params["W2"].T)
    assert np.array_equal(module.Conv1.weight.detach().numpy(), params["W1"])  # no change


def test_export_params_returns_copies():
    module = load_params(net(), book_params())
    exported = export_params(module)
    exported["W2"][0, 0] += 1.0
    exported["W1"][...] = 0.0
    assert np.array_equal(export_params(module)["W2"], book_params()["W2"])
    assert np.array_equal(export_params(module)["W1"], book_params()["W1"])


def test_export_grads_in_book_layout():
    module = load_params(net(), book_params())
    with pytest.raises(ValueError, match="backward"):
        export_grads(module)
    module.loss(images(4), torch.tensor([0, 1, 2, 3])).backward()
    grads = export_grads(module)
    assert {name: g.shape for name, g in grads.items()} == BOOK_SHAPES
    assert np.array_equal(grads["W2"], module.Affine1.weight.grad.numpy().T)
    assert np.array_equal(grads["b1"], module.Conv1.bias.grad.numpy())


# ---------------------------------------------------------------------------------------------
# share_params (zero copy)
# ---------------------------------------------------------------------------------------------

def test_share_params_is_zero_copy_both_ways():
    params = book_params()
    module = net()
    weight_object = module.Affine1.weight
    share_params(module, params)
    assert module.Affine1.weight is weight_object  # same Parameter, new storage

    # The storage of every parameter starts at the array's first byte.
    paths = SimpleConvNet.book_params
    for name, path in paths.items():
        param = module.get_parameter(path)
        assert param.untyped_storage().data_ptr() == array_address(params[name]), name

    # NumPy -> torch: an in-place write in NumPy is visible in the module.
    params["W1"][3, 0, 2, 1] = 42.0
    assert module.Conv1.weight[3, 0, 2, 1].item() == 42.0
    params["W2"][7, 5] = -3.5  # book (in, out) index -> torch (out, in) index
    assert module.Affine1.weight[5, 7].item() == -3.5

    # torch -> NumPy: an in-place torch update is visible in the arrays.
    before = params["W2"].copy()
    with torch.no_grad():
        module.Affine1.weight.add_(1)
    assert np.array_equal(params["W2"], before + 1)


def test_share_params_optimizer_step_updates_numpy():
    params = book_params()
    module = net()
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1)  # created *before* sharing
    share_params(module, params)
    before = {name: arr.copy() for name, arr in params.items()}
    module.loss(images(4), torch.tensor([0, 1, 2, 3])).backward()
    grads = export_grads(module)
    optimizer.step()
    for name in params:
        assert np.allclose(params[name], before[name] - 0.1 * grads[name], rtol=0, atol=1e-15), name


def test_forward_after_share_matches_load():
    """Same numbers in both modules; bits equal whenever the memory layouts are equal.

    With the book's C-ordered W (in, out), the shared Linear weight is column-major, and
    torch's matmul then sums in another order than with load_params' row-major copy: the
    outputs agree to rounding only. A Fortran-ordered W gives a row-major shared weight, and
    the outputs are bit-identical.
    """
    params = book_params()
    x = images(5)
    loaded = load_params(net(), params)
    expected = loaded(x)

    shared = share_params(net(), {k: v.copy() for k, v in params.items()})
    torch.testing.assert_close(shared(x), expected, rtol=1e-13, atol=1e-13)

    # Bit-exact against a loaded module whose Linear weights have the shared module's strides.
    column_major = load_params(net(), params)
    for linear in (column_major.Affine1, column_major.Affine2):
        linear.weight.data = linear.weight.data.T.contiguous().T
    assert torch.equal(shared(x), column_major(x))

    # Bit-exact against load_params when the book's matrices are Fortran-ordered.
    fortran = {k: np.asfortranarray(v) if v.ndim == 2 else v.copy() for k, v in params.items()}
    shared_f = share_params(net(), fortran)
    assert shared_f.Affine1.weight.is_contiguous()
    assert torch.equal(shared_f(x), expected)


# ---------------------------------------------------------------------------------------------
# Errors: clear messages, and the module is untouched
# ---------------------------------------------------------------------------------------------

TRANSFERS = [load_params, share_params]


# (key, bad value made from a good params dict or None to delete the key, exception, message)
BAD_PARAMS = [
    pytest.param("W2", lambda p: np.ascontiguousarray(p["W2"].T), ValueError,  # torch's (out, in) by mistake
                 r"params\['W2'\] has shape \(100, 4320\) but "
                 r"Affine1\.weight needs \(4320, 100\).*\(in, out\).*\.T", id="wrong-shape-W2"),
    pytest.param("b3", lambda p: np.zeros(11), ValueError,
                 r"params\['b3'\] has shape \(11,\) but Affine2\.bias needs \(10,\)", id="wrong-shape-b3"),
    pytest.param("b2", None, KeyError,
                 r"missing \['b2'\].*'W1', 'b1', 'W2', 'b2', 'W3', 'b3'", id="missing-key"),
    pytest.param("W4", lambda p: np.zeros((10, 10)), ValueError,
                 r"unexpected key\(s\) \['W4'\]", id="extra-key"),
    # W3: the last key, so the keys before it were fine
    pytest.param("W3", lambda p: p["W3"].astype(np.float32), TypeError,
                 r"params\['W3'\] has dtype float32 but Affine2\.weight "
                 r"is torch\.float64.*module\.to\(torch\.float32\).*astype", id="dtype-mismatch"),
    pytest.param("b1", lambda p: np.zeros(30, dtype=np.int64), TypeError,
                 r"params\['b1'\] must be a floating array", id="int-array"),
    pytest.param("b1", lambda p: torch.zeros(30, dtype=torch.float64), TypeError,
                 r"params\['b1'\] must be a numpy array, got Tensor", id="tensor"),
]


@pytest.mark.parametrize("transfer", TRANSFERS)
@pytest.mark.parametrize("key, bad, exc, match", BAD_PARAMS)
def test_bad_params_fail_clearly_and_change_nothing(transfer, key, bad, exc, match):
    module = net()                     # float64, like book_params()
    before = snapshot(module)
    params = book_params()
    if bad is None:
        del params[key]
    else:
        params[key] = bad(params)
    with pytest.raises(exc, match=match):
        transfer(module, params)
    assert_unchanged(module, before)


def test_share_params_needs_writeable_arrays():
    module = net()
    before = snapshot(module)
    params = book_params()
    params["b3"].flags.writeable = False
    with pytest.raises(ValueError, match=r"params\['b3'\] is read-only"):
        share_params(module, params)
    assert_unchanged(module, before)
    load_params(module, params)  # copying from a read-only array is fine


def test_bad_mapping_path():
    with pytest.raises(ValueError, match="no parameter 'Conv9.weight'"):
        load_params(net(), {"W": np.zeros(3)}, mapping={"W": "Conv9.weight"})


# ---------------------------------------------------------------------------------------------
# Layers and SimpleConvNet
# ---------------------------------------------------------------------------------------------

def test_layer_factories_transfer():
    conv = load_params(layers.convolution(4, 3, 2, 2, dtype="float64"),
                       {"W": np.ones((4, 3, 2, 2)), "b": np.zeros(4)})
    assert conv(torch.ones(1, 3, 3, 3, dtype=torch.float64)).shape == (1, 4, 2, 2)

    W, b = np.arange(60.0).reshape(12, 5), np.arange(5.0)
    affine = load_params(layers.affine(12, 5, dtype=np.float64), {"W": W, "b": b})
    x = np.arange(24.0).reshape(2, 3, 2, 2)  # 4-D input is flattened, like the book's Affine
    np.testing.assert_allclose(affine(torch.from_numpy(x)).detach().numpy(),
                               x.reshape(2, -1) @ W + b, rtol=1e-15)
    assert layers.relu().book_params == {}


def test_as_torch_dtype_spellings():
    for spelling in [torch.float32, np.float32, np.dtype("float32"), "float32", "torch.float32"]:
        assert as_torch_dtype(spelling) is torch.float32
    for bad in [None, "int64", torch.int32, torch.bfloat16, "banana"]:
        with pytest.raises(TypeError):
            as_torch_dtype(bad)


@pytest.mark.parametrize("filter_size", [3, 4, 5, 7])
@pytest.mark.parametrize("pad", [0, 1, 2])
def test_simple_convnet_sizes(filter_size, pad):
    model = SimpleConvNet(conv_param={"filter_num": 30, "filter_size": filter_size,
                                      "pad": pad, "stride": 1}, seed=0)
    conv_out = 28 + 2 * pad - filter_size + 1  # e.g. 25 for filter_size 4: odd
    assert model.Affine1.in_features == 30 * (conv_out // 2) ** 2
    assert [name for name, _ in model.named_children()] == [
        "Conv1", "Relu1", "Pool1", "Flatten", "Affine1", "Relu2", "Affine2"]
    assert model(images(2)).shape == (2, 10)


def test_simple_convnet_init_is_seeded_like_the_book():
    a, b = SimpleConvNet(seed=3), SimpleConvNet(seed=3)
    for (name, pa), pb in zip(a.named_parameters(), b.parameters()):
        assert torch.equal(pa, pb), name
    assert not a.Conv1.bias.any() and not a.Affine2.bias.any()
    assert 0.005 < a.Affine1.weight.std().item() < 0.015  # weight_init_std = 0.01


@pytest.mark.parametrize("bad, match", [
    ({"conv_param": {"filter_num": 30, "filter_size": 31, "pad": 0, "stride": 1}}, "filter_size"),
    ({"conv_param": {"filter_num": 30, "filter_size": 5, "pad": 0, "stride": 0}}, "stride"),
    ({"conv_param": {"filter_num": 30, "filter_size": 5, "pad": -1, "stride": 1}}, "pad"),
    ({"conv_param": {"filter_num": 30, "filtersize": 3, "pad": 0, "stride": 1}}, "filtersize"),
    ({"conv_param": {"filter_size": 3}}, r"missing \['filter_num', 'pad', 'stride'\]"),
    ({"input_dim": (1, 28)}, "input_dim"),
    ({"hidden_size": 0}, "hidden_size"),
])
def test_simple_convnet_rejects_bad_arguments(bad, match):
    with pytest.raises(ValueError, match=match):
        SimpleConvNet(**bad)


def test_accuracy_counts_every_sample():
    model = load_params(net(), book_params())
    x = images(150)
    predicted = model.predict(x).argmax(dim=1)
    t = predicted.clone()
    t[::3] = (t[::3] + 1) % 10  # make every third sample wrong: 100 of 150 right
    expected = int((predicted == t).sum()) / 150
    assert expected == 100 / 150

    assert model.accuracy(x, t, batch_size=100) == expected  # the last batch has 50
    assert model.accuracy(x, t, batch_size=7) == expected
    one_hot = torch.nn.functional.one_hot(t, 10).double()
    assert model.accuracy(x, one_hot) == expected


def test_loss_accepts_indices_and_one_hot():
    model = load_params(net(), book_params())
    x, t = images(4), torch.tensor([3, 1, 4, 1])
    one_hot = torch.nn.functional.one_hot(t, 10).double()
    assert torch.equal(model.loss(x, t), model.loss(x, one_hot))
    assert model.loss(x, t).shape == ()
