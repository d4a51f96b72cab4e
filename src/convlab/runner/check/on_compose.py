"""Check the config before Hydra creates any folder: a bad config leaves nothing behind.

Hydra creates the run folder (and its ``.hydra/`` and log) before the task function starts, so a
check inside ``train()`` alone would leave an empty run folder behind for every typo. Hydra calls
``on_run_start``/``on_multirun_start`` right after composing and before any folder exists: a
problem found there is printed as one ``error:`` message and the process exits with status 2.
In a basic multirun every job's config is composed and checked up front, so a typo in a swept
value stops the sweep before its first job instead of failing every job.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.errors import ConfigCompositionException
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from convlab.runner.check.composition import explain
from convlab.runner.check.walk import ConfigError, find_problems

log = logging.getLogger(__name__)

_BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"
MAX_JOBS_CHECKED = 256


def unwritable(directory: str | Path) -> str | None:
    """Why ``directory`` cannot be created or written to, or ``None`` when it can."""
    path = Path(directory).absolute()
    for ancestor in (path, *path.parents):
        if ancestor.exists():
            if not ancestor.is_dir():
                return f"{ancestor} is a file, not a folder"
            if not os.access(ancestor, os.W_OK | os.X_OK):
                return f"{ancestor} is not writable"
            return None
    return None


def _folder_problem(key: str, directory: Any) -> list[str]:
    reason = unwritable(str(directory))
    if reason is None:
        return []
    return [
        f"{key}={directory}: cannot write the run's output there ({reason}). "
        "Choose another place with paths.log_dir=<folder> or hydra.run.dir/hydra.sweep.dir."
    ]


def _fail(problems: list[str]) -> None:
    # Hydra turns exceptions raised by callbacks into warnings, so stop here ourselves.
    print(f"error: {ConfigError(problems)}", file=sys.stderr)
    sys.exit(2)


def _job_overrides(config: DictConfig) -> list[list[str]] | None:
    """Each job's overrides in a basic sweep, or ``None`` for other sweepers (e.g. Optuna)."""
    sweeper = config.hydra.sweeper
    if sweeper.get("_target_") != _BASIC_SWEEPER:
        return None
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    params = sweeper.get("params")
    params = OmegaConf.to_container(params, resolve=False) if params else {}
    arguments = [f"{key}={value}" for key, value in params.items()]
    arguments += list(config.hydra.overrides.task)
    overrides = OverridesParser.create().parse_overrides(arguments)
    batches = BasicSweeper.split_arguments(overrides, max_batch_size=None)
    return [list(job) for batch in batches for job in batch]


def _check_jobs(config: DictConfig, config_name: str | None) -> list[str]:
    from hydra import compose

    jobs = _job_overrides(config)
    if not jobs or not config_name:
        return []
    problems: list[str] = []
    for overrides in jobs[:MAX_JOBS_CHECKED]:
        try:
            job_cfg = compose(config_name=config_name, overrides=overrides)
        except ConfigCompositionException as error:
            message = explain(error, config_name, overrides)
            if message and message not in problems:
                problems.append(message)
            continue
        problems += [problem for problem in find_problems(job_cfg) if problem not in problems]
    return problems


class ValidateConfig(Callback):
    """Hydra callback (``hydra.callbacks``): refuse a bad config before any folder is made."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        HydraConfig.instance().set_config(config)
        problems = find_problems(config)
        problems += _folder_problem("hydra.run.dir", config.hydra.run.dir)
        if problems:
            _fail(problems)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        HydraConfig.instance().set_config(config)
        problems = find_problems(config)
        if not problems:
            try:
                problems = _check_jobs(config, kwargs.get("config_name"))
            except Exception as error:  # the jobs are still checked one by one when they run
                log.debug("could not check the sweep's jobs up front: %s", error)
        problems += _folder_problem("hydra.sweep.dir", config.hydra.sweep.dir)
        if problems:
            _fail(problems)
