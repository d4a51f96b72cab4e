"""Candidates for max pooling as a layer: 2x2 stride-2 windows in, one value per window out.

Each maps ``(B, C, H, W)`` to ``(B, C * H/2 * W/2)``; for a single 2x2 patch ``(B, 1, 2, 2)``
that is ``(B, 1)``, the shape of a regression target.

- ``PatchLinear``: the strided convolution alone (All-CNN's learnable pooling). Linear in the
  four inputs, so it cannot be the max: its best fit leaves an error floor.
- ``PatchReLU``: the strided convolution, then ReLU and 1x1 convolutions: a small ReLU net per
  window. One hidden layer approximates the max; two can represent it exactly.
- ``PatchExactMax``: that exact construction, max(max(a, b), max(c, d)) with
  max(a, b) = b + relu(a - b) (``ExactMax``) applied twice, weights fixed.
"""

from __future__ import annotations

import torch
from pydantic import PositiveInt
from torch import nn

from convlab.models.exact import ExactMax


class PatchLinear(nn.Module):
    """``Conv2d(1, 1, 2, stride=2)``: a learned weighted sum of each window, plus a bias."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.Conv2d(1, 1, kernel_size=2, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x).flatten(1)


class PatchReLU(nn.Module):
    """``Conv2d(1, width, 2, stride=2)`` → (ReLU → 1x1 conv) × ``depth``, the last to 1 channel.

    ``depth`` counts the ReLU layers; the last 1x1 convolution reads out the window's value.
    """

    def __init__(self, width: PositiveInt = 16, depth: PositiveInt = 1) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(1, width, kernel_size=2, stride=2)]
        for index in range(depth):
            out = 1 if index == depth - 1 else width
            layers += [nn.ReLU(), nn.Conv2d(width, out, kernel_size=1)]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x).flatten(1)


class PatchExactMax(nn.Module):
    """The max of each 2x2 window as a fixed ReLU network: no parameters train."""

    def __init__(self) -> None:
        super().__init__()
        self.pair_max = ExactMax()

    def _max(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.pair_max(torch.stack((a, b), dim=-1).reshape(-1, 2)).reshape(a.shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        x = x[..., : height // 2 * 2, : width // 2 * 2]  # an odd last row/column: as max_pool2d
        top = self._max(x[..., 0::2, 0::2], x[..., 0::2, 1::2])
        bottom = self._max(x[..., 1::2, 0::2], x[..., 1::2, 1::2])
        return self._max(top, bottom).flatten(1)
