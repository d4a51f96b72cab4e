"""What a run's record needs from training, in a form that survives ``ddp_spawn``.

Under a spawn strategy the workers train, and the main process keeps its own, untrained copies
of the trainer, callbacks and data module: ``global_step == 0``, no divergence seen, no epoch
timed. Only ``callback_metrics`` travel back (from rank 0). So the counts are logged as metrics
(not to the loggers), and at the end of fit the parts' status and extras (``run_status``,
``record_extras``) are put there too; the record reads them whatever the strategy.
"""

from __future__ import annotations

from typing import Any

import lightning as L

from convlab.runner.record import RunRecord

STEPS_KEY, EPOCHS_KEY = "progress/steps", "progress/epochs"
REPORT_KEY = "progress/report"


def part_reports(parts: list[Any]) -> dict[str, Any]:
    """``{"status": {...} | None, "extras": {...}}`` from the parts that have a say: a status
    (``run_status``: divergence, Ctrl-C) and values for metrics.json (``record_extras``)."""
    status, extras = None, {}
    for part in parts:
        if found := getattr(part, "run_status", lambda: None)():
            status = dict(found)
        if hasattr(part, "record_extras"):
            extras.update(part.record_extras())
    return {"status": status, "extras": extras}


class RunProgress(L.Callback):
    def __init__(self, parts: list[Any] | None = None) -> None:
        self.parts = parts or []

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        pl_module.log(STEPS_KEY, float(trainer.global_step), logger=False, sync_dist=False)
        pl_module.log(EPOCHS_KEY, float(trainer.current_epoch + 1), logger=False, sync_dist=False)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Where training ran (a spawned worker): the only channel back is callback_metrics.
        if self.parts:
            trainer.callback_metrics[REPORT_KEY] = part_reports(self.parts)


def add_report(record: RunRecord, report: dict[str, Any]) -> None:
    """Into the record: the status (divergence, Ctrl-C) and the values for metrics.json (epoch
    times, the learned kernel, ...)."""
    if status := report["status"]:
        record.status = status.pop("status")
        record.extras.update(status)
    record.extras.update(report["extras"])


def run_report(trainer: L.Trainer, parts: list[Any]) -> dict[str, Any]:
    """The report of the process that trained: sent back by ``RunProgress`` at the end of fit,
    or, where fit ended early (Ctrl-C, SIGTERM), read from the parts here."""
    return trainer.callback_metrics.pop(REPORT_KEY, None) or part_reports(parts)


def progress_counts(trainer: L.Trainer) -> tuple[int, int]:
    """(epochs, steps): the trainer's own counts, or the logged ones where those stayed 0."""
    steps, epochs = trainer.global_step, trainer.current_epoch
    logged = trainer.callback_metrics
    if steps == 0 and STEPS_KEY in logged:
        steps = int(logged[STEPS_KEY])
    if epochs == 0 and EPOCHS_KEY in logged:
        epochs = int(logged[EPOCHS_KEY])
    return epochs, steps
