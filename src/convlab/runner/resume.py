"""Continue a stopped run exactly where its last checkpoint left it: single runs and sweeps.

- ``python train.py resume=<run dir>`` reruns the command that made ``<run dir>``: its overrides
  (``<run dir>/.hydra/overrides.yaml``), then any new ones given next to ``resume`` (a larger
  ``trainer.max_epochs``, say), in the same folder, from ``<run dir>/checkpoints/last.ckpt``.
- ``ckpt_path=<file>`` alone resumes from any checkpoint into a new folder with the config given
  on the command line (a warning lists the settings that differ from the checkpoint's run).
- Running a sweep again into the same ``hydra.sweep.dir`` gives every job its old folder (job
  number + overrides), and the folder tells what happened last time: a ``completed`` or
  ``diverged`` record stands (the job is skipped); otherwise a ``last.ckpt`` there is resumed;
  otherwise the job starts from scratch. A folder left by a different config (its fingerprint
  differs) is refused. To re-train a finished job, delete its folder.

What makes a continuation exact (same final metrics, epochs and steps as the uninterrupted run
on CPU with ``trainer.deterministic=true``): the weights, optimizer, schedulers and loop counters
Lightning saves; the shuffle order, which ``TensorLoader`` derives from the trainer's own epoch,
plus its position inside the epoch; the random generators (``ResumableCheckpoint``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import zipfile
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict

from convlab.errors import ConvlabError
from convlab.runner.constants import (
    CHECKPOINTS,
    FINGERPRINT_NAME,
    FINISHED,
    LAST_CKPT,
    LOCATION_KEYS,
)
from convlab.runner.record import read_record

log = logging.getLogger("convlab")


def in_multirun() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def quote(value: str | Path) -> str:
    """A value as a quoted Hydra override string (paths of sweep jobs hold ``=`` and ``,``)."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _key(override: str) -> str:
    return override.partition("=")[0].lstrip("+~")


# --- resume=<run dir> ---------------------------------------------------------------------
def run_dir_and_checkpoint(target: str | Path) -> tuple[Path, Path]:
    """``resume=`` takes a run folder (or a ``.ckpt`` inside its ``checkpoints/``)."""
    target = Path(target).expanduser().absolute()
    if target.suffix == ".ckpt":
        if not target.is_file():
            raise ConvlabError(f"resume={target}: no such checkpoint file.")
        return target.parent.parent, target
    if not target.is_dir():
        raise ConvlabError(f"resume={target}: no such run folder.")
    checkpoint = target / CHECKPOINTS / LAST_CKPT
    if not checkpoint.is_file():
        raise ConvlabError(
            f"resume={target}: no {CHECKPOINTS}/{LAST_CKPT} there (the run stopped before its "
            "first checkpoint, or this is not a run folder); start the run again instead."
        )
    return target, checkpoint


def resume_overrides(target: str | Path, extra: list[str]) -> list[str]:
    """The overrides that continue the run in ``target``: its own, then ``extra``, then where."""
    run_dir, checkpoint = run_dir_and_checkpoint(target)
    recorded = run_dir / ".hydra" / "overrides.yaml"
    if not recorded.is_file():
        raise ConvlabError(
            f"resume={run_dir}: no .hydra/overrides.yaml, so its settings are unknown; "
            f"use ckpt_path={checkpoint} with the original overrides instead."
        )
    original = [
        str(o) for o in OmegaConf.load(recorded) if _key(str(o)) not in ("resume", "ckpt_path")
    ]
    return [
        *original,
        *extra,
        f"ckpt_path={quote(checkpoint)}",
        f"resume={quote(run_dir)}",
        f"hydra.run.dir={quote(run_dir)}",
    ]


def expand_resume(flags: list[str], overrides: list[str]) -> list[str] | None:
    """The command line (``flags`` then overrides) with ``resume=<run dir>`` replaced by what
    continues that run; ``None`` when there is no ``resume=``."""
    found = [arg for arg in overrides if arg.startswith("resume=")]
    if not found:
        return None
    others = [arg for arg in overrides if not arg.startswith("resume=")]
    value = found[-1].partition("=")[2].strip("'\"")
    if value in ("", "null", "None"):
        return [*flags, *others]
    if any(arg in ("-m", "--multirun") for arg in flags):
        raise ConvlabError(
            "resume= continues one run. To continue a sweep, run the same sweep command again "
            "with hydra.sweep.dir=<its folder>: finished jobs are skipped, stopped ones resume."
        )
    return [*flags, *resume_overrides(value, others)]


# --- ckpt_path=<file> ---------------------------------------------------------------------
def check_checkpoint(path: str | Path) -> str | None:
    """Why ``path`` is not a readable checkpoint (truncated, not a checkpoint), or ``None``."""
    try:
        with zipfile.ZipFile(path) as archive:
            archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        return f"not a readable checkpoint ({error}); it may have been cut off while being written"
    return None


def _what_it_computes(cfg: DictConfig | dict) -> dict[str, Any]:
    """The config minus where it lives and where it resumes from, as plain data."""
    plain = OmegaConf.to_container(cfg, resolve=False) if isinstance(cfg, DictConfig) else cfg
    return {key: value for key, value in plain.items() if key not in LOCATION_KEYS}


def _flat(container: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(container, dict):
        items: dict[str, Any] = {}
        for key, value in container.items():
            items.update(_flat(value, f"{prefix}{key}."))
        return items
    return {prefix.rstrip("."): container}


def differences(cfg: DictConfig, checkpoint: str | Path) -> list[str]:
    """Settings of ``cfg`` that differ from those of the run that wrote ``checkpoint``."""
    saved = Path(checkpoint).absolute().parent.parent / ".hydra" / "config.yaml"
    if not saved.is_file():
        return []
    before = _flat(_what_it_computes(OmegaConf.to_container(OmegaConf.load(saved))))
    now = _flat(_what_it_computes(cfg))
    return [
        f"{key}: {before.get(key)!r} -> {now.get(key)!r}"
        for key in sorted(set(before) | set(now))
        if before.get(key) != now.get(key)
    ]


def checkpoint_to_resume(cfg: DictConfig) -> str | None:
    """``cfg.ckpt_path``, checked, with a warning for settings that changed since."""
    ckpt_path = cfg.get("ckpt_path") or None
    if ckpt_path:
        reason = check_checkpoint(ckpt_path)
        if reason:
            raise ConvlabError(f"ckpt_path={ckpt_path}: {reason}.")
        if changed := differences(cfg, ckpt_path):
            log.warning("resuming with settings that differ from the checkpoint's run: %s",
                        "; ".join(changed))  # fmt: skip
        log.info("resuming from %s", ckpt_path)
    return ckpt_path


# --- a sweep run again --------------------------------------------------------------------
def fingerprint(cfg: DictConfig) -> str:
    """Hash of what the job computes."""
    text = json.dumps(_what_it_computes(cfg), sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def finished_record(output_dir: str | Path) -> dict[str, Any] | None:
    """The job's record if it holds a final result; a half-written or unreadable one is none."""
    try:
        record = read_record(output_dir)
    except (OSError, json.JSONDecodeError):
        return None
    return record if record.get("status") in FINISHED else None


def last_checkpoint(cfg: DictConfig) -> Path | None:
    checkpoint_cfg = (cfg.get("callbacks") or {}).get("model_checkpoint") or {}
    directory = checkpoint_cfg.get("dirpath") or Path(cfg.paths.output_dir) / CHECKPOINTS
    path = Path(directory) / LAST_CKPT
    return path if path.is_file() else None


def skip_or_resume(cfg: DictConfig) -> dict[str, Any] | None:
    """For a sweep's job: the earlier record to skip it, or ``None`` to train it (then
    ``cfg.ckpt_path`` points at the job's ``last.ckpt`` when there is one to resume)."""
    if not in_multirun():
        return None
    output_dir = Path(cfg.paths.output_dir)
    record = finished_record(output_dir)
    checkpoint = last_checkpoint(cfg)
    stamp, current = output_dir / FINGERPRINT_NAME, fingerprint(cfg)
    reusable = record is not None or checkpoint is not None
    if reusable and stamp.is_file() and stamp.read_text().strip() != current:
        raise ConvlabError(
            f"{output_dir} holds a run of a different config (the sweep's settings changed "
            "since); run the sweep into a fresh hydra.sweep.dir or delete that folder."
        )
    output_dir.mkdir(parents=True, exist_ok=True)
    stamp.write_text(current + "\n")
    if record is not None:
        log.info("skipped %s: already %s in an earlier run of this sweep", output_dir.name,
                 record["status"])  # fmt: skip
        return record
    if checkpoint is not None and not (cfg.get("ckpt_path") or cfg.get("resume")):
        log.info("resuming %s from %s", output_dir.name, checkpoint)
        with open_dict(cfg):
            cfg.ckpt_path = str(checkpoint)
    return None
