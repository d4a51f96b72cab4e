"""max(a, b) = b + relu(a − b), written as a ReLU network with fixed weights.

The zero-error reference for the learned nets: it runs through the same pipeline as a model
whose parameters do not train.
"""

from __future__ import annotations

import torch
from torch import nn

# hidden = relu(W1 @ (a, b)) = (relu(a − b), relu(b), relu(−b)); b = relu(b) − relu(−b) carries
# b through the ReLU whatever its sign (normalised inputs may be negative).
HIDDEN_WEIGHT = ((1.0, -1.0), (0.0, 1.0), (0.0, -1.0))
OUTPUT_WEIGHT = ((1.0, 1.0, -1.0),)


class ExactMax(nn.Module):
    """Linear(2→3) → ReLU → Linear(3→1), zero biases, weights frozen: (B, 2) → (B, 1).

    Exact for inputs of any sign and scale, so for every normalisation that applies one
    increasing affine map to a, b and the target alike (``max`` commutes with such maps).
    """

    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Linear(2, 3)
        self.output = nn.Linear(3, 1)
        with torch.no_grad():
            self.hidden.weight.copy_(torch.tensor(HIDDEN_WEIGHT))
            self.output.weight.copy_(torch.tensor(OUTPUT_WEIGHT))
            self.hidden.bias.zero_()
            self.output.bias.zero_()
        self.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(torch.relu(self.hidden(x)))
