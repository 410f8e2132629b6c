"""The topics of `cnn-parity explain` beyond im2col: their numbers are computed (another input gives
other numbers, and the identities still hold), their checks can fail, and they render on a page.

Each topic is computed once for the module (the `steps` fixture); a test that changes an input
computes that topic again, on the same tiny sizes.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import reference as R
from reference.optimizer import Adam
from reports.cli import main
from reports.explain import BOOK_INPUT, OPTIONS, TOPIC_NAMES, TOPICS, topic
from reports.explain.page import topics_page
from reports.html import page

from .report_helpers import PageStructure

TEMPLATES = Path(page.__file__).resolve().parent / "templates"


@pytest.fixture(scope="module")
def steps():
    return {t.name: t.module().compute() for t in TOPICS}


def all_checks_pass(s) -> bool:
    return len(s.checks) > 0 and all(ok for _, ok in s.checks)


def test_every_topic_has_its_module_template_and_options():
    on_disk = sorted(p.stem for p in (TEMPLATES / "explain").glob("*.html"))
    assert on_disk == sorted(t.name.replace("-", "_") for t in TOPICS if t.name != "im2col")
    for t in TOPICS:
        assert page.environment().get_template(t.template)
        assert set(t.options) <= set(OPTIONS)
        for name in ("compute", "to_text", "to_context"):
            assert callable(getattr(t.module(), name)), (t.name, name)
    with pytest.raises(KeyError, match="no topic 'fft'"):
        topic("fft")


def test_every_topic_checks_itself_and_says_so(steps):
    for t in TOPICS:
        s = steps[t.name]
        text = t.module().to_text(s)
        if t.name == "im2col":
            assert "the same output ✓" in text
            continue
        assert all_checks_pass(s), [what for what, ok in s.checks if not ok]
        assert text.count("✓") == len(s.checks) and "✗" not in text


# ------------------------------------------------------------------------------------------
# conv-backward
# ------------------------------------------------------------------------------------------

def test_conv_backward_book_example(steps):
    s = steps["conv-backward"]
    np.testing.assert_array_equal(s.dout, [[1, 2], [3, 4]])
    # dW(0,0) adds x[0,0]·1 + x[0,1]·2 + x[1,0]·3 + x[1,1]·4 over the four windows = 1 + 4 + 0 + 4
    assert s.dW[0, 0] == 9 and s.db == 10
    text = topic("conv-backward").module().to_text(s)
    assert "dW(0,0)  = 1·1 + 2·2 + 0·3 + 1·4 = 9" in text
    assert "dx[1,1] = 1 + 0 + 0 + 8 = 9" in text                 # a centre pixel: four windows hold it
    np.testing.assert_array_equal(s.cover, [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]])


def test_conv_backward_dW_is_col_transposed_times_dout_for_another_input():
    rng = np.random.default_rng(5)
    x, W, dout = rng.standard_normal((5, 6)), rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    s = topic("conv-backward").module().compute(pad=1, stride=2, x=x, W=W, dout=dout)
    col = R.im2col(x[None, None], 3, 3, stride=2, pad=1)
    conv = R.Convolution(W[None, None].copy(), np.zeros(1), stride=2, pad=1, method="book")
    conv.forward(x[None, None])
    dx = conv.backward(dout[None, None])
    np.testing.assert_allclose(s.dW, (col.T @ dout.reshape(-1, 1)).reshape(3, 3), rtol=0, atol=0)
    np.testing.assert_allclose(s.dW, conv.dW[0, 0], rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(s.dx, dx[0, 0], rtol=1e-13, atol=1e-13)
    assert s.dx_padded.shape == (7, 8) and s.dW[0, 0] != 9


def test_conv_backward_check_fails_when_col2im_is_wrong(monkeypatch):
    """The topic's own checks are real: a col2im that forgets to add overlaps is caught."""
    module = topic("conv-backward").module()

    def col2im_overwrites(col, input_shape, fh, fw, stride=1, pad=0, **kw):
        img = np.zeros(input_shape)
        N, C, H, W = input_shape
        out_w = (W + 2 * pad - fw) // stride + 1
        for r, row in enumerate(col):
            i, j = divmod(r, out_w)
            img[0, 0, i * stride:i * stride + fh, j * stride:j * stride + fw] = row.reshape(fh, fw)
        return img
    monkeypatch.setattr(module.R, "col2im", col2im_overwrites)
    s = module.compute()
    failed = [what for what, ok in s.checks if not ok]
    assert "col2im by hand (the loop) equals reference.col2im" in failed
    assert "✗ col2im by hand" in module.to_text(s)


# ------------------------------------------------------------------------------------------
# max-pool
# ------------------------------------------------------------------------------------------

def test_max_pool_ties_go_to_the_first_maximum_as_in_torch(steps):
    s = steps["max-pool"]
    assert [(r, at) for r, _, at in s.ties] == [(0, (1, 3)), (1, (0, 1, 2, 3))]
    assert s.arg_max[0] == 1 and s.arg_max[1] == 0
    np.testing.assert_array_equal(s.dx, [[0, 1, 2, 0], [0, 0, 0, 0], [3, 0, 0, 0], [0, 0, 4, 0]])
    assert s.amax_dx[0, 1] == s.amax_dx[1, 1] == 0.5          # amax splits the tie of window (0,0)


def test_max_pool_another_input_with_overlapping_windows():
    x = np.array([[0, 0, 1], [2, 2, 1], [2, 0, 1.0]])        # ties on the second row, stride 1: overlaps
    s = topic("max-pool").module().compute(stride=1, x=x)
    xt = torch.tensor(x[None, None], requires_grad=True)
    out, idx = F.max_pool2d(xt, 2, 1, return_indices=True)
    out.backward(torch.tensor(s.dout[None, None]))
    np.testing.assert_array_equal(s.torch_indices, idx.numpy()[0, 0])
    np.testing.assert_array_equal(s.dx, xt.grad.numpy()[0, 0])
    assert s.cover.max() == 2 and all_checks_pass(s)
    assert int(idx[0, 0, 0, 0]) == 3                          # window (0,0): 2 at (1,0) and (1,1) -> the first


# ------------------------------------------------------------------------------------------
# softmax-loss
# ------------------------------------------------------------------------------------------

def test_softmax_loss_gradient_is_y_minus_t_over_n(steps):
    s = steps["softmax-loss"]
    np.testing.assert_allclose(s.y[0], [0.01821127, 0.24519181, 0.73659691], rtol=0, atol=5e-9)   # the book's §3.5
    np.testing.assert_allclose(s.grad, (s.y - s.t) / 2, rtol=0, atol=0)
    np.testing.assert_allclose(s.grad.sum(axis=1), 0, atol=1e-16)


def test_softmax_loss_another_input():
    x = np.array([[1.0, -2.0], [0.5, 0.5], [3.0, 0.0]])
    s = topic("softmax-loss").module().compute(x=x, labels=[1, 0, 0])
    xt = torch.tensor(x, requires_grad=True)
    F.cross_entropy(xt, torch.tensor([1, 0, 0])).backward()
    np.testing.assert_allclose(s.grad, xt.grad.numpy(), rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(s.numerical, s.grad, atol=1e-8)
    assert s.x.shape == (3, 2) and all_checks_pass(s)


# ------------------------------------------------------------------------------------------
# adam
# ------------------------------------------------------------------------------------------

def test_adam_step_is_torch_to_the_bit_and_the_book_is_torch_with_eps_t(steps):
    s = steps["adam"]
    assert s.ref_p.tobytes() == s.torch_p.tobytes()              # float64, to the bit
    eps_t = 1e-7 / math.sqrt(1 - 0.999)
    assert s.eps_t == pytest.approx(eps_t)
    # at t = 1 the book's step is lr·g/(|g| + eps_t); torch's lr·g/(|g| + 1e-8)
    np.testing.assert_allclose(s.book_step, 1e-3 * s.g / (np.abs(s.g) + eps_t), rtol=1e-12)
    np.testing.assert_allclose(s.step, 1e-3 * s.g / (np.abs(s.g) + 1e-8), rtol=1e-12)
    assert s.book_step[2] / s.lr == pytest.approx(0.2403, abs=1e-4)


def test_adam_another_input_against_torch_optim():
    p, g = np.array([0.3, 2.0]), np.array([-0.02, 5e-7])
    s = topic("adam").module().compute(p=p, g=g, lr=0.01)
    w = torch.nn.Parameter(torch.tensor(p))
    opt = torch.optim.Adam([w], lr=0.01, foreach=False)
    w.grad = torch.tensor(g)
    opt.step()
    assert s.torch_p.tobytes() == w.detach().numpy().tobytes()
    ref = p.copy()
    Adam(lr=0.01).update({"p": ref}, {"p": g})
    assert s.ref_p.tobytes() == ref.tobytes() and all_checks_pass(s)


def test_ulps():
    ulps = topic("adam").module().ulps
    assert ulps(1.0, 1.0) == 0 and ulps(1.0, np.nextafter(1.0, 2)) == 1
    assert ulps(-0.5, np.nextafter(-0.5, 0)) == 1 and ulps(np.nextafter(0, -1), np.nextafter(0, 1)) == 2


# ------------------------------------------------------------------------------------------
# dropout
# ------------------------------------------------------------------------------------------

def test_dropout_conventions(steps):
    s = steps["dropout"]
    np.testing.assert_array_equal(s.mask, np.random.default_rng(0).random((2, 4)) > 0.5)
    np.testing.assert_array_equal(s.book_train, s.x * s.mask)
    np.testing.assert_array_equal(s.torch_train, s.book_train * 2)
    np.testing.assert_array_equal(s.torch_grad, s.torch_mask * 2.0)


def test_dropout_another_seed_gives_another_mask():
    a, b = (topic("dropout").module().compute(seed=n) for n in (0, 1))
    assert not np.array_equal(a.mask, b.mask) and all_checks_pass(b)


# ------------------------------------------------------------------------------------------
# torch-conv
# ------------------------------------------------------------------------------------------

def test_kernel_name_reads_the_profiler_names():
    kernel_name = topic("torch-conv").module().kernel_name
    conv = ("aten::conv2d", "aten::convolution", "aten::_convolution")
    assert kernel_name(conv + ("aten::_nnpack_available", "aten::thnn_conv2d", "aten::_slow_conv2d_forward",
                               "aten::empty")) == "aten::_slow_conv2d_forward"
    assert kernel_name(conv + ("aten::mkldnn_convolution", "aten::empty")) == "aten::mkldnn_convolution"
    assert kernel_name(conv + ("aten::empty", "aten::new_kernel", "aten::resize_")) == "aten::new_kernel"
    assert kernel_name(("aten::add",)) == "?"


def test_torch_conv(steps):
    s = steps["torch-conv"]
    np.testing.assert_array_equal(s.unfold.T, R.im2col(np.asarray(BOOK_INPUT, dtype=float)[None, None], 3, 3))
    np.testing.assert_array_equal(s.out_conv2d, [[15, 16], [6, 15]])
    off = [r for r in s.runs if not r.onednn]
    assert off and all(r.kernel != "aten::mkldnn_convolution" for r in off)     # the flag is obeyed
    assert all(r.kernel in r.ops for r in s.runs if r.kernel != "?")


# ------------------------------------------------------------------------------------------
# The page and the command
# ------------------------------------------------------------------------------------------

def test_the_page_renders_every_topic(steps):
    html = topics_page([(t, steps[t.name]) for t in TOPICS], "cnn-parity explain all")
    parser = PageStructure()
    parser.feed(html)
    assert parser.section_ids == list(TOPIC_NAMES)
    for t in TOPICS:
        assert t.title.replace("'", "&#39;") in html
    assert "✗" not in html and html.count("v pass") >= sum(len(steps[n].checks) for n in TOPIC_NAMES[1:])
    assert "<h1>How a convolutional network works inside</h1>" in html
    assert not re.search(r"https?:", html)
    assert "dW(0,0)" in html and "torch.amax" in html and "(y − t) / N" in html


def test_cli_with_html(tmp_path, capsys):
    out = tmp_path / "dropout.html"
    assert main(["explain", "dropout", "--seed", "3", "--html", str(out)]) == 0
    text = capsys.readouterr().out
    assert "numpy.random.default_rng(3)" in text and f"wrote {out}" in text
    html = out.read_text(encoding="utf-8")
    assert '<section id="dropout">' in html and "cnn-parity explain dropout --seed 3" in html
    assert not list(tmp_path.glob("*.partial"))


def test_cli_max_pool_stride(capsys):
    assert main(["explain", "max-pool", "--stride", "1"]) == 0
    out = capsys.readouterr().out
    assert "2×2 windows, stride 1" in out and "9 windows × 4 values" in out


def test_cli_refuses_an_option_the_topic_does_not_take(capsys):
    assert main(["explain", "softmax-loss", "--seed", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "cnn-parity explain: softmax-loss takes no --seed (only dropout does); leave it out"
