"""Each member's TensorBoard log in its own run folder, with the single run's tags at the
optimizer step (its curves sit next to single runs') and its HParams row."""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.tensorboard import SummaryWriter

from convlab.callbacks.hparams import add_summaries, session_end_summary, session_start


class MemberWriters:
    def __init__(self, dirs: list[Path]) -> None:
        self.writers = [SummaryWriter(str(d)) for d in dirs]

    def scalars(self, values: dict, step: int, members: torch.Tensor, prefix: str = "") -> None:
        """``values``: name → ``[K]``; a point for each member marked in ``members``."""
        plain = {prefix + name: value.tolist() for name, value in values.items()}
        for k in members.nonzero().flatten().tolist():
            for name, value in plain.items():
                self.writers[k].add_scalar(name, value[k], step)

    def hparams_start(self, cfgs: list, task, domains: dict) -> None:
        for writer, cfg in zip(self.writers, cfgs, strict=True):  # each its own seed
            add_summaries(writer, *session_start(cfg, domains, task)[0])

    def close(self, statuses: list[str]) -> None:
        for writer, status in zip(self.writers, statuses, strict=True):
            add_summaries(writer, session_end_summary(status))
            writer.close()
