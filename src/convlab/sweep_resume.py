"""Crash-safe sweeps: a job that already has a result is skipped, an interrupted one resumes.

Running the same multirun command again with the same ``hydra.sweep.dir`` gives every job the
same folder (job number + overrides), so the folder tells what happened last time:

- ``metrics.json`` says ``completed`` or ``diverged``: the result stands; the job is skipped.
- otherwise (no record: killed; ``interrupted``; ``failed``) and ``checkpoints/last.ckpt`` exists:
  training resumes from it, losing at most the epoch that was running.
- otherwise the job starts from scratch.

Only multirun jobs do this: a single run with a reused ``hydra.run.dir`` trains again as asked.
To re-train a finished job of a sweep, delete its folder.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, open_dict

from convlab.run_record import RECORD_NAME, read_record

log = logging.getLogger(__name__)

FINISHED = ("completed", "diverged")
LAST_CKPT = "last.ckpt"


def in_multirun() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def finished_record(output_dir: str | Path) -> dict[str, Any] | None:
    """The job's record if it holds a final result; a half-written or unreadable one is none."""
    path = Path(output_dir) / RECORD_NAME
    try:
        record = read_record(path)
    except (OSError, json.JSONDecodeError):
        return None
    return record if record.get("status") in FINISHED else None


def last_checkpoint(cfg: DictConfig) -> Path | None:
    checkpoint_cfg = (cfg.get("callbacks") or {}).get("model_checkpoint") or {}
    directory = checkpoint_cfg.get("dirpath") or Path(cfg.paths.output_dir) / "checkpoints"
    path = Path(directory) / LAST_CKPT
    return path if path.is_file() else None


def skip_or_resume(cfg: DictConfig) -> dict[str, Any] | None:
    """Return the earlier record to skip this job, or ``None`` to train it.

    When training resumes, ``cfg.ckpt_path`` is set to the job's ``last.ckpt`` (unless the user
    already chose a checkpoint with ``ckpt_path`` or ``resume``).
    """
    if not in_multirun():
        return None
    output_dir = Path(cfg.paths.output_dir)
    record = finished_record(output_dir)
    if record is not None:
        log.info("skipped %s: already %s in an earlier run of this sweep", output_dir.name,
                 record["status"])  # fmt: skip
        return record
    if cfg.get("ckpt_path") or cfg.get("resume"):
        return None
    checkpoint = last_checkpoint(cfg)
    if checkpoint is not None:
        log.info("resuming %s from %s", output_dir.name, checkpoint)
        with open_dict(cfg):
            cfg.ckpt_path = str(checkpoint)
    return None
