"""The job folder, owned for the job's life, and ``run_job(work, cfg)``, the life around its work.

One lock per folder, taken once: for a single run by ``claim_run_folder`` before Hydra writes
into it (a folder holding another run is refused), for a sweep's job by ``run_job`` (a held one
is skipped). ``run_job`` checks the config where the sweep could not, skips or resumes a job run
again, runs the work, and turns whatever stops it into a record and one line: ``failed`` with
the error's first line (the traceback goes to the log file), ``interrupted`` on Ctrl-C.

Hydra's callbacks (``conf/hydra/default.yaml``): ``ValidateConfig`` claims a single run's folder
and refuses a sweep with a bad job before any folder is made (a single run's config is checked
by ``cli.launch``); ``SweepSummary`` announces a sweep and counts its jobs per status after it.
The jobs may run in other processes, so what they share travels in environment variables.
"""

import errno
import fcntl
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from lightning.fabric.utilities.rank_zero import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from convlab.errors import ConvlabError
from convlab.record import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USER_ERROR,
    FINISHED,
    LOCK_NAME,
    RECORD_NAME,
    TOTAL_ENV,
    RunRecord,
    first_line,
    read_record,
)
from convlab.runner.check.environment import available_cores
from convlab.runner.check.validate import (
    ConfigError,
    checked_up_front,
    extra_checks,
    sweep_problems,
    validate_config,
)
from convlab.runner.overrides import count_jobs, in_multirun, job_overrides
from convlab.runner.resume import nothing_to_do, skip_or_resume

log = logging.getLogger("convlab")


class RunInterrupted(KeyboardInterrupt):
    """Stopped with ``last.ckpt`` and the record written; a sweep stops too."""

    def __init__(self, output_dir: str | Path, epoch: int, step: int) -> None:
        script = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "train.py"
        super().__init__(
            f"stopped at epoch {epoch}, step {step}; the state is saved. "
            f"Continue with: python {script} resume={output_dir}"
        )


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


def _lock(folder: Path) -> str | None:
    """``acquire`` where this process owns the job: DDP ranks > 0 run inside rank 0's."""
    return None if os.environ.get("LOCAL_RANK", "0") != "0" else acquire(folder)


def claim_run_folder(config: DictConfig) -> tuple[str, int] | None:
    """A single run's folder, before Hydra writes into it: refused when it holds another run (its
    own run may be resumed); a finished run resumed has nothing to do. ``(what to say, exit
    code)`` when the run must not start."""
    folder = Path(str(config.hydra.run.dir)).absolute()
    if (owner := _lock(folder)) is not None:
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


def _claim(folder: Path) -> bool:
    """A job's folder, in the job; ``False`` when a sweep's job must be skipped. Another
    process's folder gets none of this process's log lines."""
    if (owner := _lock(folder)) is None:
        return True
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, logging.FileHandler)]:
        if Path(handler.baseFilename).is_relative_to(folder.absolute()):
            root.removeHandler(handler)
            handler.close()
    if in_multirun():
        log.warning("skipped %s: another process is running it (%s)", folder.name, owner)
        return False
    print(in_use(folder, owner), file=sys.stderr)
    sys.exit(EXIT_USER_ERROR)


def share_cores(hydra_cfg: DictConfig, torch_threads: Any) -> None:
    """Under joblib with ``torch_threads: null``, each job gets ``cpus // n_jobs`` threads: n
    workers that each take every core run slower than n that share them."""
    launcher = hydra_cfg.get("launcher") or {}
    if "JoblibLauncher" not in str(launcher.get("_target_", "")) or torch_threads:
        return
    cpus = available_cores()
    n_jobs = int(launcher.get("n_jobs") or -1)
    if n_jobs < 0:  # joblib: -1 = all cpus, -2 = all but one, ...
        n_jobs = max(1, cpus + 1 + n_jobs)
    total = os.environ.get(TOTAL_ENV, "")
    if total.isdigit():  # a sweep of 2 jobs runs 2 at a time whatever n_jobs says
        n_jobs = min(n_jobs, int(total))
    threads = max(1, cpus // n_jobs)
    torch.set_num_threads(threads)
    log.info("joblib: %d jobs at a time on %d cpus, %d torch threads each", n_jobs, cpus, threads)


def _label(hydra_cfg: DictConfig) -> str:
    return f"job {int(hydra_cfg.job.num) + 1}/{os.environ.get(TOTAL_ENV, '?')}"


def _record_stop(cfg: DictConfig, status: str, error: str, started: float) -> None:
    if not HydraConfig.initialized() or getattr(rank_zero_only, "rank", 0) != 0:
        return
    folder = Path(cfg.paths.output_dir)
    if cfg.get("resume") and (folder / RECORD_NAME).is_file():
        log.info("the run's metrics.json is kept as it was (this resume %s)", status)
        return
    seconds = round(time.perf_counter() - started, 3)
    record = RunRecord(status, error=error, seed=cfg.get("seed"), duration_s=seconds,
                       overrides=job_overrides())  # fmt: skip
    try:
        record.write(folder)
    except OSError as write_error:  # e.g. the disk is full: say so, keep the original error
        log.error("could not write the run's record: %s", write_error)


def _sigterm_as_ctrl_c(signum: int, frame: Any) -> None:
    # Lightning's handler, in place while it fits, calls this one after its own: it stops the
    # fit at the step's end with last.ckpt saved. Anywhere else, SIGTERM stops as Ctrl-C does.
    if signal.getsignal(signal.SIGTERM) is _sigterm_as_ctrl_c:
        raise KeyboardInterrupt


def run_job(work: Callable[[DictConfig], Any], cfg: DictConfig) -> Any:
    """Run ``work(cfg)`` as the owner of the job's folder; see the module docstring."""
    started = time.perf_counter()
    folder = Path(cfg.paths.output_dir)
    if not _claim(folder):
        return None
    failure, on_main_thread = None, threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _sigterm_as_ctrl_c) if on_main_thread else None
    logging.raiseExceptions = False  # a full disk: one line below, not a traceback per log line
    try:
        if HydraConfig.initialized():
            hydra_cfg = HydraConfig.get()
            if in_multirun():
                log.info("%s: %s", _label(hydra_cfg), " ".join(job_overrides()) or "(no overrides)")
            share_cores(hydra_cfg, cfg.get("torch_threads"))
            if not checked_up_front(hydra_cfg):  # fails this job in one line; a sweep goes on
                validate_config(cfg, extra_checks(hydra_cfg))
        if (earlier := skip_or_resume(cfg)) is not None:
            return RunRecord.from_json(earlier)
        return work(cfg)
    except RunInterrupted as stop:  # recorded by the run itself
        print(f"interrupted: {stop}", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except (KeyboardInterrupt, SystemExit) as stop:
        # Lightning answers a Ctrl-C it did not expect (a second one, or during test) with
        # sys.exit(1) after its own clean-up.
        if isinstance(stop, SystemExit) and not isinstance(stop.__context__, KeyboardInterrupt):
            raise
        _record_stop(cfg, "interrupted", "KeyboardInterrupt", started)
        print("interrupted: stopped before training finished.", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as error:
        failure = first_line(error)
        _record_stop(cfg, "failed", failure, started)
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        if isinstance(error, ConvlabError):
            message, code = str(error), EXIT_USER_ERROR
        elif isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            message, code = (f"no space left on the device of {folder.absolute()}: free some, or "
                             "choose another paths.log_dir"), EXIT_FAILED  # fmt: skip
        else:
            trace = logging.LogRecord("convlab", logging.ERROR, __file__, 0, "the run failed:",
                                      None, (type(error), error, error.__traceback__))  # fmt: skip
            files = [h for h in logging.getLogger().handlers if isinstance(h, logging.FileHandler)]
            for handler in files:  # the traceback goes to the log files only
                handler.handle(trace)
            where = f" (traceback in {files[0].baseFilename})" if files else ""
            message, code = f"{failure}{where}", EXIT_FAILED
        if in_multirun():
            log.error("job failed: %s", message)
            return None
        print(f"error: {message}", file=sys.stderr)
        sys.exit(code)
    finally:
        release(folder)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if in_multirun():
            seconds = f"{time.perf_counter() - started:.0f} s"
            end = f"failed after {seconds}: {failure}" if failure else f"finished in {seconds}"
            log.info("%s %s", _label(HydraConfig.get()), end)


class ValidateConfig(Callback):
    """A single run's folder claimed before Hydra writes into it; a sweep's problems
    (``sweep_problems``) before its first job."""

    def __init__(self, extra_checks: list[str] | None = None) -> None:
        pass  # read from the config by ``extra_checks``, as the jobs that check themselves do

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        if stop := claim_run_folder(config):
            print(stop[0], file=sys.stderr)
            sys.exit(stop[1])

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        HydraConfig.instance().set_config(config)
        # Hydra turns exceptions raised by callbacks into warnings: stop here
        if problems := sweep_problems(config, kwargs["config_name"]):
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
