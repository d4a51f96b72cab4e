"""Every experiment and debug config composes; the order of the defaults list holds."""

from pathlib import Path

import pytest
from hydra.utils import instantiate

from tests.conftest import CONF_DIR, compose_config

EXPERIMENTS = sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml"))
DEBUGS = sorted(p.stem for p in (CONF_DIR / "debug").glob("*.yaml"))


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_composes_and_builds(experiment, tmp_path: Path):
    cfg = compose_config([f"experiment={experiment}"], tmp_path)
    assert cfg.task_name != "train", "an experiment names its own output folder"
    net = instantiate(cfg.model)
    assert sum(p.numel() for p in net.parameters()) >= 1
    assert cfg.monitor.metric.startswith("val/")


@pytest.mark.parametrize("debug", DEBUGS)
def test_debug_wins_over_experiment(debug, tmp_path: Path):
    # lightning-hydra-template #245: a debug config must not lose to the experiment's values.
    cfg = compose_config(["experiment=lenet", f"debug={debug}"], tmp_path)
    assert cfg.task_name == "debug"
    assert cfg.trainer.accelerator == "cpu"


def test_lenet_is_d2ls_setup(tmp_path: Path):
    cfg = compose_config(["experiment=lenet"], tmp_path)
    assert (cfg.model.activation, cfg.model.pooling, cfg.model.init) == ("sigmoid", "avg", "xavier")
    assert cfg.optimizer._target_ == "torch.optim.SGD" and cfg.optimizer.lr == 0.9
    assert cfg.data.batch_size == 256 and cfg.trainer.max_epochs == 10


@pytest.mark.parametrize("trainer", ["default", "cpu", "gpu", "ddp", "ddp_sim"])
def test_trainer_configs_compose(trainer, tmp_path: Path):
    cfg = compose_config([f"trainer={trainer}"], tmp_path)
    assert cfg.trainer._target_.endswith("Trainer")


def test_default_accelerator_is_auto(tmp_path: Path):
    assert compose_config([], tmp_path).trainer.accelerator == "auto"
