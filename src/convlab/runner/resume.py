"""Continue a stopped run exactly where its last checkpoint left it.

``python train.py resume=<run dir>`` reruns the command that made ``<run dir>``: its overrides
(from ``<run dir>/.hydra/overrides.yaml``), then any new ones given next to ``resume`` (e.g. a
larger ``trainer.max_epochs``), in the same folder, from ``<run dir>/checkpoints/last.ckpt``.
``ckpt_path=<file>`` alone resumes from any checkpoint into a new folder with the config given on
the command line (a warning lists the settings that differ from the checkpoint's run).

What makes the continuation exact (same final metrics as an uninterrupted run on CPU with
``trainer.deterministic=true``): the weights, optimizer and loop counters Lightning saves; the
position of ``TensorLoader`` inside its epoch (its ``state_dict``); the random number generators
(``ResumableCheckpoint``).
"""

from __future__ import annotations

import logging
import sys
import zipfile
from pathlib import Path
from typing import Any

import lightning as L
from omegaconf import DictConfig, OmegaConf

from convlab.errors import ConvlabError

log = logging.getLogger(__name__)

LAST_CKPT = "last.ckpt"
# Keys that say where a run is, not what it computes: they may differ when resuming.
_WHERE = ("ckpt_path", "resume", "paths", "hydra", "task_name")


class RunInterrupted(KeyboardInterrupt):
    """Training stopped on Ctrl-C after saving a resumable checkpoint (and the run's record).

    A ``KeyboardInterrupt``, so a sweep stops too instead of starting its next job.
    """

    def __init__(self, output_dir: str | Path, epoch: int, step: int) -> None:
        self.output_dir = Path(output_dir)
        script = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "train.py"
        super().__init__(
            f"stopped at epoch {epoch}, step {step}; the state is saved. "
            f"Continue with: python {script} resume={self.output_dir}"
        )


def quote(value: str | Path) -> str:
    """A value as a quoted Hydra override string (paths of sweep jobs hold ``=`` and ``,``)."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _key(override: str) -> str:
    return override.partition("=")[0].lstrip("+~")


def run_dir_and_checkpoint(target: str | Path) -> tuple[Path, Path]:
    """``resume=`` takes a run folder (or a ``.ckpt`` inside its ``checkpoints/``)."""
    target = Path(target).expanduser().absolute()
    if target.suffix == ".ckpt":
        if not target.is_file():
            raise ConvlabError(f"resume={target}: no such checkpoint file.")
        return target.parent.parent, target
    if not target.is_dir():
        raise ConvlabError(f"resume={target}: no such run folder.")
    checkpoint = target / "checkpoints" / LAST_CKPT
    if not checkpoint.is_file():
        raise ConvlabError(
            f"resume={target}: no checkpoints/{LAST_CKPT} there (the run stopped before its "
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


def expand_resume_argument(argv: list[str]) -> list[str]:
    """Command-line arguments with ``resume=<run dir>`` replaced by what continues that run."""
    from hydra._internal.utils import get_args_parser

    overrides = list(get_args_parser().parse_args(argv).overrides)
    found = [arg for arg in overrides if arg.startswith("resume=")]
    if not found:
        return argv
    flags = list(argv)  # the options and their values, in order (overrides go last)
    for override in overrides:
        flags.remove(override)
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


def check_checkpoint(path: str | Path) -> str | None:
    """Why ``path`` is not a readable checkpoint (truncated, not a checkpoint), or ``None``."""
    try:
        with zipfile.ZipFile(path) as archive:
            archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        return f"not a readable checkpoint ({error}); it may have been cut off while being written"
    return None


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
    before = _flat(OmegaConf.to_container(OmegaConf.load(saved), resolve=False))
    now = _flat(OmegaConf.to_container(cfg, resolve=False))
    changed = []
    for key in sorted(set(before) | set(now)):
        if key.split(".")[0] in _WHERE or before.get(key) == now.get(key):
            continue
        changed.append(f"{key}: {before.get(key)!r} -> {now.get(key)!r}")
    return changed


def fit(
    trainer: L.Trainer, task: L.LightningModule, datamodule: L.LightningDataModule, cfg: DictConfig
) -> None:
    """``trainer.fit``, resuming from ``cfg.ckpt_path`` if set; Ctrl-C returns normally.

    Lightning answers Ctrl-C by cleaning up and calling ``sys.exit(1)``; here that returns with
    ``trainer.interrupted`` set, so the caller can record the run before stopping.
    """
    ckpt_path = cfg.get("ckpt_path") or None
    if ckpt_path:
        reason = check_checkpoint(ckpt_path)
        if reason:
            raise ConvlabError(f"ckpt_path={ckpt_path}: {reason}.")
        changed = differences(cfg, ckpt_path)
        if changed:
            log.warning("resuming with settings that differ from the checkpoint's run: %s",
                        "; ".join(changed))  # fmt: skip
        log.info("resuming from %s", ckpt_path)
    try:
        trainer.fit(task, datamodule=datamodule, ckpt_path=ckpt_path)
    except SystemExit:
        if not trainer.interrupted:
            raise


def stop_if_interrupted(trainer: L.Trainer, output_dir: str | Path) -> None:
    """After the run's record is written: raise ``RunInterrupted`` if training was stopped."""
    if trainer.interrupted:
        raise RunInterrupted(output_dir, trainer.current_epoch, trainer.global_step)
