"""A config valid key by key that still cannot run as meant on this machine or budget: no CUDA
device for ``trainer=gpu``, more CPU processes than cores (each trains on its share of every
epoch), a schedule reading ``trainer.max_epochs=-1``. The machine is not judged on the host that
submits jobs to SLURM (they run elsewhere); inside a SLURM job it is."""

import os
import re
from typing import Any

from hydra.core.hydra_config import HydraConfig
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
    """Visible CUDA devices, without initialising CUDA (so forking stays safe)."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _mps_available() -> bool:
    import torch

    return torch.backends.mps.is_available()


def _get(cfg: DictConfig, key: str) -> Any:
    """``cfg.<key>``, or ``None`` when absent, ``???`` or resolvable only in Hydra's run."""
    return OmegaConf.select(cfg, key, default=None, throw_on_resolution_failure=False)


def _device_problem(cfg: DictConfig) -> str | None:
    launcher = str(HydraConfig.initialized() and HydraConfig.get().launcher.get("_target_"))
    if "submitit" in launcher and "Local" not in launcher and "SLURM_JOB_ID" not in os.environ:
        return None  # the host that submits a sweep to SLURM: its jobs run on other machines
    accelerator = str(_get(cfg, "trainer.accelerator") or "auto").lower()
    devices, data_device = _get(cfg, "trainer.devices"), str(_get(cfg, "data.device") or "cpu")
    wanted = len(devices) if isinstance(devices, ListConfig) else devices
    wanted = int(wanted) if isinstance(wanted, str) and wanted.strip().isdigit() else wanted
    wanted = wanted if type(wanted) is int else 1  # True, "auto": one device
    if (gpu := accelerator in ("gpu", "cuda")) or data_device.startswith("cuda"):
        if not (gpus := cuda_devices()):
            key = f"trainer.accelerator={accelerator}" if gpu else f"data.device={data_device}"
            return f"{key}: {NO_CUDA}"
        if gpu and wanted > gpus:
            return (f"trainer.devices={devices}: only {gpus} CUDA device(s) visible. Use "
                    f"trainer.devices={gpus} or fewer.")  # fmt: skip
        return None
    if accelerator != "cpu" and (accelerator != "auto" or cuda_devices() or _mps_available()):
        return None  # not CPU processes (or Lightning picks the device)
    if wanted <= 0:
        return (f"trainer.devices={devices}: on the CPU, devices is a number of processes (>= 1); "
                f"this machine has {available_cores()} cores.")  # fmt: skip
    if wanted > (cores := available_cores()):
        return (f"trainer.devices={wanted}: {wanted} CPU processes on {cores} cores. Each process "
                f"trains on its own 1/{wanted} of every epoch (fewer steps per epoch) and they "
                f"compete for the cores. Use trainer.devices={cores} or fewer.")  # fmt: skip
    return None


def _leaves(path: str, node: Any) -> list[tuple[str, Any]]:
    """``(path, raw value)`` of every leaf of an unresolved config."""
    if not isinstance(node, (dict, list)):
        return [(path, node)]
    items = node.items() if isinstance(node, dict) else enumerate(node)
    keyed = "{}.{}" if isinstance(node, dict) else "{}[{}]"
    return [
        leaf for k, child in items for leaf in _leaves(keyed.format(path, k).lstrip("."), child)
    ]


def environment_problems(cfg: DictConfig) -> list[str]:
    """What stops ``cfg`` from running as meant on this machine or with this budget."""
    problems, raw = [], OmegaConf.to_container(cfg, resolve=False)
    sections = {k: v for k, v in raw.items() if k != "hydra" and isinstance(v, (dict, list))}
    for path, value in _leaves("", sections):
        for name in _BUDGET_REFERENCE.findall(str(value)):
            if _get(cfg, f"trainer.{name}") == -1:
                problems.append(f"{path}={value} needs a finite training budget, but trainer."
                                f"{name}=-1 (no limit) would make it -1. Set trainer.{name} to a "
                                f"positive number, or {path} yourself.")  # fmt: skip
    for key in ("T_max", "total_steps", "total_iters"):  # the lengths of a schedule
        value, said = _get(cfg, f"scheduler.{key}"), f"scheduler.{key}="
        if type(value) is int and value <= 0 and not any(p.startswith(said) for p in problems):
            problems.append(f"{said}{value}: the schedule's length must be a positive number.")
    if str(_get(cfg, "scheduler._target_") or "").endswith("ReduceLROnPlateau"):
        # it steps on the validation loss at every epoch's end
        from convlab.tasks.supervised import PLATEAU_MONITOR  # Lightning: only when it is chosen

        every, limit = (_get(cfg, f"trainer.{key}") for key in ("check_val_every_n_epoch",
                                                                "limit_val_batches"))  # fmt: skip
        setting = (f"trainer.limit_val_batches={limit} validates no epoch" if limit == 0 else
                   f"trainer.check_val_every_n_epoch={every} leaves epochs without validation"
                   if isinstance(every, int) and every > 1 else None)  # fmt: skip
        problems += [f"scheduler=ReduceLROnPlateau steps on {PLATEAU_MONITOR} at every epoch's "
                     f"end, but {setting}. Set trainer.check_val_every_n_epoch=1 and "
                     "trainer.limit_val_batches above 0, or choose another scheduler."
                     ] if setting else []  # fmt: skip
    return problems + ([device] if (device := _device_problem(cfg)) else [])
