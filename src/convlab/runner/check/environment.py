"""Checks of a config against the machine and the budget, before anything is built.

A config can be valid key by key and still not run as meant here: ``trainer=gpu`` where no CUDA
device is visible, more CPU processes than cores (each DDP process trains on its own share of
every epoch, so this changes what is trained), or a schedule that reads ``trainer.max_epochs``
when that is ``-1`` (no limit). ``environment_problems(cfg)`` names each in one line with what
to do instead; ``find_problems`` adds them, so they stop a run before Hydra makes its folder.

The machine checks are skipped where the jobs run on other machines (a SLURM launcher on the
host that submits them); inside a SLURM job they apply.
"""

from __future__ import annotations

import os
import re
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from convlab.runner.check.types import MISSING, UNRESOLVED, read

_GPU_ACCELERATORS = ("gpu", "cuda")
# An interpolation that reads the training budget, e.g. T_max: ${trainer.max_epochs}.
_BUDGET_REFERENCE = re.compile(r"\$\{[^}]*?\btrainer\.(max_epochs|max_steps)\b")
# Scheduler arguments that are a length of the schedule: a finite, positive number.
_SCHEDULE_LENGTHS = ("T_max", "total_steps", "total_iters")


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the platform has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def cuda_devices() -> int:
    """Visible CUDA devices (0 without CUDA). Does not initialise CUDA, so forking stays safe."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _value(node: Any, key: str) -> Any:
    """``node[key]`` resolved, or ``None`` when absent, missing (???) or not resolvable yet."""
    value = read(node, key) if isinstance(node, DictConfig) else None
    return None if value is MISSING or value is UNRESOLVED else value


def _count(value: Any) -> int | None:
    """``devices`` as a number of devices: ``3``, ``"3"``, ``[0, 1]``; ``None`` for auto/-1."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, (list, ListConfig)):
        return len(value)
    return None


def _jobs_run_elsewhere() -> bool:
    """True on the host that submits a sweep to SLURM (its jobs run on other machines)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized() or "SLURM_JOB_ID" in os.environ:
        return False
    try:
        target = str(HydraConfig.get().launcher.get("_target_", ""))
    except Exception:
        return False
    return "submitit" in target and "LocalLauncher" not in target


def _device_problems(cfg: DictConfig) -> list[str]:
    trainer = _value(cfg, "trainer")
    if not isinstance(trainer, DictConfig):
        return []
    accelerator = str(_value(trainer, "accelerator") or "auto").lower()
    devices = _value(trainer, "devices")
    data_device = str(_value(_value(cfg, "data"), "device") or "cpu")
    wants_gpu = accelerator in _GPU_ACCELERATORS
    problems = []
    if wants_gpu or data_device.startswith("cuda"):
        gpus = cuda_devices()
        if gpus == 0:
            key = f"data.device={data_device}"
            if wants_gpu:
                key = f"trainer.accelerator={accelerator}"
            problems.append(
                f"{key}: no CUDA device visible (torch.cuda.is_available() is False). Use "
                "trainer=cpu data.device=cpu here (trainer=default picks a GPU where there is "
                "one; trainer=ddp_sim simulates DDP on 2 CPU processes)."
            )
            return problems
        wanted = _count(devices)
        if wants_gpu and wanted is not None and wanted > gpus:
            problems.append(
                f"trainer.devices={devices}: only {gpus} CUDA device(s) visible. Use "
                f"trainer.devices={gpus} or fewer."
            )
        return problems
    on_cpu = accelerator == "cpu" or (accelerator == "auto" and cuda_devices() == 0)
    if not on_cpu:
        return problems
    if _mps_available() and accelerator == "auto":
        return problems
    wanted = _count(devices)
    if devices == -1 or (wanted is not None and wanted <= 0):
        problems.append(
            f"trainer.devices={devices}: on the CPU, devices is a number of processes (>= 1); "
            f"this machine has {available_cores()} cores."
        )
    elif wanted is not None and wanted > (cores := available_cores()):
        problems.append(
            f"trainer.devices={wanted}: {wanted} CPU processes on {cores} cores. Each process "
            f"trains on its own 1/{wanted} of every epoch (fewer steps per epoch) and they "
            f"compete for the cores. Use trainer.devices={cores} or fewer."
        )
    return problems


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def _walk_raw(path: str, node: Any, found: list[tuple[str, Any]]) -> None:
    """Every leaf of the unresolved config as ``(path, raw value)``."""
    if isinstance(node, dict):
        for key, child in node.items():
            _walk_raw(f"{path}.{key}" if path else str(key), child, found)
    elif isinstance(node, list):
        for index, child in enumerate(node):
            _walk_raw(f"{path}[{index}]", child, found)
    else:
        found.append((path, node))


def _budget_problems(cfg: DictConfig) -> list[str]:
    trainer = _value(cfg, "trainer")
    budget = {key: _value(trainer, key) for key in ("max_epochs", "max_steps")}
    leaves: list[tuple[str, Any]] = []
    for key in cfg:
        if key == "hydra":
            continue
        try:
            raw = OmegaConf.to_container(cfg[key], resolve=False)
        except Exception:
            raw = None
        if isinstance(raw, (dict, list)):
            _walk_raw(str(key), raw, leaves)
    problems = []
    for path, raw in leaves:
        if not isinstance(raw, str):
            continue
        for match in _BUDGET_REFERENCE.finditer(raw):
            name = match.group(1)
            if budget.get(name) == -1:
                problems.append(
                    f"{path}={raw} needs a finite training budget, but trainer.{name}=-1 (no "
                    f"limit) would make it -1. Set trainer.{name} to a positive number, or "
                    f"{path} yourself."
                )
    scheduler = _value(cfg, "scheduler")
    if isinstance(scheduler, DictConfig):
        for key in _SCHEDULE_LENGTHS:
            value = _value(scheduler, key)
            if isinstance(value, int) and not isinstance(value, bool) and value <= 0:
                if any(p.startswith(f"scheduler.{key}=") for p in problems):
                    continue
                problems.append(
                    f"scheduler.{key}={value}: the schedule's length must be a positive number."
                )
        if str(_value(scheduler, "_target_") or "").endswith("ReduceLROnPlateau"):
            problems += _plateau_problems(trainer)
    return problems


def _plateau_problems(trainer: Any) -> list[str]:
    """ReduceLROnPlateau steps on the validation loss at every epoch's end."""
    from convlab.tasks.supervised import PLATEAU_MONITOR  # Lightning: only when it is chosen

    every = _value(trainer, "check_val_every_n_epoch")
    limit = _value(trainer, "limit_val_batches")
    if limit == 0:
        setting = f"trainer.limit_val_batches={limit} validates no epoch"
    elif isinstance(every, int) and every > 1:
        setting = f"trainer.check_val_every_n_epoch={every} leaves epochs without validation"
    else:
        return []
    return [
        f"scheduler=ReduceLROnPlateau steps on {PLATEAU_MONITOR} at every epoch's end, but "
        f"{setting}. "
        "Set trainer.check_val_every_n_epoch=1 and trainer.limit_val_batches above 0, or choose "
        "another scheduler."
    ]


def environment_problems(cfg: DictConfig) -> list[str]:
    """What stops ``cfg`` from running as meant on this machine or with this budget."""
    problems = _budget_problems(cfg)
    if not _jobs_run_elsewhere():
        problems += _device_problems(cfg)
    return problems
