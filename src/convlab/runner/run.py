"""One run: config → seed → objects → fit → test → ``metrics.json``."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig

from convlab.callbacks.hparams import log_hparams_end, log_hparams_start
from convlab.runner.build import build_callbacks, build_loggers, build_task
from convlab.runner.check import validate_config
from convlab.runner.progress import RunProgress, progress_counts
from convlab.runner.record import write_record
from convlab.runner.resume import fit, stop_if_interrupted
from convlab.runner.sweep_jobs import skip_or_resume

log = logging.getLogger(__name__)


def hydra_overrides() -> list[str]:
    """The command-line overrides of this job (empty outside a Hydra app)."""
    if HydraConfig.initialized():
        return list(HydraConfig.get().overrides.task)
    return []


def _final_metrics(trainer: L.Trainer, prefixes: tuple[str, ...]) -> dict[str, float]:
    metrics = {}
    for name, value in trainer.callback_metrics.items():
        if name.startswith(prefixes) and not name.endswith("_step"):
            metrics[name.removesuffix("_epoch")] = float(value)
    return metrics


def _test_ckpt(cfg: DictConfig, trainer: L.Trainer) -> str | None:
    choice = cfg.get("test_ckpt", "best")
    checkpoint = trainer.checkpoint_callback
    if choice == "best" and checkpoint is not None and checkpoint.best_model_path:
        return "best"
    if choice == "last" or choice == "best":
        return None  # the weights in memory are those of the last step
    raise ValueError(f"test_ckpt must be 'best' or 'last', got {choice!r}")


def _status_from_callbacks(callbacks) -> dict[str, Any]:
    """A callback with ``run_status()`` (e.g. a divergence guard) may override the status.

    ``run_status()`` returns ``None`` or a dict such as
    ``{"status": "diverged", "diverged_at_step": 12}``.
    """
    for callback in callbacks:
        status = getattr(callback, "run_status", lambda: None)()
        if status:
            return status
    return {}


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train, test and record one run. Returns the record written to ``metrics.json``."""
    validate_config(cfg)  # one clear message for a typo or a bad value, before anything is built
    if (earlier := skip_or_resume(cfg)) is not None:  # a re-run sweep keeps finished jobs
        return earlier
    started = time.perf_counter()
    output_dir = Path(cfg.paths.output_dir)
    datamodule: L.LightningDataModule = instantiate(cfg.data)
    datamodule.prepare_data()  # bad or missing data fails here, before anything is built
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)
    if cfg.get("torch_threads"):
        torch.set_num_threads(int(cfg.torch_threads))
    task = build_task(cfg, datamodule)
    loggers = build_loggers(cfg.get("logger"))
    callbacks = build_callbacks(cfg.get("callbacks"), has_logger=bool(loggers))
    callbacks.append(RunProgress())
    trainer: L.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)

    log_hparams_start(trainer.loggers, cfg)

    fit(trainer, task, datamodule, cfg)  # resumes from cfg.ckpt_path; returns on Ctrl-C
    metrics = _final_metrics(trainer, ("val/",))
    if cfg.get("test", True) and not trainer.interrupted:
        trainer.test(task, datamodule=datamodule, ckpt_path=_test_ckpt(cfg, trainer))
        metrics.update(_final_metrics(trainer, ("test/",)))

    epochs, steps = progress_counts(trainer)
    record = {
        "status": "interrupted" if trainer.interrupted else "completed",
        "metrics": metrics,
        "seed": cfg.get("seed"),
        "epochs": epochs,
        "steps": steps,
        "duration_s": round(time.perf_counter() - started, 3),
        "overrides": hydra_overrides(),
    }
    record.update(_status_from_callbacks(callbacks))
    for part in (task, *callbacks):  # e.g. the learned kernel, the epoch times
        if hasattr(part, "record_extras"):
            record.update(part.record_extras())
    log_hparams_end(trainer.loggers, record["status"])
    if trainer.is_global_zero:
        write_record(output_dir, record)
        log.info("metrics: %s", {k: round(v, 4) for k, v in metrics.items()})
    stop_if_interrupted(trainer, output_dir)  # after the record: stop this run (and a sweep)
    return record


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Test a checkpoint on the test split and record the result like a training run."""
    validate_config(cfg)
    started = time.perf_counter()
    if not cfg.get("ckpt_path"):
        from convlab.errors import ConvlabError

        raise ConvlabError("eval.py needs ckpt_path=<path to a .ckpt file>")
    ckpt_path = Path(cfg.ckpt_path)
    if not ckpt_path.is_file():
        from convlab.errors import ConvlabError

        raise ConvlabError(f"ckpt_path={ckpt_path}: no such checkpoint file")
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)
    datamodule: L.LightningDataModule = instantiate(cfg.data)
    datamodule.prepare_data()
    task = build_task(cfg, datamodule)
    loggers = build_loggers(cfg.get("logger"))
    trainer: L.Trainer = instantiate(cfg.trainer, logger=loggers or False, callbacks=[])
    trainer.test(task, datamodule=datamodule, ckpt_path=str(ckpt_path))
    record = {
        "status": "completed",
        "metrics": _final_metrics(trainer, ("test/",)),
        "seed": cfg.get("seed"),
        "ckpt_path": str(ckpt_path),
        "epochs": None,
        "steps": None,
        "duration_s": round(time.perf_counter() - started, 3),
        "overrides": hydra_overrides(),
    }
    if trainer.is_global_zero:
        write_record(cfg.paths.output_dir, record)
    return record
