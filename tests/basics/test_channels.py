"""Multi-channel cross-correlation (D2L §6.4) against F.conv2d; 1x1 convolution as matmul."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn import functional as F

from convlab.basics import corr2d_multi_in, corr2d_multi_in_out, corr2d_multi_in_out_1x1

SETTINGS = settings(max_examples=40, deadline=None)


def randn(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@st.composite
def conv_case(draw):
    """Batch, c_i, c_o, (h, w), (kh, kw), (ph, pw), (sh, sw), seed."""
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    h, w = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    kh, kw = draw(st.integers(1, h + 2 * ph)), draw(st.integers(1, w + 2 * pw))
    return (
        draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 4)),
        (h, w), (kh, kw), (ph, pw), (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        draw(st.integers(0, 2**31 - 1)),
    )  # fmt: skip


def test_d2l_multi_in_example():
    X = torch.tensor(
        [[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]],
         [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]]
    )  # fmt: skip
    K = torch.tensor([[[0.0, 1.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0]]])
    assert torch.equal(corr2d_multi_in(X, K), torch.tensor([[56.0, 72.0], [104.0, 120.0]]))
    # D2L stacks K, K+1, K+2 into three output channels.
    out = corr2d_multi_in_out(X, torch.stack((K, K + 1, K + 2)))
    assert out.shape == (3, 2, 2)
    assert torch.equal(out[0], corr2d_multi_in(X, K))


@SETTINGS
@given(conv_case())
def test_multi_in_equals_torch(case):
    batch, c_i, _, size, kernel, padding, stride, seed = case
    X, K = randn(seed, batch, c_i, *size), randn(seed + 1, c_i, *kernel)
    expected = F.conv2d(X, K[None], padding=padding, stride=stride)[:, 0]
    torch.testing.assert_close(corr2d_multi_in(X, K, padding, stride), expected)


@SETTINGS
@given(conv_case())
def test_multi_in_out_equals_torch(case):
    batch, c_i, c_o, size, kernel, padding, stride, seed = case
    X, K = randn(seed, batch, c_i, *size), randn(seed + 1, c_o, c_i, *kernel)
    expected = F.conv2d(X, K, padding=padding, stride=stride)
    torch.testing.assert_close(corr2d_multi_in_out(X, K, padding, stride), expected)
    # Unbatched (c_i, h, w) input as in the book.
    torch.testing.assert_close(corr2d_multi_in_out(X[0], K, padding, stride), expected[0])


@SETTINGS
@given(conv_case())
def test_1x1_is_a_matrix_multiply_over_channels(case):
    batch, c_i, c_o, (h, w), _, _, _, seed = case
    X, K = randn(seed, batch, c_i, h, w), randn(seed + 1, c_o, c_i, 1, 1)
    Y = corr2d_multi_in_out_1x1(X, K)
    W = K[:, :, 0, 0]
    # Every pixel's channel vector times the (c_o, c_i) matrix: a Linear layer per pixel.
    per_pixel = (X.permute(0, 2, 3, 1) @ W.T).permute(0, 3, 1, 2)
    torch.testing.assert_close(Y, per_pixel)
    torch.testing.assert_close(Y, corr2d_multi_in_out(X, K))
    torch.testing.assert_close(Y, F.conv2d(X, K))


def test_shape_errors():
    with pytest.raises(ValueError, match="channels"):
        corr2d_multi_in(torch.ones(3, 4, 4), torch.ones(2, 2, 2))
    with pytest.raises(ValueError, match="1x1"):
        corr2d_multi_in_out_1x1(torch.ones(3, 4, 4), torch.ones(2, 3, 2, 1))


def test_channel_mismatch_names_both_counts_and_1x1_takes_unbatched_input():
    with pytest.raises(ValueError, match=r"input has 3 channels but the kernel has 2$"):
        corr2d_multi_in(torch.ones(3, 5, 5), torch.ones(2, 4, 4))
    X, K = randn(0, 3, 4, 5), randn(1, 2, 3, 1, 1)
    torch.testing.assert_close(corr2d_multi_in_out_1x1(X, K), F.conv2d(X, K))
