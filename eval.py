"""Evaluate a checkpoint: ``python eval.py experiment=lenet ckpt_path=<run>/checkpoints/<file>``."""

import hydra
from omegaconf import DictConfig

from convlab.runner.cli import launch


@hydra.main(version_base="1.3", config_path="conf", config_name="eval")
def main(cfg: DictConfig) -> None:
    # Imported here, not above: --help and a mistyped config answer before Lightning loads.
    from convlab.runner.job import run_job
    from convlab.runner.run import evaluate

    run_job(evaluate, cfg)


if __name__ == "__main__":
    launch(main, config_name="eval")
