"""Hydra callbacks, registered in ``conf/hydra/default.yaml``, in the order they run:

- ``ValidateConfig``: refuse a bad config with one message before any folder is made;
- ``JobLock``: a job folder another process is running is left alone, its log untouched;
- ``JobProgress``: ``job 3/12: <overrides>`` as each job of a sweep starts and ends;
- ``ThreadBudget``: parallel local jobs share the cores;
- ``SweepSummary``: after a sweep, one line counting the jobs per status.

``on_multirun_start`` runs once in the process that launches the sweep; ``on_job_start`` /
``on_job_end`` run where each job runs (the same process, a joblib worker, a SLURM node), so
what they share travels in environment variables, which those processes inherit.
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from convlab.runner import lock
from convlab.runner.check import ConfigError, check_jobs, find_problems, unwritable
from convlab.runner.constants import FINISHED, RECORD_NAME
from convlab.runner.record import read_record

log = logging.getLogger("convlab")

TOTAL_ENV = "CONVLAB_SWEEP_JOBS"
MAX_JOBS_CHECKED = 256


def _hydra(config: DictConfig) -> DictConfig:
    """The ``hydra`` node of a full config, or the node itself (``HydraConfig.get()``)."""
    return config.hydra if "hydra" in config else config


def sweep_jobs(config: DictConfig) -> list[list[str]] | None:
    """Each job's overrides in a basic sweep, expanded the way Hydra's basic sweeper does (the
    product of the swept values, a plain command-line value replacing a swept param); ``None``
    for other sweepers or sweeps that need the config repository (``glob``)."""
    hydra = _hydra(config)
    sweeper = hydra.get("sweeper") or {}
    if "BasicSweeper" not in str(sweeper.get("_target_", "")):
        return None
    params = sweeper.get("params")
    params = OmegaConf.to_container(params, resolve=False) if params else {}
    arguments = [f"{key}={value}" for key, value in params.items()]
    arguments += list(hydra.overrides.task)
    choices: dict[str, list[str]] = {}
    try:
        for override in OverridesParser.create().parse_overrides(arguments):
            key = override.get_key_element()
            if override.is_sweep_override():
                choices[key] = [f"{key}={v}" for v in override.sweep_string_iterator()]
            else:
                choices[key] = [override.input_line]
    except Exception:
        return None
    return [list(job) for job in itertools.product(*choices.values())]


def count_jobs(config: DictConfig) -> int | None:
    """How many jobs the sweep launches (Optuna: ``n_trials``); ``None`` where not known."""
    sweeper = _hydra(config).get("sweeper") or {}
    if "optuna" in str(sweeper.get("_target_", "")).lower():
        return int(sweeper.get("n_trials")) if sweeper.get("n_trials") else None
    jobs = sweep_jobs(config)
    return None if jobs is None else len(jobs)


def usable_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _refuse(problems: list[str]) -> None:
    # Hydra turns exceptions raised by callbacks into warnings, so stop here ourselves.
    print(f"error: {ConfigError(problems)}", file=sys.stderr)
    sys.exit(2)


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

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        HydraConfig.instance().set_config(config)
        problems = find_problems(config) + _folder_problem("hydra.run.dir", config.hydra.run.dir)
        if problems:
            _refuse(problems)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        HydraConfig.instance().set_config(config)
        problems = find_problems(config)
        if not problems and checked_up_front(config) and kwargs.get("config_name"):
            problems = check_jobs(kwargs["config_name"], sweep_jobs(config) or [])
        problems += _folder_problem("hydra.sweep.dir", config.hydra.sweep.dir)
        if problems:
            _refuse(problems)


def checked_up_front(config: DictConfig) -> bool:
    """Whether ``ValidateConfig`` checks this run's config before it starts; otherwise (jobs of
    Optuna or of a very large sweep) the job checks its own when it starts (``runner.job``)."""
    if _hydra(config).mode != RunMode.MULTIRUN:
        return True
    jobs = sweep_jobs(config)
    return jobs is not None and len(jobs) <= MAX_JOBS_CHECKED


class JobLock(Callback):
    """Takes the job folder's lock (``convlab.runner.lock``) before anything is logged there.

    When another process holds it, this job's log file handlers are closed, so nothing of this
    process reaches that folder; ``runner.job`` then skips the job with one line (a sweep) or
    stops with an error (a single run).
    """

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        folder = Path(config.hydra.runtime.output_dir)
        try:
            lock.acquire(folder)
        except lock.FolderBusy:
            for handler in list(logging.getLogger().handlers):
                if isinstance(handler, logging.FileHandler) and Path(
                    handler.baseFilename
                ).is_relative_to(folder.absolute()):
                    logging.getLogger().removeHandler(handler)
                    handler.close()

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        lock.release(config.hydra.runtime.output_dir)


class JobProgress(Callback):
    """Logs ``job 3/12: <overrides>`` when a sweep job starts and ``job 3/12 finished in 41 s``
    when it ends, so a long multirun shows where it is."""

    def __init__(self) -> None:
        self._started: float | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        total = count_jobs(config)
        os.environ[TOTAL_ENV] = str(total) if total else "?"
        log.info("sweep: %s jobs into %s", os.environ[TOTAL_ENV], config.hydra.sweep.dir)

    def _label(self, config: DictConfig) -> str:
        return f"job {int(config.hydra.job.num) + 1}/{os.environ.get(TOTAL_ENV, '?')}"

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        if config.hydra.mode != RunMode.MULTIRUN:
            return
        self._started = time.perf_counter()
        overrides = " ".join(config.hydra.overrides.task) or "(no overrides)"
        log.info("%s: %s", self._label(config), overrides)

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        if config.hydra.mode != RunMode.MULTIRUN or self._started is None:
            return
        seconds = time.perf_counter() - self._started
        if job_return.status == JobStatus.FAILED:
            error = str(job_return._return_value).splitlines()[0:1] or [""]
            log.info("%s failed after %.0f s: %s", self._label(config), seconds, error[0])
        else:
            log.info("%s finished in %.0f s", self._label(config), seconds)


class ThreadBudget(Callback):
    """With ``hydra/launcher=joblib`` and ``torch_threads: null``, give each job
    ``cpus // n_jobs`` torch threads (at least 1).

    Otherwise every worker takes all cores and ``n_jobs`` workers fight over them: on 2 cores,
    2 jobs of 2 threads each run slower than 2 jobs of 1 thread. An explicit ``torch_threads``
    still wins (the run applies it after this).
    """

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        launcher = config.hydra.get("launcher") or {}
        if "JoblibLauncher" not in str(launcher.get("_target_", "")):
            return
        if config.get("torch_threads"):
            return
        cpus = usable_cpus()
        n_jobs = int(launcher.get("n_jobs") or -1)
        if n_jobs < 0:  # joblib: -1 = all cpus, -2 = all but one, ...
            n_jobs = max(1, cpus + 1 + n_jobs)
        total = os.environ.get(TOTAL_ENV, "")
        if total.isdigit():  # a sweep of 2 jobs runs 2 at a time whatever n_jobs says
            n_jobs = min(n_jobs, int(total))
        threads = max(1, cpus // n_jobs)
        torch.set_num_threads(threads)
        log.info(
            "joblib: %d jobs at a time on %d cpus, %d torch threads each", n_jobs, cpus, threads
        )


class SweepSummary(Callback):
    """After a multirun, one line with the jobs per status, naming the unfinished ones."""

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
