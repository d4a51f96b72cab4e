"""OmegaConf resolvers the configs use; registered before Hydra composes anything."""

from __future__ import annotations

import os
import secrets

from omegaconf import OmegaConf

_UID_ENV = "CONVLAB_RUN_UID"


def run_uid() -> str:
    """A short random id, fixed for this process and the processes it starts.

    Hydra re-resolves ``hydra.sweep.dir`` for every job (and in launcher workers), so a fresh
    random value per call would split one sweep over many directories; a per-second timestamp
    alone lets two sweeps started in the same second collide.
    """
    uid = os.environ.get(_UID_ENV)
    if not uid:
        uid = secrets.token_hex(3)
        os.environ[_UID_ENV] = uid
    return uid


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("uid"):
        OmegaConf.register_new_resolver("uid", run_uid)
    if not OmegaConf.has_resolver("job_dirname"):
        OmegaConf.register_new_resolver("job_dirname", _sweep_job_dirname)
    if not OmegaConf.has_resolver("on_cpu"):
        OmegaConf.register_new_resolver("on_cpu", trains_on_cpu)


def trains_on_cpu(accelerator: str) -> bool:
    """Whether ``trainer.accelerator`` means the CPU (``auto`` does without a CUDA device)."""
    if accelerator == "auto":
        import torch

        return not torch.cuda.is_available()
    return accelerator == "cpu"


def _sweep_job_dirname(num, overrides, exclude, first) -> str:
    """A sweep job's folder: its number and the values of what the sweep varies."""
    from convlab.callbacks.hparams import sweep_keys
    from convlab.runner.job_dirname import job_dirname

    return job_dirname(num, overrides, exclude, first, only=sweep_keys())
