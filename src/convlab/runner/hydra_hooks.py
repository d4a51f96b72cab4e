"""Hydra callbacks: progress of a sweep, and a thread budget for parallel local jobs.

Registered in ``conf/hydra/default.yaml``. ``on_multirun_start`` runs once in the process that
launches the sweep; ``on_job_start``/``on_job_end`` run where each job runs (the same process,
a joblib worker, or a SLURM node), so what they share travels in environment variables, which
those processes inherit.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import torch
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)

TOTAL_ENV = "CONVLAB_SWEEP_JOBS"


def count_jobs(config: DictConfig) -> int | None:
    """How many jobs the sweep of ``config`` launches; ``None`` where that is not known upfront.

    Optuna runs ``n_trials``; the basic sweeper runs the product of the swept values of
    ``hydra.sweeper.params`` and the command line, counted the way it expands them.
    """
    sweeper = config.hydra.get("sweeper") or {}
    target = str(sweeper.get("_target_", ""))
    if "optuna" in target.lower():
        return int(sweeper.get("n_trials")) if sweeper.get("n_trials") else None
    if "BasicSweeper" not in target:
        return None
    params = sweeper.get("params")
    params = OmegaConf.to_container(params, resolve=False) if params else {}
    arguments = [f"{key}={value}" for key, value in params.items()]
    arguments += list(config.hydra.overrides.task)
    try:
        overrides = OverridesParser.create().parse_overrides(arguments)
        sizes: dict[str, int] = {}
        for override in overrides:
            key = override.get_key_element()
            if override.is_sweep_override():
                sizes[key] = len(list(override.sweep_string_iterator()))
            else:
                sizes[key] = 1  # a plain value on the command line replaces a swept param
    except Exception:  # e.g. glob() needs the config repository: report "?" rather than fail
        return None
    total = 1
    for size in sizes.values():
        total *= size
    return total


def usable_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class JobProgress(Callback):
    """Logs ``job 3/12: <overrides>`` when a sweep job starts and ``job 3/12 completed in 41 s``
    when it ends, so a long multirun shows where it is.
    """

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
    still wins (``convlab.runner.run.train`` applies it after this).
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
