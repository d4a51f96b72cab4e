"""The max-function nets: the exact ReLU construction, the MLP and the gated net."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from convlab.models.exact import ExactMax
from convlab.models.gated import GatedMax
from convlab.models.mlp import MLP
from convlab.runner.check.validate import find_problems
from tests.conftest import compose_config

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, width=32)


@settings(max_examples=300, deadline=None)
@given(a=finite, b=finite)
def test_exact_net_is_the_max_for_any_pair(a, b):
    x = torch.tensor([[a, b]], dtype=torch.float32)
    out = ExactMax()(x)
    expected = max(a, b)
    # b + (a - b) rounds once or twice in float32: a few ulps of the larger magnitude at most.
    tolerance = 4 * torch.finfo(torch.float32).eps * max(abs(a), abs(b), 1e-30)
    assert abs(float(out) - expected) <= tolerance


def test_exact_net_on_random_batches_of_every_scale():
    net = ExactMax()
    generator = torch.Generator().manual_seed(0)
    for scale in (1e-3, 1.0, 2e4, 1e6):
        x = (torch.rand(10_000, 2, generator=generator) - 0.3) * scale
        out = net(x)
        assert out.shape == (10_000, 1)
        # Rounding is relative to the inputs' magnitude, not to the (possibly tiny) max.
        atol = 4 * torch.finfo(torch.float32).eps * scale
        torch.testing.assert_close(out, x.max(dim=1, keepdim=True).values, rtol=0, atol=atol)
    ties = torch.full((5, 2), 3.25)
    assert torch.equal(net(ties), ties[:, :1])


def test_exact_net_is_a_fixed_relu_network():
    net = ExactMax()
    assert all(not p.requires_grad for p in net.parameters())
    assert [type(m).__name__ for m in net.children()] == ["Linear", "Linear"]
    assert net.hidden.weight.tolist() == [[1.0, -1.0], [0.0, 1.0], [0.0, -1.0]]
    assert net.output.weight.tolist() == [[1.0, 1.0, -1.0]]


@pytest.mark.parametrize(("depth", "linears"), [(0, 1), (1, 2), (3, 4)])
def test_mlp_depth_width_and_outputs(depth, linears):
    net = MLP(out_features=2, width=8, depth=depth, activation="tanh")
    layers = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert len(layers) == linears
    assert all(m.out_features == 8 for m in layers[:-1])
    assert net(torch.randn(5, 2)).shape == (5, 2)


@pytest.mark.parametrize(
    ("name", "function"),
    [("relu", torch.relu), ("leaky_relu", torch.nn.functional.leaky_relu), ("gelu",
     torch.nn.functional.gelu), ("tanh", torch.tanh), ("sigmoid", torch.sigmoid)],
)  # fmt: skip
def test_mlp_is_linear_activation_linear(name, function):
    torch.manual_seed(0)
    net = MLP(in_features=3, out_features=2, width=5, depth=2, activation=name)
    first, second, last = (m for m in net.modules() if isinstance(m, torch.nn.Linear))
    x = torch.randn(7, 3)
    expected = last(function(second(function(first(x)))))
    torch.testing.assert_close(net(x), expected)
    assert (first.in_features, last.out_features) == (3, 2)


@pytest.mark.parametrize(
    ("experiment", "setting", "problem"),
    [
        ("max_regression", "depth=-1", "must be an integer >= 0"),
        ("max_regression", "width=0", "must be a positive integer"),
        ("max_gated", "depth=-1", "must be an integer >= 0"),
        ("max_gated", "width=0", "must be a positive integer"),
    ],
)
def test_a_negative_depth_or_an_empty_layer_is_refused(experiment, setting, problem, tmp_path):
    cfg = compose_config([f"experiment={experiment}", f"model.{setting}"], tmp_path)
    assert find_problems(cfg) == [f"model.{setting}: {problem}."]


def test_default_sizes():
    # MLP: 2 → 64 → 64 → 1; the gate: 2 → 32 → 2.
    assert sum(p.numel() for p in MLP().parameters()) == (2 * 64 + 64) + (64 * 64 + 64) + 65
    assert sum(p.numel() for p in GatedMax().parameters()) == (2 * 32 + 32) + (32 * 2 + 2)
    assert MLP(width=1, depth=1)(torch.zeros(3, 2)).shape == (3, 1)  # the smallest layer


def test_an_unknown_activation_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"activation must be one of \('relu', .*got 'swish'"):
        MLP(activation="swish")
    cfg = compose_config(["experiment=max_regression", "model.activation=swish"], tmp_path)
    assert find_problems(cfg) == ["model.activation=swish: expected one of relu, leaky_relu, gelu, "
                                  "tanh, sigmoid (MLP.activation)."]  # fmt: skip


def test_gated_net_outputs_a_convex_combination_of_its_inputs():
    torch.manual_seed(0)
    net = GatedMax(width=16, depth=2)
    x = torch.randn(1000, 2) * 3
    out = net(x)
    assert out.shape == (1000, 1)
    assert bool((out >= x.min(1, keepdim=True).values - 1e-5).all())
    assert bool((out <= x.max(1, keepdim=True).values + 1e-5).all())


def test_gated_net_weights_its_inputs_by_the_gates_softmax():
    torch.manual_seed(0)
    net = GatedMax(in_features=3, width=8, depth=1, activation="tanh")
    x = torch.randn(6, 3)
    expected = (torch.softmax(net.gate(x), dim=-1) * x).sum(dim=-1, keepdim=True)
    torch.testing.assert_close(net(x), expected)
    assert net.gate.layers[0].in_features == 3 and net.gate.layers[-1].out_features == 3
    assert isinstance(net.gate.layers[1], torch.nn.Tanh)


def test_gated_net_with_a_decisive_gate_is_the_max():
    net = GatedMax(depth=0)
    with torch.no_grad():  # logits 1000 * (a - b) and 1000 * (b - a): softmax picks the larger
        net.gate.layers[0].weight.copy_(torch.tensor([[1000.0, -1000.0], [-1000.0, 1000.0]]))
        net.gate.layers[0].bias.zero_()
    # a and b at least 0.05 apart: logits 100 apart or more, a weight of e^-100 for the smaller.
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(100, generator=generator)
    sign = torch.randn(100, generator=generator).sign()
    gap = (torch.rand(100, generator=generator) + 0.05) * sign
    x = torch.stack([a, a + gap], dim=1)
    torch.testing.assert_close(net(x), x.max(dim=1, keepdim=True).values)
