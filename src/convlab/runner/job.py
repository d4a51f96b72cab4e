"""The life of one job folder around its work (``run.train`` or ``run.evaluate``).

``run_job(work, cfg)``:
1. owns the folder: its lock is held for the job's life (``runner.lock``); a folder another
   process holds is skipped in a sweep (one line) and refused for a single run;
2. checks the config where Hydra could not check it before the start (``checked_up_front``);
3. runs the work, which writes ``metrics.json``;
4. turns whatever stops it into a record and one line: ``failed`` with the error's first line
   (the traceback goes to the run's log file only), ``interrupted`` on Ctrl-C with the command
   that continues it. A failed job of a sweep is recorded and the sweep goes on; Ctrl-C stops
   the sweep. ``HYDRA_FULL_ERROR=1`` shows the full traceback instead.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from lightning.fabric.utilities.rank_zero import rank_zero_only
from omegaconf import DictConfig

from convlab.errors import ConvlabError
from convlab.runner import lock
from convlab.runner.check import validate_config
from convlab.runner.record import RunRecord, first_line
from convlab.runner.resume import in_multirun

log = logging.getLogger("convlab")

EXIT_USER_ERROR = 2  # bad config, missing or corrupt data
EXIT_FAILED = 1  # anything else that went wrong inside a run
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report it


class RunInterrupted(KeyboardInterrupt):
    """Training stopped on Ctrl-C with a resumable ``last.ckpt`` and its record written.

    A ``KeyboardInterrupt``, so a sweep stops too instead of starting its next job.
    """

    def __init__(self, output_dir: str | Path, epoch: int, step: int) -> None:
        script = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "train.py"
        super().__init__(
            f"stopped at epoch {epoch}, step {step}; the state is saved. "
            f"Continue with: python {script} resume={output_dir}"
        )


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
        duration_s=round(time.perf_counter() - started, 3),
        overrides=list(HydraConfig.get().overrides.task),
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


def _claim(folder: Path) -> bool:
    """Take the folder's lock; ``False`` when a sweep's job must be skipped."""
    if os.environ.get("LOCAL_RANK", "0") != "0":  # DDP ranks > 0 run inside rank 0's job
        return True
    try:
        lock.acquire(folder)
    except lock.FolderBusy as busy:
        if in_multirun():
            log.warning("skipped %s: another process is running it (%s)", folder.name,
                        busy.owner)  # fmt: skip
            return False
        raise ConvlabError(
            f"{busy}; wait for it to finish, or choose another hydra.run.dir"
        ) from None
    return True


def run_job(work: Callable[[DictConfig], Any], cfg: DictConfig) -> Any:
    """Run ``work(cfg)`` as the owner of the job's folder; see the module docstring."""
    from convlab.runner.hydra_hooks import checked_up_front

    started = time.perf_counter()
    folder = _output_dir(cfg)
    try:
        owned = _claim(folder)
    except ConvlabError as busy:  # nothing of this process may reach that folder
        print(f"error: {busy}", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)
    if not owned:
        return None
    try:
        if HydraConfig.initialized() and not checked_up_front(HydraConfig.get()):
            validate_config(cfg)
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
        _record_stop(cfg, "failed", first_line(error), started)
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        if isinstance(error, ConvlabError):
            message, code = str(error), EXIT_USER_ERROR
        else:
            files = _traceback_to_log_files(error)
            where = f" (traceback in {files[0]})" if files else ""
            message, code = f"{first_line(error)}{where}", EXIT_FAILED
        if in_multirun():
            log.error("job failed: %s", message)
            return None
        print(f"error: {message}", file=sys.stderr)
        sys.exit(code)
    finally:
        lock.release(folder)
