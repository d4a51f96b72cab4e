"""Compose a run's config in-process, exactly as ``train.py`` would, for tests and benchmarks."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from convlab.runner.resolvers import register_resolvers

CONF_DIR = Path(__file__).resolve().parents[3] / "conf"


def compose_run_config(
    overrides: list[str], output_dir: str | Path, config_name: str = "train"
) -> DictConfig:
    """The composed config with ``output_dir`` as the run folder; Hydra's state is set up so
    ``${hydra:...}`` interpolations and ``HydraConfig.get()`` work as inside ``@hydra.main``."""
    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(
            config_name=config_name,
            overrides=[*overrides, f"hydra.run.dir={output_dir}"],
            return_hydra_config=True,
        )
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(output_dir)
        cfg.hydra.job.num = 0
    HydraConfig.instance().set_config(cfg)
    return cfg
