"""The top-level keys of ``train.yaml``/``eval.yaml``: their names, types and allowed values.

Config groups are not described here: each builds one object through its ``_target_``, and
``convlab.runner.check`` checks its keys against that object's signature, so a group added later
needs no schema of its own. Top-level keys that ``train.yaml`` declares but this module does not
know are allowed (unchecked); keys that nothing declares, such as a typo in an experiment file
(``tset_ckpt: last``), are reported with the closest valid name.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from convlab.runner.check.suggest import closest, listing
from convlab.runner.check.types import MISSING, UNRESOLVED, mismatch, read, show


@dataclass
class Monitor:
    """The metric checkpointing and early stopping watch."""

    metric: str
    mode: Literal["min", "max"]


@dataclass
class RunSchema:
    """Top-level keys shared by train.yaml and eval.yaml (their defaults are set there)."""

    task_name: str
    seed: int | None
    members: int
    ckpt_path: str | None
    resume: str | None
    test_ckpt: Literal["best", "last"]
    test: bool
    monitor: Monitor
    optimized_metric: str | None
    torch_threads: int | None
    scheduler: Any


def _fields(schema: type) -> dict[str, Any]:
    hints = typing.get_type_hints(schema)
    return {f.name: hints[f.name] for f in dataclasses.fields(schema)}


def _primary_keys() -> set[str]:
    """Keys the primary config file (train.yaml or eval.yaml) itself declares."""
    if not HydraConfig.initialized():
        return set()
    hydra = HydraConfig.get()
    sources = [s.path for s in hydra.runtime.config_sources if s.schema == "file"]
    return _keys_of(tuple(sources), hydra.job.config_name)


@functools.lru_cache(maxsize=8)
def _keys_of(sources: tuple[str, ...], config_name: str | None) -> set[str]:
    for source in sources:
        if not config_name:
            continue
        path = Path(source) / f"{config_name}.yaml"
        if path.is_file():
            return {str(key) for key in OmegaConf.load(path) if key != "defaults"}
    return set()


def _group_names() -> set[str]:
    if not HydraConfig.initialized():
        return set()
    return {str(name) for name in HydraConfig.get().runtime.choices if "/" not in str(name)}


def _check_fields(cfg: DictConfig, schema: type, prefix: str) -> list[str]:
    problems = []
    fields = _fields(schema)
    for key, annotation in fields.items():
        if key not in set(cfg.keys()):  # `key in cfg` is False for a ??? (missing) value
            continue
        value = read(cfg, key)
        if value is MISSING:
            problems.append(f"{prefix}{key}: must be set ({prefix}{key}=...).")
        if value is MISSING or value is UNRESOLVED:
            continue
        if dataclasses.is_dataclass(annotation):
            if not isinstance(value, DictConfig):
                problems.append(f"{prefix}{key}={show(value)}: expected a mapping of "
                                f"{listing(_fields(annotation))}.")  # fmt: skip
                continue
            for sub in value:
                if sub not in _fields(annotation):
                    guess = closest(str(sub), _fields(annotation))
                    hint = f" Did you mean {prefix}{key}.{guess}?" if guess else ""
                    problems.append(f"{prefix}{key}.{sub}: no such key.{hint} "
                                    f"Allowed: {listing(_fields(annotation))}.")  # fmt: skip
            problems += _check_fields(value, annotation, f"{prefix}{key}.")
            continue
        expected = mismatch(value, annotation)
        if expected:
            problems.append(f"{prefix}{key}={show(value)}: expected {expected}.")
    return problems


def _check_checkpoint_path(cfg: DictConfig) -> list[str]:
    value = read(cfg, "ckpt_path")  # UNRESOLVED where the config has no such key
    if not isinstance(value, str) or not value:
        return []
    if not Path(value).is_file():
        return [f"ckpt_path={value}: no such checkpoint file."]
    from convlab.runner.resume import check_checkpoint

    reason = check_checkpoint(value)
    return [f"ckpt_path={value}: {reason}."] if reason else []


def check_top_level(cfg: DictConfig) -> list[str]:
    """Problems with the top-level keys of a composed config (the groups are checked elsewhere)."""
    problems = _check_fields(cfg, RunSchema, "")
    problems += _check_checkpoint_path(cfg)
    declared = _primary_keys()
    if declared:  # without Hydra's record of the primary config, unknown keys cannot be told
        allowed = set(_fields(RunSchema)) | declared | _group_names() | {"hydra"}
        for key in cfg:
            if key not in allowed:
                guess = closest(str(key), allowed)
                hint = f" Did you mean {guess}?" if guess else ""
                problems.append(f"{key}: no such top-level key.{hint}")
    return problems
