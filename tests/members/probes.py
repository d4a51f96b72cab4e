"""Callbacks the members tests inject into real runs (``+callbacks.<name>=...``)."""

from __future__ import annotations

import torch
from lightning.pytorch.callbacks import Callback


class RecordLosses(Callback):
    """Save every optimizer step's training loss to ``path``: ``[steps]`` for a single run,
    ``[steps, K]`` for a stacked one (what ``training_step`` returns, batch after batch)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.losses: list[torch.Tensor] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if isinstance(outputs, dict):  # Lightning hands a returned tensor on as {"loss": ...}
            outputs = outputs["loss"]
        self.losses.append(outputs.detach().cpu())

    def on_train_end(self, trainer, pl_module) -> None:
        torch.save(torch.cat(self.losses), self.path)


class PoisonMember(Callback):
    """Make member ``member``'s weights NaN as optimizer step ``step`` starts: its loss turns
    NaN there; the other members must not notice."""

    def __init__(self, step: int, member: int) -> None:
        self.step, self.member = step, member

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == self.step:
            with torch.no_grad():
                next(pl_module.net.parameters())[self.member].fill_(float("nan"))
