"""The HParams tab: each run's row (a session: its hyperparameters, its status). The columns
are no run's to choose: TensorBoard takes the first experiment summary it finds for them, and
a run cannot know the others' keys; ``convlab.report.tensorboard_index`` writes one at the log
directory's root over all the runs there. A row's values are typed per column for the whole
sweep (``hparam_columns``), so that every job of a sweep writes the same types.
"""

import hashlib
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from lightning.pytorch.loggers import Logger, TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import custom_scalars

# After the swept keys, the columns every run has (config groups are their choice, "adam").
KEY_HPARAMS = ("model", "optimizer", "optimizer.lr", "data.batch_size", "seed")
# Groups that describe where and how a run is logged, not what it trains (hparams.yaml).
SKIPPED_GROUPS = ("hydra", "paths", "callbacks", "logger")
# Per-run paths would make every session differ in a column that says nothing.
SKIPPED_SUFFIXES = ("_dir", "dirpath", "_path")
SPLITS = ("val", "test")
# Diverged: no crash, but non-finite metrics, for the filter; interrupted: unknown (no "aborted").
STATUS = {"completed": api_pb2.STATUS_SUCCESS, "diverged": api_pb2.STATUS_FAILURE,
          "failed": api_pb2.STATUS_FAILURE}  # fmt: skip
STRING, NUMBER, BOOL = api_pb2.DATA_TYPE_STRING, api_pb2.DATA_TYPE_FLOAT64, api_pb2.DATA_TYPE_BOOL
_MISSING = object()
# A run's folder, <time>-<id> (conf/hydra/default.yaml): the id names the run.
RUN_FOLDER = re.compile(r"\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d-(?P<id>.+)")


def _flatten(node: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if not str(key).startswith("_") or key == "_target_":  # not _partial_, _convert_
                _flatten(value, f"{prefix}.{key}" if prefix else str(key), out)
    elif not prefix.endswith(SKIPPED_SUFFIXES):
        plain = node is None or isinstance(node, bool | int | float | str)
        out[prefix] = node if plain else str(node)


def flatten_hparams(cfg: DictConfig | Mapping) -> dict[str, Any]:
    """The resolved config as ``{"optimizer.lr": 0.9, ...}``, keyed by override paths."""
    container = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg
    out: dict[str, Any] = {}
    for key, value in container.items():
        if key not in SKIPPED_GROUPS:
            _flatten(value, str(key), out)
    return dict(sorted(out.items()))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _column_type(values: list) -> int:
    # Whole numbers are text: TensorBoard prints every number as "64.000", and as text each
    # value is its own category (a tick box, an axis tick).
    if values and all(isinstance(value, bool) for value in values):
        return BOOL
    if values and all(_is_number(value) for value in values):
        return STRING if all(isinstance(value, int) for value in values) else NUMBER
    return STRING


def _text(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return str(value).lower().replace("none", "null")
    return format(value, "g") if isinstance(value, float) else str(value)


def hparam_columns(
    cfg: DictConfig, domains: Mapping[str, Any], choices: Mapping[str, str] | None = None,
) -> tuple[list[api_pb2.HParamInfo], dict[str, Any]]:  # fmt: skip
    """The sweep's columns (swept keys first, typed from every value the sweep lists, so all
    jobs agree; then :data:`KEY_HPARAMS`) and this run's values. A config group's value is its
    choice (``"adam"``), else its class name; a key the config lacks is left out."""
    if choices is None:
        choices = HydraConfig.get().runtime.choices if HydraConfig.initialized() else {}
        choices = {k: v for k, v in choices.items() if v is not None}
    columns, values = [], {}
    for key in dict.fromkeys([*domains, *KEY_HPARAMS]):
        value = choices[key] if key in choices else OmegaConf.select(cfg, key, default=_MISSING)
        if isinstance(value, DictConfig):
            target = value.get("_target_")
            value = str(target).rsplit(".", 1)[-1] if target else _MISSING
        if value is _MISSING:
            continue
        domain = domains.get(key)
        column_type = (
            STRING if key in choices  # a group's choices are names
            else NUMBER if isinstance(domain, tuple)
            else _column_type(domain if isinstance(domain, list) else [value])
        )  # fmt: skip
        columns.append(api_pb2.HParamInfo(name=key, type=column_type))
        values[key] = value
    return columns, values


def metric_names(task: Any = None, cfg: DictConfig | None = None) -> list[str]:
    """``val/*`` and ``test/*`` of the task (without it: the monitored metric's), then
    ``train/loss``; the monitored metric and its test twin lead, the losses come last, as
    TensorBoard ticks the first five."""
    monitor = OmegaConf.select(cfg, "monitor.metric", default=None) if cfg is not None else None
    monitored = monitor.partition("/")[2] if monitor else None
    names = []
    for split in SPLITS:
        if hasattr(task, "split_metrics"):
            names += list(task.split_metrics(split).keys())
        elif monitored:
            names.append(f"{split}/{monitored}")
        names.append(f"{split}/loss")

    def rank(name: str) -> tuple:
        split, _, metric = name.partition("/")
        return (metric != monitored, metric == "loss", metric, SPLITS.index(split))

    return [*sorted(dict.fromkeys(names), key=rank), "train/loss"]


def _summary(tag: str, **plugin_data) -> Summary:
    # What tensorboard.plugins.hparams.summary builds, without its TensorFlow import.
    data = metadata.create_summary_metadata(plugin_data_pb2.HParamsPluginData(**plugin_data))
    return Summary(value=[Summary.Value(tag=tag, metadata=data)])


def _set_value(target, column_type: int, value: Any) -> None:
    if column_type == BOOL:
        target.bool_value = bool(value)
    elif column_type == NUMBER and _is_number(value):
        target.number_value = value
    else:
        target.string_value = _text(value)


def session_start_summary(
    values: Mapping[str, Any], columns: Sequence[api_pb2.HParamInfo] = (), trial: str = ""
) -> Summary:
    """A session's values, typed by ``columns`` (a key without a column by its own value);
    ``trial`` names its row (TensorBoard's "Trial ID"; without it the run's path)."""
    types = {column.name: column.type for column in columns}
    info = plugin_data_pb2.SessionStartInfo(start_time_secs=time.time(), group_name=trial)
    for name, value in values.items():
        _set_value(info.hparams[name], types.get(name, _column_type([value])), value)
    return _summary(metadata.SESSION_START_INFO_TAG, session_start_info=info)


def session_end_summary(status: str) -> Summary:
    code = STATUS.get(status, api_pb2.STATUS_UNKNOWN)
    info = plugin_data_pb2.SessionEndInfo(status=code, end_time_secs=time.time())
    return _summary(metadata.SESSION_END_INFO_TAG, session_end_info=info)


def scalar_layout(metrics: Sequence[str]) -> dict:
    """Custom Scalars: train and val of each metric on one chart (``train/loss`` + ``val/loss``)."""
    validated = [name.removeprefix("val/") for name in metrics if name.startswith("val/")]
    return {"train vs val": {m: ["Multiline", [f"^train/{m}$", f"^val/{m}$"]] for m in validated}}


def add_summaries(writer: SummaryWriter, *summaries: Summary) -> None:
    """Lightning closes its writer after fit and test: a closed writer's summaries go to a new
    events file in the same folder (one run to TensorBoard)."""
    if writer.file_writer is None:
        with SummaryWriter(writer.log_dir) as reopened:
            return add_summaries(reopened, *summaries)
    for summary in summaries:
        writer.file_writer.add_summary(summary)
    writer.flush()


def trial_name(cfg: DictConfig, values: Mapping[str, Any], task: Any = None) -> str:
    """A row's name short enough for the "Trial ID" column (~15 characters): the id of the run's
    ``<time>-<id>`` folder (a job: its sweep's), the values the sweep varies, and a member's seed
    (``"3fa9c1"``, ``"3fa9c1/sgd,1"``, ``"3fa9c1/seed=43"``). Rows of one name merge into one,
    so another folder name is followed by a hash of its path."""
    output_dir = OmegaConf.select(cfg, "paths.output_dir", default=None)
    if not output_dir:
        return ""
    folder, job = Path(output_dir).absolute(), ",".join(_text(v) for v in values.values())
    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        folder, job = folder.parent, job or folder.name
    if match := RUN_FOLDER.fullmatch(folder.name):
        parts = [match["id"]]
    else:
        parts = [f"{folder.name}-{hashlib.sha1(str(folder).encode()).hexdigest()[:4]}"]
    if job:
        parts.append(job)
    if len(getattr(task, "seeds", ())) > 1:  # stacked seeds: a row per member
        parts.append(f"seed={cfg.seed}")
    return "/".join(parts)


def session_start(cfg: DictConfig, domains: Mapping, task: Any = None) -> tuple[list, list]:
    """This run's session start, and its final metrics (named by ``task``'s metric
    collections; without it, the monitored metric and the loss)."""
    columns, values = hparam_columns(cfg, domains)
    metrics = metric_names(task, cfg)
    trial = trial_name(cfg, {key: values[key] for key in domains if key in values}, task)
    return [session_start_summary(values, columns, trial)], metrics


def _writers(loggers: Iterable[Logger]) -> list[SummaryWriter]:
    return [logger.experiment for logger in loggers if isinstance(logger, TensorBoardLogger)]


@rank_zero_only
def log_hparams_start(loggers: Iterable, cfg: DictConfig, domains: Mapping, task=None) -> None:
    """The flattened config to every logger (``hparams.yaml``); the HParams session start and
    Custom Scalars layout to each TensorBoard log. Under ``fast_dev_run`` the loggers
    are dummies and nothing is written."""
    loggers = list(loggers)
    for logger in loggers:
        logger.log_hyperparams(flatten_hparams(cfg))
    summaries, metrics = session_start(cfg, domains, task)
    for writer in _writers(loggers):
        add_summaries(writer, *summaries, custom_scalars(scalar_layout(metrics)))


@rank_zero_only
def log_hparams_end(loggers: Iterable[Logger], status: str) -> None:
    """Close the HParams session with the run's status (``metrics.json``'s ``status``)."""
    for writer in _writers(loggers):
        add_summaries(writer, session_end_summary(status))
        writer.close()
