"""LeNet's layer shapes, its variants and D2L's initialisation."""

import pytest
import torch
from torch import nn

from convlab.models.lenet import LeNet


@pytest.mark.parametrize("pooling", ["avg", "max", "strided"])
@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_shapes_layer_by_layer(activation, pooling):
    net = LeNet(activation=activation, pooling=pooling)
    x = torch.zeros(3, 1, 28, 28)
    shapes = []
    for layer in net.features:
        x = layer(x)
        shapes.append(tuple(x.shape[1:]))
    assert shapes == [(6, 28, 28), (6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 10, 10), (16, 5, 5)]
    assert net(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


def test_strided_variant_learns_its_downsampling():
    avg, strided = LeNet(pooling="avg"), LeNet(pooling="strided")
    assert isinstance(strided.features[2], nn.Conv2d) and strided.features[2].stride == (2, 2)
    extra = sum(p.numel() for p in strided.parameters()) - sum(p.numel() for p in avg.parameters())
    assert extra == (6 * 6 * 4 + 6) + (16 * 16 * 4 + 16)


def test_d2l_parameter_count():
    assert sum(p.numel() for p in LeNet().parameters()) == 61706


def test_xavier_uniform_bounds():
    torch.manual_seed(0)
    linear = LeNet().classifier[1]
    bound = (6 / (400 + 120)) ** 0.5
    assert float(linear.weight.abs().max()) <= bound
    assert float(linear.weight.abs().max()) > 0.9 * bound


def test_bad_choice_is_rejected():
    with pytest.raises(ValueError, match="pooling must be one of"):
        LeNet(pooling="median")
