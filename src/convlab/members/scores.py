"""Per-member losses and metrics, each a ``[K]`` tensor whose entry k comes from member k's
outputs alone, as its single run computes it (a mean over members would mix the runs)."""

from collections import defaultdict

import torch
from torch.nn import functional as F


def member_losses(kind: str, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``[K]``: each member's mean loss over its batch (the single run's ``compute_loss``)."""
    if kind == "regression":
        return (output - target).square().flatten(1).mean(dim=1)
    members, batch = output.shape[:2]
    losses = F.cross_entropy(output.flatten(0, 1), target.flatten(), reduction="none")
    return losses.view(members, batch).mean(dim=1)


def objective(losses: torch.Tensor) -> torch.Tensor:
    """What backward sees: the sum of the members' losses, so member k's gradient is exactly
    its own loss's gradient (a mean would scale every gradient by 1/K)."""
    return losses.sum()


class MemberSums:
    """Per-member sums over an epoch; regression ``mae``/``mse`` in the data's original units
    (``scale``), ``loss`` in the net's."""

    def __init__(self, kind: str, scale: float = 1.0) -> None:
        self.kind, self.scale = kind, scale
        self.names = ("mae", "mse", "loss") if kind == "regression" else ("acc", "loss")
        self.reset()

    def reset(self) -> None:
        self.sums: defaultdict[str, torch.Tensor | int] = defaultdict(int)
        self.count = 0

    def update(self, output: torch.Tensor, target: torch.Tensor) -> None:
        batch = output.shape[1]
        losses = member_losses(self.kind, output, target).detach()
        self.sums["loss"] += losses * batch
        if self.kind == "regression":
            error = (output - target).detach().flatten(1) * self.scale
            self.sums["mae"] += error.abs().sum(dim=1)
            self.sums["mse"] += error.square().sum(dim=1)
        else:
            correct = (output.argmax(dim=-1) == target).sum(dim=1)
            self.sums["acc"] += correct.to(losses.dtype)
        self.count += batch

    def compute(self) -> dict[str, torch.Tensor]:
        return {name: self.sums[name] / self.count for name in self.names if name in self.sums}
