"""LeNet's layer shapes, its variants and D2L's initialisation."""

import pytest
import torch
from torch import nn
from torch.nn import functional as F

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


def _reference_forward(net: LeNet, x: torch.Tensor, activation: str, pooling: str) -> torch.Tensor:
    """D2L §6.6 written out with torch.nn.functional and the net's own weights."""
    act = {"relu": F.relu, "sigmoid": torch.sigmoid}[activation]
    conv1, conv2 = net.features[0], net.features[3]
    fc1, fc2, fc3 = net.classifier[1], net.classifier[3], net.classifier[5]

    def down(h, layer):
        if pooling == "max":
            return F.max_pool2d(h, kernel_size=2, stride=2)
        if pooling == "avg":
            return F.avg_pool2d(h, kernel_size=2, stride=2)
        return F.conv2d(h, layer.weight, layer.bias, stride=2)

    h = down(act(F.conv2d(x, conv1.weight, conv1.bias, padding=2)), net.features[2])
    h = down(act(F.conv2d(h, conv2.weight, conv2.bias)), net.features[5])
    h = act(F.linear(h.flatten(1), fc1.weight, fc1.bias))
    h = act(F.linear(h, fc2.weight, fc2.bias))
    return F.linear(h, fc3.weight, fc3.bias)


@pytest.mark.parametrize("pooling", ["avg", "max", "strided"])
@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_forward_is_d2ls_lenet(activation, pooling):
    """The layers compute what their names say: a max pool is a max, a ReLU is a ReLU."""
    torch.manual_seed(0)
    net = LeNet(activation=activation, pooling=pooling)
    x = torch.randn(4, 1, 28, 28)
    expected = _reference_forward(net, x, activation, pooling)
    torch.testing.assert_close(net(x), expected)


def test_downsampling_layers_on_one_window():
    window = torch.tensor([[[[0.0, 4.0], [0.0, 0.0]]]])
    assert LeNet(pooling="max").features[2](window).item() == 4.0
    assert LeNet(pooling="avg").features[2](window).item() == 1.0


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
    assert float(linear.weight.detach().abs().max()) <= bound
    assert float(linear.weight.detach().abs().max()) > 0.9 * bound


def test_default_init_keeps_pytorchs():
    torch.manual_seed(0)
    net = LeNet(init="default")
    torch.manual_seed(0)  # the same layers built in the same order draw the same numbers
    layers = [nn.Conv2d(1, 6, 5, padding=2), nn.Conv2d(6, 16, 5), nn.Linear(400, 120),
              nn.Linear(120, 84), nn.Linear(84, 10)]  # fmt: skip
    ours = [m for m in net.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    assert all(torch.equal(a.weight, b.weight) for a, b in zip(ours, layers, strict=True))


def test_xavier_reinitialises_every_weight_not_the_biases():
    torch.manual_seed(0)
    xavier = LeNet(init="xavier")
    torch.manual_seed(0)
    default = LeNet(init="default")
    for a, b in zip(xavier.modules(), default.modules(), strict=True):
        if isinstance(a, (nn.Linear, nn.Conv2d)):
            fan_in, fan_out = a.weight[0].numel(), a.weight.shape[0] * a.weight[0, 0].numel()
            bound = (6 / (fan_in + fan_out)) ** 0.5
            assert float(a.weight.detach().abs().max()) <= bound
            assert not torch.equal(a.weight, b.weight)
            assert torch.equal(a.bias, b.bias)


def test_classes_and_input_channels():
    net = LeNet(num_classes=3, in_channels=2)
    assert net.first_conv is net.features[0] and net.first_conv.in_channels == 2
    assert net(torch.zeros(5, 2, 28, 28)).shape == (5, 3)


def test_bad_choice_is_rejected(tmp_path):
    from convlab.runner.check.validate import find_problems
    from tests.conftest import compose_config

    with pytest.raises(ValueError, match=r"pooling must be one of \('avg', 'max', 'strided'\), "
                       "got 'median'"):  # fmt: skip
        LeNet(pooling="median")
    cfg = compose_config(["model.pooling=median", "model.activation=tanh"], tmp_path)
    assert find_problems(cfg) == [
        "model.activation=tanh: expected one of sigmoid, relu (LeNet.activation).",
        "model.pooling=median: expected one of avg, max, strided (LeNet.pooling).",
    ]


@pytest.mark.parametrize("pooling", ["avg", "max", "strided"])
def test_channels_last_is_the_same_network(pooling):
    torch.manual_seed(0)
    reference = LeNet(pooling=pooling)
    torch.manual_seed(0)
    nhwc = LeNet(pooling=pooling, channels_last=True)
    assert nhwc.first_conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert not nhwc.features[3].weight.is_contiguous()  # 6 input channels: NHWC differs
    assert reference.features[3].weight.is_contiguous()  # the default keeps NCHW
    x = torch.rand(8, 1, 28, 28)
    assert torch.allclose(nhwc(x), reference(x), atol=1e-5)
    reference.load_state_dict(nhwc.state_dict())  # checkpoints load across layouts


def test_lenet_config_takes_channels_last_on_the_cpu_only():
    from convlab.runner.cli import trains_on_cpu

    assert trains_on_cpu("cpu") is True
    assert trains_on_cpu("gpu") is False
    assert trains_on_cpu("auto") is (not torch.cuda.is_available())
