"""The residual MLP: shapes, a real skip path, and a size matched to the plain MLP."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from torch import nn

from convlab.models.mlp import MLP
from convlab.models.residual_mlp import (
    ResidualBlock,
    ResidualMLP,
    matched_width,
    residual_parameters,
)
from tests.conftest import compose_config


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("blocks", [0, 1, 3])
def test_shapes(blocks: int):
    net = ResidualMLP(in_features=2, out_features=1, blocks=blocks)
    assert net(torch.randn(7, 2)).shape == (7, 1)
    assert ResidualMLP(out_features=2, blocks=blocks)(torch.randn(7, 2)).shape == (7, 2)


@pytest.mark.parametrize(
    ("width", "depth", "blocks"), [(64, 2, 1), (64, 2, 2), (32, 4, 1), (128, 4, 2), (128, 2, 1)]
)
def test_parameter_count_matches_the_plain_mlp(width: int, depth: int, blocks: int):
    plain = _count(MLP(2, 1, width=width, depth=depth))
    residual = _count(ResidualMLP(2, 1, width=width, depth=depth, blocks=blocks))
    assert abs(residual - plain) / plain < 0.03


def test_the_plain_2_64_64_1_gets_one_block_of_46():
    assert matched_width(2, 1, plain_width=64, plain_depth=2, blocks=1) == 46
    net = ResidualMLP()
    assert net.width == 46 and _count(net) == 4509 and _count(MLP(2, 1, 64, 2)) == 4417


def test_without_matching_width_is_the_blocks_own():
    assert ResidualMLP(width=10, match_plain=False).width == 10


def test_a_block_with_a_zero_last_layer_is_the_identity():
    torch.manual_seed(0)
    block = ResidualBlock(8)
    x = torch.randn(5, 8)
    assert not torch.allclose(block(x), x)
    with torch.no_grad():
        block.last.weight.zero_()
        block.last.bias.zero_()
    assert torch.equal(block(x), x)


def test_the_skip_path_carries_the_input():
    torch.manual_seed(0)
    block = ResidualBlock(8)
    x = torch.randn(5, 8)
    torch.testing.assert_close(block(x) - block.branch(x), x)


def test_with_zeroed_blocks_the_net_is_stem_then_head():
    torch.manual_seed(0)
    net = ResidualMLP(blocks=2)
    with torch.no_grad():
        for block in net.blocks:
            block.last.weight.zero_()
            block.last.bias.zero_()
    x = torch.randn(4, 2)
    assert torch.equal(net(x), net.head(net.stem(x)))


def test_config_with_max_regression_is_matched(tmp_path: Path):
    cfg = compose_config(["experiment=max_regression", "model=residual_mlp"], tmp_path)
    net = instantiate(cfg.model)
    assert isinstance(net, ResidualMLP) and net.width == 46


@pytest.mark.parametrize(
    ("in_features", "out_features", "plain_width", "plain_depth", "blocks"),
    [(2, 1, 64, 2, 1), (2, 1, 1, 0, 1), (784, 10, 16, 1, 2), (1, 10, 5, 2, 0), (3, 4, 8, 1, 3),
     (10, 3, 128, 4, 8), (1, 1, 1, 1, 1)],
)  # fmt: skip
def test_matched_width_is_the_closest_of_every_width(
    in_features, out_features, plain_width, plain_depth, blocks
):
    target = _count(MLP(in_features, out_features, plain_width, plain_depth))

    def distance(width: int) -> int:
        net = ResidualMLP(in_features, out_features, width, blocks=blocks, match_plain=False)
        return abs(_count(net) - target)

    best = min(range(1, 400), key=distance)  # the first (smallest) of equally close widths
    assert matched_width(in_features, out_features, plain_width, plain_depth, blocks) == best


@pytest.mark.parametrize(("width", "blocks"), [(1, 0), (10, 2), (5, 1)])
@pytest.mark.parametrize("out_features", [1, 3])
def test_residual_parameters_counts_the_net(width, blocks, out_features):
    net = ResidualMLP(4, out_features, width, blocks=blocks, match_plain=False)
    assert residual_parameters(4, out_features, width, blocks) == _count(net)


def test_the_activation_reaches_every_layer_that_applies_one():
    net = ResidualMLP(width=6, blocks=2, activation="tanh", match_plain=False)
    kinds = [type(m) for m in net.blocks[0].branch] + [type(m) for m in net.head]
    assert kinds == [nn.Tanh, nn.Linear, nn.Tanh, nn.Linear, nn.Tanh, nn.Linear]
    x = torch.randn(5, 6)
    branch = net.blocks[1].branch
    by_hand = branch[3](torch.tanh(branch[1](torch.tanh(x))))
    torch.testing.assert_close(net.blocks[1](x), x + by_hand)


def test_defaults_and_bad_sizes(tmp_path):
    from convlab.runner.check.validate import find_problems
    from tests.conftest import compose_config

    assert ResidualMLP(match_plain=False).width == 64
    ResidualMLP(width=1, depth=0, blocks=0)  # the smallest valid net
    for setting, problem in [("blocks=-1", "an integer >= 0"), ("width=0", "a positive integer"),
                             ("depth=-1", "an integer >= 0")]:  # fmt: skip
        cfg = compose_config(["experiment=max_regression", "model=residual_mlp",
                              f"model.{setting}"], tmp_path)  # fmt: skip
        assert find_problems(cfg) == [f"model.{setting}: must be {problem}."]
