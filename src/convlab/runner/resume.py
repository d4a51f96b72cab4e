"""Where a checkpoint comes from and whether it fits.

- ``resume=<run dir>`` reruns the command that made the folder (its ``.hydra/overrides.yaml``,
  then any new overrides) in that folder, from its ``checkpoints/last.ckpt``.
- ``ckpt_path=<file>`` resumes into a new folder, warning of settings that differ; ``eval.py``
  refuses a checkpoint of another model or task and prints the command that fits it.
- A sweep run again into its ``hydra.sweep.dir``: a finished job is skipped, a stopped one resumes
  from its ``last.ckpt``, a folder left by a different config (fingerprint) is refused.
"""

from __future__ import annotations

import hashlib
import json
import logging
import zipfile
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict

from convlab.errors import ConvlabError
from convlab.runner.overrides import in_multirun, quote, split_override
from convlab.runner.record import (
    CHECKPOINTS,
    FINGERPRINT_NAME,
    FINISHED,
    LAST_CKPT,
    LOCATION_KEYS,
    read_record,
)

log = logging.getLogger("convlab")
# What was trained and on which data: repeated in the suggested eval command.
_MODEL_OVERRIDES = ("experiment=", "model=", "model.", "task=", "task.", "data=", "data.")
MAX_DIFFERENCES = 3


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
    where = [f"ckpt_path={quote(checkpoint)}", f"resume={quote(run_dir)}"]
    return [*flags, *original, *others, *where, f"hydra.run.dir={quote(run_dir)}"]


def check_checkpoint(path: str | Path) -> str | None:
    """Why ``path`` is not a readable checkpoint (truncated, not a checkpoint), or ``None``."""
    try:
        with zipfile.ZipFile(path) as archive:
            archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        return f"not a readable checkpoint ({error}); it may have been cut off while being written"
    return None


def _what_it_computes(cfg: DictConfig) -> dict[str, Any]:
    plain = OmegaConf.to_container(cfg, resolve=False)
    return {key: value for key, value in plain.items() if key not in LOCATION_KEYS}


def _flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(tree, dict):
        return {prefix.rstrip("."): tree}
    return {k: v for key, value in tree.items() for k, v in _flat(value, f"{prefix}{key}.").items()}


def _changed(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    return [key for key in sorted(before.keys() | now.keys()) if before.get(key) != now.get(key)]


def differences(cfg: DictConfig, checkpoint: str | Path) -> list[str]:
    """Settings of ``cfg`` that differ from those of the run that wrote ``checkpoint``."""
    if (folder := run_folder(checkpoint)) is None:
        return []
    before = _flat(_what_it_computes(OmegaConf.load(folder / ".hydra" / "config.yaml")))
    now = _flat(_what_it_computes(cfg))
    return [f"{key}: {before.get(key)!r} -> {now.get(key)!r}" for key in _changed(before, now)]


def checked_ckpt_path(cfg: DictConfig, evaluating: bool = False) -> str | None:
    """``cfg.ckpt_path``, checked: readable; to evaluate, of this model and task; to resume, a
    warning for the settings that changed since."""
    ckpt_path = cfg.get("ckpt_path") or None
    if ckpt_path is None:
        if evaluating:
            raise ConvlabError("eval.py needs ckpt_path=<path to a .ckpt file>")
        return None
    if not Path(ckpt_path).is_file():
        raise ConvlabError(f"ckpt_path={ckpt_path}: no such checkpoint file")
    if reason := check_checkpoint(ckpt_path):
        raise ConvlabError(f"ckpt_path={ckpt_path}: {reason}.")
    if evaluating and (problem := checkpoint_mismatch(cfg, ckpt_path)):
        raise ConvlabError(problem)
    if evaluating:
        return ckpt_path
    if changed := differences(cfg, ckpt_path):
        log.warning("resuming with settings that differ from the checkpoint's run: %s",
                    "; ".join(changed))  # fmt: skip
    log.info("resuming from %s", ckpt_path)
    return ckpt_path


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


# --- does a checkpoint fit the config given? ----------------------------------------------
def run_folder(ckpt_path: str | Path) -> Path | None:
    """The run folder a checkpoint belongs to (the nearest parent holding ``.hydra/``)."""
    for folder in list(Path(ckpt_path).absolute().parents)[:3]:
        if (folder / ".hydra" / "config.yaml").is_file():
            return folder
    return None


def _load(path: Path) -> Any:
    try:
        return OmegaConf.load(path)
    except Exception:
        return None


def _value(node: Any, key: str) -> Any:
    """``node[key]`` as plain data, resolved where it can be (else as written)."""
    if not isinstance(node, DictConfig) or key not in node:
        return None
    try:
        value = node[key]
        return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
    except Exception:
        return OmegaConf.to_container(node, resolve=False).get(key)


def _short(cfg: DictConfig, group: str) -> str:
    target = _value(cfg.get(group), "_target_")
    return str(target).rsplit(".", 1)[-1] if target else "?"


def _experiment(cfg: Any, given: bool = True) -> str | None:
    """The ``experiment`` choice in a config's ``hydra`` node (the given config's: or else in
    Hydra's state)."""
    choices = OmegaConf.select(cfg, "hydra.runtime.choices", default=None,
                               throw_on_resolution_failure=False)  # fmt: skip
    if choices is None and given and HydraConfig.initialized():
        choices = HydraConfig.get().runtime.choices
    value = choices.get("experiment") if choices is not None else None
    return str(value) if value else None


def _describe(cfg: DictConfig, experiment: str | None) -> str:
    what = f"model {_short(cfg, 'model')}, task {_short(cfg, 'task')}"
    return f"experiment={experiment} ({what})" if experiment else f"no experiment ({what})"


def _shown(values: dict[str, Any], keys: list[str]) -> str:
    more = len(keys) - MAX_DIFFERENCES
    shown = ", ".join(f"{key}={values.get(key)}" for key in keys[:MAX_DIFFERENCES])
    return shown + (f" (+{more} more)" if more > 0 else "")


def _by_config(cfg: DictConfig, ckpt_path: str | Path, folder: Path) -> str | None:
    """Compare what makes the networks differ: the task's class, the model's class and args."""
    if (saved := _load(folder / ".hydra" / "config.yaml")) is None:
        return None
    try:
        theirs = _experiment(OmegaConf.load(folder / ".hydra" / "hydra.yaml"), given=False)
    except Exception:
        theirs = None
    both = all(isinstance(c.get("model"), DictConfig) for c in (saved, cfg))
    then, now = ({"task._target_": _value(c.get("task"), "_target_"),  # what makes nets differ
                  **{f"model.{k}": _value(c.model, str(k)) for k in (c.model if both else ())}}
                 for c in (saved, cfg))  # fmt: skip
    if not (keys := _changed(then, now)):
        return None
    recorded = map(str, _load(folder / ".hydra" / "overrides.yaml") or [])
    overrides = [o for o in recorded if o.startswith(_MODEL_OVERRIDES)]
    overrides = overrides or ([f"experiment={theirs}"] if theirs else [])
    fix = f" Evaluate it with: python eval.py {' '.join(overrides)} ckpt_path={ckpt_path}"
    fix = fix if overrides else ""
    if any(key.endswith("._target_") for key in keys):
        return (f"ckpt_path={ckpt_path} is from {_describe(saved, theirs)}, not "
                f"{_describe(cfg, _experiment(cfg))} as given.{fix}")  # fmt: skip
    return (
        f"ckpt_path={ckpt_path} was trained with {_shown(then, keys)}; the config given has "
        f"{_shown(now, keys)}, so its weights would be scored in another network.{fix}"
    )


def _by_weights(cfg: DictConfig, ckpt_path: str | Path) -> str | None:
    """Without a run folder: the names and shapes of the net's tensors against ``cfg.model``."""
    import torch
    from hydra.utils import instantiate

    try:
        checkpoint = torch.load(str(ckpt_path), map_location="cpu", weights_only=True)
        net = instantiate(cfg.model)
    except Exception:
        return None  # unreadable checkpoints are reported by the path check
    state = checkpoint.get("state_dict", {}).items()
    saved = {k.removeprefix("net."): tuple(v.shape) for k, v in state if k.startswith("net.")}
    built = {key: tuple(value.shape) for key, value in net.state_dict().items()}
    if not saved or saved == built:
        return None
    odd = sorted(set(saved) ^ set(built)) or sorted(k for k in saved if saved[k] != built[k])
    key = odd[0]
    detail = f"{key}: {saved.get(key, 'absent')} in the checkpoint, {built.get(key, 'absent')} "
    return (
        f"ckpt_path={ckpt_path}: its weights do not fit the model given "
        f"({_describe(cfg, _experiment(cfg))}; {detail}in {_short(cfg, 'model')}). No run folder "
        "(.hydra/) beside it says which experiment it is from: pass the experiment and model it "
        "was trained with."
    )


def checkpoint_mismatch(cfg: DictConfig, ckpt_path: str | Path) -> str | None:
    """One message when ``ckpt_path`` was not trained with the model and task of ``cfg``, else
    ``None``: compared by its run's ``.hydra/`` config, or by its weights' names and shapes."""
    if not Path(ckpt_path).is_file():
        return None
    folder = run_folder(ckpt_path)
    return _by_config(cfg, ckpt_path, folder) if folder else _by_weights(cfg, ckpt_path)
