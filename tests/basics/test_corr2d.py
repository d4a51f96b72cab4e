"""corr2d (D2L §6.2) equals F.conv2d on one channel; leading dims broadcast channel-wise."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn import functional as F

from convlab.basics import corr2d
from convlab.data.edges import edge_image

SETTINGS = settings(max_examples=40, deadline=None)


def randn(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@st.composite
def image_and_kernel(draw):
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    kh, kw = draw(st.integers(1, h)), draw(st.integers(1, w))
    return h, w, kh, kw, draw(st.integers(0, 2**31 - 1))


def test_d2l_example():
    X = torch.arange(9.0).reshape(3, 3)
    K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    assert torch.equal(corr2d(X, K), torch.tensor([[19.0, 25.0], [37.0, 43.0]]))


def test_edge_kernel_marks_the_two_vertical_edges():
    Y = corr2d(edge_image(), torch.tensor([[1.0, -1.0]]))
    expected = torch.zeros(6, 7)
    expected[:, 1], expected[:, 5] = 1.0, -1.0  # white→black, black→white
    assert torch.equal(Y, expected)
    assert not corr2d(edge_image().T, torch.tensor([[1.0, -1.0]])).any()  # no vertical edges


@SETTINGS
@given(image_and_kernel(), st.integers(1, 3), st.integers(1, 3))
def test_equals_torch_conv2d(case, sh, sw):
    h, w, kh, kw, seed = case
    X, K = randn(seed, h, w), randn(seed + 1, kh, kw)
    expected = F.conv2d(X[None, None], K[None, None], stride=(sh, sw))[0, 0]
    torch.testing.assert_close(corr2d(X, K, stride=(sh, sw)), expected)


@SETTINGS
@given(image_and_kernel(), st.integers(1, 3), st.integers(1, 4))
def test_kernel_leading_dims_pair_with_channels(case, batch, channels):
    h, w, kh, kw, seed = case
    X, K = randn(seed, batch, channels, h, w), randn(seed + 1, channels, kh, kw)
    # Channel i with kernel i and no sum over channels: a depthwise (grouped) convolution.
    expected = F.conv2d(X, K[:, None], groups=channels)
    torch.testing.assert_close(corr2d(X, K), expected)


def test_gradient_matches_torch():
    X, K = randn(0, 5, 6), randn(1, 2, 3).requires_grad_()
    corr2d(X, K).square().sum().backward()
    K_ref = K.detach().clone().requires_grad_()
    F.conv2d(X[None, None], K_ref[None, None]).square().sum().backward()
    torch.testing.assert_close(K.grad, K_ref.grad)


def test_kernel_larger_than_image_is_an_error():
    with pytest.raises(ValueError, match="larger than the input"):
        corr2d(torch.ones(2, 2), torch.ones(3, 1))
