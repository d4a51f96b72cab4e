"""Receptive fields of a stack of convolutions and poolings (D2L §6.2.6, §6.5).

Per axis, with a layer's kernel ``k``, stride ``s``, padding ``p``, dilation ``d``, and the layer
below's jump ``j`` (input pixels between units), field ``r`` and centre ``c`` of unit 0:

    n_out = floor((n + 2p - d (k - 1) - 1) / s) + 1
    j_out = j s,    r_out = r + (k - 1) d j,    c_out = c + ((k - 1) d / 2 - p) j

from ``j = 1, r = 1, c = 0``; unit ``i`` sees ``c + i j ± (r - 1) / 2``, cut to the image. A
dilated stack may skip pixels inside that rectangle ("gridding"). Elementwise layers keep all.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass

from torch import nn

from convlab.basics.corr2d import pair

Pair = tuple[int, int]
ELEMENTWISE = (
    nn.ReLU, nn.LeakyReLU, nn.GELU, nn.Sigmoid, nn.Tanh, nn.ELU, nn.SiLU,
    nn.BatchNorm2d, nn.Dropout, nn.Dropout2d, nn.Identity,
)  # fmt: skip


@dataclass(frozen=True)
class Geometry:
    kernel: Pair
    stride: Pair
    padding: Pair
    dilation: Pair = (1, 1)
    ceil_mode: bool = False


def geometry(layer: nn.Module) -> Geometry | None:
    """``None`` for an elementwise layer."""
    if isinstance(layer, ELEMENTWISE):
        return None
    if isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):  # Conv2D is a Conv2d
        if isinstance(layer.padding, str):
            raise ValueError(f"{layer}: padding={layer.padding!r} is not supported; give numbers")
        # torch's poolings store stride=kernel_size when given none; AvgPool2d has no dilation,
        # the convolutions no ceil_mode
        sizes = (layer.kernel_size, layer.stride, layer.padding, getattr(layer, "dilation", 1))
        return Geometry(*map(pair, sizes), ceil_mode=getattr(layer, "ceil_mode", False))
    raise TypeError(f"no receptive-field rule for {type(layer).__name__}")


def _output_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    span = n + 2 * p - d * (k - 1) - 1
    if span < 0:
        raise ValueError(f"window {d * (k - 1) + 1} exceeds the padded input {n} + 2*{p}")
    if not ceil_mode:
        return span // s + 1
    out = math.ceil(span / s) + 1
    # PyTorch drops a last window that would start inside the right padding only.
    return out - 1 if (out - 1) * s >= n + p else out


@dataclass(frozen=True)
class Field:
    name: str
    geometry: Geometry | None
    output: Pair  # (height, width) of the layer's output
    jump: Pair
    size: Pair
    start: tuple[float, float]  # centre of unit 0's field, input pixels

    def span(self, index: Pair, input_size: Pair) -> tuple[Pair, Pair]:
        """``((top, bottom), (left, right))``, inclusive, of the input unit ``index`` sees."""
        bounds = []
        for i, j, r, c, n in zip(index, self.jump, self.size, self.start, input_size, strict=True):
            centre = c + i * j
            low, high = centre - (r - 1) / 2, centre + (r - 1) / 2
            bounds.append((max(0, int(low)), min(n - 1, int(high))))
        return bounds[0], bounds[1]


def receptive_fields(layers: Iterable[nn.Module], input_size: int | Pair) -> list[Field]:
    """The input's ``Field``, then one per layer (e.g. ``LeNet().features``)."""
    size = pair(input_size)
    fields = [Field("input", None, size, (1, 1), (1, 1), (0.0, 0.0))]
    for index, layer in enumerate(layers):
        last, g = fields[-1], geometry(layer)
        name = f"{index} {type(layer).__name__}"
        if g is None:
            fields.append(Field(name, None, last.output, last.jump, last.size, last.start))
            continue
        axes = zip(
            last.output, g.kernel, g.stride, g.padding, g.dilation, last.jump, last.size,
            last.start, strict=True,
        )  # fmt: skip
        output, jump, field, start = [], [], [], []
        for n, k, s, p, d, j, r, c in axes:
            output.append(_output_size(n, k, s, p, d, g.ceil_mode))
            jump.append(j * s)
            field.append(r + (k - 1) * d * j)
            start.append(c + ((k - 1) * d / 2 - p) * j)
        fields.append(Field(name, g, tuple(output), tuple(jump), tuple(field), tuple(start)))
    return fields


def _show(value: tuple) -> str:
    text = [f"{v:g}" if isinstance(v, float) else str(v) for v in value]
    return text[0] if text[0] == text[1] else "x".join(text)


def format_table(fields: list[Field]) -> str:
    header = ("layer", "kernel", "stride", "padding", "output", "jump", "field", "start")
    rows = [header]
    for f in fields:
        g = f.geometry
        window = ("", "", "") if g is None else tuple(map(_show, (g.kernel, g.stride, g.padding)))
        output = f"{f.output[0]}x{f.output[1]}"
        rows.append((f.name, *window, output, _show(f.jump), _show(f.size), _show(f.start)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    from convlab.models.lenet import LeNet

    print(format_table(receptive_fields(LeNet().features, 28)))
