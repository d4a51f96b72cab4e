"""Every experiment and debug config composes; the order of the defaults list holds."""

from pathlib import Path

import pytest
from hydra.utils import instantiate

from tests.conftest import CONF_DIR, compose_config

EXPERIMENTS = sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml"))
DEBUGS = sorted(p.stem for p in (CONF_DIR / "debug").glob("*.yaml"))


# The net each experiment builds and its parameter count, worked out from the config by hand.
NETS = {
    "edge_kernel": ("Conv2D", 2),  # one 1x2 kernel, no bias
    "lenet": ("LeNet", 61706),  # D2L's count
    "lenet_modern": ("LeNet", 61706),  # ReLU and max pooling add no parameters
    "max_classification": ("MLP", (2 * 64 + 64) + (64 * 64 + 64) + (64 * 2 + 2)),
    "max_exact": ("ExactMax", (2 * 3 + 3) + (3 * 1 + 1)),
    "max_gated": ("GatedMax", (2 * 32 + 32) + (32 * 2 + 2)),
    "max_regression": ("MLP", (2 * 64 + 64) + (64 * 64 + 64) + (64 * 1 + 1)),
    # 2x2 stride-2 conv to 16 channels, ReLU, 1x1 conv to one channel.
    "maxpool_fn": ("PatchReLU", (4 * 16 + 16) + (16 * 1 + 1)),
}
MONITOR = {"val/acc": "max", "val/loss": "min", "val/mae": "min"}


def test_every_experiment_has_an_expected_net():
    assert sorted(NETS) == EXPERIMENTS


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_composes_and_builds(experiment, tmp_path: Path):
    cfg = compose_config([f"experiment={experiment}"], tmp_path)
    assert cfg.task_name == experiment, "an experiment names its own output folder"
    net = instantiate(cfg.model)
    assert (type(net).__name__, sum(p.numel() for p in net.parameters())) == NETS[experiment]
    assert MONITOR[cfg.monitor.metric] == cfg.monitor.mode


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


@pytest.mark.parametrize(
    ("trainer", "expected"),
    [
        ("default", {"accelerator": "auto", "devices": 1}),
        ("cpu", {"accelerator": "cpu", "devices": 1}),
        ("gpu", {"accelerator": "gpu", "devices": 1}),
        ("ddp", {"accelerator": "gpu", "devices": 2, "strategy": "ddp"}),
        # ddp_spawn: plain ddp re-launches the script, which hangs inside a Hydra multirun.
        ("ddp_sim", {"accelerator": "cpu", "devices": 2, "strategy": "ddp_spawn"}),
    ],
)
def test_trainer_configs_compose(trainer, expected, tmp_path: Path):
    cfg = compose_config([f"trainer={trainer}"], tmp_path)
    assert cfg.trainer._target_ == "lightning.pytorch.trainer.Trainer"
    assert {key: cfg.trainer.get(key) for key in expected} == expected
    assert cfg.trainer.get("strategy", "auto") == expected.get("strategy", "auto")


def test_default_accelerator_is_auto(tmp_path: Path):
    assert compose_config([], tmp_path).trainer.accelerator == "auto"
