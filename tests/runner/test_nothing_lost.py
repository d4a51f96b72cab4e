"""A finished run folder is never rewritten by mistake, and every stop leaves a record: real
runs of two experiments, then each refused command, with every file's checksum before and after.
"""

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from convlab.record import read_record
from tests.conftest import run_batch, run_script

SHORT = ["trainer.max_epochs=2", "data.n_train=200", "logger=csv"]


def _sums(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lock"}  # fmt: skip


def _errors(result: dict) -> list[str]:
    return [line for line in result["stderr"].splitlines() if line.startswith("error: ")]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("nothing_lost")
    regression, classification = root / "regression", root / "classification"
    trained = run_batch([
        ["experiment=max_regression", "seed=7", *SHORT, f"hydra.run.dir={regression}"],
        ["experiment=max_classification", *SHORT, f"hydra.run.dir={classification}"],
    ], root, "train")  # fmt: skip
    assert [r["code"] for r in trained] == [0, 0], trained
    return root, regression, classification


REFUSED = {
    "a completed run resumed": (
        ["resume={regression}"], 0,
        "resume={regression}: the run is already completed (2 epochs); nothing to do.",
    ),
    "a completed run resumed with its own budget": (
        ["resume={regression}", "trainer.max_epochs=2"], 0,
        "resume={regression}: the run is already completed",
    ),
    "another seed on resume": (
        ["resume={regression}", "seed=8"], 2,
        "error: resume={regression}: these settings would change what the run computes "
        "(seed: 7 -> 8).",
    ),
    "another experiment on resume": (
        ["resume={regression}", "experiment=max_classification"], 2,
        "error: resume={regression}: these settings would change what the run computes (",
    ),
    "another experiment into a run's folder": (
        ["experiment=max_classification", "hydra.run.dir={regression}"], 2,
        "error: {regression} holds a run of experiment=max_regression; pick another "
        "hydra.run.dir, or resume={regression} to continue it.",
    ),
    "the same experiment into a run's folder": (
        ["experiment=max_regression", "seed=7", *SHORT, "hydra.run.dir={regression}"], 2,
        "error: {regression} holds a run of experiment=max_regression",
    ),
    "another seed from a checkpoint into a new folder": (
        ["experiment=max_regression", "seed=9", *SHORT,
         "ckpt_path={regression}/checkpoints/last.ckpt", "hydra.run.dir={root}/new"], 2,
        "error: ckpt_path={regression}/checkpoints/last.ckpt: these settings would change what "
        "the run computes (seed: 7 -> 9).",
    ),
    "identical jobs in a sweep": (
        ["-m", "experiment=max_classification", "seed=1,1", *SHORT,
         "hydra.sweep.dir={root}/sweep"], 2,
        "error: jobs 1 and 2 of the sweep are the same run (experiment=max_classification "
        "seed=1 trainer.max_epochs=2 data.n_train=200 logger=csv); give each value once.",
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def refused(runs):
    root, regression, classification = runs
    before = {folder: _sums(folder) for folder in (regression, classification)}
    fill = {"root": root, "regression": regression}
    cases = [[arg.format(**fill) for arg in args] for args, _, _ in REFUSED.values()]
    results = dict(zip(REFUSED, run_batch(cases, root, "refused"), strict=True))
    after = {folder: _sums(folder) for folder in (regression, classification)}
    return fill, results, before, after


@pytest.mark.parametrize("name", list(REFUSED))
def test_a_refused_command_says_one_line_and_writes_nothing(name, refused):
    fill, results, before, after = refused
    result, (_, code, said) = results[name], REFUSED[name]
    assert result["code"] == code, result
    lines = _errors(result) if code else result["stderr"].splitlines()[-1:]
    assert len(lines) == 1 and lines[0].startswith(said.format(**fill)), result["stderr"]
    assert "Traceback" not in result["stderr"]
    assert before == after  # every file of both runs, byte for byte
    assert not (fill["root"] / "new").exists() and not (fill["root"] / "sweep").exists()


def test_a_run_extended_on_resume_keeps_its_history(runs, tmp_path):
    _, regression, _ = runs
    run = tmp_path / "run"
    subprocess.run(["cp", "-a", str(regression), str(run)], check=True)
    first = read_record(run)
    (extended,) = run_batch([[f"resume={run}", "trainer.max_epochs=3"]], tmp_path, "extend")
    assert extended["code"] == 0, extended["stderr"][-2000:]
    record = read_record(run)
    assert (record["status"], record["epochs"], record["seed"]) == ("completed", 3, 7)
    assert record["overrides"] == ["experiment=max_regression", "seed=7", "trainer.max_epochs=3",
                                   "data.n_train=200", "logger=csv"]  # fmt: skip
    assert len(record["epoch_durations_s"]) == len(record["epoch_train_s"]) == 3
    # the last epoch before the checkpoint counts to its save, not to the next epoch's start
    assert record["epoch_durations_s"][0] == first["epoch_durations_s"][0]
    assert record["epoch_train_s"][:2] == first["epoch_train_s"]
    assert record["duration_s"] > first["duration_s"]
    assert {"val/loss", "test/loss"} <= set(record["metrics"])
    rows = [p.read_text().count("\n") for p in sorted((run / "csv").rglob("metrics.csv"))]
    before = [p.read_text().count("\n") for p in sorted((regression / "csv").rglob("metrics.csv"))]
    assert len(rows) == 2 and rows[0] == before[0]  # the first run's rows, untouched


def test_a_resume_that_fails_keeps_the_runs_record(runs, tmp_path):
    _, regression, _ = runs
    run = tmp_path / "run"
    subprocess.run(["cp", "-a", str(regression), str(run)], check=True)
    fault = "+callbacks.fault={_target_:tests.faults.FailAt,step:400}"
    (failed,) = run_batch([[f"resume={run}", "trainer.max_epochs=3", fault]], tmp_path, "fail")
    assert failed["code"] == 1 and _errors(failed) == [
        f"error: RuntimeError: injected failure (traceback in {run}/train.log)"
    ], failed["stderr"]
    assert (run / "metrics.json").read_bytes() == (regression / "metrics.json").read_bytes()


def test_a_run_killed_during_its_test_resumes_with_its_validation(tmp_path):
    run = tmp_path / "run"
    args = ["experiment=max_regression", *SHORT, f"hydra.run.dir={run}"]
    killed = run_script([*args, f"+callbacks.fault={{_target_:tests.faults.KillOnTest,"
                         f"once_file:{tmp_path}/once}}"])  # fmt: skip
    assert killed.returncode == -9 and not (run / "metrics.json").exists()
    resumed = run_script([f"resume={run}"])
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    record = read_record(run)
    assert record["status"] == "completed" and record["epochs"] == 2
    assert {"val/loss", "val/mae", "test/loss", "test/mae"} <= set(record["metrics"])


STOPS = {
    "SIGTERM after the lock, before training": (
        "{_target_:tests.faults.SignalOnBuild,signal_name:SIGTERM}", 130, "interrupted",
        "interrupted: stopped before training finished.",
    ),
    "SIGINT after the lock, before training": (
        "{_target_:tests.faults.SignalOnBuild,signal_name:SIGINT}", 130, "interrupted",
        "interrupted: stopped before training finished.",
    ),
    "a full disk": (
        "{_target_:tests.faults.DiskFullAt}", 1, "failed",
        "error: no space left on the device of {run}: free some, or choose another "
        "paths.log_dir",
    ),
}  # fmt: skip


def test_every_stop_leaves_a_record_and_one_line(tmp_path):
    folders = {name: tmp_path / str(i) for i, name in enumerate(STOPS)}
    cases = [["experiment=max_regression", *SHORT, f"+callbacks.fault={fault}",
              f"hydra.run.dir={folders[name]}"] for name, (fault, *_) in STOPS.items()]  # fmt: skip
    for name, result in zip(STOPS, run_batch(cases, tmp_path, "stops"), strict=True):
        _, code, status, said = STOPS[name]
        run = folders[name]
        assert result["code"] == code, (name, result["stderr"][-2000:])
        assert said.format(run=run) in result["stderr"].splitlines(), (name, result["stderr"])
        assert "Traceback" not in result["stderr"], name
        assert read_record(run)["status"] == status, name
        assert [p.name for p in run.iterdir() if p.name.startswith(".metrics")] == [], name
        mode = (run / "metrics.json").stat().st_mode & 0o777
        assert mode == (run / "train.log").stat().st_mode & 0o777 == 0o666 & ~_umask(), name


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
