"""Exact resume: a run stopped mid-training (Ctrl-C, SIGKILL) and resumed ends with exactly the
metrics of the same run done in one go (CPU, ``trainer.deterministic=true``)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import torch

from convlab.run_record import read_record
from tests.conftest import make_fashion_fixture, run_script

STEPS_PER_EPOCH = 10  # 500 training images (600 minus val_size=100) in batches of 50


def tiny_run(data: Path, *extra: str) -> list[str]:
    """3 epochs of a LeNet with dropout (so the random state matters) on the tiny fixture."""
    return [
        f"data.data_dir={data}", "data.system_dir=null", "data.download=false",
        "data.val_size=100", "data.batch_size=50", "data.eval_batch_size=100",
        "model._target_=tests.faults.DropoutLeNet", "+model.p=0.3", "model.activation=relu",
        "optimizer=adam", "trainer.max_epochs=3", "trainer.deterministic=true",
        "trainer.accelerator=cpu", "trainer.num_sanity_val_steps=0",
        "trainer.enable_model_summary=false", "torch_threads=1", "logger=none",
        "callbacks=default", "callbacks.rich_progress_bar=null", "callbacks.lr_monitor=null",
        "test_ckpt=best", *extra,
    ]  # fmt: skip


def run_ok(args: list[str]) -> None:
    result = run_script(args)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return make_fashion_fixture(tmp_path_factory.mktemp("fashion"))


@pytest.fixture(scope="module")
def reference(data: Path, tmp_path_factory) -> dict:
    """The uninterrupted run every resumed run must match."""
    run_dir = tmp_path_factory.mktemp("reference") / "run"
    run_ok(tiny_run(data, f"hydra.run.dir={run_dir}"))
    record = read_record(run_dir)
    assert record["status"] == "completed"
    return record


def assert_same_result(resumed: dict, reference: dict) -> None:
    assert resumed["status"] == "completed"
    assert resumed["metrics"] == reference["metrics"]  # exactly, not approximately
    assert (resumed["epochs"], resumed["steps"]) == (reference["epochs"], reference["steps"])


def test_ctrl_c_stops_cleanly_and_resume_is_exact(data, reference, tmp_path):
    run_dir = tmp_path / "run"
    stop_at = STEPS_PER_EPOCH + 4  # mid-epoch 1
    fault = ["+callbacks.fault._target_=tests.faults.SignalAt", f"+callbacks.fault.step={stop_at}"]
    result = run_script(tiny_run(data, *fault, f"hydra.run.dir={run_dir}"))

    assert result.returncode == 130, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert f"interrupted: stopped at epoch 1, step {stop_at + 1}" in result.stderr
    assert f"resume={run_dir}" in result.stderr
    record = read_record(run_dir)
    assert record["status"] == "interrupted"
    last = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == stop_at + 1  # the step that was running when Ctrl-C came

    run_ok([f"resume={run_dir}"])
    assert_same_result(read_record(run_dir), reference)


def test_sigkill_mid_epoch_then_resume_is_exact(data, reference, tmp_path):
    """SIGKILL cannot be caught: the run continues from the last periodic ``last.ckpt``."""
    run_dir = tmp_path / "run"
    fault = ["+callbacks.fault._target_=tests.faults.SignalAt", "+callbacks.fault.step=17",
             "+callbacks.fault.signal_name=SIGKILL"]  # fmt: skip
    every = "callbacks.model_checkpoint.last_every_n_steps=4"
    result = run_script(tiny_run(data, every, *fault, f"hydra.run.dir={run_dir}"))

    assert result.returncode == -signal.SIGKILL
    assert not (run_dir / "metrics.json").exists()
    last = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 16  # mid-epoch 1: the newest multiple of 4 before the kill
    loader_state = last["loops"]["fit_loop"]["state_dict"]["combined_loader"]
    assert loader_state == [{"epoch": 1, "batches_yielded": 6}]  # TensorLoader.state_dict

    run_ok([f"resume={run_dir}"])
    assert_same_result(read_record(run_dir), reference)


def test_resume_with_ckpt_path_into_a_new_folder(data, reference, tmp_path):
    """The plain Lightning way: same overrides again plus ``ckpt_path=``."""
    first, second = tmp_path / "first", tmp_path / "second"
    fault = ["+callbacks.fault._target_=tests.faults.SignalAt", "+callbacks.fault.step=23"]
    result = run_script(tiny_run(data, *fault, f"hydra.run.dir={first}"))
    assert result.returncode == 130, result.stderr[-3000:]

    checkpoint = first / "checkpoints" / "last.ckpt"
    run_ok(tiny_run(data, f"ckpt_path={checkpoint}", f"hydra.run.dir={second}"))
    assert_same_result(read_record(second), reference)
