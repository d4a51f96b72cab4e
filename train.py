"""Train a model: ``python train.py experiment=lenet`` (``--help`` lists the config groups).

Read on in ``convlab.runner``: ``cli.launch`` composes and checks the config → Hydra's run,
``job.ValidateConfig`` claims its folder → ``job.run_job`` owns it → ``run.train`` does the
run (``members=K``: ``convlab.members.run.train_members``, K seeds stacked).
"""

import hydra
from omegaconf import DictConfig

from convlab.runner.cli import launch


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    # Imported here, not above: --help and a mistyped config answer before Lightning loads.
    from convlab.runner.job import run_job

    if int(cfg.get("members") or 1) > 1:
        from convlab.members.run import train_members as work
    else:
        from convlab.runner.run import train as work
    record = run_job(work, cfg)
    metric = cfg.get("optimized_metric")  # the objective of a hyper-parameter search
    return record.metrics.get(metric) if record is not None and metric else None


if __name__ == "__main__":
    launch(main, config_name="train")
