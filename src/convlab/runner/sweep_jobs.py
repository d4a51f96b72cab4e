"""Crash-safe sweeps: a job that already has a result is skipped, an interrupted one resumes.

Running the same multirun command again with the same ``hydra.sweep.dir`` gives every job the
same folder (job number + overrides), so the folder tells what happened last time:

- ``metrics.json`` says ``completed`` or ``diverged``: the result stands; the job is skipped.
- otherwise (no record: killed; ``interrupted``; ``failed``) and ``checkpoints/last.ckpt`` exists:
  training resumes from it, losing at most the epoch that was running.
- otherwise the job starts from scratch.

Only multirun jobs do this: a single run with a reused ``hydra.run.dir`` trains again as asked.
To re-train a finished job of a sweep, delete its folder.

A job's folder is named after its overrides only, so a sweep config edited between two runs
(say, more epochs) would map to the same folders. Each job therefore leaves a fingerprint of
its composed config; a folder whose fingerprint differs is neither skipped nor resumed: the job
stops with an error that says to use a fresh ``hydra.sweep.dir``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict

from convlab.errors import ConvlabError
from convlab.runner.record import RECORD_NAME, read_record

log = logging.getLogger(__name__)

FINISHED = ("completed", "diverged")
LAST_CKPT = "last.ckpt"
FINGERPRINT = ".config_fingerprint"
# Where a job lives and what it resumes from do not change what it computes.
IGNORED_KEYS = ("paths", "ckpt_path", "resume", "hydra")


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


def fingerprint(cfg: DictConfig) -> str:
    """Hash of what the job computes: the config minus where it lives and where it resumes."""
    plain = OmegaConf.to_container(cfg, resolve=False)
    for key in IGNORED_KEYS:
        plain.pop(key, None)
    text = json.dumps(plain, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _check_fingerprint(cfg: DictConfig, output_dir: Path, reusable: bool) -> None:
    """Refuse to reuse (skip or resume) a folder left by a different config; a folder with
    nothing to reuse (a failure before the first checkpoint) is simply trained again."""
    path = output_dir / FINGERPRINT
    current = fingerprint(cfg)
    if reusable and path.is_file() and path.read_text().strip() != current:
        raise ConvlabError(
            f"{output_dir} holds a run of a different config (the sweep's settings changed "
            "since); run the sweep into a fresh hydra.sweep.dir or delete that folder."
        )
    output_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(current + "\n")


def skip_or_resume(cfg: DictConfig) -> dict[str, Any] | None:
    """Return the earlier record to skip this job, or ``None`` to train it.

    When training resumes, ``cfg.ckpt_path`` is set to the job's ``last.ckpt`` (unless the user
    already chose a checkpoint with ``ckpt_path`` or ``resume``).
    """
    if not in_multirun():
        return None
    output_dir = Path(cfg.paths.output_dir)
    record = finished_record(output_dir)
    checkpoint = last_checkpoint(cfg)
    _check_fingerprint(cfg, output_dir, reusable=record is not None or checkpoint is not None)
    if record is not None:
        log.info("skipped %s: already %s in an earlier run of this sweep", output_dir.name,
                 record["status"])  # fmt: skip
        return record
    if cfg.get("ckpt_path") or cfg.get("resume"):
        return None
    if checkpoint is not None:
        log.info("resuming %s from %s", output_dir.name, checkpoint)
        with open_dict(cfg):
            cfg.ckpt_path = str(checkpoint)
    return None
