"""Hydra callbacks, registered in ``conf/hydra/default.yaml``:

- ``ValidateConfig``: refuse a bad config with one message before any folder is made;
- ``SweepSummary``: ``sweep: 12 jobs into <dir>`` as a sweep starts, and one line counting its
  jobs per status after it.

``on_multirun_start`` runs once in the process that launches the sweep; the jobs run where the
launcher puts them (the same process, a joblib worker, a SLURM node), so what they share travels
in environment variables, which those processes inherit. What happens per job is
``runner.job``'s.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.utils import get_object
from omegaconf import DictConfig, OmegaConf

from convlab.runner.check import ConfigError, check_jobs, find_problems, unwritable
from convlab.runner.job import EXIT_USER_ERROR, TOTAL_ENV
from convlab.runner.overrides import count_jobs, hydra_node, in_multirun, sweep_jobs
from convlab.runner.record import FINISHED, RECORD_NAME, read_record

log = logging.getLogger("convlab")
MAX_JOBS_CHECKED = 256


def extra_checks(config: DictConfig) -> list[Any]:
    """The checks other packages add (``hydra.callbacks.validate_config.extra_checks``: dotted
    names of functions ``cfg -> list[str]``), so the runner runs them without knowing them."""
    names = OmegaConf.select(
        hydra_node(config), "callbacks.validate_config.extra_checks", default=None
    )
    return [get_object(str(name)) for name in names or ()]


def checked_up_front(config: DictConfig) -> bool:
    """Whether ``ValidateConfig`` checks this run's config before it starts; otherwise (jobs of
    Optuna or of a very large sweep) the job checks its own when it starts (``check_job``)."""
    if not in_multirun(config):
        return True
    jobs = sweep_jobs(config)
    return jobs is not None and len(jobs) <= MAX_JOBS_CHECKED


def check_job(cfg: DictConfig, hydra_cfg: DictConfig) -> None:
    """The check of one job that was not checked up front: ``ConfigError`` naming every
    problem (the job then fails with one line, and a sweep goes on)."""
    if checked_up_front(hydra_cfg):
        return
    if problems := find_problems(cfg, extra_checks=extra_checks(hydra_cfg)):
        raise ConfigError(problems)


def _refuse(problems: list[str]) -> None:
    # Hydra turns exceptions raised by callbacks into warnings, so stop here ourselves.
    print(f"error: {ConfigError(problems)}", file=sys.stderr)
    sys.exit(EXIT_USER_ERROR)


def _folder_problem(key: str, directory: Any) -> list[str]:
    reason = unwritable(str(directory))
    if reason is None:
        return []
    return [
        f"{key}={directory}: cannot write the run's output there ({reason}). "
        "Choose another place with paths.log_dir=<folder> or hydra.run.dir/hydra.sweep.dir."
    ]


class ValidateConfig(Callback):
    """The config check: after composing, before any folder exists. A basic sweep's jobs are
    composed and checked up front, so a typo in a swept value stops the sweep before its first
    job; see ``checked_up_front`` for the jobs that check themselves."""

    def __init__(self, extra_checks: list[str] | None = None) -> None:
        pass  # read from the config by ``extra_checks``, as the jobs that check themselves do

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        HydraConfig.instance().set_config(config)
        problems = find_problems(config, extra_checks=extra_checks(config))
        if problems := problems + _folder_problem("hydra.run.dir", config.hydra.run.dir):
            _refuse(problems)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        HydraConfig.instance().set_config(config)
        problems = find_problems(config, extra_checks=extra_checks(config))
        if not problems and checked_up_front(config) and kwargs.get("config_name"):
            jobs = sweep_jobs(config) or []
            checks = extra_checks(config)
            problems = check_jobs(kwargs["config_name"], jobs, extra_checks=checks)
        if problems := problems + _folder_problem("hydra.sweep.dir", config.hydra.sweep.dir):
            _refuse(problems)


class SweepSummary(Callback):
    """Where a sweep goes and how many jobs it has; after it, one line with the jobs per
    status, naming the unfinished ones."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        total = count_jobs(config)
        os.environ[TOTAL_ENV] = str(total) if total else "?"
        log.info("sweep: %s jobs into %s", os.environ[TOTAL_ENV], config.hydra.sweep.dir)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        counts: dict[str, int] = {}
        unfinished = []
        for path in sorted(sweep_dir.glob(f"*/{RECORD_NAME}")):
            try:
                status = read_record(path).get("status", "unknown")
            except (OSError, ValueError):
                status = "unreadable"
            counts[status] = counts.get(status, 0) + 1
            if status not in FINISHED:
                unfinished.append(path.parent.name)
        if not counts:
            return
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        if unfinished:
            log.warning("sweep %s: %s; see metrics.json in %s", sweep_dir, summary,
                        ", ".join(unfinished))  # fmt: skip
        else:
            log.info("sweep %s: %s", sweep_dir, summary)
