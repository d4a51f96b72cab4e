"""A plain multilayer perceptron, the learnable candidate for max(a, b)."""

from typing import Literal

from pydantic import NonNegativeInt, PositiveInt
from torch import nn

Activation = Literal["relu", "leaky_relu", "gelu", "tanh", "sigmoid"]
ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}


def activation_layer(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]()


class MLP(nn.Module):
    """``depth`` hidden layers of ``width`` units, each then ``activation`` (0: one linear)."""

    def __init__(
        self,
        in_features: PositiveInt = 2,
        out_features: PositiveInt = 1,
        width: PositiveInt = 64,
        depth: NonNegativeInt = 2,
        activation: Activation = "relu",
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        features = in_features
        for _ in range(depth):
            layers += [nn.Linear(features, width), activation_layer(activation)]
            features = width
        layers.append(nn.Linear(features, out_features))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)
