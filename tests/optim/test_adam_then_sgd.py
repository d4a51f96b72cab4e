"""AdamThenSGD: Adam's steps before the switch epoch, SGD's after, and exact across a resume."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path

import lightning as L
import pytest
import torch
from torch import nn

from convlab.callbacks.optimizer_epoch import OptimizerEpoch
from convlab.data.tensor_loader import TensorLoader
from convlab.optim.adam_then_sgd import AdamThenSGD
from tests.conftest import compose_config, run_script

STEPS_PER_EPOCH = 3
SETTINGS = {"lr": 0.05, "sgd_lr": 0.2, "momentum": 0.9, "switch_epoch": 2}


def _problem(seed: int = 0) -> tuple[nn.Module, list[tuple[torch.Tensor, torch.Tensor]]]:
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    batches = [
        (torch.randn(5, 3, generator=generator), torch.randn(5, 1, generator=generator))
        for _ in range(STEPS_PER_EPOCH)
    ]
    return net, batches


def _step(net: nn.Module, optimizer: torch.optim.Optimizer, batch) -> None:
    x, y = batch
    optimizer.zero_grad()
    nn.functional.mse_loss(net(x), y).backward()
    optimizer.step()


def _train(net, optimizer, batches, epochs: range) -> list[torch.Tensor]:
    """The flattened parameters after every step."""
    trajectory = []
    for epoch in epochs:
        if isinstance(optimizer, AdamThenSGD):
            optimizer.set_epoch(epoch)
        for batch in batches:
            _step(net, optimizer, batch)
            trajectory.append(nn.utils.parameters_to_vector(net.parameters()).detach().clone())
    return trajectory


def test_adam_before_the_switch_epoch_and_sgd_after():
    net, batches = _problem()
    reference = copy.deepcopy(net)
    switched = _train(net, AdamThenSGD(net.parameters(), **SETTINGS), batches, range(4))

    adam = torch.optim.Adam(reference.parameters(), lr=SETTINGS["lr"])
    expected = _train(reference, adam, batches, range(2))
    sgd = torch.optim.SGD(reference.parameters(), lr=SETTINGS["sgd_lr"], momentum=0.9)
    expected += _train(reference, sgd, batches, range(2, 4))

    assert len(switched) == len(expected) == 4 * STEPS_PER_EPOCH
    for step, (got, want) in enumerate(zip(switched, expected, strict=True)):
        torch.testing.assert_close(got, want, rtol=0, atol=0, msg=f"step {step}")
    # Not vacuous: Adam's steps would have gone elsewhere after the switch.
    adam_only, _ = _problem()
    adam_path = _train(
        adam_only, torch.optim.Adam(adam_only.parameters(), lr=SETTINGS["lr"]), batches, range(4)
    )
    assert not torch.allclose(adam_path[-1], switched[-1])


def test_phase_follows_the_epoch():
    net, _ = _problem()
    optimizer = AdamThenSGD(net.parameters(), **SETTINGS)
    phases = []
    for epoch in range(4):
        optimizer.set_epoch(epoch)
        phases.append((optimizer.phase, optimizer.active))
    assert phases == [
        ("adam", optimizer.adam), ("adam", optimizer.adam),
        ("sgd", optimizer.sgd), ("sgd", optimizer.sgd),
    ]  # fmt: skip


def test_a_step_without_an_epoch_is_refused():
    net, batches = _problem()
    with pytest.raises(RuntimeError, match="set_epoch"):
        _step(net, AdamThenSGD(net.parameters(), **SETTINGS), batches[0])


@pytest.mark.parametrize("stop_epoch", [1, 2, 3])  # before, at and after the switch
def test_state_dict_round_trip_continues_identically(stop_epoch: int):
    net, batches = _problem()
    optimizer = AdamThenSGD(net.parameters(), **SETTINGS)
    straight = _train(net, optimizer, batches, range(5))

    first, _ = _problem()
    optimizer = AdamThenSGD(first.parameters(), **SETTINGS)
    _train(first, optimizer, batches, range(stop_epoch))
    saved_weights = copy.deepcopy(first.state_dict())
    # Through torch.save, as a checkpoint would go.
    saved_state = _save_load(optimizer.state_dict())

    resumed, _ = _problem(seed=1)  # other weights: everything must come from the saved state
    resumed.load_state_dict(saved_weights)
    optimizer = AdamThenSGD(resumed.parameters(), **SETTINGS)
    optimizer.load_state_dict(saved_state)
    assert optimizer.phase == ("sgd" if stop_epoch > 2 else "adam")
    rest = _train(resumed, optimizer, batches, range(stop_epoch, 5))

    for got, want in zip(rest, straight[stop_epoch * STEPS_PER_EPOCH :], strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=0)


def _save_load(state: dict) -> dict:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def test_state_dict_carries_both_optimizers_and_the_phase():
    net, batches = _problem()
    optimizer = AdamThenSGD(net.parameters(), **SETTINGS)
    _train(net, optimizer, batches, range(3))
    state = optimizer.state_dict()
    assert state["phase"] == "sgd" and state["epoch"] == 2
    assert state["adam"]["state"] and state["sgd"]["state"]  # Adam's moments, SGD's momentum


def test_a_scheduler_scales_both_phases_alike():
    net, batches = _problem()
    optimizer = AdamThenSGD(net.parameters(), **SETTINGS)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    for epoch in range(3):
        optimizer.set_epoch(epoch)
        _step(net, optimizer, batches[0])
        scheduler.step()
    # Epoch 2 ran SGD at sgd_lr x 0.5 ** 2.
    assert optimizer.sgd.param_groups[0]["lr"] == pytest.approx(SETTINGS["sgd_lr"] * 0.25)
    assert optimizer.adam.param_groups[0]["lr"] == pytest.approx(SETTINGS["lr"] * 0.25)


class _Regression(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net, self.batches = _problem()

    def training_step(self, batch, batch_idx):
        x, y = batch
        return nn.functional.mse_loss(self.net(x), y)

    def train_dataloader(self):
        x, y = (torch.cat(t) for t in zip(*self.batches, strict=True))
        return TensorLoader(x, y, batch_size=len(self.batches[0][0]))

    def configure_optimizers(self):
        return AdamThenSGD(self.parameters(), **SETTINGS)


def _fit(tmp_path: Path, max_epochs: int, ckpt_path: str | None = None) -> _Regression:
    L.seed_everything(0)
    module = _Regression()
    trainer = L.Trainer(
        max_epochs=max_epochs, callbacks=[OptimizerEpoch()], logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        default_root_dir=tmp_path,
    )  # fmt: skip
    trainer.fit(module, ckpt_path=ckpt_path)
    trainer.save_checkpoint(tmp_path / f"epochs_{max_epochs}.ckpt")
    return module


def test_lightning_resume_across_the_switch_is_exact(tmp_path: Path):
    straight = _fit(tmp_path / "straight", max_epochs=4)
    _fit(tmp_path / "first", max_epochs=1)
    resumed = _fit(tmp_path / "resumed", 4, ckpt_path=str(tmp_path / "first" / "epochs_1.ckpt"))
    assert resumed.optimizers().optimizer.phase == "sgd"
    for got, want in zip(resumed.parameters(), straight.parameters(), strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=0)


def test_config_brings_its_epoch_callback(tmp_path: Path):
    cfg = compose_config(["experiment=max_regression", "optimizer=adam_then_sgd"], tmp_path)
    assert cfg.optimizer._target_ == "convlab.optim.adam_then_sgd.AdamThenSGD"
    assert cfg.callbacks.optimizer_epoch._target_.endswith("OptimizerEpoch")
    assert cfg.callbacks.model_checkpoint is not None  # added to, not replacing, the defaults


@pytest.mark.slow
def test_train_py_interrupted_after_the_switch_resumes_exactly(tmp_path: Path):
    """The promise where users stand: Ctrl-C mid-epoch after the switch, resume, same result."""
    args = [
        "experiment=max_regression", "optimizer=adam_then_sgd", "optimizer.switch_epoch=1",
        "data.n_train=200", "trainer.max_epochs=3", "logger=none", "test_ckpt=last",
    ]  # fmt: skip
    straight = run_script([*args, f"hydra.run.dir={tmp_path / 'straight'}"], timeout=120)
    assert straight.returncode == 0, straight.stderr[-2000:]
    stop = ["+callbacks.fault._target_=tests.faults.SignalAt", "+callbacks.fault.step=300"]
    run_script([*args, *stop, f"hydra.run.dir={tmp_path / 'stopped'}"], timeout=120)
    resumed = run_script([f"resume={tmp_path / 'stopped'}"], timeout=120)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    records = [json.loads((tmp_path / name / "metrics.json").read_text())
               for name in ("straight", "stopped")]  # fmt: skip
    assert records[1]["status"] == "completed"
    assert records[1]["metrics"] == records[0]["metrics"]
