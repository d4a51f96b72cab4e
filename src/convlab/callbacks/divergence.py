"""A non-finite training loss ends the run as a result ("diverged"), not as a crash."""

import logging
import math
from typing import Any

import lightning as L
import torch

log = logging.getLogger(__name__)


class DivergenceGuard(L.Callback):
    """Stops training at the first NaN or infinite training loss; ``metrics.json`` records
    ``diverged_at_step``, the 0-based optimizer step (the first bad one of a grouped batch's
    losses). One warning line and exit 0, so a sweep goes on. Lightning honours
    ``trainer.min_epochs``/``min_steps`` over the stop: leave them unset to stop at once.

    On an accelerator a check per step would make the host wait for the device every step, so
    ``check_every_n_steps`` steps' losses are checked together (the step is still exact).
    """

    def __init__(self, check_every_n_steps: int = 50) -> None:
        if check_every_n_steps < 1:
            raise ValueError(f"check_every_n_steps must be >= 1, got {check_every_n_steps}")
        self.check_every_n_steps = check_every_n_steps
        self.diverged_at_step, self.bad_loss = None, None  # step (int), loss (float)
        self._pending: list[tuple[int, torch.Tensor]] = []

    def run_status(self) -> dict[str, Any] | None:
        if self.diverged_at_step is not None:
            return {"status": "diverged", "diverged_at_step": self.diverged_at_step}
        return None

    def on_train_batch_end(self, trainer: L.Trainer, pl_module, outputs, batch, batch_idx) -> None:
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs  # training_step's
        if not isinstance(loss, torch.Tensor) or self.diverged_at_step is not None:
            return
        # One loss per optimizer step of the batch, already counted in global_step.
        losses = loss.detach().reshape(-1)
        first_step = max(trainer.global_step - losses.numel(), 0)
        on_cpu = losses.device.type == "cpu"
        if on_cpu and trainer.world_size == 1 and losses.numel() == 1:
            value = losses.item()  # the common case, kept to one .item()
            if not math.isfinite(value):
                self._stop(trainer, first_step, value)
            return
        self._pending.append((first_step, losses))
        if on_cpu or sum(len(v) for _, v in self._pending) >= self.check_every_n_steps:
            self._check_pending(trainer)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module) -> None:
        self._check_pending(trainer)

    def _check_pending(self, trainer: L.Trainer) -> None:
        if not self._pending or self.diverged_at_step is not None:
            return
        losses = torch.cat([v.float() for _, v in self._pending])
        steps = torch.cat([torch.arange(s, s + len(v)) for s, v in self._pending])
        self._pending.clear()
        bad = ~torch.isfinite(losses)
        first_bad = int(bad.nonzero()[0, 0]) if bool(bad.any()) else None
        if trainer.world_size > 1:
            # Every rank must stop, or the others wait for it forever, and every rank names the
            # first bad step of any rank (with its loss), not a step of its own.
            mine = [math.inf, math.nan]  # (step, loss); no bad step here
            if first_bad is not None:
                mine = [float(steps[first_bad]), float(losses[first_bad])]
            mine = torch.tensor(mine, dtype=torch.float64, device=losses.device)
            ranks = trainer.strategy.all_gather(mine)  # (world_size, 2)
            first = ranks[int(ranks[:, 0].argmin())].tolist()
            if math.isfinite(first[0]):
                self._stop(trainer, int(first[0]), first[1])
            return
        if first_bad is not None:
            self._stop(trainer, int(steps[first_bad]), float(losses[first_bad]))

    def _stop(self, trainer: L.Trainer, step: int, value: float) -> None:
        self.diverged_at_step, self.bad_loss = step, value
        trainer.should_stop = True
        if trainer.is_global_zero:
            log.warning("diverged: training loss is %s at step %d; run stopped, recorded as "
                        "diverged", value, step)  # fmt: skip
