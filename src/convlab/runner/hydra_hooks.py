"""Hydra callbacks (``conf/hydra/default.yaml``): ``ValidateConfig`` refuses a bad config before
any folder is made; ``SweepSummary`` announces a sweep and counts its jobs per status after it.
The jobs may run in other processes, so what they share travels in environment variables.
"""

import fcntl
import logging
import os
import socket
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra import compose
from hydra.core.hydra_config import HydraConfig
from hydra.errors import ConfigCompositionException
from hydra.experimental.callback import Callback
from hydra.utils import get_object
from omegaconf import DictConfig, OmegaConf

from convlab.runner.check import Check, ConfigError, find_problems, validate_config
from convlab.runner.check.composition import explain
from convlab.runner.overrides import count_jobs, hydra_node, in_multirun, split_override, sweep_jobs
from convlab.runner.record import (
    EXIT_USER_ERROR,
    FINISHED,
    LOCK_NAME,
    RECORD_NAME,
    TOTAL_ENV,
    read_record,
)
from convlab.runner.resume import nothing_to_do

log = logging.getLogger("convlab")
MAX_JOBS_CHECKED = 256


def extra_checks(config: DictConfig) -> list[Any]:
    """The checks other packages add: dotted names of ``cfg -> list[str]`` functions."""
    names = OmegaConf.select(
        hydra_node(config), "callbacks.validate_config.extra_checks", default=None
    )
    return [get_object(str(name)) for name in names or ()]


def checked_up_front(config: DictConfig) -> bool:
    """Whether ``ValidateConfig`` checks this run's config before it starts; otherwise (Optuna,
    a very large sweep) each job checks its own (``check_job``)."""
    jobs = sweep_jobs(config) if in_multirun(config) else []
    return jobs is not None and len(jobs) <= MAX_JOBS_CHECKED


def check_job(cfg: DictConfig, hydra_cfg: DictConfig) -> None:
    if not checked_up_front(hydra_cfg):
        validate_config(cfg, extra_checks(hydra_cfg))  # fails this job in one line; a sweep goes on


def check_jobs(config_name: str, jobs: list[list[str]], checks: Sequence[Check] = ()) -> list[str]:
    """Compose each job of a sweep (Hydra initialised) and check it; each problem said once."""
    problems: list[str | None] = []
    for overrides in jobs:
        try:
            problems += find_problems(compose(config_name, overrides), checks)
        except ConfigCompositionException as error:
            problems.append(explain(error, config_name, overrides))
    return [problem for problem in dict.fromkeys(problems) if problem]


def unwritable(directory: str | Path) -> str | None:
    """Why ``directory`` cannot be created or written to, or ``None`` when it can."""
    path = Path(directory).absolute()
    ancestor = next(p for p in (path, *path.parents) if p.exists())
    if not ancestor.is_dir():
        return f"{ancestor} is a file, not a folder"
    return None if os.access(ancestor, os.W_OK | os.X_OK) else f"{ancestor} is not writable"


# ``flock`` locks belong to the open file: the kernel drops them when the process ends, however
# it ends (SIGKILL included), so a lock left by a killed run never blocks a later one.
_held: dict[Path, int] = {}  # folder → open file descriptor, for this process


def acquire(folder: str | Path) -> str | None:
    """Take ``folder``'s lock for this process; ``None``, or the owner when another holds it."""
    folder = Path(folder).absolute()
    if folder in _held:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        return owner
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
    _held[folder] = fd
    return None


def release(folder: str | Path) -> None:
    fd = _held.pop(Path(folder).absolute(), None)
    if fd is not None:
        os.close(fd)  # closing the descriptor drops the lock; the file stays (harmless)


def in_use(folder: Path, owner: str) -> str:
    return (f"error: {folder.absolute()} is in use by another process ({owner}); wait for it to "
            "finish, or choose another hydra.run.dir")  # fmt: skip


def _what_ran(folder: Path) -> str:
    try:
        overrides = [str(o) for o in OmegaConf.load(folder / ".hydra" / "overrides.yaml")]
    except Exception:
        overrides = []
    experiment = next((o for o in overrides if o.startswith("experiment=")), None)
    return f"a run of {experiment}" if experiment else "another run's files"


def claim_run_folder(config: DictConfig) -> tuple[str, int] | None:
    """A single run's folder, before Hydra writes into it: locked for this process; refused when
    it holds another run (its own run may be resumed); a finished run resumed has nothing to do.
    ``(what to say, exit code)`` when the run must not start."""
    if os.environ.get("LOCAL_RANK", "0") != "0":
        return None  # DDP ranks > 0 run inside rank 0's job
    folder = Path(str(config.hydra.run.dir)).absolute()
    if owner := acquire(folder):
        return in_use(folder, owner), EXIT_USER_ERROR
    resumed = bool(config.get("resume")) and Path(str(config.resume)).absolute() == folder
    stop = None
    if not resumed and ((folder / ".hydra").is_dir() or (folder / RECORD_NAME).is_file()):
        stop = (f"error: {folder} holds {_what_ran(folder)}; pick another hydra.run.dir, or "
                f"resume={folder} to continue it.", EXIT_USER_ERROR)  # fmt: skip
    elif resumed and (message := nothing_to_do(config)):
        stop = message, 0
    if stop:
        release(folder)
    return stop


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
    """A basic sweep's jobs are all composed and checked up front, so a typo in a swept value
    stops the sweep before its first job."""

    def __init__(self, extra_checks: list[str] | None = None) -> None:
        pass  # read from the config by ``extra_checks``, as the jobs that check themselves do

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config, "hydra.run.dir", None)
        if stop := claim_run_folder(config):
            print(stop[0], file=sys.stderr)
            sys.exit(stop[1])

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config, "hydra.sweep.dir", kwargs.get("config_name"))

    @staticmethod
    def _check(config: DictConfig, folder_key: str, config_name: str | None) -> None:
        HydraConfig.instance().set_config(config)
        checks = extra_checks(config)
        problems = find_problems(config, checks)
        if not problems and config_name and checked_up_front(config):
            jobs = sweep_jobs(config) or []
            problems = [repeated] if (repeated := repeated_job(jobs)) else []
            problems = problems or check_jobs(config_name, jobs, checks)
        folder = OmegaConf.select(config, folder_key)
        if reason := unwritable(str(folder)):
            problems = [*problems, f"{folder_key}={folder}: cannot write the run's output there "
                        f"({reason}). Choose another place with paths.log_dir=<folder> or "
                        "hydra.run.dir/hydra.sweep.dir."]  # fmt: skip
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
