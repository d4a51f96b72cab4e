"""Run the named sweeps of the study through ``train.py -m``, one after the other."""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class SweepRun:
    name: str
    sweep_dir: Path
    command: list[str]
    returncode: int
    seconds: float


def sweep_command(
    name: str, sweep_dir: Path, extra: tuple[str, ...] = (), train_script: str = "train.py"
) -> list[str]:
    return [
        sys.executable, train_script, "-m", f"sweep={name}", f"hydra.sweep.dir={sweep_dir}",
        *extra,
    ]  # fmt: skip


def run_sweep(
    name: str, sweep_dir: Path, extra: tuple[str, ...] = (), train_script: str = "train.py"
) -> SweepRun:
    """Run one sweep with its output on the console. A sweep that stops half-way is re-run by
    the same call: finished jobs are skipped, interrupted ones resume (convlab.runner)."""
    command = sweep_command(name, sweep_dir, extra, train_script)
    print(f"[study] {name}: {shlex.join(command)}", flush=True)
    started = time.perf_counter()
    returncode = subprocess.run(command, check=False).returncode
    seconds = time.perf_counter() - started
    print(f"[study] {name}: exit {returncode} after {seconds:.0f} s", flush=True)
    return SweepRun(name, sweep_dir, command, returncode, seconds)
