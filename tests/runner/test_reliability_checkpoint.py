"""``ResumableCheckpoint`` (docs/RELIABILITY.md): a kill during a write never corrupts
``last.ckpt``, which always holds the latest epoch, random state included."""

from __future__ import annotations

import io
import random
import signal
from pathlib import Path

import numpy as np
import pytest
import torch

from convlab.callbacks.checkpoint import collect_rng_state, restore_rng_state
from convlab.runner.resume import check_checkpoint
from convlab.runner.run import train
from tests.conftest import compose_config, make_fashion_fixture, run_script

# Lightning's own ModelCheckpoint in place of ResumableCheckpoint (whose extra key goes; a null
# value cannot be deleted, hence the two steps).
STOCK = [
    "callbacks.model_checkpoint._target_=lightning.pytorch.callbacks.ModelCheckpoint",
    "callbacks.model_checkpoint.last_every_n_steps=1",
    "~callbacks.model_checkpoint.last_every_n_steps",
]


def _tiny(data: Path, epochs: int) -> list[str]:
    return [
        f"data.data_dir={data}", "data.system_dir=null", "data.download=false",
        "data.val_size=100", "data.batch_size=50", "optimizer=adam", "model.activation=relu",
        "trainer.accelerator=cpu",
        f"trainer.max_epochs={epochs}", "trainer.num_sanity_val_steps=0",
        "trainer.enable_model_summary=false", "torch_threads=1", "logger=none",
        "callbacks=default", "callbacks.rich_progress_bar=null", "callbacks.lr_monitor=null",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return make_fashion_fixture(tmp_path_factory.mktemp("fashion"))


def _killed_while_writing_last(data: Path, run_dir: Path, *extra: str):
    kill = ["+callbacks.fault._target_=tests.faults.KillDuringWrite", "+callbacks.fault.nth=2"]
    result = run_script([*_tiny(data, 3), *kill, *extra, f"hydra.run.dir={run_dir}"])
    assert result.returncode == -signal.SIGKILL, result.stderr[-3000:]
    return run_dir / "checkpoints" / "last.ckpt"


def test_kill_during_the_write_leaves_the_previous_last_ckpt(data, tmp_path):
    last = _killed_while_writing_last(data, tmp_path / "run")
    assert check_checkpoint(last) is None
    assert torch.load(last, weights_only=True)["global_step"] == 10  # epoch 0's, intact
    partial = last.with_name("last.ckpt.part")  # the write that was cut short
    assert partial.is_file() and check_checkpoint(partial) is not None


def test_stock_model_checkpoint_is_corrupted_by_the_same_kill(data, tmp_path):
    """The control: the same kill against Lightning's own ModelCheckpoint."""
    last = _killed_while_writing_last(data, tmp_path / "run", *STOCK)
    assert check_checkpoint(last) is not None
    with pytest.raises(Exception):  # noqa: B017 - any unpickling error
        torch.load(last, weights_only=True)


def _last_step(data: Path, run_dir: Path, *extra: str) -> int:
    # monitor.mode=max on val/loss: the monitored value never improves after epoch 0.
    cfg = compose_config([*_tiny(data, 3), "monitor.mode=max", "test=false", *extra], run_dir)
    train(cfg)
    return torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["global_step"]


def test_last_ckpt_holds_the_last_epoch_even_without_improvement(data, tmp_path):
    assert _last_step(data, tmp_path / "ours") == 30
    assert sorted(p.name for p in (tmp_path / "ours" / "checkpoints").iterdir()) == [
        "epoch_000.ckpt", "last.ckpt",
    ]  # fmt: skip


def test_stock_last_ckpt_lags_when_the_metric_stops_improving(data, tmp_path):
    """Why the subclass refreshes last.ckpt itself (Lightning 2.6 behaviour)."""
    assert _last_step(data, tmp_path / "stock", *STOCK) == 10


def test_random_state_round_trips_through_a_weights_only_checkpoint():
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    buffer = io.BytesIO()
    torch.save({"rng_state": collect_rng_state()}, buffer)
    expected = (torch.rand(3), np.random.rand(3), random.random())
    torch.rand(5), np.random.rand(5), random.random()  # move every generator on

    buffer.seek(0)
    restore_rng_state(torch.load(buffer, weights_only=True)["rng_state"])
    again = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(again[0], expected[0])
    assert np.array_equal(again[1], expected[1])
    assert again[2] == expected[2]
