"""The life of one job folder around its work (``run.train``, ``run.evaluate`` or another
function the entry point chooses).

``run_job(work, cfg)``:
1. owns the folder: an OS lock held for the job's life (``acquire``); a folder another process
   holds is skipped in a sweep (one line) and refused for a single run, and nothing of this
   process reaches that folder's log;
2. logs ``job 3/12: <overrides>`` in a sweep, shares the cores between joblib workers, checks
   the config where Hydra could not check it before the start (``hydra_hooks.checked_up_front``)
   and skips or resumes a job of a sweep run again (``resume.skip_or_resume``);
3. runs the work, which writes ``metrics.json``;
4. turns whatever stops it into a record and one line: ``failed`` with the error's first line
   (the traceback goes to the run's log file only), ``interrupted`` on Ctrl-C with the command
   that continues it. A failed job of a sweep is recorded and the sweep goes on; Ctrl-C stops
   the sweep. ``HYDRA_FULL_ERROR=1`` shows the full traceback instead.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from hydra.core.hydra_config import HydraConfig
from lightning.fabric.utilities.rank_zero import rank_zero_only
from omegaconf import DictConfig

from convlab.errors import ConvlabError
from convlab.runner.check.environment import available_cores
from convlab.runner.overrides import in_multirun, job_overrides
from convlab.runner.record import LOCK_NAME, RunRecord, first_line
from convlab.runner.resume import skip_or_resume

log = logging.getLogger("convlab")

EXIT_USER_ERROR = 2  # bad config, missing or corrupt data
EXIT_FAILED = 1  # anything else that went wrong inside a run
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report it
TOTAL_ENV = "CONVLAB_SWEEP_JOBS"  # the sweep's job count, for "job 3/12" in every worker


class RunInterrupted(KeyboardInterrupt):
    """Training stopped on Ctrl-C or SIGTERM with a resumable ``last.ckpt`` and its record
    written. A ``KeyboardInterrupt``, so a sweep stops too instead of starting its next job."""

    def __init__(self, output_dir: str | Path, epoch: int, step: int) -> None:
        script = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "train.py"
        super().__init__(
            f"stopped at epoch {epoch}, step {step}; the state is saved. "
            f"Continue with: python {script} resume={output_dir}"
        )


# --- one process per folder ---------------------------------------------------------------
# ``flock`` locks belong to the open file: the kernel drops them when the process ends, however
# it ends (SIGKILL included), so a lock left by a killed run never blocks a later one.
_held: dict[Path, int] = {}  # folder → open file descriptor, for this process


class FolderBusy(Exception):
    def __init__(self, folder: Path, owner: str) -> None:
        self.folder, self.owner = folder, owner
        super().__init__(f"{folder} is in use by another process ({owner})")


def acquire(folder: str | Path) -> None:
    """Take ``folder``'s lock for this process (again: nothing to do); ``FolderBusy`` if held.
    The lock file names the owner for the message a second process prints."""
    folder = Path(folder).absolute()
    if folder in _held:
        return
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise FolderBusy(folder, owner) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
    _held[folder] = fd


def release(folder: str | Path) -> None:
    fd = _held.pop(Path(folder).absolute(), None)
    if fd is not None:
        os.close(fd)  # closing the descriptor drops the lock; the file stays (harmless)


def _claim(folder: Path) -> bool:
    """Take the folder's lock; ``False`` when a sweep's job must be skipped. When another
    process holds it, this process's log files in that folder are closed first."""
    if os.environ.get("LOCAL_RANK", "0") != "0":  # DDP ranks > 0 run inside rank 0's job
        return True
    try:
        acquire(folder)
    except FolderBusy as busy:
        for handler in list(logging.getLogger().handlers):
            if isinstance(handler, logging.FileHandler) and Path(
                handler.baseFilename
            ).is_relative_to(folder.absolute()):
                logging.getLogger().removeHandler(handler)
                handler.close()
        if in_multirun():
            log.warning("skipped %s: another process is running it (%s)", folder.name,
                        busy.owner)  # fmt: skip
            return False
        print(f"error: {busy}; wait for it to finish, or choose another hydra.run.dir",
              file=sys.stderr)  # fmt: skip
        sys.exit(EXIT_USER_ERROR)
    return True


# --- the job ------------------------------------------------------------------------------
def share_cores(hydra_cfg: DictConfig, torch_threads: Any) -> None:
    """With ``hydra/launcher=joblib`` and ``torch_threads: null``, give each job
    ``cpus // n_jobs`` torch threads (at least 1): otherwise every worker takes all cores and
    ``n_jobs`` workers fight over them (on 2 cores, 2 jobs of 2 threads run slower than 2 jobs
    of 1). An explicit ``torch_threads`` still wins (the run applies it after this)."""
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


def _output_dir(cfg: DictConfig) -> Path:
    try:
        return Path(cfg.paths.output_dir)
    except Exception:  # no paths group (a hand-made config)
        return Path(HydraConfig.get().runtime.output_dir)


def _record_stop(cfg: DictConfig, status: str, error: str, started: float) -> None:
    """``metrics.json`` for a run that stopped early (rank 0 only)."""
    if not HydraConfig.initialized() or getattr(rank_zero_only, "rank", 0) != 0:
        return
    record = RunRecord(
        status=status, error=error, seed=cfg.get("seed"),
        duration_s=round(time.perf_counter() - started, 3), overrides=job_overrides(),
    )  # fmt: skip
    try:
        record.write(_output_dir(cfg))
    except OSError as write_error:  # e.g. the disk is full: say so, keep the original error
        log.error("could not write the run's record: %s", write_error)


def _traceback_to_log_files(error: BaseException) -> list[str]:
    """Put the traceback in the run's log file(s) only, not on the console."""
    record = logging.LogRecord(
        "convlab", logging.ERROR, __file__, 0, "the run failed:", None,
        (type(error), error, error.__traceback__),
    )  # fmt: skip
    files = []
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)
            files.append(handler.baseFilename)
    return files


def _start(cfg: DictConfig) -> Any:
    """Everything between owning the folder and the work; an earlier record skips the work."""
    from convlab.runner.hydra_hooks import check_job

    if HydraConfig.initialized():
        hydra_cfg = HydraConfig.get()
        if in_multirun():
            log.info("%s: %s", _label(hydra_cfg), " ".join(job_overrides()) or "(no overrides)")
        share_cores(hydra_cfg, cfg.get("torch_threads"))
        check_job(cfg, hydra_cfg)
    return skip_or_resume(cfg)


def run_job(work: Callable[[DictConfig], Any], cfg: DictConfig) -> Any:
    """Run ``work(cfg)`` as the owner of the job's folder; see the module docstring."""
    started = time.perf_counter()
    folder = _output_dir(cfg)
    if not _claim(folder):
        return None
    failure = None
    try:
        if (earlier := _start(cfg)) is not None:
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
        else:
            files = _traceback_to_log_files(error)
            where = f" (traceback in {files[0]})" if files else ""
            message, code = f"{failure}{where}", EXIT_FAILED
        if in_multirun():
            log.error("job failed: %s", message)
            return None
        print(f"error: {message}", file=sys.stderr)
        sys.exit(code)
    finally:
        release(folder)
        if in_multirun():
            label, seconds = _label(HydraConfig.get()), time.perf_counter() - started
            if failure is None:
                log.info("%s finished in %.0f s", label, seconds)
            else:
                log.info("%s failed after %.0f s: %s", label, seconds, failure)
