"""Exact resume: a run stopped mid-training (Ctrl-C, SIGKILL) and resumed ends with exactly the
metrics of the same run done in one go (CPU, ``trainer.deterministic=true``)."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
import torch
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from convlab.errors import ConvlabError
from convlab.runner.cli import expand_resume_argument
from convlab.runner.record import read_record
from convlab.runner.resume import differences
from tests.conftest import compose_config, make_fashion_fixture, run_script

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


def test_sigterm_stops_like_ctrl_c(data, tmp_path):
    """``kill`` or a cluster's time limit: Lightning stops after the running step."""
    run_dir = tmp_path / "run"
    fault = ["+callbacks.fault._target_=tests.faults.SignalAt", "+callbacks.fault.step=7",
             "+callbacks.fault.signal_name=SIGTERM"]  # fmt: skip
    result = run_script(tiny_run(data, *fault, f"hydra.run.dir={run_dir}"))

    assert result.returncode == 130, result.stderr[-3000:]
    assert "interrupted: stopped at epoch 0, step 8" in result.stderr
    assert read_record(run_dir)["status"] == "interrupted"
    assert torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 8


def _killed_mid_epoch(data: Path, run_dir: Path) -> subprocess.CompletedProcess:
    """SIGKILL at step 17, with a last.ckpt every 4 steps: the newest is from step 16."""
    fault = ["+callbacks.fault._target_=tests.faults.SignalAt", "+callbacks.fault.step=17",
             "+callbacks.fault.signal_name=SIGKILL"]  # fmt: skip
    every = "callbacks.model_checkpoint.last_every_n_steps=4"
    return run_script(tiny_run(data, every, *fault, f"hydra.run.dir={run_dir}"))


def test_sigkill_leaves_a_resumable_mid_epoch_checkpoint(data, tmp_path):
    run_dir = tmp_path / "run"
    result = _killed_mid_epoch(data, run_dir)

    assert result.returncode == -signal.SIGKILL
    assert not (run_dir / "metrics.json").exists()  # SIGKILL cannot be caught or recorded
    last = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 16  # mid-epoch 1
    loader_state = last["loops"]["fit_loop"]["state_dict"]["combined_loader"]
    assert loader_state == [{"epoch": 1, "batches_yielded": 6}]  # TensorLoader.state_dict
    (rng,) = [v["rng_state"] for v in last["callbacks"].values() if "rng_state" in v]
    assert set(rng) >= {"torch", "numpy", "python"}


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_is_exact(data, reference, tmp_path):
    run_dir = tmp_path / "run"
    assert _killed_mid_epoch(data, run_dir).returncode == -signal.SIGKILL
    run_ok([f"resume={run_dir}"])
    assert_same_result(read_record(run_dir), reference)


@pytest.mark.slow
def test_resume_with_ckpt_path_into_a_new_folder(data, reference, tmp_path):
    """The plain Lightning way: the same overrides again plus ``ckpt_path=``."""
    first, second = tmp_path / "first", tmp_path / "second"
    fault = ["+callbacks.fault._target_=tests.faults.SignalAt", "+callbacks.fault.step=23"]
    result = run_script(tiny_run(data, *fault, f"hydra.run.dir={first}"))
    assert result.returncode == 130, result.stderr[-3000:]

    checkpoint = first / "checkpoints" / "last.ckpt"
    run_ok(tiny_run(data, f"ckpt_path={checkpoint}", f"hydra.run.dir={second}"))
    assert_same_result(read_record(second), reference)


# --- resume= on the command line ----------------------------------------------------------
def _fake_run(run_dir: Path, overrides: list[str]) -> Path:
    (run_dir / ".hydra").mkdir(parents=True)
    OmegaConf.save(OmegaConf.create(overrides), run_dir / ".hydra" / "overrides.yaml")
    (run_dir / "checkpoints").mkdir()
    (run_dir / "checkpoints" / "last.ckpt").write_bytes(b"")
    return run_dir


def test_resume_repeats_the_runs_overrides_then_the_new_ones(tmp_path):
    # A sweep job's folder: "=" and "," in its name must survive Hydra's override parser.
    run_dir = _fake_run(tmp_path / "3_lr=0.1,seed=2", ["experiment=lenet", "seed=2",
                        "resume=/old", "ckpt_path=/old/last.ckpt"])  # fmt: skip
    argv = expand_resume_argument(["--cfg", "job", f"resume={run_dir}", "trainer.max_epochs=20"])
    quoted = f"'{run_dir}'"
    assert argv == [
        "--cfg", "job", "experiment=lenet", "seed=2", "trainer.max_epochs=20",
        f"ckpt_path='{run_dir}/checkpoints/last.ckpt'", f"resume={quoted}",
        f"hydra.run.dir={quoted}",
    ]  # fmt: skip
    parsed = OverridesParser.create().parse_overrides(argv[2:])
    assert parsed[-1].value() == str(run_dir)


def test_resume_accepts_the_checkpoint_file_itself(tmp_path):
    run_dir = _fake_run(tmp_path / "run", ["seed=3"])
    argv = expand_resume_argument([f"resume={run_dir}/checkpoints/last.ckpt"])
    assert argv[0] == "seed=3" and argv[-1] == f"hydra.run.dir='{run_dir}'"


def test_resume_of_a_folder_without_settings_says_what_to_do(tmp_path):
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    (tmp_path / "run" / "checkpoints" / "last.ckpt").write_bytes(b"")
    with pytest.raises(ConvlabError, match=r"no \.hydra/overrides\.yaml.*use ckpt_path="):
        expand_resume_argument([f"resume={tmp_path / 'run'}"])


def test_arguments_without_resume_are_untouched():
    assert expand_resume_argument(["-m", "seed=1,2"]) == ["-m", "seed=1,2"]
    assert expand_resume_argument(["resume=null", "seed=1"]) == ["seed=1"]


def test_settings_that_differ_from_the_checkpoints_run_are_listed(tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / ".hydra").mkdir(parents=True)
    before = compose_config(["data.batch_size=64"], run_dir)
    OmegaConf.save(before, run_dir / ".hydra" / "config.yaml")
    now = compose_config(["data.batch_size=128", "ckpt_path=x"], tmp_path / "other")
    assert differences(now, run_dir / "checkpoints" / "last.ckpt") == ["data.batch_size: 64 -> 128"]
