"""Where the book and PyTorch legitimately differ: a test for each side (reports.parity.catalog)."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import reference as R
from reports.parity.catalog import CATALOG

MEASURED = {d.key: d.measure() for d in CATALOG}


def test_catalog_is_complete():
    assert {"pool_padding", "dropout_scaling", "loss_epsilon", "lrn_alpha", "output_rounding",
            "avgpool_padding", "dtype", "adam_eps", "momentum_form", "pool_ceil_mode",
            "avgpool_ceil_divisor", "weighted_mean", "same_padding", "maxpool_nan",
            "maxpool_dilation_outside"} <= set(MEASURED)


def test_adam_eps_book_vs_torch():
    """Tiny gradients: the book's first step is far shorter (its effective eps is 31.6× larger at
    t = 1); ordinary gradients: both take a step of ≈ lr."""
    m = MEASURED["adam_eps"]
    assert m["reference"] == m["torch"]
    assert m["torch"] == pytest.approx(1e-3 * 1e-6 / (1e-6 + 1e-8), rel=1e-12)
    assert m["book"] == pytest.approx(1e-3 * 1e-6 / (1e-6 + 1e-7 / math.sqrt(1 - 0.999)), rel=1e-9)
    assert m["book"] < 0.25 * m["torch"]
    assert m["book_ordinary_gradient"] == pytest.approx(m["torch_ordinary_gradient"], rel=1e-2)


def test_momentum_forms_differ_only_when_lr_changes():
    m = MEASURED["momentum_form"]
    assert m["reference"] == m["torch"]
    # torch: v = 1, 1.9, 2.71, 3.439; p = −0.1·1 − 0.1·1.9 − 0.05·2.71 − 0.05·3.439
    assert m["torch"] == pytest.approx(-(0.1 * 1 + 0.1 * 1.9 + 0.05 * 2.71 + 0.05 * 3.439), rel=1e-12)
    # book: v carries the old lr: v = −0.1, −0.19, −0.221, −0.2489
    assert m["book"] == pytest.approx(-(0.1 + 0.19 + 0.221 + 0.2489), rel=1e-12)


def test_pool_padding_book_zero_vs_torch_minus_inf():
    m = MEASURED["pool_padding"]
    assert m["book"] == 0.0                      # the book's zero padding wins the max
    assert m["torch"] == m["reference"] == -1.0  # torch and the reference: the real maximum
    assert m["max_abs_book_vs_torch"] > 0


def test_dropout_both_scalings():
    m = MEASURED["dropout_scaling"]
    assert m["book"] == 1.0 and m["torch"] == 2.0 and m["ratio_train"] == 2.0    # 1/(1 − p)
    assert m["book_eval"] == 0.5 and m["torch_eval"] == 1.0


def test_dropout_expectations_agree_between_conventions():
    """Both conventions keep E[train output] equal to their own eval output."""
    rng = np.random.default_rng(0)
    x = np.ones((200, 500))
    for inverted, eval_value in [(True, 1.0), (False, 0.7)]:
        layer = R.Dropout(0.3, inverted=inverted, rng=rng)
        assert abs(layer.forward(x).mean() - eval_value) < 0.01
        assert np.all(layer.forward(x, train_flg=False) == eval_value)


def test_loss_epsilon_book_caps_the_loss():
    m = MEASURED["loss_epsilon"]
    assert m["torch"] == pytest.approx(50.0, rel=1e-12) and m["reference"] == pytest.approx(m["torch"], rel=1e-14)
    assert m["book"] == pytest.approx(-math.log(1e-7 + math.exp(-50)), rel=1e-12)


def test_lrn_paper_alpha_is_torch_alpha_times_size():
    m = MEASURED["lrn_alpha"]
    assert m["reference"] < 1e-14
    assert m["book"] > 1e-3                      # the same α means something else
    assert m["paper_vs_torch_alpha_times_size"] < 1e-14


def test_output_rounding_floor_and_strict():
    m = MEASURED["output_rounding"]
    assert m["torch"] == m["reference"] == 3 and m["strict"] == "ValueError"


def test_avgpool_divisor_both_conventions():
    m = MEASURED["avgpool_padding"]
    assert m["torch"] == m["reference"] == pytest.approx(4 / 9, abs=1e-15)
    assert m["exclude_pad"] == 1.0


def test_pool_ceil_mode_rounds_up_but_drops_a_window_in_the_padding():
    m = MEASURED["pool_ceil_mode"]
    assert m["book"] == 2                                    # floor((5 − 2)/2) + 1
    assert m["torch"] == m["reference"] == 3                 # ceil((5 − 2)/2) + 1
    assert m["rounded_up_pad_1"] == 3                        # ceil((3 + 2 − 2)/2) + 1 ...
    assert m["torch_pad_1"] == m["reference_pad_1"] == 2     # ... but window 3 would start in the padding


def test_avgpool_ceil_window_counts_only_the_padded_input():
    m = MEASURED["avgpool_ceil_divisor"]
    assert m["torch"] == m["reference"] == 1.0               # one pixel, divided by 1
    assert m["divide_by_window"] == 0.25                     # divided by FH·FW = 4


def test_weighted_mean_divides_by_the_weights_or_by_n():
    m = MEASURED["weighted_mean"]
    log2 = math.log(2)
    assert m["torch"] == pytest.approx(log2, rel=1e-15) and m["reference"] == pytest.approx(log2, rel=1e-15)
    # the same targets as one-hot rows: (1 + 3 + 3)·log 2 divided by N = 3, not by Σw = 7
    assert m["torch_one_hot"] == pytest.approx(7 * log2 / 3, rel=1e-15)
    assert m["reference_one_hot"] == pytest.approx(m["torch_one_hot"], rel=1e-15)


@pytest.mark.parametrize("how", ["ignored", "weight 0"])
def test_mean_loss_over_no_target_is_nan_and_its_gradient_zero_like_torch(how):
    """Every target ignored, or weighted 0: the mean is 0/0, NaN in both. The gradient follows
    PyTorch: 0 when every target is ignored (no sample contributes), NaN when their weights are 0
    (found by cnn-parity fuzz)."""
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((3, 4)), np.array([1, 1, 1])
    kw = dict(ignore_index=1) if how == "ignored" else dict(weight=np.array([1.0, 0.0, 1.0, 1.0]))
    layer = R.SoftmaxWithLoss(**kw)
    x_t = torch.from_numpy(x).requires_grad_(True)
    loss_t = F.cross_entropy(x_t, torch.from_numpy(t), **{k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v
                                                            for k, v in kw.items()})
    loss_t.backward()
    assert math.isnan(layer.forward(x, t)) and math.isnan(loss_t.item())
    with np.errstate(invalid="ignore"):              # weight 0: 0 · (1/0), NaN on purpose
        dx = layer.backward()
    np.testing.assert_array_equal(dx, x_t.grad.numpy())
    assert (not dx.any()) if how == "ignored" else np.isnan(dx).all()


def test_same_padding_puts_the_odd_pixel_at_the_end():
    m = MEASURED["same_padding"]
    assert m["torch"] == m["reference"] == 0 + 1 + 4 + 5    # x[0:2, 0:2]: no padding before
    assert m["odd_pixel_first"] == 0.0                       # padding first: only x[0, 0]


def test_maxpool_gradient_goes_to_the_last_nan():
    m = MEASURED["maxpool_nan"]
    assert m["book"] == 0                                    # np.argmax: the first NaN
    assert m["torch"] == m["reference"] == 2                 # the last NaN (row 1, column 0)


def test_maxpool_window_outside_the_input_is_refused():
    m = MEASURED["maxpool_dilation_outside"]
    assert m["reference"] == "ValueError"
    # torch 2.14: −inf and an index past the input (or, in a fixed torch, an error) — never a
    # valid index: if this fails, torch has changed; update the catalog entry
    assert not m["torch_index_inside"]


def test_maxpool_minus_inf_window_picks_its_first_element_inside_like_torch():
    """An all −inf input: each window reports its first element inside the input (torch's search
    starts there and takes only greater values), not a padding cell, in both paths."""
    x = np.full((1, 1, 3, 3), -np.inf)
    xt = torch.from_numpy(x).requires_grad_(True)
    out, index = F.max_pool2d(xt, 3, 1, 1, return_indices=True)
    out.backward(torch.ones_like(out))
    for method in ("fast", "book"):
        pool = R.Pooling(3, 3, stride=1, pad=1, method=method)
        pool.forward(x)
        np.testing.assert_array_equal(pool.flat_indices(), index.numpy())
        np.testing.assert_array_equal(pool.backward(np.ones((1, 1, 3, 3))), xt.grad.numpy())


def test_dtype_preserved_unlike_the_book():
    m = MEASURED["dtype"]
    assert m["book"] == "float64" and m["reference"] == "float32"


@pytest.mark.parametrize("layer", [R.Relu(), R.Sigmoid(), R.Pooling(2, 2, 2), R.AvgPooling(2, 2, 2),
                                   R.LRN(3), R.Dropout(0.5, rng=np.random.default_rng(0))])
def test_backward_does_not_modify_callers_dout(layer):
    """The book's Relu writes zeros into dout; ours returns a new array."""
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4)).astype(np.float32)
    out = layer.forward(x)
    assert out.dtype == np.float32
    dout = np.ones_like(out)
    dx = layer.backward(dout)
    assert dx.dtype == np.float32
    assert np.all(dout == 1)


def test_simple_convnet_accuracy_counts_every_sample():
    """The book's accuracy drops the last partial batch but divides by N; ours counts all."""
    net = R.SimpleConvNet(input_dim=(1, 8, 8), conv_param=dict(filter_num=2, filter_size=3, pad=0, stride=1),
                          hidden_size=4, weight_init_std=1.0, rng=0)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((150, 1, 8, 8))
    t = rng.integers(0, 10, 150)
    manual = np.mean(np.argmax(net.predict(x), axis=1) == t)
    assert net.accuracy(x, t, batch_size=100) == manual
    assert net.accuracy(x, np.eye(10)[t], batch_size=7) == manual


@pytest.mark.parametrize("filter_size", [3, 4, 5, 6, 7])
def test_simple_convnet_builds_for_odd_and_even_conv_outputs(filter_size):
    net = R.SimpleConvNet(conv_param=dict(filter_num=2, filter_size=filter_size, pad=0, stride=1), rng=0)
    pooled = (28 - filter_size + 1) // 2
    assert net.params["W2"].shape == (2 * pooled * pooled, 100)
    assert net.predict(np.zeros((1, 1, 28, 28))).shape == (1, 10)
