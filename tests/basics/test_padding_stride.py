"""Padding, stride and the output-shape formula (D2L §6.3) against F.conv2d."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn import functional as F

from convlab.basics import conv_output_shape, corr2d_pad_stride, pad2d

SETTINGS = settings(max_examples=40, deadline=None)


def randn(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@st.composite
def geometry(draw):
    """(h, w), (kh, kw), (ph, pw), (sh, sw), seed — any kernel that fits the padded input."""
    ph, pw = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    kh, kw = draw(st.integers(1, h + 2 * ph)), draw(st.integers(1, w + 2 * pw))
    sh, sw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    return (h, w), (kh, kw), (ph, pw), (sh, sw), draw(st.integers(0, 2**31 - 1))


@pytest.mark.parametrize(
    ("kernel", "padding", "stride", "expected"),
    [  # D2L §6.3's examples on an 8x8 input
        ((3, 3), (1, 1), (1, 1), (8, 8)),
        ((5, 3), (2, 1), (1, 1), (8, 8)),
        ((3, 3), (1, 1), (2, 2), (4, 4)),
        ((3, 5), (0, 1), (3, 4), (2, 2)),
    ],
)
def test_d2l_examples(kernel, padding, stride, expected):
    assert conv_output_shape((8, 8), kernel, padding, stride) == expected
    assert (
        corr2d_pad_stride(torch.ones(8, 8), torch.ones(kernel), padding, stride).shape == expected
    )


@SETTINGS
@given(geometry())
def test_equals_torch_conv2d_and_the_formula(case):
    size, kernel, padding, stride, seed = case
    X, K = randn(seed, *size), randn(seed + 1, *kernel)
    expected = F.conv2d(X[None, None], K[None, None], padding=padding, stride=stride)[0, 0]
    actual = corr2d_pad_stride(X, K, padding, stride)
    torch.testing.assert_close(actual, expected)
    assert conv_output_shape(size, kernel, padding, stride) == tuple(expected.shape)


@SETTINGS
@given(st.integers(1, 6), st.integers(1, 6), st.integers(0, 3), st.integers(0, 3))
def test_pad2d_surrounds_the_image(h, w, ph, pw):
    X = randn(h * w, 2, h, w)
    padded = pad2d(X, (ph, pw), value=7.0)
    assert padded.shape == (2, h + 2 * ph, w + 2 * pw)
    assert torch.equal(padded[:, ph : ph + h, pw : pw + w], X)
    border = torch.ones_like(padded, dtype=torch.bool)
    border[:, ph : ph + h, pw : pw + w] = False
    assert torch.all(padded[border] == 7.0)


def test_ints_mean_both_axes():
    assert conv_output_shape(8, 3, 1, 2) == conv_output_shape((8, 8), (3, 3), (1, 1), (2, 2))


@pytest.mark.parametrize(
    ("kernel", "padding", "stride", "message"),
    [(5, 0, 1, "exceeds the padded input"), (3, 0, 0, "stride must be"), (3, -1, 1, "padding")],
)
def test_impossible_geometry_is_an_error(kernel, padding, stride, message):
    with pytest.raises(ValueError, match=message):
        conv_output_shape(4, kernel, padding, stride)


def test_defaults_are_no_padding_and_stride_one():
    assert conv_output_shape(5, 3) == (3, 3)
    assert corr2d_pad_stride(torch.ones(4, 5), torch.ones(2, 2)).shape == (3, 4)


def test_padding_counts_twice_in_the_size_check():
    # 1 + 2 * 1 = 3 < 4: the kernel does not fit (once more padding it would).
    with pytest.raises(ValueError, match=r"kernel size 4 exceeds the padded input size 1 \+ 2\*1"):
        conv_output_shape(1, 4, 1)
    assert conv_output_shape(1, 3, 1) == (1, 1)
