"""Time per epoch, under ``wall/``: TensorBoard orders its groups by name, and these come after
``test``, ``train`` and ``val``."""

import math
import time

import lightning as L
import torch


def _now(pl_module: L.LightningModule) -> float:
    # CUDA kernels run asynchronously: without a sync the clock stops before the GPU does.
    if pl_module.device.type == "cuda":
        torch.cuda.synchronize(pl_module.device)
    return time.perf_counter()


class EpochTimer(L.Callback):
    """Logs ``wall/epoch_s`` (validation included), ``wall/train_epoch_s`` and
    ``wall/train_examples_per_s`` (training only, all ranks, as D2L's "examples/sec");
    ``metrics.json``'s ``epoch_durations_s`` run from one epoch start to the next (all work)."""

    def __init__(self) -> None:
        self.durations, self.train_durations, self.examples_per_s = [], [], []  # per epoch
        self._started = self._whole_started = self._paused_at = None  # perf_counter times
        self._validation_s, self._examples = 0.0, 0  # a resumed epoch starts without the hook

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._close_epoch(pl_module)
        self._started = self._whole_started = _now(pl_module)
        self._validation_s, self._examples = 0.0, 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        parts = batch if isinstance(batch, list) else [batch]  # StepGroups: a list of batches
        # Leading axes of an input that count examples: 2 for stacked members, [K, B, ...].
        axes = getattr(pl_module, "example_axes", 1)
        self._examples += sum(math.prod(part[0].shape[:axes]) for part in parts)

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._started is not None and not trainer.sanity_checking:
            self._paused_at = _now(pl_module)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._paused_at is not None:
            self._validation_s += _now(pl_module) - self._paused_at
            self._paused_at = None

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._started is None:
            return
        # Lightning runs the epoch's validation inside the epoch, before this hook.
        elapsed = _now(pl_module) - self._started
        train_s = elapsed - self._validation_s
        self._started = None
        per_s = self._examples * trainer.world_size / train_s if train_s > 0 else float("nan")
        self.train_durations.append(train_s)
        self.examples_per_s.append(per_s)
        # Rank 0's clock: the ranks step in lock-step, so it is the run's (a synced log here
        # would be reduced when rank 0's progress bar reads it, and hang the other ranks).
        pl_module.log("wall/epoch_s", elapsed, on_epoch=True)
        pl_module.log("wall/train_epoch_s", train_s, on_epoch=True)
        pl_module.log("wall/train_examples_per_s", per_s, on_epoch=True)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._close_epoch(pl_module)

    def _close_epoch(self, pl_module: L.LightningModule) -> None:
        # Only an epoch that reached its end (an interrupted one has no train time either).
        if self._whole_started is not None and len(self.durations) < len(self.train_durations):
            self.durations.append(_now(pl_module) - self._whole_started)
        self._whole_started = None

    def state_dict(self) -> dict[str, list[float]]:
        # In a checkpoint, so a resumed run's record keeps every epoch: the one just trained
        # counts to now (the next epoch's start would close it).
        running = [time.perf_counter() - self._whole_started] if self._whole_started else []
        durations = self.durations + running[: len(self.train_durations) - len(self.durations)]
        return {"durations": durations, "train_durations": list(self.train_durations),
                "examples_per_s": list(self.examples_per_s)}  # fmt: skip

    def load_state_dict(self, state: dict[str, list[float]]) -> None:
        keys = ("durations", "train_durations", "examples_per_s")
        self.durations, self.train_durations, self.examples_per_s = (list(state[k]) for k in keys)

    def record_extras(self) -> dict[str, list[float]]:
        return {
            "epoch_durations_s": [round(d, 4) for d in self.durations],
            "epoch_train_s": [round(d, 4) for d in self.train_durations],
            "train_examples_per_s": [round(v, 1) for v in self.examples_per_s],
        }
