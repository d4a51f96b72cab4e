"""The gated net: a "which one is larger" classifier whose probabilities weight the inputs."""

import torch
from pydantic import NonNegativeInt, PositiveInt
from torch import nn

from convlab.models.mlp import MLP, Activation


class GatedMax(nn.Module):
    """``sum_i softmax(gate(x))_i * x_i``, ``gate`` an MLP: a confident gate selects the max; near
    a = b a soft one costs little. A convex combination, so it commutes with the shared affine
    normalisation. (B, in_features) → (B, 1).
    """

    def __init__(
        self,
        in_features: PositiveInt = 2,
        width: PositiveInt = 32,
        depth: NonNegativeInt = 1,
        activation: Activation = "relu",
    ) -> None:
        super().__init__()
        self.gate = MLP(in_features, in_features, width=width, depth=depth, activation=activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = torch.softmax(self.gate(x), dim=-1)
        return (weights * x).sum(dim=-1, keepdim=True)
