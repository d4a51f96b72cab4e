"""A stacked run: ``members=K`` trains seeds ``seed … seed+K-1`` in one process.

The run folder holds what resumes it and a ``metrics.json`` naming its members; each member gets
a run folder of its own, ``<run dir>/seed=<s>/`` (record, scalars, HParams row), so the report,
the study and a re-run sweep see K runs.
"""

import logging
import math
import time
from pathlib import Path

import lightning as L
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from convlab.members.data import MemberData
from convlab.members.stacked import build_stacked
from convlab.members.task import MembersTask
from convlab.members.writers import MemberWriters
from convlab.record import RunRecord
from convlab.runner.overrides import split_override, sweep_domains
from convlab.runner.run import (
    RunProgress,
    build_callbacks,
    build_datamodule,
    build_trainer,
    fit_and_record,
)

log = logging.getLogger("convlab")
# Callbacks a stacked run does itself, per member.
PER_MEMBER = ("divergence",)


def member_config(cfg: DictConfig, seed: int) -> DictConfig:
    member = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))
    with open_dict(member):
        member.seed, member.members = seed, 1
    return member


def member_overrides(overrides: list[str], seed: int) -> list[str]:
    kept = [o for o in overrides if split_override(o)[0] not in ("members", "seed")]
    return [*kept, f"seed={seed}"]


def _callbacks(cfg: DictConfig, has_logger: bool) -> list:
    """The run's callbacks minus the per-member ones; last.ckpt without a monitor (each member
    keeps its own best)."""
    spec = OmegaConf.to_container(cfg.get("callbacks") or {}, resolve=True)
    for name in PER_MEMBER:
        spec.pop(name, None)
    if spec.get("model_checkpoint"):
        spec["model_checkpoint"]["monitor"] = None
    return build_callbacks(OmegaConf.create(spec), has_logger=has_logger)


def build_members_task(cfg: DictConfig, datamodule: L.LightningDataModule) -> MembersTask:
    """Member k starts from the weights its single run builds right after seeding."""
    seeds = [int(cfg.seed) + k for k in range(int(cfg.members))]
    net = build_stacked(lambda: instantiate(cfg.model), seeds)
    facts = datamodule.task_facts()
    scheduler = instantiate(cfg.scheduler) if cfg.get("scheduler") else None
    return MembersTask(
        net, optimizer=instantiate(cfg.optimizer), seeds=seeds,
        kind=datamodule.hparams.target, target_scale=facts.get("target_scale", 1.0),
        monitor=cfg.monitor.metric, mode=cfg.monitor.mode, scheduler=scheduler,
    )  # fmt: skip


def train_members(cfg: DictConfig) -> RunRecord:
    started = time.perf_counter()
    datamodule = build_datamodule(cfg)
    if cfg.get("torch_threads"):
        torch.set_num_threads(int(cfg.torch_threads))
    task = build_members_task(cfg, datamodule)
    seeds, out = task.seeds, Path(cfg.paths.output_dir)
    dirs = [out / f"seed={seed}" for seed in seeds]
    # A TensorBoard log and HParams row per member (none under fast_dev_run, as for a single run).
    loggers = []
    if not cfg.trainer.get("fast_dev_run"):
        task.writers = MemberWriters(dirs, task.reporting)
        configs = [member_config(cfg, seed) for seed in seeds]
        task.writers.hparams_start(configs, task, sweep_domains())
        loggers.append(task.writers)
    callbacks = _callbacks(cfg, has_logger=bool(loggers))
    trainer = build_trainer(cfg, [*callbacks, RunProgress(started=started)], loggers)
    data = MemberData(datamodule, seeds)

    def test() -> None:
        if cfg.get("test_ckpt", "best") == "best":
            task.use_best_weights()
        trainer.test(task, datamodule=data)

    def write_members(record: RunRecord) -> None:
        statuses = _write_members(cfg, task, record, dirs, trainer)
        if task.writers is not None:
            task.writers.close(statuses)
        if record.status == "completed" and all(s == "diverged" for s in statuses):
            record.status = "diverged"
        record.extras["members"] = [d.name for d in dirs]

    return fit_and_record(cfg, trainer, task, data, [data, *callbacks], test, write_members)


def _write_members(cfg, task: MembersTask, record: RunRecord, dirs, trainer) -> list[str]:
    """Each member's ``metrics.json``; returns their statuses."""
    statuses = []
    steps_per_epoch = max(1, math.ceil(cfg.data.n_train / cfg.data.batch_size))
    group = int(cfg.data.get("steps_per_batch") or 1)
    for k, (seed, directory) in enumerate(zip(task.seeds, dirs, strict=True)):
        step = int(task.diverged_at[k])
        status = {"status": "diverged", "diverged_at_step": step} if step >= 0 else {}
        extras = {**record.extras, **status, "member_of": directory.parent.name}
        extras.pop("stopped_at", None)
        member = RunRecord(
            status=extras.pop("status", record.status), metrics=task.member_metrics(k), seed=seed,
            epochs=record.epochs, steps=record.steps, duration_s=record.duration_s,
            overrides=member_overrides(record.overrides, seed), extras=extras,
        )  # fmt: skip
        # A single run stops after the trainer batch holding the bad step, in that epoch.
        if member.status == "diverged":
            member.steps = min(-(-(step + 1) // group) * group, record.steps or step + 1)
            member.epochs = step // steps_per_epoch + 1
        statuses.append(member.status)
        if trainer.is_global_zero:
            member.write(directory)
            shown = {key: round(value, 4) for key, value in member.metrics.items()}
            log.info("member seed=%d %s: %s", seed, member.status, shown)
    return statuses
