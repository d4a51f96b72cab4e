"""Train a model: ``python train.py experiment=lenet`` (``--help`` lists the config groups)."""

import hydra
from omegaconf import DictConfig

from convlab.runner.cli import guarded, launch
from convlab.runner.run import train


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
@guarded
def main(cfg: DictConfig) -> float | None:
    record = train(cfg)
    metric = cfg.get("optimized_metric")
    return record["metrics"].get(metric) if metric else None


if __name__ == "__main__":
    launch(main, config_name="train")
