"""The HParams tab: an explicit experiment (which columns, which shown) and one session per run.

Without an experiment TensorBoard makes a column of every hparam and of every scalar tag
(``epoch``, ``lr-Adam``, ``perf/*``), ticks the first five of each, and types a column from
whatever values it finds (``1.0`` next to ``"null"``). Here each run writes, before training:

- an *experiment*: the hparam columns are the keys its sweep varies (``differs``, so TensorBoard
  lists and ticks them first), then a short fixed set (:data:`KEY_HPARAMS`: model, optimizer,
  learning rate, batch size, seed); the metric columns are the task's final ``val/*`` and
  ``test/*`` metrics (the monitored one and its test twin first) and ``train/loss``. Every job of
  a sweep writes the same experiment, so whichever TensorBoard picks, the table is the same.
- a *session start*: this run's values of those columns, typed per column for the whole sweep:
  a fraction is a number, an int its digits (``"64"``, where TensorBoard would print a number
  as ``64.000``), a group choice its name (``"adam"``), ``null`` the value ``"null"``.

and at the end a *session end* with the run's status. A metric cell is the last value of the
run's scalar of that name: the curve's final point, i.e. the ``metrics.json`` value.

TensorBoard reads one experiment per log directory: open it on one sweep folder to see that
sweep's columns.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.loggers import Logger, TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf
from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import custom_scalars

log = logging.getLogger(__name__)

# After the swept keys, the columns every run has (config groups are their choice, "adam").
KEY_HPARAMS = ("model", "optimizer", "optimizer.lr", "data.batch_size", "seed")
# Groups that describe where and how a run is logged, not what it trains (hparams.yaml).
SKIPPED_GROUPS = ("hydra", "paths", "callbacks", "logger")
# Per-run paths would make every session differ in a column that says nothing.
SKIPPED_SUFFIXES = ("_dir", "dirpath", "_path")
SPLITS = ("val", "test")
STATUS = {
    "completed": api_pb2.STATUS_SUCCESS,
    # Not a crash, but its metrics are non-finite: the tab's status filter can then hide it.
    "diverged": api_pb2.STATUS_FAILURE,
    "failed": api_pb2.STATUS_FAILURE,
    "interrupted": api_pb2.STATUS_UNKNOWN,  # HParams has no "aborted"
}
_MISSING = object()


# --- the full config, for hparams.yaml ----------------------------------------------------
def _flatten(node: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(node, Mapping):
        for key, value in node.items():
            key = str(key)
            if key.startswith("_") and key != "_target_":
                continue  # _partial_, _convert_, ...: how to build, not what
            _flatten(value, f"{prefix}.{key}" if prefix else key, out)
        return
    if prefix.endswith(SKIPPED_SUFFIXES):
        return
    out[prefix] = node if node is None or isinstance(node, bool | int | float | str) else str(node)


def flatten_hparams(cfg: DictConfig | Mapping) -> dict[str, Any]:
    """The composed config as ``{"optimizer.lr": 0.9, "model.activation": "sigmoid", ...}``.

    Keys are the dotted paths a command-line override uses; values are resolved.
    """
    container = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg
    out: dict[str, Any] = {}
    for key, value in container.items():
        if key not in SKIPPED_GROUPS:
            _flatten(value, str(key), out)
    return dict(sorted(out.items()))


# --- the columns --------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    name: str
    type: int  # api_pb2.DATA_TYPE_*
    differs: bool = False
    domain: tuple | list | None = None  # a list: discrete values; a tuple: (min, max)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _column_type(values: Iterable[Any]) -> int:
    """Booleans a bool column; numbers with a fraction a number column; anything else text.

    Whole numbers (seed, batch size, width) are text: TensorBoard prints every number to five
    digits ("64.000"), and as text each value is its own category (a tick box, an axis tick).
    """
    values = list(values)
    if values and all(isinstance(value, bool) for value in values):
        return api_pb2.DATA_TYPE_BOOL
    if values and all(_is_number(value) for value in values):
        if all(isinstance(value, int) for value in values):
            return api_pb2.DATA_TYPE_STRING
        return api_pb2.DATA_TYPE_FLOAT64
    return api_pb2.DATA_TYPE_STRING


def _text(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return str(value).lower().replace("none", "null")
    return format(value, "g") if isinstance(value, float) else str(value)


def _choices() -> dict[str, str]:
    choices = HydraConfig.get().runtime.choices if HydraConfig.initialized() else {}
    return {k: v for k, v in choices.items() if v is not None}


def hparam_value(cfg: DictConfig, key: str, choices: Mapping[str, str] | None = None) -> Any:
    """A column's value in this run: a config group's choice (``optimizer`` → ``"adam"``), else
    the resolved config value; a group without Hydra's record falls back to its class name."""
    choices = _choices() if choices is None else choices
    if key in choices:
        return choices[key]
    value = OmegaConf.select(cfg, key, default=_MISSING)
    if isinstance(value, DictConfig):
        target = value.get("_target_")
        return str(target).rsplit(".", 1)[-1] if target else _MISSING
    return value


def hparam_columns(
    cfg: DictConfig, domains: Mapping[str, Any], choices: Mapping[str, str] | None = None,
) -> tuple[list[Column], dict[str, Any]]:  # fmt: skip
    """The HParams columns of this run's sweep and this run's value in each.

    Swept keys first (typed from all the values the sweep lists, so every job agrees), then
    :data:`KEY_HPARAMS`; a key this config does not have is left out.
    """
    choices = _choices() if choices is None else choices
    columns, values = [], {}
    for key in [*domains, *(key for key in KEY_HPARAMS if key not in domains)]:
        value = hparam_value(cfg, key, choices)
        if value is _MISSING:
            continue
        domain = domains.get(key)
        column_type = (
            api_pb2.DATA_TYPE_STRING if key in choices  # a group's choices are names
            else api_pb2.DATA_TYPE_FLOAT64 if isinstance(domain, tuple)
            else _column_type(domain if isinstance(domain, list) else [value])
        )  # fmt: skip
        if isinstance(domain, list) and column_type == api_pb2.DATA_TYPE_STRING:
            domain = [_text(item) for item in domain]
        columns.append(Column(key, column_type, key in domains, domain))
        values[key] = value
    return columns, values


def metric_names(task: Any = None, cfg: DictConfig | None = None) -> list[str]:
    """The metric columns: ``val/*`` and ``test/*`` of the task, then ``train/loss``.

    The monitored metric and its test twin lead, then the task's metrics before the loss
    (``val/mae``, ``test/mae``, ``val/mse``, ...): TensorBoard ticks the first five.
    """
    monitor = OmegaConf.select(cfg, "monitor.metric", default=None) if cfg is not None else None
    names = []
    for split in SPLITS:
        metrics = getattr(task, "split_metrics", None)
        if metrics is not None:
            keys = list(metrics(split).keys())
        else:  # without the task: the monitored metric's name in each split
            keys = [f"{split}/{monitor.partition('/')[2]}"] if monitor else []
        names += [*keys, f"{split}/loss"]

    def rank(name: str) -> tuple:
        split, _, metric = name.partition("/")
        is_monitor = monitor is not None and metric == monitor.partition("/")[2]
        return (not is_monitor, metric == "loss", metric, SPLITS.index(split))

    names = sorted(dict.fromkeys(names), key=rank)
    return [*names, "train/loss"]


# --- the summaries ------------------------------------------------------------------------
def _summary(tag: str, **plugin_data) -> Summary:
    # What tensorboard.plugins.hparams.summary builds, without its TensorFlow import.
    content = plugin_data_pb2.HParamsPluginData(version=metadata.PLUGIN_DATA_VERSION, **plugin_data)
    smd = SummaryMetadata(
        plugin_data=SummaryMetadata.PluginData(
            plugin_name=metadata.PLUGIN_NAME, content=content.SerializeToString()
        )
    )
    return Summary(value=[Summary.Value(tag=tag, metadata=smd)])


def _set_value(target, column_type: int, value: Any) -> None:
    if column_type == api_pb2.DATA_TYPE_BOOL:
        target.bool_value = bool(value)
    elif column_type == api_pb2.DATA_TYPE_FLOAT64 and _is_number(value):
        target.number_value = value
    else:
        target.string_value = _text(value)


def experiment_summary(columns: Sequence[Column], metrics: Sequence[str]) -> Summary:
    experiment = api_pb2.Experiment()
    for column in columns:
        info = experiment.hparam_infos.add(name=column.name, type=column.type)
        info.differs = column.differs
        if isinstance(column.domain, list):
            for item in dict.fromkeys(column.domain):
                _set_value(info.domain_discrete.values.add(), column.type, item)
        elif isinstance(column.domain, tuple):
            info.domain_interval.min_value, info.domain_interval.max_value = column.domain
    for name in metrics:
        dataset = api_pb2.DATASET_TRAINING if name.startswith("train/") else (
            api_pb2.DATASET_VALIDATION)  # fmt: skip
        experiment.metric_infos.add(name=api_pb2.MetricName(tag=name), dataset_type=dataset)
    return _summary(metadata.EXPERIMENT_TAG, experiment=experiment)


def session_start_summary(values: Mapping[str, Any], columns: Sequence[Column] = ()) -> Summary:
    """A session's values, typed by ``columns`` (a key without a column by its own value)."""
    types = {column.name: column.type for column in columns}
    info = plugin_data_pb2.SessionStartInfo(start_time_secs=time.time())
    for name, value in values.items():
        _set_value(info.hparams[name], types.get(name, _column_type([value])), value)
    return _summary(metadata.SESSION_START_INFO_TAG, session_start_info=info)


def session_end_summary(status: str) -> Summary:
    info = plugin_data_pb2.SessionEndInfo(
        status=STATUS.get(status, api_pb2.STATUS_UNKNOWN), end_time_secs=time.time()
    )
    return _summary(metadata.SESSION_END_INFO_TAG, session_end_info=info)


def scalar_layout(metrics: Sequence[str]) -> dict:
    """Custom Scalars: train and val of each metric on one chart (``train/loss`` + ``val/loss``)."""
    charts = {}
    for name in metrics:
        split, _, metric = name.partition("/")
        if split == "val":
            charts[metric] = ["Multiline", [f"^train/{metric}$", f"^val/{metric}$"]]
    return {"train vs val": charts}


# --- writing ------------------------------------------------------------------------------
def add_summaries(writer: SummaryWriter, *summaries: Summary) -> None:
    """Raw summaries into a writer's log folder. Lightning closes its writer after fit and test;
    a closed writer's summaries go to a new events file in the same folder (one run to
    TensorBoard)."""
    if writer.file_writer is None:
        with SummaryWriter(writer.log_dir) as reopened:
            add_summaries(reopened, *summaries)
        return
    for summary in summaries:
        writer.file_writer.add_summary(summary)
    writer.flush()


def session_start(
    cfg: DictConfig, domains: Mapping[str, Any], task: Any = None
) -> tuple[list[Summary], list[str], dict]:
    """This run's HParams experiment and session start; its metric columns; its values.

    ``task``: the LightningModule, whose metric collections name the metric columns (without
    it: the monitored metric and the loss in ``val/`` and ``test/``, and ``train/loss``).
    """
    columns, values = hparam_columns(cfg, domains)
    metrics = metric_names(task, cfg)
    return [experiment_summary(columns, metrics), session_start_summary(values, columns)], (
        metrics), values  # fmt: skip


def _writers(loggers: Iterable[Logger]) -> list[SummaryWriter]:
    return [logger.experiment for logger in loggers if isinstance(logger, TensorBoardLogger)]


@rank_zero_only
def log_hparams_start(
    loggers: Iterable[Logger], cfg: DictConfig, domains: Mapping[str, Any], task: Any = None
) -> dict[str, Any]:
    """Record the flattened config with every logger (``hparams.yaml``); in each TensorBoard log
    write the HParams experiment, this run's session start and the Custom Scalars layout.

    Pass ``trainer.loggers``: under ``fast_dev_run`` they are dummies and nothing is written.
    Returns the session's values.
    """
    loggers = list(loggers)
    for logger in loggers:
        logger.log_hyperparams(flatten_hparams(cfg))
    summaries, metrics, values = session_start(cfg, domains, task)
    for writer in _writers(loggers):
        add_summaries(writer, *summaries, custom_scalars(scalar_layout(metrics)))
    return values


@rank_zero_only
def log_hparams_end(loggers: Iterable[Logger], status: str) -> None:
    """Close the HParams session with the run's status (``metrics.json``'s ``status``)."""
    for writer in _writers(loggers):
        add_summaries(writer, session_end_summary(status))
        writer.close()
