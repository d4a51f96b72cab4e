"""A config valid key by key that still cannot run as meant, on this machine or this budget:
no CUDA device for ``trainer=gpu``, more CPU processes than cores (each trains on its share of
every epoch), a schedule reading ``trainer.max_epochs=-1``. The machine is not judged on the host
that submits jobs to SLURM (they run elsewhere); inside a SLURM job it is."""

from __future__ import annotations

import os
import re
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

# An interpolation that reads the training budget, e.g. T_max: ${trainer.max_epochs}.
_BUDGET_REFERENCE = re.compile(r"\$\{[^}]*?\btrainer\.(max_epochs|max_steps)\b")
NO_CUDA = ("no CUDA device visible (torch.cuda.is_available() is False). Use trainer=cpu "
           "data.device=cpu here (trainer=default picks a GPU where there is one; "
           "trainer=ddp_sim simulates DDP on 2 CPU processes).")  # fmt: skip


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


def _mps_available() -> bool:
    import torch

    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def _get(cfg: DictConfig, key: str) -> Any:
    """``cfg.<key>``, or ``None`` when absent, ``???`` or resolvable only in Hydra's run."""
    return OmegaConf.select(cfg, key, default=None, throw_on_resolution_failure=False)


def _jobs_run_elsewhere() -> bool:
    """True on the host that submits a sweep to SLURM (its jobs run on other machines)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized() or "SLURM_JOB_ID" in os.environ:
        return False
    launcher = str(OmegaConf.select(HydraConfig.get(), "launcher._target_", default=""))
    return "submitit" in launcher and "LocalLauncher" not in launcher


def _device_problem(cfg: DictConfig) -> str | None:
    if not isinstance(_get(cfg, "trainer"), DictConfig):
        return None
    accelerator = str(_get(cfg, "trainer.accelerator") or "auto").lower()
    devices, data_device = _get(cfg, "trainer.devices"), str(_get(cfg, "data.device") or "cpu")
    wanted = len(devices) if isinstance(devices, (list, ListConfig)) else devices
    if isinstance(wanted, str) and wanted.strip().isdigit():
        wanted = int(wanted)
    wanted = wanted if isinstance(wanted, int) and not isinstance(wanted, bool) else None
    if accelerator in ("gpu", "cuda") or data_device.startswith("cuda"):
        gpus = cuda_devices()
        if gpus == 0 and accelerator in ("gpu", "cuda"):
            return f"trainer.accelerator={accelerator}: {NO_CUDA}"
        if gpus == 0:
            return f"data.device={data_device}: {NO_CUDA}"
        if accelerator in ("gpu", "cuda") and wanted is not None and wanted > gpus:
            return (f"trainer.devices={devices}: only {gpus} CUDA device(s) visible. Use "
                    f"trainer.devices={gpus} or fewer.")  # fmt: skip
        return None
    if accelerator != "cpu" and (accelerator != "auto" or cuda_devices() or _mps_available()):
        return None  # not CPU processes (or Lightning picks the device)
    if wanted is not None and wanted <= 0:
        return (f"trainer.devices={devices}: on the CPU, devices is a number of processes (>= 1); "
                f"this machine has {available_cores()} cores.")  # fmt: skip
    if wanted is not None and wanted > (cores := available_cores()):
        return (f"trainer.devices={wanted}: {wanted} CPU processes on {cores} cores. Each process "
                f"trains on its own 1/{wanted} of every epoch (fewer steps per epoch) and they "
                f"compete for the cores. Use trainer.devices={cores} or fewer.")  # fmt: skip
    return None


def _leaves(path: str, node: Any):
    """``(path, raw value)`` of every leaf of an unresolved config."""
    if not isinstance(node, (dict, list)):
        yield path, node
        return
    for key, child in node.items() if isinstance(node, dict) else enumerate(node):
        yield from _leaves(f"{path}.{key}" if isinstance(node, dict) else f"{path}[{key}]", child)


def _budget_problems(cfg: DictConfig) -> list[str]:
    problems = []
    for key in (key for key in cfg if key != "hydra"):
        try:
            raw = OmegaConf.to_container(cfg[key], resolve=False)
        except Exception:
            continue
        for path, value in _leaves(str(key), raw if isinstance(raw, (dict, list)) else {}):
            for name in _BUDGET_REFERENCE.findall(str(value)):
                if _get(cfg, f"trainer.{name}") == -1:
                    problems.append(
                        f"{path}={value} needs a finite training budget, but trainer.{name}=-1 (no "
                        f"limit) would make it -1. Set trainer.{name} to a positive number, or "
                        f"{path} yourself."
                    )
    for key in ("T_max", "total_steps", "total_iters"):  # the lengths of a schedule
        value, said = _get(cfg, f"scheduler.{key}"), f"scheduler.{key}="
        if type(value) is int and value <= 0 and not any(p.startswith(said) for p in problems):
            problems.append(f"{said}{value}: the schedule's length must be a positive number.")
    return problems


def _plateau_problems(cfg: DictConfig) -> list[str]:
    """ReduceLROnPlateau steps on the validation loss at every epoch's end."""
    if not str(_get(cfg, "scheduler._target_") or "").endswith("ReduceLROnPlateau"):
        return []
    from convlab.tasks.supervised import PLATEAU_MONITOR  # Lightning: only when it is chosen

    every, limit = (
        _get(cfg, "trainer.check_val_every_n_epoch"),
        _get(cfg, "trainer.limit_val_batches"),
    )
    if limit == 0:
        setting = f"trainer.limit_val_batches={limit} validates no epoch"
    elif isinstance(every, int) and every > 1:
        setting = f"trainer.check_val_every_n_epoch={every} leaves epochs without validation"
    else:
        return []
    return [f"scheduler=ReduceLROnPlateau steps on {PLATEAU_MONITOR} at every epoch's end, but "
            f"{setting}. Set trainer.check_val_every_n_epoch=1 and trainer.limit_val_batches "
            "above 0, or choose another scheduler."]  # fmt: skip


def environment_problems(cfg: DictConfig) -> list[str]:
    """What stops ``cfg`` from running as meant on this machine or with this budget."""
    problems = _budget_problems(cfg) + _plateau_problems(cfg)
    device = None if _jobs_run_elsewhere() else _device_problem(cfg)
    return problems + ([device] if device else [])
