"""Hydra callbacks (``conf/hydra/default.yaml``): ``ValidateConfig`` claims a run's folder before
Hydra writes into it, and refuses a sweep with a bad job before any folder is made;
``SweepSummary`` announces a sweep and counts its jobs per status after it. The jobs may run in
other processes, so what they share travels in environment variables.
"""

import logging
import os
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra import compose
from hydra.core.hydra_config import HydraConfig
from hydra.errors import ConfigCompositionException
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from convlab.record import (
    EXIT_USER_ERROR,
    FINISHED,
    RECORD_NAME,
    TOTAL_ENV,
    read_record,
)
from convlab.runner.check.composition import explain
from convlab.runner.check.validate import (
    Check,
    ConfigError,
    checked_up_front,
    extra_checks,
    find_problems,
    folder_problem,
)
from convlab.runner.job import claim_run_folder
from convlab.runner.overrides import count_jobs, split_override, sweep_jobs

log = logging.getLogger("convlab")


def check_jobs(config_name: str, jobs: list[list[str]], checks: Sequence[Check] = ()) -> list[str]:
    """Compose each job of a sweep (Hydra initialised) and check it; each problem said once."""
    problems: list[str | None] = []
    for overrides in jobs:
        try:
            problems += find_problems(compose(config_name, overrides), checks)
        except ConfigCompositionException as error:
            problems.append(explain(error, config_name, overrides))
    return [problem for problem in dict.fromkeys(problems) if problem]


def repeated_job(jobs: list[list[str]]) -> str | None:
    """The first job of a sweep that repeats an earlier one (the same values, in any order)."""
    seen: dict[tuple, int] = {}
    for number, job in enumerate(jobs, 1):
        values = tuple(sorted(dict(map(split_override, job)).items()))
        if values in seen:
            return (f"jobs {seen[values]} and {number} of the sweep are the same run "
                    f"({' '.join(job) or 'no overrides'}); give each value once.")  # fmt: skip
        seen[values] = number
    return None


class ValidateConfig(Callback):
    """A single run's config is checked by ``cli.launch`` before Hydra composes it; here, before
    Hydra writes into it, its folder is claimed. A basic sweep's jobs are all composed and
    checked up front, so a typo in a swept value stops the sweep before its first job."""

    def __init__(self, extra_checks: list[str] | None = None) -> None:
        pass  # read from the config by ``extra_checks``, as the jobs that check themselves do

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        if stop := claim_run_folder(config):
            print(stop[0], file=sys.stderr)
            sys.exit(stop[1])

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        HydraConfig.instance().set_config(config)
        checks = extra_checks(config)
        problems = find_problems(config, checks)
        if not problems and checked_up_front(config):
            jobs = sweep_jobs(config) or []
            problems = [repeated] if (repeated := repeated_job(jobs)) else []
            problems = problems or check_jobs(kwargs["config_name"], jobs, checks)
        problems += folder_problem(config, "hydra.sweep.dir")
        if problems:  # Hydra turns exceptions raised by callbacks into warnings: stop here
            print(f"error: {ConfigError(problems)}", file=sys.stderr)
            sys.exit(EXIT_USER_ERROR)


class SweepSummary(Callback):
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        total = count_jobs(config)
        os.environ[TOTAL_ENV] = str(total) if total else "?"
        log.info("sweep: %s jobs into %s", os.environ[TOTAL_ENV], config.hydra.sweep.dir)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        statuses = {}
        for path in sorted(sweep_dir.glob(f"*/{RECORD_NAME}")):
            try:
                statuses[path.parent.name] = read_record(path).get("status", "unknown")
            except (OSError, ValueError):
                statuses[path.parent.name] = "unreadable"
        if not statuses:
            return
        counts = sorted(Counter(statuses.values()).items())
        summary = ", ".join(f"{n} {status}" for status, n in counts)
        unfinished = [name for name, status in statuses.items() if status not in FINISHED]
        if unfinished:
            log.warning("sweep %s: %s; see metrics.json in %s", sweep_dir, summary,
                        ", ".join(unfinished))  # fmt: skip
        else:
            log.info("sweep %s: %s", sweep_dir, summary)
