"""Candidates for max pooling as a layer: ``(B, C, H, W)`` → ``(B, C * H/2 * W/2)``, one value
per 2x2 stride-2 window (a single patch gives ``(B, 1)``, a regression target)."""

import torch
from pydantic import PositiveInt
from torch import nn

from convlab.models.exact import ExactMax


class PatchLinear(nn.Module):
    """All-CNN's learnable pooling: linear in the window, so its best fit leaves an error floor."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.Conv2d(1, 1, kernel_size=2, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x).flatten(1)


class PatchReLU(nn.Module):
    """``Conv2d(1, width, 2, stride=2)`` → (ReLU → 1x1 conv) × ``depth``, the last to 1 channel:
    one ReLU layer approximates the max, two can represent it."""

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
    """max(max(a, b), max(c, d)) with ``ExactMax`` twice: a fixed ReLU net, nothing trains."""

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
