"""The run's hyper-parameters in TensorBoard's HParams tab, one session per run.

Lightning's ``log_hyperparams`` writes HParams data only together with metric values, which are
known only at the end, and it writes an *experiment* summary per run; TensorBoard then picks one
run's experiment for a whole log directory, hiding the columns of every other sweep. Here each
run writes only a session start (its flattened config, before training) and a session end (its
status). TensorBoard builds the table's columns from all sessions and takes each metric column
(``val/acc``, ``test/acc``, ...) from the last value of that run's scalar of the same name, i.e.
the final metrics of ``metrics.json``. A run that crashes still appears, without an end.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from lightning.pytorch.loggers import Logger, TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf
from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

# Groups that describe where and how a run is logged, not what it trains.
SKIPPED_GROUPS = ("hydra", "paths", "callbacks", "logger")
# Per-run paths would make every session differ in a column that says nothing.
SKIPPED_SUFFIXES = ("_dir", "dirpath", "_path")
STATUS = {
    "completed": api_pb2.STATUS_SUCCESS,
    # Not a crash, but its metrics are non-finite: the tab's status filter can then hide it.
    "diverged": api_pb2.STATUS_FAILURE,
    "failed": api_pb2.STATUS_FAILURE,
    "interrupted": api_pb2.STATUS_UNKNOWN,  # HParams has no "aborted"
}


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
    if node is None:
        out[prefix] = "null"  # HParams values are numbers, strings or booleans
    elif isinstance(node, bool | int | float | str):
        out[prefix] = node
    else:
        out[prefix] = str(node)


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


def _summary(tag: str, **plugin_data) -> Summary:
    # What tensorboard.plugins.hparams.summary builds, without its TensorFlow import.
    content = plugin_data_pb2.HParamsPluginData(version=metadata.PLUGIN_DATA_VERSION, **plugin_data)
    smd = SummaryMetadata(
        plugin_data=SummaryMetadata.PluginData(
            plugin_name=metadata.PLUGIN_NAME, content=content.SerializeToString()
        )
    )
    return Summary(value=[Summary.Value(tag=tag, metadata=smd)])


def session_start_summary(hparams: Mapping[str, Any]) -> Summary:
    info = plugin_data_pb2.SessionStartInfo(start_time_secs=time.time())
    for name, value in hparams.items():
        if isinstance(value, bool):  # before int: bool is an int in Python
            info.hparams[name].bool_value = value
        elif isinstance(value, int | float):
            info.hparams[name].number_value = value
        else:
            info.hparams[name].string_value = str(value)
    return _summary(metadata.SESSION_START_INFO_TAG, session_start_info=info)


def session_end_summary(status: str) -> Summary:
    info = plugin_data_pb2.SessionEndInfo(
        status=STATUS.get(status, api_pb2.STATUS_UNKNOWN), end_time_secs=time.time()
    )
    return _summary(metadata.SESSION_END_INFO_TAG, session_end_info=info)


def _writers(loggers: Iterable[Logger]):
    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            yield logger.experiment


@rank_zero_only
def log_hparams_start(loggers: Iterable[Logger], cfg: DictConfig) -> dict[str, Any]:
    """Record the flattened config with every logger (``hparams.yaml``) and open an HParams
    session in each TensorBoard log. Pass ``trainer.loggers``: under ``fast_dev_run`` they are
    dummies and nothing is written.
    """
    loggers = list(loggers)
    hparams = flatten_hparams(cfg)
    for logger in loggers:
        logger.log_hyperparams(hparams)
    for writer in _writers(loggers):
        writer._get_file_writer().add_summary(session_start_summary(hparams))
        writer.flush()
    return hparams


@rank_zero_only
def log_hparams_end(loggers: Iterable[Logger], status: str) -> None:
    """Close the HParams session with the run's status (``metrics.json``'s ``status``)."""
    for writer in _writers(loggers):
        # Lightning closes the writer after fit and test; _get_file_writer reopens it.
        writer._get_file_writer().add_summary(session_end_summary(status))
        writer.flush()
        writer.close()
