"""Each member's TensorBoard log in its own run folder, with the single run's tags at the
optimizer step (its curves sit next to single runs') and its HParams row.

It is the stacked run's logger: what the shared callbacks log (``lr``, epoch times, the step
axis) reaches each member still training, as it reaches a single run's log; the task writes the
per-member values (losses, metrics) itself.
"""

from collections.abc import Callable
from pathlib import Path

import torch
from lightning.pytorch.loggers import Logger
from lightning.pytorch.utilities import rank_zero_only
from torch.utils.tensorboard import SummaryWriter

from convlab.callbacks.hparams import add_summaries, session_end_summary, session_start


class MemberWriters(Logger):
    def __init__(self, dirs: list[Path], reporting: Callable[[], torch.Tensor]) -> None:
        """``reporting()``: ``[K]`` bool, the members whose single run would still log now."""
        super().__init__()
        self.writers = [SummaryWriter(str(d)) for d in dirs]
        self.reporting = reporting

    @property
    def name(self) -> None:
        return None

    @property
    def version(self) -> None:  # no version number in the progress bar
        return None

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        every = {name: torch.full((len(self.writers),), float(v)) for name, v in metrics.items()}
        self.scalars(every, step, self.reporting())

    @rank_zero_only
    def log_hyperparams(self, params, *args, **kwargs) -> None:
        """Each member's HParams row comes from ``hparams_start``, with its own seed."""

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
