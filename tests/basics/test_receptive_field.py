"""Receptive fields: the computed ones equal the input pixels that one output unit's gradient
reaches in a random-weight net."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from convlab.basics.conv2d import Conv2D
from convlab.basics.receptive_field import format_table, receptive_fields
from convlab.models.lenet import LeNet

# Random inputs per stack: a max pool passes gradient to one input of each window and a ReLU
# blocks some, so a single input shows only part of their field; the union over many shows all.
# Sigmoid, tanh and average pooling pass gradient everywhere.
SAMPLES = {"lenet_relu_max": 256, "strided_dilated": 256}


def _stacks() -> dict[str, tuple[nn.Sequential, tuple[int, int]]]:
    torch.manual_seed(0)
    return {
        "lenet": (LeNet().features, (28, 28)),
        "lenet_relu_max": (LeNet(activation="relu", pooling="max").features, (28, 28)),
        "lenet_strided": (LeNet(pooling="strided").features, (28, 28)),
        "strided_dilated": (nn.Sequential(
            nn.Conv2d(1, 3, 3, stride=2, padding=1), nn.ReLU(),
            nn.MaxPool2d(3, stride=2, padding=1),
            nn.Conv2d(3, 2, 3, dilation=2, padding=2), nn.Tanh(),
        ), (23, 19)),
        "non_square_ceil": (nn.Sequential(
            nn.Conv2d(1, 2, (1, 3), stride=(2, 1), padding=(0, 1)), nn.Sigmoid(),
            nn.AvgPool2d(2, ceil_mode=True),
            Conv2D((3, 2), in_channels=2, out_channels=1, padding=(1, 0), stride=(1, 2)),
        ), (17, 12)),
    }  # fmt: skip


STACKS = _stacks()


def _empirical_field(
    net: nn.Sequential, input_size, unit: tuple[int, int], samples: int
) -> torch.Tensor:
    """Input pixels whose gradient from output ``unit`` (all channels) is ever nonzero."""
    net = net.double()
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(samples, 1, *input_size, generator=generator, dtype=torch.float64)
    x.requires_grad_(True)
    out = net(x)
    out[:, :, unit[0], unit[1]].sum().backward()
    return (x.grad != 0).any(dim=0)[0]


def _units(output: tuple[int, int]) -> list[tuple[int, int]]:
    h, w = output
    return sorted({(0, 0), (h // 2, w // 2), (h - 1, w - 1), (0, w - 1), (h - 1, 0)})


# Stacks whose windows overlap or touch at every level, so the field has no holes.
SOLID = ("lenet", "lenet_relu_max", "lenet_strided")


def _bounding_box(mask: torch.Tensor) -> tuple[tuple[int, int], tuple[int, int]]:
    rows, cols = mask.any(dim=1).nonzero().flatten(), mask.any(dim=0).nonzero().flatten()
    return (int(rows[0]), int(rows[-1])), (int(cols[0]), int(cols[-1]))


@pytest.mark.parametrize("name", sorted(STACKS))
def test_field_equals_the_gradient_footprint(name: str):
    net, input_size = STACKS[name]
    last = receptive_fields(net, input_size)[-1]
    for unit in _units(last.output):
        span = last.span(unit, input_size)
        got = _empirical_field(net, input_size, unit, SAMPLES.get(name, 2))
        assert _bounding_box(got) == span, f"{name}, unit {unit}"
        if name in SOLID:  # every pixel of the rectangle, not only its corners
            (top, bottom), (left, right) = span
            assert got[top : bottom + 1, left : right + 1].all(), f"{name}, unit {unit}"


@pytest.mark.parametrize("name", sorted(STACKS))
def test_output_sizes_equal_the_layers_outputs(name: str):
    net, input_size = STACKS[name]
    fields = receptive_fields(net, input_size)
    x = torch.zeros(1, 1, *input_size, dtype=next(net.parameters()).dtype)
    for layer, field in zip(net, fields[1:], strict=True):
        x = layer(x)
        assert tuple(x.shape[-2:]) == field.output, field.name


def test_lenet_table():
    table = format_table(receptive_fields(LeNet().features, 28))
    lines = table.splitlines()
    assert lines[0].split() == ["layer", "kernel", "stride", "padding", "output", "jump",
                                "field", "start"]  # fmt: skip
    # The last pooling's units each see 16x16 pixels, 4 apart.
    assert lines[-1].split() == ["5", "AvgPool2d", "2", "2", "0", "5x5", "4", "16", "5.5"]
    assert len(lines) == 1 + 1 + len(LeNet().features)


def test_unknown_layers_are_refused():
    with pytest.raises(TypeError, match="Linear"):
        receptive_fields(nn.Sequential(nn.Linear(3, 3)), 4)


@pytest.mark.parametrize("size", range(5, 12))
@pytest.mark.parametrize(
    "pool",
    [
        nn.MaxPool2d(2, stride=2, padding=1, ceil_mode=True),  # a last window in the padding
        nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
        nn.AvgPool2d(3, stride=3, ceil_mode=True),
        nn.MaxPool2d(3, stride=2, dilation=2),
    ],
)
def test_pooling_output_sizes_follow_pytorch(pool: nn.Module, size: int):
    expected = tuple(pool(torch.zeros(1, 1, size, size + 1)).shape[-2:])
    assert receptive_fields([pool], (size, size + 1))[-1].output == expected


def test_table_of_a_non_square_stack_by_hand():
    # Conv (3, 1), stride (1, 2), padding (1, 0) on 9x8: 9x4, jump 1x2, field 3x1, start 0.
    # MaxPool 2: (9 - 2) // 2 + 1 = 4 rows, (4 - 2) // 2 + 1 = 2 columns; jump 2x4, field
    # 3 + 1 = 4 by 1 + 2 = 3, start 0 + 0.5 * 1 = 0.5 by 0 + 0.5 * 2 = 1.
    stack = nn.Sequential(nn.Conv2d(1, 1, (3, 1), stride=(1, 2), padding=(1, 0)), nn.ReLU(),
                          nn.MaxPool2d(2))  # fmt: skip
    assert format_table(receptive_fields(stack, (9, 8))).splitlines() == [
        "layer        kernel  stride  padding  output  jump  field  start",
        "input                                 9x8     1     1      0",
        "0 Conv2d     3x1     1x2     1x0      9x4     1x2   3x1    0",
        "1 ReLU                                9x4     1x2   3x1    0",
        "2 MaxPool2d  2       2       0        4x2     2x4   4x3    0.5x1",
    ]


def test_window_too_large_and_text_padding_are_refused_with_the_numbers():
    with pytest.raises(ValueError, match=r"^window 5 exceeds the padded input 4 \+ 2\*0$"):
        receptive_fields([nn.MaxPool2d(3, dilation=2)], 4)
    with pytest.raises(ValueError, match="padding='same' is not supported; give numbers"):
        receptive_fields([nn.Conv2d(1, 1, 3, padding="same")], 8)
