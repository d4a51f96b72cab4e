"""The max-pooling candidates: one value per 2x2 stride-2 window, the exact one equal to
``max_pool2d``."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from convlab.models.patch_max import PatchExactMax, PatchLinear, PatchReLU
from convlab.runner.check.validate import find_problems
from tests.conftest import compose_config


@pytest.mark.parametrize("make", [PatchLinear, PatchReLU, PatchExactMax])
def test_one_value_per_window(make):
    net = make()  # built in the test, not at collection (mutation testing swaps code then)
    assert net(torch.rand(3, 1, 4, 6)).shape == (3, 6)  # 2 x 3 windows
    assert net(torch.rand(3, 1, 2, 2)).shape == (3, 1)  # one patch: a regression target


def test_patch_linear_is_a_weighted_sum_of_each_window():
    net = PatchLinear()
    with torch.no_grad():
        net.pool.weight.fill_(0.25)
        net.pool.bias.fill_(1.0)
    x = torch.rand(2, 1, 4, 6)
    torch.testing.assert_close(net(x), F.avg_pool2d(x, 2).flatten(1) + 1.0)


def test_patch_relu_layers():
    net = PatchReLU()  # defaults: 16 channels, one ReLU layer
    assert [type(m) for m in net.layers] == [nn.Conv2d, nn.ReLU, nn.Conv2d]
    assert net.layers[0].out_channels == 16
    deep = PatchReLU(width=5, depth=3)
    convs = [m for m in deep.layers if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [
        (1, 5, (2, 2)), (5, 5, (1, 1)), (5, 5, (1, 1)), (5, 1, (1, 1))
    ]  # fmt: skip
    assert sum(isinstance(m, nn.ReLU) for m in deep.layers) == 3
    PatchReLU(width=1, depth=1)  # the smallest valid net


@pytest.mark.parametrize(("width", "depth"), [(0, 1), (1, 0), (0, 0)])
def test_patch_relu_refuses_an_empty_layer(width, depth, tmp_path):
    cfg = compose_config(["experiment=maxpool_fn", f"model.width={width}", f"model.depth={depth}"],
                         tmp_path)  # fmt: skip
    expected = [f"model.{key}=0: must be a positive integer." for key, value in
                (("width", width), ("depth", depth)) if value == 0]  # fmt: skip
    assert find_problems(cfg) == expected


@pytest.mark.parametrize("shape", [(4, 1, 2, 2), (3, 1, 6, 4), (2, 3, 5, 7), (8, 3, 10, 13)])
def test_patch_exact_max_is_max_pooling(shape):
    """At any scale; odd rows and columns are dropped, as ``max_pool2d`` drops them."""
    generator = torch.Generator().manual_seed(0)
    net = PatchExactMax()
    assert not any(p.requires_grad for p in net.parameters())
    for scale in (1e-3, 1.0, 1e4):
        x = torch.randn(shape, generator=generator) * scale
        atol = 4 * torch.finfo(torch.float32).eps * scale * 4
        torch.testing.assert_close(net(x), F.max_pool2d(x, 2).flatten(1), rtol=0, atol=atol)
    patch = torch.tensor([[[[0.25, -1.0], [7.5, 2.0]]]])
    assert net(patch).tolist() == [[7.5]]
