"""max(a, b) = b + relu(a − b) as a ReLU net with fixed weights: the learned nets' zero-error
reference, run through the same pipeline."""

import torch
from torch import nn

# hidden = relu(W1 @ (a, b)) = (relu(a − b), relu(b), relu(−b)); b = relu(b) − relu(−b) carries
# b through the ReLU whatever its sign (normalised inputs may be negative).
HIDDEN_WEIGHT = ((1.0, -1.0), (0.0, 1.0), (0.0, -1.0))
OUTPUT_WEIGHT = ((1.0, 1.0, -1.0),)


class ExactMax(nn.Module):
    """Linear(2→3) → ReLU → Linear(3→1), zero biases, frozen; exact for inputs of any sign."""

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
