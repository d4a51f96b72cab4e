"""Conv2D: nn.Conv2d's init and outputs from corr2d, and D2L's hand-written kernel learning."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from convlab.basics import Conv2D, corr2d
from convlab.data.edges import edge_image

SETTINGS = settings(max_examples=25, deadline=None)


@st.composite
def layer_case(draw):
    """Conv2D and nn.Conv2d arguments for a 7x8 input: kernel, channels, padding, stride, bias."""
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    return {
        "kernel_size": kernel,
        "in_channels": draw(st.integers(1, 3)),
        "out_channels": draw(st.integers(1, 3)),
        "padding": (draw(st.integers(0, 2)), draw(st.integers(0, 2))),
        "stride": (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        "bias": draw(st.booleans()),
    }


def _torch_layer(case: dict) -> nn.Conv2d:
    args = dict(case)
    return nn.Conv2d(args.pop("in_channels"), args.pop("out_channels"), **args)


@SETTINGS
@given(layer_case(), st.integers(0, 2**31 - 1))
def test_same_seed_same_start_and_same_output_as_nn_conv2d(case, seed):
    torch.manual_seed(seed)
    ours = Conv2D(**case)
    torch.manual_seed(seed)
    theirs = _torch_layer(case)
    assert torch.equal(ours.weight, theirs.weight)
    assert (ours.bias is None) == (theirs.bias is None)
    if ours.bias is not None:
        assert torch.equal(ours.bias, theirs.bias)
    x = torch.randn(2, case["in_channels"], 7, 8, generator=torch.Generator().manual_seed(seed))
    y_ours, y_theirs = ours(x), theirs(x)
    torch.testing.assert_close(y_ours, y_theirs, rtol=1e-5, atol=1e-5)
    y_ours.square().sum().backward()
    y_theirs.square().sum().backward()
    torch.testing.assert_close(ours.weight.grad, theirs.weight.grad, rtol=1e-4, atol=1e-4)


def test_seeds_give_different_starts():
    starts = []
    for seed in range(5):
        torch.manual_seed(seed)
        starts.append(Conv2D((1, 2), bias=False).weight.detach().flatten())
    assert len({tuple(s.tolist()) for s in starts}) == 5
    assert all(s.abs().max() <= 2**-0.5 for s in starts)  # uniform in ±1/sqrt(fan_in)


BOUND = 2**-0.5  # nn.Conv2d's init range for a 1x2 kernel: uniform in ±1/sqrt(2)


@pytest.mark.parametrize(
    "start", [None, (BOUND, BOUND), (-BOUND, -BOUND), (BOUND, -BOUND), (-BOUND, BOUND)]
)
def test_d2l_training_loop_learns_the_edge_kernel(start):
    # D2L §6.2.4 by hand: sum-of-squares loss, weight -= lr * grad, 10 iterations. The update is
    # linear, so if the corners of the init square end within 0.1 of [1, -1], every start does.
    torch.manual_seed(0)
    X = edge_image()[None, None]
    Y = corr2d(edge_image(), torch.tensor([[1.0, -1.0]]))[None, None]
    layer = Conv2D((1, 2), bias=False)
    if start is not None:
        layer.weight.data[:] = torch.tensor(start).reshape(1, 1, 1, 2)
    for _ in range(10):
        loss = (layer(X) - Y).square().sum()
        layer.zero_grad()
        loss.backward()
        layer.weight.data -= 3e-2 * layer.weight.grad
    torch.testing.assert_close(
        layer.weight.detach().reshape(2), torch.tensor([1.0, -1.0]), atol=0.1, rtol=0
    )


def test_repr_names_the_layers_geometry():
    layer = Conv2D((1, 2), in_channels=2, out_channels=3, padding=1, stride=(2, 1), bias=False)
    assert repr(layer) == (
        "Conv2D(kernel_size=(1, 2), in_channels=2, out_channels=3, padding=(1, 1), "
        "stride=(2, 1), bias=False)"
    )
    assert repr(Conv2D(3)).endswith("padding=(0, 0), stride=(1, 1), bias=True)")


def test_bias_is_on_by_default():
    assert Conv2D(2).bias.shape == (1,)
