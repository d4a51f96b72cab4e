"""One run: config → data → seed → task → trainer → fit → test → ``metrics.json``.

``train`` and ``evaluate`` are the work ``job.run_job`` runs in a job folder; ``fit_and_record``
is what every training run shares once its objects are built (``convlab.members`` uses it too).
"""

import inspect
import logging
import time
from collections.abc import Callable
from typing import Any

import lightning as L
import torch
from hydra.errors import InstantiationException
from hydra.utils import get_class, instantiate
from lightning.pytorch.callbacks import Callback, LearningRateMonitor
from lightning.pytorch.loggers import Logger
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig

from convlab.callbacks.hparams import log_hparams_end, log_hparams_start
from convlab.errors import ConvlabError
from convlab.models.data_fit import check_net_fits_data
from convlab.record import RunRecord, first_line
from convlab.runner.job import RunInterrupted
from convlab.runner.overrides import job_overrides, sweep_domains
from convlab.runner.resume import checked_ckpt_path

log = logging.getLogger("convlab")


def build(key: str, node: DictConfig, **kwargs: Any) -> Any:
    """``instantiate(node)``; a value its class refuses (Lightning parses ``max_time``,
    ``precision``, ...) is one line naming the config key, with the library's reason."""
    try:
        return instantiate(node, **kwargs)
    except InstantiationException as error:
        cause = error.__cause__ or error
        said = str(cause) if isinstance(cause, ConvlabError) else f"{key}: {first_line(cause)}"
        raise ConvlabError(said) from error


def build_datamodule(cfg: DictConfig) -> L.LightningDataModule:
    datamodule: L.LightningDataModule = build("data", cfg.data)
    datamodule.prepare_data()  # locates and checks the files; keeps no state
    return datamodule


def build_trainer(cfg: DictConfig, callbacks: list[Callback], loggers: list[Logger]) -> L.Trainer:
    return build("trainer", cfg.trainer, callbacks=callbacks, logger=loggers or False)


def build_callbacks(cfg: DictConfig | None, has_logger: bool) -> list[Callback]:
    callbacks: list[Callback] = []
    for name, spec in (cfg or {}).items():
        callback = build(f"callbacks.{name}", spec) if spec is not None else None
        if isinstance(callback, LearningRateMonitor) and not has_logger:
            log.info("callbacks.%s skipped: it needs a logger and logger is none", name)
        elif callback is not None:
            callbacks.append(callback)
    return callbacks


def build_loggers(cfg: DictConfig | None) -> list[Logger]:
    return [build(f"logger.{name}", spec) for name, spec in (cfg or {}).items() if spec is not None]


def build_task(cfg: DictConfig, datamodule: L.LightningDataModule) -> L.LightningModule:
    """net from ``model``, optimizer/scheduler factories, facts about the data for the task."""
    kwargs = {"net": build("model", cfg.model), "optimizer": build("optimizer", cfg.optimizer)}
    if cfg.get("scheduler"):
        kwargs["scheduler"] = build("scheduler", cfg.scheduler)
    facts = datamodule.task_facts() if hasattr(datamodule, "task_facts") else {}
    accepted = inspect.signature(get_class(cfg.task._target_).__init__).parameters
    kwargs |= {k: v for k, v in facts.items() if k in accepted and k not in cfg.task}
    # Plain lists/dicts, not ListConfig: the task's hparams go into every checkpoint, and
    # torch.load(weights_only=True) (resume, test on "best", eval.py) rejects OmegaConf objects.
    return build("task", cfg.task, _convert_="all", **kwargs)


# Under ddp_spawn the main process keeps untrained copies of the trainer and parts; only
# callback_metrics travel back from rank 0, so the counts and the parts' reports go there.
STEPS_KEY, EPOCHS_KEY, REPORT_KEY = "progress/steps", "progress/epochs", "progress/report"
RUN_KEY = "convlab_run"  # RunProgress's entry in a checkpoint


def part_reports(parts: list[Any]) -> dict[str, Any]:
    """The parts' ``run_status`` (divergence, Ctrl-C) and ``record_extras`` for metrics.json."""
    status, extras = None, {}
    for part in parts:
        if found := getattr(part, "run_status", lambda: None)():
            status = dict(found)
        if hasattr(part, "record_extras"):
            extras.update(part.record_extras())
    return {"status": status, "extras": extras}


class RunProgress(L.Callback):
    """The counts and the parts' reports where training ran (ddp_spawn); and, in checkpoints,
    what a resumed run's record keeps of the run before it: its time and val metrics (a fit
    with no epoch left to run logs none)."""

    def __init__(self, parts: list[Any] | None = None, started: float | None = None) -> None:
        self.parts, self.started = parts or [], started or time.perf_counter()
        self.earlier = {"seconds": 0.0, "val": {}}

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        pl_module.log(STEPS_KEY, float(trainer.global_step), logger=False, sync_dist=False)
        pl_module.log(EPOCHS_KEY, float(trainer.current_epoch + 1), logger=False, sync_dist=False)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.parts:  # where training ran (a spawned worker): the only channel back
            trainer.callback_metrics[REPORT_KEY] = part_reports(self.parts)

    def seconds(self) -> float:
        return self.earlier["seconds"] + time.perf_counter() - self.started

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule,
                           checkpoint: dict[str, Any]) -> None:  # fmt: skip
        val = final_metrics(trainer, "val/") or self.earlier["val"]
        checkpoint[RUN_KEY] = {"seconds": self.seconds(), "val": val}

    def on_load_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule,
                           checkpoint: dict[str, Any]) -> None:  # fmt: skip
        self.earlier = checkpoint.get(RUN_KEY, self.earlier)


def add_report(record: RunRecord, report: dict[str, Any]) -> None:
    if status := report["status"]:
        record.status = status.pop("status")
        record.extras.update(status)
    record.extras.update(report["extras"])


def final_metrics(trainer: L.Trainer, prefix: str) -> dict[str, float]:
    return {
        name.removesuffix("_epoch"): float(value)
        for name, value in trainer.callback_metrics.items()
        if name.startswith(prefix) and not name.endswith("_step")
    }


def fit_and_record(
    cfg: DictConfig,
    trainer: L.Trainer,
    task: L.LightningModule,
    data: L.LightningDataModule,
    parts: list[Any],
    test: Callable[[], Any],
    before_write: Callable[[RunRecord], None] | None = None,
) -> RunRecord:
    """Fit (SIGTERM stops it with last.ckpt saved), ``test()`` unless stopped, ``metrics.json``
    on rank 0; then ``RunInterrupted`` if it was stopped."""
    record = RunRecord(status="completed", seed=cfg.get("seed"), overrides=job_overrides())
    try:
        trainer.fit(task, datamodule=data, ckpt_path=checked_ckpt_path(cfg))
    except SIGTERMException:
        record.status = "interrupted"
    add_report(record, trainer.callback_metrics.pop(REPORT_KEY, None) or part_reports(parts))
    progress = next(c for c in trainer.callbacks if isinstance(c, RunProgress))
    record.metrics = final_metrics(trainer, "val/") or dict(progress.earlier["val"])
    if cfg.get("test", True) and record.status != "interrupted":
        test()
        record.metrics.update(final_metrics(trainer, "test/"))
    # The epoch in which Ctrl-C stopped it ran part-way; where the trainer's counts stayed 0
    # (ddp_spawn's main process), the logged ones.
    logged = trainer.callback_metrics
    record.epochs, record.steps = record.extras.get("stopped_at") or (
        trainer.current_epoch or int(logged.get(EPOCHS_KEY, 0)),
        trainer.global_step or int(logged.get(STEPS_KEY, 0)))  # fmt: skip
    record.duration_s = round(progress.seconds(), 3)
    if before_write is not None:
        before_write(record)
    log_hparams_end(trainer.loggers, record.status)
    if trainer.is_global_zero:
        record.write(cfg.paths.output_dir)
        if record.metrics:
            log.info("metrics: %s", {k: round(v, 4) for k, v in record.metrics.items()})
    if record.status == "interrupted":  # after the record: stop this run (and a sweep)
        epoch, step = record.extras.get("stopped_at", (trainer.current_epoch, trainer.global_step))
        raise RunInterrupted(cfg.paths.output_dir, epoch, step)
    return record


def train(cfg: DictConfig) -> RunRecord:
    started = time.perf_counter()
    datamodule = build_datamodule(cfg)  # bad or missing data fails here, before anything else
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)
    if cfg.get("torch_threads"):
        torch.set_num_threads(int(cfg.torch_threads))
    task = build_task(cfg, datamodule)
    check_net_fits_data(cfg, task, datamodule)  # a mismatch in one line, before training
    loggers = build_loggers(cfg.get("logger"))
    callbacks = build_callbacks(cfg.get("callbacks"), has_logger=bool(loggers))
    parts = [datamodule, task, *callbacks]
    trainer = build_trainer(cfg, [*callbacks, RunProgress(parts, started)], loggers)
    log_hparams_start(trainer.loggers, cfg, sweep_domains(), task)

    def test() -> None:  # on the best checkpoint by the monitored metric, else the weights
        best = cfg.get("test_ckpt", "best") == "best" and trainer.checkpoint_callback
        best = best and trainer.checkpoint_callback.best_model_path
        trainer.test(task, datamodule=datamodule, ckpt_path="best" if best else None)

    return fit_and_record(cfg, trainer, task, datamodule, parts, test)


def evaluate(cfg: DictConfig) -> RunRecord:
    """Test a checkpoint on the test split and record the result like a training run."""
    started = time.perf_counter()
    ckpt_path = checked_ckpt_path(cfg, evaluating=True)
    datamodule = build_datamodule(cfg)
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)
    task = build_task(cfg, datamodule)
    trainer = build_trainer(cfg, [], build_loggers(cfg.get("logger")))
    try:
        trainer.test(task, datamodule=datamodule, ckpt_path=ckpt_path)
    except RuntimeError as error:  # no run folder said which network it is: its weights do
        if "loading state_dict" not in str(error):
            raise
        detail = next((line.strip() for line in str(error).splitlines()[1:] if line.strip()), "")
        raise ConvlabError(
            f"ckpt_path={ckpt_path}: its weights do not fit the model given ({detail}). Pass the "
            "experiment and model it was trained with."
        ) from error
    record = RunRecord(
        status="completed", metrics=final_metrics(trainer, "test/"), seed=cfg.get("seed"),
        ckpt_path=ckpt_path, duration_s=round(time.perf_counter() - started, 3),
        overrides=job_overrides(),
    )  # fmt: skip
    add_report(record, part_reports([datamodule]))
    if trainer.is_global_zero:
        record.write(cfg.paths.output_dir)
    return record
