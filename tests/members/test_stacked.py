"""Stacked nets: member k starts from its single run's weights and computes what that net does."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from hydra.utils import instantiate
from torch.nn import functional as F

from convlab.members.run import build_members_task
from convlab.members.scores import member_losses, objective
from convlab.members.stacked import StackedLinear, build_stacked, unstack_net
from convlab.models.exact import ExactMax
from convlab.models.gated import GatedMax
from convlab.models.lenet import LeNet
from convlab.models.mlp import MLP
from convlab.runner.run import build_datamodule, build_task
from tests.conftest import compose_config

NETS = {
    "mlp": lambda: MLP(width=16, depth=2),
    "classifier": lambda: MLP(out_features=2, width=8, depth=1),
    "gated": lambda: GatedMax(width=8),
    "exact": ExactMax,
}


def _single_nets(build, seeds: list[int]) -> list[torch.nn.Module]:
    """What each seed's single run builds: seed, then the net."""
    nets = []
    for seed in seeds:
        L.seed_everything(seed, workers=True)
        nets.append(build())
    return nets


@pytest.mark.parametrize("name", NETS)
def test_each_member_computes_its_own_net(name):
    nets = _single_nets(NETS[name], [0, 1, 2])
    stacked = build_stacked(NETS[name], [0, 1, 2])
    x = torch.randn(3, 5, 2)
    out = stacked(x)
    for k, net in enumerate(nets):
        torch.testing.assert_close(out[k], net(x[k]), rtol=1e-6, atol=1e-6)
        back = unstack_net(stacked, k)
        for mine, theirs in zip(back.parameters(), net.parameters(), strict=True):
            assert torch.equal(mine, theirs)


@pytest.mark.parametrize("name", NETS)
def test_the_stacked_net_is_built_as_each_seeds_net_without_building_them(name):
    seeds = list(range(5, 55))
    nets = _single_nets(NETS[name], seeds)
    generator_after = torch.get_rng_state()
    built = []
    stacked = build_stacked(lambda: built.append(NETS[name]()) or built[-1], seeds)
    assert len(built) <= 3  # not one net per member
    assert torch.equal(torch.get_rng_state(), generator_after)  # training draws on from there
    for k, net in enumerate(nets):
        for mine, theirs in zip(
            unstack_net(stacked, k).parameters(), net.parameters(), strict=True
        ):
            assert torch.equal(mine, theirs) and mine.requires_grad == theirs.requires_grad


def test_frozen_weights_stay_frozen():
    stacked = build_stacked(ExactMax, [1, 2])
    assert not any(p.requires_grad for p in stacked.parameters())


def test_a_net_with_other_layers_is_refused():
    with pytest.raises(ValueError, match="LeNet cannot be stacked"):
        build_stacked(LeNet, [1, 2])


@pytest.mark.parametrize("experiment", ["max_regression", "max_gated"])
def test_member_k_starts_from_the_single_run_with_seed_plus_k(experiment, tmp_path):
    cfg = compose_config([f"experiment={experiment}", "members=3", "seed=7"], tmp_path)
    datamodule = build_datamodule(cfg)
    task = build_members_task(cfg, datamodule)
    for k in range(3):
        single = compose_config([f"experiment={experiment}", f"seed={7 + k}"], tmp_path)
        L.seed_everything(single.seed)  # run.train's order: seed, then the task
        net = build_task(single, build_datamodule(single)).net
        for mine, theirs in zip(
            unstack_net(task.net, k).parameters(), net.parameters(), strict=True
        ):
            assert torch.equal(mine, theirs)
    layers = [m for m in task.net.modules() if isinstance(m, StackedLinear)]
    assert layers and all(layer.weight.shape[0] == 3 for layer in layers)
    assert not torch.equal(layers[0].weight[0], layers[0].weight[1])


def test_the_built_net_is_the_configured_one(tmp_path):
    cfg = compose_config(["experiment=max_regression", "members=2"], tmp_path)
    assert isinstance(
        build_members_task(cfg, build_datamodule(cfg)).net, type(instantiate(cfg.model))
    )


@pytest.mark.parametrize(("kind", "out"), [("regression", 1), ("classification", 2)])
def test_each_members_gradient_is_its_single_runs(kind, out):
    """The stacked objective's gradient, member by member, against the single net's own loss:
    what makes an element-wise optimizer step each member as its single run does."""
    nets = _single_nets(lambda: MLP(out_features=out, width=8, depth=2), [1, 2, 3])
    stacked = build_stacked(lambda: MLP(out_features=out, width=8, depth=2), [1, 2, 3])
    x = torch.randn(3, 4, 2)
    target = torch.randn(3, 4, 1) if kind == "regression" else torch.randint(0, 2, (3, 4))
    objective(member_losses(kind, stacked(x), target)).backward()
    loss = F.mse_loss if kind == "regression" else F.cross_entropy
    for k, net in enumerate(nets):
        loss(net(x[k]), target[k]).backward()
        layers = [m for m in stacked.modules() if isinstance(m, StackedLinear)]
        theirs = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
        for layer, single in zip(layers, theirs, strict=True):
            torch.testing.assert_close(layer.weight.grad[k].t(), single.weight.grad)
            torch.testing.assert_close(layer.bias.grad[k, 0], single.bias.grad)
