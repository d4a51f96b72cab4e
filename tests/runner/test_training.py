"""Real training through train.py / eval.py: learning happens, eval reproduces, DDP works."""

import json
from pathlib import Path

import pytest

from convlab.record import read_record
from convlab.runner.run import train
from tests.conftest import compose_config, run_script


def test_short_real_run_beats_chance(real_fashion_mnist, tmp_path: Path):
    # ~40 steps of modern LeNet on the real data: chance is 0.10, this reaches ~0.7.
    cfg = compose_config(
        ["experiment=lenet_modern", "trainer.max_epochs=1", "+trainer.limit_train_batches=40",
         "data.batch_size=128", "logger=csv", "callbacks.rich_progress_bar=null"],
        tmp_path,
    )  # fmt: skip
    record = train(cfg)
    assert record.status == "completed"
    assert record.metrics["test/acc"] > 0.5
    assert record.metrics["val/acc"] > 0.5
    assert record.steps == 40


def test_eval_reproduces_the_runs_test_accuracy(fashion_fixture, tmp_path: Path):
    common = [
        "experiment=lenet_modern", f"data.data_dir={fashion_fixture}", "data.system_dir=null",
        "data.val_size=100", "data.batch_size=50", "trainer.max_epochs=2", "logger=none",
    ]  # fmt: skip
    run_dir, eval_dir = tmp_path / "run", tmp_path / "eval"
    trained = run_script([*common, f"hydra.run.dir={run_dir}"])
    assert trained.returncode == 0, trained.stderr[-2000:]
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    assert ckpt.is_file()
    evaluated = run_script(
        [*common, f"ckpt_path={ckpt}", f"hydra.run.dir={eval_dir}"], script="eval.py"
    )
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    run_acc = read_record(run_dir)["metrics"]["test/acc"]
    eval_record = json.loads((eval_dir / "metrics.json").read_text())
    assert eval_record["ckpt_path"] == str(ckpt)
    assert eval_record["metrics"]["test/acc"] == run_acc


def test_ddp_sim_trains_on_two_processes(fashion_fixture, tmp_path: Path):
    result = run_script(
        ["experiment=lenet_modern", "trainer=ddp_sim", f"data.data_dir={fashion_fixture}",
         "data.system_dir=null", "data.val_size=100", "data.batch_size=50",
         "trainer.max_epochs=1", "logger=none", f"hydra.run.dir={tmp_path}"],
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    record = read_record(tmp_path)
    assert record["status"] == "completed"
    # 500 training images, 2 ranks, batch 50: 5 optimiser steps per epoch, not 10.
    assert record["steps"] == 5
    assert 0.0 <= record["metrics"]["test/acc"] <= 1.0


def test_ddp_sim_records_what_the_workers_saw(tmp_path: Path):
    """The workers train; the record (status, step, epoch times) is theirs, not the untrained
    main process's (which once recorded a diverged run as "completed" with NaN metrics)."""
    result = run_script(
        ["experiment=max_regression", "trainer=ddp_sim", "data.normalization=none",
         "optimizer=sgd", "optimizer.lr=1e6", "logger=none", f"hydra.run.dir={tmp_path}"],
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    record = read_record(tmp_path)
    assert record["status"] == "diverged"
    # 500 pairs per rank in groups of 100: the guard stops at the end of the first group.
    assert 0 <= record["diverged_at_step"] < record["steps"] == 100
    assert len(record["epoch_durations_s"]) == 1 and record["epoch_durations_s"][0] > 0


def test_missing_data_is_one_message_and_nonzero_exit(tmp_path: Path):
    result = run_script(
        ["experiment=lenet", f"data.data_dir={tmp_path}/none", "data.system_dir=null",
         "data.download=false", f"hydra.run.dir={tmp_path}/run"],
    )  # fmt: skip
    assert result.returncode == 2
    assert "error: Fashion-MNIST not found" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_ddp_sim_evaluation_equals_one_process(fashion_fixture, tmp_path: Path):
    """Logged and recorded metrics are global under DDP, not rank 0's shard."""
    common = [
        "experiment=lenet_modern", f"data.data_dir={fashion_fixture}", "data.system_dir=null",
        "data.val_size=100", "data.batch_size=50", "data.eval_batch_size=30",
        "trainer.max_epochs=1", "logger=none",
    ]  # fmt: skip
    trained = run_script([*common, f"hydra.run.dir={tmp_path / 'run'}"])
    assert trained.returncode == 0, trained.stderr[-2000:]
    ckpt = f"ckpt_path={tmp_path / 'run' / 'checkpoints' / 'last.ckpt'}"
    single, ddp = tmp_path / "single", tmp_path / "ddp"
    for extra, folder in (([], single), (["trainer=ddp_sim"], ddp)):
        result = run_script([*common, *extra, ckpt, f"hydra.run.dir={folder}"], script="eval.py")
        assert result.returncode == 0, result.stderr[-3000:]
    one, two = read_record(single)["metrics"], read_record(ddp)["metrics"]
    assert set(one) == set(two) == {"test/acc", "test/loss"}
    assert two["test/acc"] == pytest.approx(one["test/acc"], abs=1e-6)
    assert two["test/loss"] == pytest.approx(one["test/loss"], rel=1e-5)
