"""pool2d (D2L §6.5) against F.max_pool2d and F.avg_pool2d."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn import functional as F

from convlab.basics import conv_output_shape, pool2d

SETTINGS = settings(max_examples=40, deadline=None)
TORCH_POOL = {"max": F.max_pool2d, "avg": F.avg_pool2d}


def randn(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@st.composite
def pool_case(draw):
    """(batch, channels, h, w), (kh, kw), (ph, pw), stride or None, seed."""
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    # torch allows at most half the window as padding.
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    h = draw(st.integers(max(1, kh - 2 * ph), 9))
    w = draw(st.integers(max(1, kw - 2 * pw), 9))
    stride = draw(st.none() | st.tuples(st.integers(1, 3), st.integers(1, 3)))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w)
    return shape, (kh, kw), (ph, pw), stride, draw(st.integers(0, 2**31 - 1))


def test_d2l_examples():
    # D2L's from-scratch pool2d slides one pixel at a time...
    X = torch.arange(9.0).reshape(3, 3)
    assert torch.equal(pool2d(X, (2, 2), stride=1), torch.tensor([[4.0, 5.0], [7.0, 8.0]]))
    assert torch.equal(pool2d(X, (2, 2), "avg", stride=1), torch.tensor([[2.0, 3.0], [5.0, 6.0]]))
    # ...while nn.MaxPool2d (and pool2d's default) moves by the window: §6.5.2's 4x4 examples.
    X = torch.arange(16.0).reshape(1, 1, 4, 4)
    assert torch.equal(pool2d(X, 3), torch.tensor([[[[10.0]]]]))
    assert torch.equal(
        pool2d(X, 3, padding=1, stride=2), torch.tensor([[[[5.0, 7.0], [13.0, 15.0]]]])
    )


@SETTINGS
@given(pool_case(), st.sampled_from(["max", "avg"]))
def test_equals_torch_pooling(case, mode):
    shape, size, padding, stride, seed = case
    X = randn(seed, *shape)
    expected = TORCH_POOL[mode](X, size, stride=stride, padding=padding)
    actual = pool2d(X, size, mode, padding=padding, stride=stride)
    torch.testing.assert_close(actual, expected)
    # Each channel pooled on its own: the shape formula is the convolution's.
    assert actual.shape[-2:] == conv_output_shape(shape[-2:], size, padding, stride or size)


def test_max_never_picks_the_padding():
    X = -torch.ones(1, 2, 2)
    assert torch.equal(pool2d(X, 2, "max", padding=1, stride=1), -torch.ones(1, 3, 3))


def test_bad_mode_and_oversized_window_are_errors():
    with pytest.raises(ValueError, match="mode"):
        pool2d(torch.ones(4, 4), 2, "median")
    with pytest.raises(ValueError, match="larger than the padded input"):
        pool2d(torch.ones(2, 2), 3)


def test_a_window_too_large_on_one_axis_only_is_an_error():
    for shape, pool in (((2, 5), 3), ((5, 2), 3)):
        with pytest.raises(
            ValueError,
            match=rf"pool 3x3 is larger than the padded input \({shape[0]}, {shape[1]}\)",
        ):
            pool2d(torch.ones(1, *shape), pool)
