"""Wall time per training epoch (validation included), logged as ``time/epoch_s``."""

from __future__ import annotations

import time

import lightning as L


class EpochTimer(L.Callback):
    """Records each epoch's duration in ``durations`` and logs it when a logger is attached."""

    def __init__(self) -> None:
        self.durations: list[float] = []
        self._started: float | None = None

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._started = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._started is None:
            return
        self.durations.append(time.perf_counter() - self._started)
        pl_module.log("time/epoch_s", self.durations[-1], on_epoch=True, on_step=False)

    def record_extras(self) -> dict[str, list[float]]:
        return {"epoch_durations_s": [round(d, 4) for d in self.durations]}
