"""An MLP with skip connections, sized to the plain MLP it is compared with."""

import torch
from pydantic import NonNegativeInt, PositiveInt
from torch import nn

from convlab.models.mlp import MLP, Activation, activation_layer


class ResidualBlock(nn.Module):
    """``x + W2 act(W1 act(x))``, the pre-activation block of He et al. (2016)."""

    def __init__(self, width: int, activation: Activation = "relu") -> None:
        super().__init__()
        self.branch = nn.Sequential(
            activation_layer(activation),
            nn.Linear(width, width),
            activation_layer(activation),
            nn.Linear(width, width),
        )

    @property
    def last(self) -> nn.Linear:
        return self.branch[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.branch(x)


def residual_parameters(in_features: int, out_features: int, width: int, blocks: int) -> int:
    stem = (in_features + 1) * width
    head = (width + 1) * out_features
    return stem + blocks * 2 * (width + 1) * width + head


def matched_width(
    in_features: int, out_features: int, plain_width: int, plain_depth: int, blocks: int
) -> int:
    """The block width closest in parameter count to the plain MLP (the smaller on a tie)."""
    plain = MLP(in_features, out_features, plain_width, plain_depth)
    target = sum(p.numel() for p in plain.parameters())

    def distance(width: int) -> int:
        return abs(residual_parameters(in_features, out_features, width, blocks) - target)

    width = 1  # the count grows with the width: stop at the last width not above the target
    while residual_parameters(in_features, out_features, width + 1, blocks) <= target:
        width += 1
    return min((width, width + 1), key=distance)


class ResidualMLP(nn.Module):
    """Linear stem → ``blocks`` residual blocks → activation → linear head.

    ``match_plain``: ``width`` and ``depth`` describe the plain ``MLP`` compared with, and the
    blocks take the width of about its parameter count (2-64-64-1, 4,417 → one block of 46,
    4,509); otherwise ``width`` is the blocks' own and ``depth`` is ignored.
    """

    def __init__(
        self,
        in_features: PositiveInt = 2,
        out_features: PositiveInt = 1,
        width: PositiveInt = 64,
        depth: NonNegativeInt = 2,
        blocks: NonNegativeInt = 1,
        activation: Activation = "relu",
        match_plain: bool = True,
    ) -> None:
        super().__init__()
        if match_plain:
            width = matched_width(in_features, out_features, width, depth, blocks)
        self.width = width
        self.stem = nn.Linear(in_features, width)
        self.blocks = nn.Sequential(*(ResidualBlock(width, activation) for _ in range(blocks)))
        self.head = nn.Sequential(activation_layer(activation), nn.Linear(width, out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))
