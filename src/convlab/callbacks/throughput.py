"""Training speed per epoch: wall time and examples per second, validation excluded."""

from __future__ import annotations

import json
import time
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback


def _sync(pl_module: L.LightningModule) -> None:
    # CUDA kernels run asynchronously: without this the clock stops before the GPU does.
    if pl_module.device.type == "cuda":
        torch.cuda.synchronize(pl_module.device)


class Throughput(Callback):
    """Logs ``perf/epoch_time_s`` and ``perf/train_examples_per_s`` each epoch and, with ``path``,
    writes every epoch's figures there as JSON at the end of training.

    The clock runs from the epoch's first training batch to its end, paused while validation
    runs, so the figures compare with a plain training loop (D2L's "examples/sec"). Under DDP the
    examples of all ranks count.
    """

    def __init__(self, path: str | None = None) -> None:
        self.path = Path(path) if path else None
        self.epochs: list[dict[str, float]] = []
        self._started: float | None = None
        self._paused_at: float | None = None
        self._examples = 0

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        _sync(pl_module)
        self._started = time.perf_counter()
        self._examples = 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        self._examples += len(batch[0])

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._started is not None and not trainer.sanity_checking:
            _sync(pl_module)
            self._paused_at = time.perf_counter()

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._paused_at is not None and self._started is not None:
            self._started += time.perf_counter() - self._paused_at
            self._paused_at = None

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._started is None:
            return
        _sync(pl_module)
        elapsed = time.perf_counter() - self._started
        self._started = None
        examples = self._examples * trainer.world_size
        figures = {
            "epoch": trainer.current_epoch,
            "epoch_time_s": elapsed,
            "train_examples": examples,
            "train_examples_per_s": examples / elapsed if elapsed > 0 else float("nan"),
        }
        self.epochs.append(figures)
        pl_module.log("perf/epoch_time_s", elapsed, on_epoch=True)
        pl_module.log(
            "perf/train_examples_per_s", figures["train_examples_per_s"],
            on_epoch=True,
        )  # fmt: skip

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.path is None or not trainer.is_global_zero:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps({"epochs": self.epochs}, indent=2) + "\n")
