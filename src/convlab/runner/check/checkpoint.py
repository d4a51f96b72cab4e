"""Does a checkpoint belong to the config it is evaluated with?

``eval.py experiment=lenet ckpt_path=<a max_regression checkpoint>`` used to fail deep inside
``load_state_dict``; worse, a LeNet checkpoint evaluated with another LeNet variant
(``experiment=lenet_modern``: ReLU instead of sigmoid) loads without a word and scores a network
that was never trained. ``checkpoint_mismatch(cfg, ckpt_path)`` compares the run the checkpoint
comes from with the config given and says, in one message, which experiment and model the
checkpoint is from, which ones were given, and the command that evaluates it.

The checkpoint's own config is the ``.hydra/`` folder of its run (``<run>/checkpoints/x.ckpt``).
A checkpoint moved away from its run folder is compared by its weights alone: the names and
shapes of the network's tensors against the network the config builds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

# Overrides of the checkpoint's run that say what was trained and on which data (repeated in
# the suggested command).
_MODEL_OVERRIDES = ("experiment=", "model=", "model.", "task=", "task.", "data=", "data.")
MAX_DIFFERENCES = 3


def run_folder(ckpt_path: str | Path) -> Path | None:
    """The run folder a checkpoint belongs to (the nearest parent holding ``.hydra/``)."""
    for folder in list(Path(ckpt_path).absolute().parents)[:3]:
        if (folder / ".hydra" / "config.yaml").is_file():
            return folder
    return None


def _plain(node: Any, key: str) -> Any:
    """``node[key]`` as plain data, resolved where it can be (else as written)."""
    if not isinstance(node, DictConfig) or key not in node:
        return None
    try:
        value = node[key]
    except Exception:
        return OmegaConf.to_container(node, resolve=False).get(key)
    if OmegaConf.is_config(value):
        try:
            return OmegaConf.to_container(value, resolve=True)
        except Exception:
            return OmegaConf.to_container(value, resolve=False)
    return value


def _short(target: Any) -> str:
    return str(target).rsplit(".", 1)[-1] if target else "?"


def _experiment(choices: Any) -> str | None:
    if choices is None:
        return None
    try:
        value = choices.get("experiment")
    except Exception:
        return None
    return str(value) if value else None


def _checkpoint_experiment(folder: Path) -> str | None:
    hydra_file = folder / ".hydra" / "hydra.yaml"
    if not hydra_file.is_file():
        return None
    try:
        saved = OmegaConf.load(hydra_file)
        return _experiment(OmegaConf.select(saved, "hydra.runtime.choices"))
    except Exception:
        return None


def _given_experiment(cfg: DictConfig) -> str | None:
    from hydra.core.hydra_config import HydraConfig

    choices = OmegaConf.select(cfg, "hydra.runtime.choices", throw_on_resolution_failure=False)
    if choices is None and HydraConfig.initialized():
        choices = HydraConfig.get().runtime.choices
    return _experiment(choices)


def _model_overrides(folder: Path) -> list[str]:
    path = folder / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return []
    try:
        overrides = [str(item) for item in OmegaConf.load(path)]
    except Exception:
        return []
    return [item for item in overrides if item.startswith(_MODEL_OVERRIDES)]


def _differences(saved: DictConfig, given: DictConfig) -> list[str]:
    """What makes the networks differ: the task's class, the model's class and arguments."""
    differences = []
    if _plain(saved.get("task"), "_target_") != _plain(given.get("task"), "_target_"):
        differences.append("task._target_")
    mine, theirs = saved.get("model"), given.get("model")
    if isinstance(mine, DictConfig) and isinstance(theirs, DictConfig):
        keys = ["_target_", *sorted((set(map(str, mine)) | set(map(str, theirs))) - {"_target_"})]
        differences += [f"model.{key}" for key in keys if _plain(mine, key) != _plain(theirs, key)]
    return differences


def _describe(cfg: DictConfig, experiment: str | None) -> str:
    what = f"model {_short(_plain(cfg.get('model'), '_target_'))}, "
    what += f"task {_short(_plain(cfg.get('task'), '_target_'))}"
    return f"experiment={experiment} ({what})" if experiment else f"no experiment ({what})"


def _values(cfg: DictConfig, keys: list[str]) -> str:
    shown = []
    for path in keys[:MAX_DIFFERENCES]:
        group, key = path.split(".", 1)
        shown.append(f"{path}={_plain(cfg.get(group), key)}")
    more = len(keys) - MAX_DIFFERENCES
    return ", ".join(shown) + (f" (+{more} more)" if more > 0 else "")


def _by_config(cfg: DictConfig, ckpt_path: str | Path, folder: Path) -> str | None:
    try:
        saved = OmegaConf.load(folder / ".hydra" / "config.yaml")
    except Exception:
        return None
    differences = _differences(saved, cfg)
    if not differences:
        return None
    theirs, given = _checkpoint_experiment(folder), _given_experiment(cfg)
    overrides = _model_overrides(folder)
    if not overrides and theirs:
        overrides = [f"experiment={theirs}"]
    fix = ""
    if overrides:
        fix = f" Evaluate it with: python eval.py {' '.join(overrides)} ckpt_path={ckpt_path}"
    if any(key.endswith("._target_") for key in differences):
        return (
            f"ckpt_path={ckpt_path} is from {_describe(saved, theirs)}, not "
            f"{_describe(cfg, given)} as given.{fix}"
        )
    return (
        f"ckpt_path={ckpt_path} was trained with {_values(saved, differences)}; the config "
        f"given has {_values(cfg, differences)}, so its weights would be scored in another "
        f"network.{fix}"
    )


def _by_weights(cfg: DictConfig, ckpt_path: str | Path) -> str | None:
    import torch
    from hydra.utils import instantiate

    try:
        checkpoint = torch.load(str(ckpt_path), map_location="cpu", weights_only=True)
        net = instantiate(cfg.model)
    except Exception:
        return None  # unreadable checkpoints are reported by the path check
    saved = {
        key.removeprefix("net."): tuple(value.shape)
        for key, value in checkpoint.get("state_dict", {}).items()
        if key.startswith("net.")
    }
    built = {key: tuple(value.shape) for key, value in net.state_dict().items()}
    if not saved or saved == built:
        return None
    odd = sorted(set(saved) ^ set(built)) or sorted(k for k in saved if saved[k] != built[k])
    key = odd[0]
    detail = f"{key}: {saved.get(key, 'absent')} in the checkpoint, {built.get(key, 'absent')} "
    detail += f"in {_short(_plain(cfg.model, '_target_'))}"
    return (
        f"ckpt_path={ckpt_path}: its weights do not fit the model given "
        f"({_describe(cfg, _given_experiment(cfg))}; {detail}). No run folder (.hydra/) beside "
        "it says which experiment it is from: pass the experiment and model it was trained with."
    )


def checkpoint_mismatch(cfg: DictConfig, ckpt_path: str | Path) -> str | None:
    """One message when ``ckpt_path`` was not trained with the model/task of ``cfg``, else None.

    Compares ``model`` and ``task`` of the checkpoint's run (its ``.hydra/config.yaml``) with
    ``cfg``: their targets and every argument (a LeNet with another activation is another
    network). Without a run folder, compares the weights' names and shapes with ``cfg.model``.
    """
    if not Path(ckpt_path).is_file():
        return None
    folder = run_folder(ckpt_path)
    if folder is not None:
        return _by_config(cfg, ckpt_path, folder)
    return _by_weights(cfg, ckpt_path)
