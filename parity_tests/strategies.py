"""Hypothesis strategies for layer configurations (kept apart from the tests, as minitorch does).

Each strategy draws only *valid* configurations (kernel fits the padded input, PyTorch's
pooling rule pad ≤ kernel/2), including ones where the stride does not divide (H + 2P − K),
which both frameworks round down — and, now and then, PyTorch's options beyond the book
(groups, dilation, per-axis stride/pad, "same"/"valid", no bias, ceil_mode, divisor_override).
"""
from hypothesis import strategies as st

from reports.parity.cases import (POOL_INPUT_KINDS, avgpool_case, conv_case, draw_avgpool_config,
                                  draw_conv_config, draw_pool_config, pool_case)


def _pickers(draw):
    """``integer(lo, hi)`` and ``choice(seq)`` for the shared configuration drawers."""
    return (lambda lo, hi: draw(st.integers(lo, hi))), (lambda seq: draw(st.sampled_from(seq)))


@st.composite
def conv_configs(draw):
    """Convolution configurations (``reports.parity.cases.draw_conv_config``)."""
    return draw_conv_config(*_pickers(draw))


@st.composite
def pool_configs(draw, kinds=POOL_INPUT_KINDS):
    """Max-pooling configurations (``reports.parity.cases.draw_pool_config``)."""
    return draw_pool_config(*_pickers(draw), kinds=kinds)


@st.composite
def avgpool_configs(draw):
    """Average-pooling configurations (``reports.parity.cases.draw_avgpool_config``)."""
    return draw_avgpool_config(*_pickers(draw))


conv_cases = conv_configs().map(lambda c: conv_case(**c))
maxpool_cases = pool_configs().map(lambda c: pool_case(**c))
avgpool_cases = avgpool_configs().map(lambda c: avgpool_case(**c))
