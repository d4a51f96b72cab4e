"""A config valid key by key that still cannot run as meant, here or with this budget.

``trainer=gpu`` where no CUDA device is visible; more CPU processes than cores (each DDP process
trains on its own share of every epoch, so this changes what is trained); a schedule reading
``trainer.max_epochs`` while that is ``-1`` (no limit). The machine checks are skipped on the
host that submits jobs to SLURM (they run elsewhere); inside a SLURM job they apply.
"""

from __future__ import annotations

import os
import re
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

# An interpolation that reads the training budget, e.g. T_max: ${trainer.max_epochs}.
_BUDGET_REFERENCE = re.compile(r"\$\{[^}]*?\btrainer\.(max_epochs|max_steps)\b")
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


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def _get(cfg: DictConfig, key: str) -> Any:
    """``cfg.<key>``, or ``None`` when absent, ``???`` or resolvable only in Hydra's run."""
    return OmegaConf.select(cfg, key, default=None, throw_on_resolution_failure=False)


def _count(devices: Any) -> int | None:
    """``devices`` as a number: ``3``, ``"3"``, ``[0, 1]``; ``None`` for auto or true."""
    if isinstance(devices, str) and devices.strip().isdigit():
        return int(devices)
    if isinstance(devices, (list, ListConfig)):
        return len(devices)
    return devices if isinstance(devices, int) and not isinstance(devices, bool) else None


def _jobs_run_elsewhere() -> bool:
    """True on the host that submits a sweep to SLURM (its jobs run on other machines)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized() or "SLURM_JOB_ID" in os.environ:
        return False
    launcher = str(OmegaConf.select(HydraConfig.get(), "launcher._target_", default=""))
    return "submitit" in launcher and "LocalLauncher" not in launcher


def _device_problems(cfg: DictConfig) -> list[str]:
    if not isinstance(_get(cfg, "trainer"), DictConfig):
        return []
    accelerator = str(_get(cfg, "trainer.accelerator") or "auto").lower()
    devices, wanted = _get(cfg, "trainer.devices"), _count(_get(cfg, "trainer.devices"))
    data_device = str(_get(cfg, "data.device") or "cpu")
    wants_gpu = accelerator in ("gpu", "cuda")
    if wants_gpu or data_device.startswith("cuda"):
        gpus = cuda_devices()
        if gpus == 0:
            key = (
                f"trainer.accelerator={accelerator}" if wants_gpu else f"data.device={data_device}"
            )
            return [f"{key}: no CUDA device visible (torch.cuda.is_available() is False). Use "
                    "trainer=cpu data.device=cpu here (trainer=default picks a GPU where there is "
                    "one; trainer=ddp_sim simulates DDP on 2 CPU processes)."]  # fmt: skip
        if wants_gpu and wanted is not None and wanted > gpus:
            return [f"trainer.devices={devices}: only {gpus} CUDA device(s) visible. Use "
                    f"trainer.devices={gpus} or fewer."]  # fmt: skip
        return []
    if accelerator != "cpu" and (accelerator != "auto" or cuda_devices() or _mps_available()):
        return []  # not the CPU's processes (or Lightning picks the device)
    cores = available_cores()
    if wanted is not None and wanted <= 0:
        return [f"trainer.devices={devices}: on the CPU, devices is a number of processes (>= 1); "
                f"this machine has {cores} cores."]  # fmt: skip
    if wanted is not None and wanted > cores:
        return [f"trainer.devices={wanted}: {wanted} CPU processes on {cores} cores. Each process "
                f"trains on its own 1/{wanted} of every epoch (fewer steps per epoch) and they "
                f"compete for the cores. Use trainer.devices={cores} or fewer."]  # fmt: skip
    return []


def _leaves(path: str, node: Any):
    """``(path, raw value)`` of every leaf of an unresolved config."""
    if isinstance(node, (dict, list)):
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in items:
            yield from _leaves(
                f"{path}[{key}]" if isinstance(node, list) else f"{path}.{key}", child
            )
    else:
        yield path, node


def _budget_problems(cfg: DictConfig) -> list[str]:
    problems = []
    for key in cfg:
        try:
            raw = OmegaConf.to_container(cfg[key], resolve=False) if key != "hydra" else None
        except Exception:
            raw = None
        for path, value in _leaves(str(key), raw) if isinstance(raw, (dict, list)) else ():
            for name in _BUDGET_REFERENCE.findall(str(value)):
                if _get(cfg, f"trainer.{name}") == -1:
                    problems.append(
                        f"{path}={value} needs a finite training budget, but trainer.{name}=-1 (no "
                        f"limit) would make it -1. Set trainer.{name} to a positive number, or "
                        f"{path} yourself."
                    )
    for key in _SCHEDULE_LENGTHS:
        value = _get(cfg, f"scheduler.{key}")
        said = any(p.startswith(f"scheduler.{key}=") for p in problems)  # -1 from the budget
        if isinstance(value, int) and not isinstance(value, bool) and value <= 0 and not said:
            problems.append(f"scheduler.{key}={value}: the schedule's length must be a positive "
                            "number.")  # fmt: skip
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
    return problems if _jobs_run_elsewhere() else problems + _device_problems(cfg)
