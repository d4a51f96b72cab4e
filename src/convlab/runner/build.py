"""Build the objects of a run from the composed config: each config group builds one object."""

from __future__ import annotations

import inspect
import logging

import lightning as L
from hydra.utils import get_class, instantiate
from lightning.pytorch.callbacks import Callback, LearningRateMonitor
from lightning.pytorch.loggers import Logger
from omegaconf import DictConfig

log = logging.getLogger(__name__)


def build_datamodule(cfg: DictConfig) -> L.LightningDataModule:
    """The data module, its files located and checked (``prepare_data`` keeps no state)."""
    datamodule: L.LightningDataModule = instantiate(cfg.data)
    datamodule.prepare_data()
    return datamodule


def build_trainer(cfg: DictConfig, callbacks: list[Callback], loggers: list[Logger]) -> L.Trainer:
    return instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)


def build_callbacks(cfg: DictConfig | None, has_logger: bool) -> list[Callback]:
    """One callback per entry of the ``callbacks`` group; ``null`` entries are switched off."""
    callbacks: list[Callback] = []
    for name, spec in (cfg or {}).items():
        if spec is None:
            continue
        callback = instantiate(spec)
        if isinstance(callback, LearningRateMonitor) and not has_logger:
            log.info("callbacks.%s skipped: it needs a logger and logger is none", name)
            continue
        callbacks.append(callback)
    return callbacks


def build_loggers(cfg: DictConfig | None) -> list[Logger]:
    return [instantiate(spec) for spec in (cfg or {}).values() if spec is not None]


def build_task(cfg: DictConfig, datamodule: L.LightningDataModule) -> L.LightningModule:
    """net from ``model``, optimizer/scheduler factories, facts about the data for the task."""
    net = instantiate(cfg.model)
    optimizer = instantiate(cfg.optimizer)
    scheduler = instantiate(cfg.scheduler) if cfg.get("scheduler") else None
    facts = datamodule.task_facts() if hasattr(datamodule, "task_facts") else {}
    task_cls = get_class(cfg.task._target_)
    accepted = inspect.signature(task_cls.__init__).parameters
    facts = {k: v for k, v in facts.items() if k in accepted and k not in cfg.task}
    kwargs = {"net": net, "optimizer": optimizer, **facts}
    if scheduler is not None:
        kwargs["scheduler"] = scheduler
    # Plain lists/dicts, not ListConfig: the task's hparams go into every checkpoint, and
    # torch.load(weights_only=True) (resume, test on "best", eval.py) rejects OmegaConf objects.
    return instantiate(cfg.task, _convert_="all", **kwargs)
