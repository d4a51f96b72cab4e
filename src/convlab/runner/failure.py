"""What a run that does not finish leaves behind: a record saying why, a traceback in its log.

Every folder Hydra makes for a run ends with a ``metrics.json``: ``completed``/``diverged`` from
``run.train``, ``failed`` (with the error's first line) or ``interrupted`` from here. A sweep can
then go on past a failed job, and the report counts it instead of silently dropping it.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from convlab.runner.record import RECORD_NAME, read_record, write_record

log = logging.getLogger("convlab")


def first_line(error: BaseException) -> str:
    """``ValueError: lr must be positive`` — the type and the first line of the message."""
    text = str(error).strip()
    line = text.splitlines()[0] if text else ""
    return f"{type(error).__name__}: {line}" if line else type(error).__name__


def in_multirun() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def _is_rank_zero() -> bool:
    from lightning.fabric.utilities.rank_zero import rank_zero_only

    return getattr(rank_zero_only, "rank", 0) == 0


def output_dir(cfg: DictConfig) -> Path | None:
    """The run's folder, if this process runs under Hydra and it can be resolved."""
    if not HydraConfig.initialized():
        return None
    try:
        return Path(cfg.paths.output_dir)
    except Exception:
        return Path(HydraConfig.get().runtime.output_dir)


def record_failure(
    cfg: DictConfig, status: str, error: str, started: float | None = None
) -> Path | None:
    """Write ``metrics.json`` for a run that stopped with ``status`` (failed | interrupted)."""
    directory = output_dir(cfg)
    if directory is None or not _is_rank_zero():
        return None
    record: dict[str, Any] = {
        "status": status,
        "error": error,
        "metrics": {},
        "seed": cfg.get("seed"),
        "epochs": None,
        "steps": None,
        "duration_s": round(time.perf_counter() - started, 3) if started else None,
        "overrides": list(HydraConfig.get().overrides.task),
    }
    try:
        return write_record(directory, record)
    except OSError as write_error:  # e.g. the disk is full: say so, keep the original error
        log.error("could not write %s: %s", directory / RECORD_NAME, write_error)
        return None


def log_traceback_to_files(error: BaseException) -> list[str]:
    """Put the traceback in the run's log file(s) only, not on the console; returns the files."""
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


class SweepSummary(Callback):
    """Hydra callback: after a multirun, one line with the jobs per status, naming failed ones."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        counts: dict[str, int] = {}
        failed = []
        for path in sorted(sweep_dir.glob(f"*/{RECORD_NAME}")):
            try:
                status = read_record(path).get("status", "unknown")
            except (OSError, ValueError):
                status = "unreadable"
            counts[status] = counts.get(status, 0) + 1
            if status not in ("completed", "diverged"):
                failed.append(path.parent.name)
        if not counts:
            return
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        if failed:
            log.warning("sweep %s: %s; see metrics.json in %s", sweep_dir, summary,
                        ", ".join(failed))  # fmt: skip
        else:
            log.info("sweep %s: %s", sweep_dir, summary)
