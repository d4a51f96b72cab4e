"""Where a checkpoint comes from and whether it fits.

- ``resume=<run dir>`` reruns the command that made the folder (its ``.hydra/overrides.yaml``,
  then any new overrides) in that folder, from its ``checkpoints/last.ckpt``.
- ``ckpt_path=<file>`` resumes into a new folder, warning of settings that differ; ``eval.py``
  refuses a checkpoint of another model or task and prints the command that fits it.
- A sweep run again into its ``hydra.sweep.dir``: a finished job is skipped, a stopped one resumes
  from its ``last.ckpt``, a folder left by a different config (fingerprint) is refused.
"""

import hashlib
import json
import logging
import zipfile
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from convlab.errors import ConvlabError
from convlab.record import (
    CHECKPOINTS,
    FINGERPRINT_NAME,
    FINISHED,
    LAST_CKPT,
    LOCATION_KEYS,
    read_record,
)
from convlab.runner.overrides import in_multirun, quote, split_override

log = logging.getLogger("convlab")
# What was trained and on which data: repeated in the suggested eval command.
_NETWORK = ("model.", "task._target_:")
_MODEL_OVERRIDES = ("experiment=", "model=", "model.", "task=", "task.", "data=", "data.")
MAX_DIFFERENCES = 3
# What a continued run (resume=, ckpt_path=) may change: how long it trains, where and how it
# reports, on which devices. Any other difference from the checkpoint's run is refused.
MAY_CHANGE = (
    "trainer.max_epochs", "trainer.max_steps", "trainer.max_time", "trainer.min_epochs",
    "trainer.accelerator", "trainer.devices", "trainer.num_nodes", "trainer.strategy",
    "trainer.enable_progress_bar", "trainer.enable_model_summary", "trainer.log_every_n_steps",
    "trainer.profiler", "trainer.limit_test_batches", "data.num_workers", "data.device",
    "logger", "callbacks", "torch_threads", "test", "test_ckpt", "optimized_metric",
)  # fmt: skip


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


def expand_resume(flags: list[str], overrides: list[str]) -> list[str] | None:
    """The command line with ``resume=<run dir>`` replaced by the run's own overrides, then the
    new ones, then where it continues; ``None`` when there is no ``resume=``."""
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
    run_dir, checkpoint = run_dir_and_checkpoint(value)
    recorded = run_dir / ".hydra" / "overrides.yaml"
    if not recorded.is_file():
        raise ConvlabError(
            f"resume={run_dir}: no .hydra/overrides.yaml, so its settings are unknown; "
            f"use ckpt_path={checkpoint} with the original overrides instead."
        )
    original = [str(o) for o in OmegaConf.load(recorded)
                if split_override(str(o))[0] not in ("resume", "ckpt_path")]  # fmt: skip
    merged = {split_override(o)[0]: o for o in [*original, *others]}  # a new value replaces
    where = [f"ckpt_path={quote(checkpoint)}", f"resume={quote(run_dir)}"]
    return [*flags, *merged.values(), *where, f"hydra.run.dir={quote(run_dir)}"]


def check_checkpoint(path: str | Path) -> str | None:
    """Why ``path`` is not a readable checkpoint (truncated, not a checkpoint), or ``None``."""
    try:
        with zipfile.ZipFile(path) as archive:
            archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        return f"not a readable checkpoint ({error}); it may have been cut off while being written"
    return None


def run_folder(ckpt_path: str | Path) -> Path | None:
    """The run folder a checkpoint belongs to (the nearest parent holding ``.hydra/``)."""
    for folder in list(Path(ckpt_path).absolute().parents)[:3]:
        if (folder / ".hydra" / "config.yaml").is_file():
            return folder
    return None


def _leaves(tree: Any, prefix: str = "") -> dict[str, Any]:
    """A config's settings as ``{dotted key: value as written}``, where it lives left out.
    Compared as written: a change shows at its source, not at each interpolation reading it."""
    if not isinstance(tree, dict):
        return {prefix.rstrip("."): tree}
    return {k: v for key, value in tree.items() if prefix or key not in LOCATION_KEYS
            for k, v in _leaves(value, f"{prefix}{key}.").items()}  # fmt: skip


def differences(cfg: DictConfig, checkpoint: str | Path) -> list[str]:
    """``key: then -> now`` for each setting of ``cfg`` that differs from the run that wrote
    ``checkpoint`` (none when no run folder says how it was made)."""
    if (folder := run_folder(checkpoint)) is None:
        return []
    try:
        saved = OmegaConf.load(folder / ".hydra" / "config.yaml")
        before = _leaves(OmegaConf.to_container(saved, resolve=False))
    except Exception:
        return []
    now = _leaves(OmegaConf.to_container(cfg, resolve=False))
    changed = sorted(key for key in before.keys() | now.keys() if before.get(key) != now.get(key))
    return [f"{key}: {before.get(key)!r} -> {now.get(key)!r}" for key in changed]


def _may_change(difference: str) -> bool:
    key = difference.partition(":")[0]
    return any(key == allowed or key.startswith(f"{allowed}.") for allowed in MAY_CHANGE)


def resume_problem(cfg: DictConfig) -> str | None:
    """Why ``cfg`` cannot continue from its ``ckpt_path``: settings that change what is computed."""
    if "resume" not in cfg:  # eval.py's config: see checkpoint_mismatch
        return None
    if not (changed := [d for d in differences(cfg, cfg.ckpt_path) if not _may_change(d)]):
        return None
    given = f"resume={cfg.resume}" if cfg.get("resume") else f"ckpt_path={cfg.ckpt_path}"
    return (f"{given}: these settings would change what the run computes ({shown(changed)}). A "
            "continued run may change only its budget, logging, devices and workers; start a "
            "new run for the rest.")  # fmt: skip


def nothing_to_do(cfg: DictConfig) -> str | None:
    """For ``resume=`` of a finished run with the same budget: what to say instead of training."""
    if not cfg.get("resume") or (record := finished_record(cfg.resume)) is None:
        return None
    budget = ("trainer.max_epochs:", "trainer.max_steps:", "trainer.max_time:")
    if any(d.startswith(budget) for d in differences(cfg, cfg.ckpt_path)):
        return None
    return (f"resume={cfg.resume}: the run is already {record['status']} "
            f"({record.get('epochs')} epochs); nothing to do. Raise trainer.max_epochs to train "
            "it further.")  # fmt: skip


def shown(items: list[str]) -> str:
    more = len(items) - MAX_DIFFERENCES
    return "; ".join(items[:MAX_DIFFERENCES]) + (f" (+{more} more)" if more > 0 else "")


def checkpoint_mismatch(cfg: DictConfig, ckpt_path: str | Path) -> str | None:
    """One line when ``ckpt_path``'s run trained another network (model or task) than ``cfg``
    builds, with the command that evaluates it; ``None`` when it fits or nothing says."""
    changed = [d for d in differences(cfg, ckpt_path) if d.startswith(_NETWORK)]
    if not changed:
        return None
    try:
        recorded = map(str, OmegaConf.load(run_folder(ckpt_path) / ".hydra" / "overrides.yaml"))
        fix = " ".join(o for o in recorded if o.startswith(_MODEL_OVERRIDES))
    except Exception:
        fix = ""
    fix = f" Evaluate it with: python eval.py {fix} ckpt_path={ckpt_path}" if fix else ""
    return f"ckpt_path={ckpt_path} was trained with another network ({shown(changed)}).{fix}"


def checkpoint_problem(cfg: DictConfig, evaluating: bool = False) -> str | None:
    """Why ``cfg.ckpt_path`` cannot be used: no such file, not a readable checkpoint; to continue
    from it, settings that change the computation; to evaluate it, another model or task."""
    if not (ckpt_path := cfg.get("ckpt_path")):
        return "eval.py needs ckpt_path=<path to a .ckpt file>" if evaluating else None
    if not Path(ckpt_path).is_file():
        return f"ckpt_path={ckpt_path}: no such checkpoint file."
    if reason := check_checkpoint(ckpt_path):
        return f"ckpt_path={ckpt_path}: {reason}."
    return checkpoint_mismatch(cfg, ckpt_path) if evaluating else resume_problem(cfg)


def checked_ckpt_path(cfg: DictConfig, evaluating: bool = False) -> str | None:
    """``cfg.ckpt_path``, checked again as the run starts (a sweep's job may have just found its
    own ``last.ckpt``)."""
    if problem := checkpoint_problem(cfg, evaluating):
        raise ConvlabError(problem)
    if ckpt_path := cfg.get("ckpt_path") or None:
        log.info("%s from %s", "evaluating" if evaluating else "resuming", ckpt_path)
    return ckpt_path


def fingerprint(cfg: DictConfig) -> str:
    """Hash of what the job computes."""
    plain = OmegaConf.to_container(cfg, resolve=False)
    text = json.dumps({k: v for k, v in plain.items() if k not in LOCATION_KEYS}, sort_keys=True,
                      default=str)  # fmt: skip
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
    """For a sweep's job: the earlier record to skip it, or ``None`` to train it (from its
    ``last.ckpt`` when there is one, set as ``cfg.ckpt_path``)."""
    if not in_multirun():
        return None
    output_dir = Path(cfg.paths.output_dir)
    record, checkpoint = finished_record(output_dir), last_checkpoint(cfg)
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
