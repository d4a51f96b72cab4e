"""Each member's TensorBoard log, in its own run folder: scalars and its HParams row.

The tags are the single run's (``train/loss``, ``val/mae``, ``test/mae``, ``lr``, ...) at the
optimizer step, so a member's curves sit next to single runs' in TensorBoard.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.tensorboard import SummaryWriter

from convlab.callbacks.hparams import add_summaries, session_end_summary, session_start


class MemberWriters:
    def __init__(self, dirs: list[Path]) -> None:
        self.writers = [SummaryWriter(str(d)) for d in dirs]

    def scalars(self, values: dict[str, torch.Tensor], step: int, members: torch.Tensor) -> None:
        """``values``: name → ``[K]``; only the members marked in ``members`` get a point."""
        plain = {name: value.tolist() for name, value in values.items()}
        for k in members.nonzero().flatten().tolist():
            for name, value in plain.items():
                self.writers[k].add_scalar(name, value[k], step)

    def hparams_start(self, cfgs: list, task, domains: dict) -> None:
        """One HParams session per member, with its own config (its seed)."""
        for writer, cfg in zip(self.writers, cfgs, strict=True):
            add_summaries(writer, *session_start(cfg, domains, task)[0])

    def close(self, statuses: list[str]) -> None:
        for writer, status in zip(self.writers, statuses, strict=True):
            add_summaries(writer, session_end_summary(status))
            writer.close()
