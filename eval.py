"""Evaluate a checkpoint: ``python eval.py experiment=lenet ckpt_path=<run>/checkpoints/<file>``."""

import hydra
from omegaconf import DictConfig

from convlab.runner.cli import guarded, launch
from convlab.runner.run import evaluate


@hydra.main(version_base="1.3", config_path="conf", config_name="eval")
@guarded
def main(cfg: DictConfig) -> None:
    evaluate(cfg)


if __name__ == "__main__":
    launch(main, config_name="eval")
