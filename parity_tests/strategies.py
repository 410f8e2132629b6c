"""Hypothesis strategies for layer configurations (kept apart from the tests, as minitorch does).

Each strategy draws only *valid* configurations (kernel fits the padded input, PyTorch's
pooling rule pad ≤ kernel/2), including ones where the stride does not divide (H + 2P − K),
which both frameworks round down.
"""
from hypothesis import strategies as st

from reports.cases import avgpool_case, conv_case, pool_case

batch = st.integers(1, 4)
channels = st.integers(1, 4)
side = st.integers(1, 12)
stride = st.integers(1, 3)
pad = st.integers(0, 2)


@st.composite
def conv_configs(draw):
    """Convolution: batch 1–4, channels 1–4, H, W 1–12 (non-square), kernel up to the padded input."""
    N, C, FN = draw(batch), draw(channels), draw(channels)
    H, W, s, p = draw(side), draw(side), draw(stride), draw(pad)
    FH = draw(st.integers(1, H + 2 * p))
    FW = draw(st.integers(1, W + 2 * p))
    kind = draw(st.sampled_from(["normal", "ties"]))
    return dict(N=N, C=C, H=H, W=W, FN=FN, FH=FH, FW=FW, stride=s, pad=p, kind=kind)


@st.composite
def pool_configs(draw, kinds=("normal", "ties", "equal", "negative", "relu")):
    """Pooling windows: pad ≤ half the window (PyTorch's rule), window within the padded input."""
    N, C = draw(batch), draw(channels)
    H, W, s = draw(side), draw(side), draw(stride)
    ph = draw(st.integers(1, min(H + 4, 6)))
    pw = draw(st.integers(1, min(W + 4, 6)))
    p = draw(st.integers(0, min(2, ph // 2, pw // 2)))
    # keep the window inside the padded input
    ph, pw = min(ph, H + 2 * p), min(pw, W + 2 * p)
    p = min(p, ph // 2, pw // 2)
    kind = draw(st.sampled_from(kinds))
    return dict(N=N, C=C, H=H, W=W, ph=ph, pw=pw, stride=s, pad=p, kind=kind)


conv_cases = conv_configs().map(lambda c: conv_case(**c))
maxpool_cases = pool_configs().map(lambda c: pool_case(**c))
avgpool_cases = st.tuples(pool_configs(kinds=("normal",)), st.booleans()).map(
    lambda cb: avgpool_case(**cb[0], count_include_pad=cb[1]))
