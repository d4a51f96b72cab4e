"""A job folder belongs to one process at a time: two sweeps into one folder, started
together, leave every job with exactly one result, equal to a clean run's; a sweep killed
mid-job resumes that job when run again (the dead process's lock does not block it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from convlab.record import read_record
from convlab.runner.job import acquire, release
from tests.conftest import ROOT, run_script

SWEEP = [
    "-m", "experiment=max_regression", "seed=1,2", "trainer.max_epochs=2",
    "trainer.deterministic=true",
]  # fmt: skip


def _start(args: list[str]) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "CONVLAB_RUN_UID"}
    return subprocess.Popen(
        [sys.executable, str(ROOT / "train.py"), *args], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _jobs(sweep_dir: Path) -> list[Path]:
    return sorted(p for p in sweep_dir.iterdir() if p.is_dir() and p.name[0].isdigit())


def test_two_sweeps_into_one_folder_share_the_jobs(tmp_path: Path):
    shared, clean = tmp_path / "shared", tmp_path / "clean"
    first = _start([*SWEEP, f"hydra.sweep.dir={shared}"])
    second = _start([*SWEEP, f"hydra.sweep.dir={shared}"])
    outputs = [process.communicate(timeout=600) for process in (first, second)]
    for process, (_, stderr) in zip((first, second), outputs, strict=True):
        assert process.returncode == 0, stderr[-3000:]
    result = run_script([*SWEEP, f"hydra.sweep.dir={clean}"])
    assert result.returncode == 0, result.stderr[-3000:]

    jobs = _jobs(shared)
    assert [job.name for job in jobs] == [job.name for job in _jobs(clean)]
    for job in jobs:
        record, reference = read_record(job), read_record(clean / job.name)
        assert record["status"] == "completed"
        assert record["metrics"] == reference["metrics"], job.name
        assert record["steps"] == reference["steps"] == 2000
        assert sorted(p.name for p in (job / "checkpoints").iterdir()) == sorted(
            p.name for p in (clean / job.name / "checkpoints").iterdir()
        )  # no last-v1.ckpt
        assert len(list(job.rglob("events.out.tfevents.*"))) == len(
            list((clean / job.name).rglob("events.out.tfevents.*"))
        )  # one run's event files, not two
        log = (job / "train.log").read_text()
        assert log.count("metrics: {") == 1, log  # trained once, logged once
    said = "".join(out + err for out, err in outputs)
    # Each job was left alone by one sweep: running in the other, or finished by then.
    assert said.count("another process is running it") + said.count("already completed") == 2


def test_a_killed_sweep_job_resumes_when_the_sweep_runs_again(tmp_path: Path):
    sweep_dir, clean = tmp_path / "sweep", tmp_path / "clean"
    kill = ["+callbacks.fault._target_=tests.faults.SignalAt", "+callbacks.fault.step=1200",
            "+callbacks.fault.signal_name=SIGKILL",
            f"+callbacks.fault.once_file={tmp_path / 'killed'}"]  # fmt: skip
    killed = run_script([*SWEEP, *kill, f"hydra.sweep.dir={sweep_dir}"])
    assert killed.returncode == -signal.SIGKILL
    (job,) = _jobs(sweep_dir)  # the first job died mid-epoch 1; the second never started
    assert not (job / "metrics.json").exists()
    assert (job / "checkpoints" / "last.ckpt").is_file()

    again = run_script([*SWEEP, *kill, f"hydra.sweep.dir={sweep_dir}"])  # the same command
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"resuming {job.name}" in again.stdout + again.stderr
    assert run_script([*SWEEP, f"hydra.sweep.dir={clean}"]).returncode == 0
    for job in _jobs(sweep_dir):
        reference = read_record(next(clean.glob(f"{job.name.split('_')[0]}_*")))
        record = read_record(job)
        assert (record["status"], record["steps"]) == ("completed", 2000)
        assert record["metrics"] == reference["metrics"], job.name


def test_a_held_folder_is_refused_and_a_dead_owners_lock_is_not(tmp_path: Path):
    folder = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from convlab.runner.job import acquire; "
         "acquire(sys.argv[1]); print('held', flush=True); time.sleep(60)", str(folder)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "held"
    try:
        result = run_script(["experiment=edge_kernel", f"hydra.run.dir={folder}"])
        assert result.returncode == 2
        assert f"error: {folder.absolute()} is in use by another process (pid {holder.pid}" in (
            result.stderr
        )
        assert not (folder / "metrics.json").exists()
    finally:
        holder.kill()
        holder.wait()
    acquire(folder)  # the kernel dropped the dead process's lock
    release(folder)
