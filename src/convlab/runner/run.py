"""One run, top to bottom: config → data → seed → task → trainer → fit → test → ``metrics.json``.

``train`` and ``evaluate`` are the work that ``runner.job.run_job`` runs inside a job folder.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig

from convlab.callbacks.hparams import log_hparams_end, log_hparams_start
from convlab.errors import ConvlabError
from convlab.runner.build import (
    build_callbacks,
    build_datamodule,
    build_loggers,
    build_task,
    build_trainer,
)
from convlab.runner.check.checkpoint import checkpoint_mismatch
from convlab.runner.job import RunInterrupted
from convlab.runner.progress import (
    RunProgress,
    add_report,
    part_reports,
    progress_counts,
    run_report,
)
from convlab.runner.record import RunRecord
from convlab.runner.resume import checkpoint_to_resume, skip_or_resume

log = logging.getLogger("convlab")


def _overrides() -> list[str]:
    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def _final_metrics(trainer: L.Trainer, prefix: str) -> dict[str, float]:
    return {
        name.removesuffix("_epoch"): float(value)
        for name, value in trainer.callback_metrics.items()
        if name.startswith(prefix) and not name.endswith("_step")
    }


def _test_ckpt(cfg: DictConfig, trainer: L.Trainer) -> str | None:
    """``best`` by the monitored metric when there is one, else the weights in memory."""
    checkpoint = trainer.checkpoint_callback
    if cfg.get("test_ckpt", "best") == "best" and checkpoint and checkpoint.best_model_path:
        return "best"
    return None


def train(cfg: DictConfig) -> RunRecord:
    """Train, test and record one run; returns its record (an earlier one for a sweep job
    that already finished)."""
    if (earlier := skip_or_resume(cfg)) is not None:
        return RunRecord.from_json(earlier)
    if int(cfg.get("members") or 1) > 1:
        from convlab.members.run import train_members  # K seeds stacked in one process

        return train_members(cfg)
    started = time.perf_counter()
    datamodule = build_datamodule(cfg)  # bad or missing data fails here, before anything else
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)
    if cfg.get("torch_threads"):
        torch.set_num_threads(int(cfg.torch_threads))
    task = build_task(cfg, datamodule)
    loggers = build_loggers(cfg.get("logger"))
    callbacks = build_callbacks(cfg.get("callbacks"), has_logger=bool(loggers))
    parts = [datamodule, task, *callbacks]
    callbacks = [*callbacks, RunProgress(parts)]
    trainer = build_trainer(cfg, callbacks, loggers)
    log_hparams_start(trainer.loggers, cfg, task)

    record = RunRecord(status="completed", seed=cfg.get("seed"), overrides=_overrides())
    try:
        trainer.fit(task, datamodule=datamodule, ckpt_path=checkpoint_to_resume(cfg))
    except SIGTERMException:  # `kill` or a cluster's time limit: last.ckpt is saved
        record.status = "interrupted"
    add_report(record, run_report(trainer, parts))
    record.metrics = _final_metrics(trainer, "val/")
    if cfg.get("test", True) and record.status != "interrupted":
        trainer.test(task, datamodule=datamodule, ckpt_path=_test_ckpt(cfg, trainer))
        record.metrics.update(_final_metrics(trainer, "test/"))

    record.epochs, record.steps = progress_counts(trainer)
    if "stopped_at" in record.extras:  # the epoch in which Ctrl-C stopped it ran part-way
        record.epochs, record.steps = record.extras["stopped_at"]
    record.duration_s = round(time.perf_counter() - started, 3)
    log_hparams_end(trainer.loggers, record.status)
    if trainer.is_global_zero:
        record.write(cfg.paths.output_dir)
        log.info("metrics: %s", {k: round(v, 4) for k, v in record.metrics.items()})
    if record.status == "interrupted":  # after the record: stop this run (and a sweep)
        epoch, step = record.extras.get("stopped_at", (trainer.current_epoch, trainer.global_step))
        raise RunInterrupted(cfg.paths.output_dir, epoch, step)
    return record


def evaluate(cfg: DictConfig) -> RunRecord:
    """Test a checkpoint on the test split and record the result like a training run."""
    started = time.perf_counter()
    if not cfg.get("ckpt_path"):
        raise ConvlabError("eval.py needs ckpt_path=<path to a .ckpt file>")
    ckpt_path = Path(cfg.ckpt_path)
    if not ckpt_path.is_file():
        raise ConvlabError(f"ckpt_path={ckpt_path}: no such checkpoint file")
    if problem := checkpoint_mismatch(cfg, ckpt_path):
        raise ConvlabError(problem)
    datamodule = build_datamodule(cfg)
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)
    task = build_task(cfg, datamodule)
    trainer = build_trainer(cfg, [], build_loggers(cfg.get("logger")))
    trainer.test(task, datamodule=datamodule, ckpt_path=str(ckpt_path))
    record = RunRecord(
        status="completed", metrics=_final_metrics(trainer, "test/"), seed=cfg.get("seed"),
        ckpt_path=str(ckpt_path), duration_s=round(time.perf_counter() - started, 3),
        overrides=_overrides(),
    )  # fmt: skip
    add_report(record, part_reports([datamodule]))
    if trainer.is_global_zero:
        record.write(cfg.paths.output_dir)
    return record
