"""Exact resume where users stand: every experiment in ``conf/experiment/`` at its defaults,
budget shortened only through ``trainer.max_epochs``, stopped three ways (SIGKILL after an
epoch-end checkpoint, SIGKILL mid-epoch with ``last_every_n_steps``, Ctrl-C mid-epoch) and
continued two ways (``resume=<run dir>`` in place, ``ckpt_path=<last.ckpt>`` into a new folder),
must end with exactly the metrics, epochs and steps of the uninterrupted run (CPU,
``trainer.deterministic=true``).

The stopped runs are real ``train.py`` processes (a SIGKILL cannot be simulated in-process); the
reference and the continuations run through the real entry point in one interpreter
(``tests/cli_batch.py``) to save the start-up time of seven processes per experiment.
"""

from __future__ import annotations

import shutil
import signal
from dataclasses import dataclass
from pathlib import Path

import pytest

from convlab.record import read_record
from tests.conftest import make_fashion_fixture, run_batch, run_script
from tests.runner.test_configs import EXPERIMENTS


@dataclass(frozen=True)
class Budget:
    """How an experiment is shortened, and where in it the stops land (optimizer steps)."""

    epochs: int
    steps_per_epoch: int
    group: int = 1  # optimizer steps per trainer batch (data.steps_per_batch)
    fashion: bool = False  # LeNet: the tiny IDX fixture instead of the real files, for time

    def stops(self) -> dict[str, list[str]]:
        """Each way to stop → the overrides that stop there."""
        kill = ["+callbacks.fault._target_=tests.faults.SignalAt"]
        epoch_end = [*kill, f"+callbacks.fault.step={self.steps_per_epoch}",
                     "+callbacks.fault.signal_name=SIGKILL"]  # fmt: skip
        stops = {"sigkill_epoch_end": epoch_end}
        if self.steps_per_epoch >= 3 * self.group:  # room for a stop inside an epoch
            every = self.group * max(1, self.steps_per_epoch // (4 * self.group))
            inside = self.steps_per_epoch + 2 * every
            stops["sigkill_mid_epoch"] = [
                *kill, f"+callbacks.fault.step={inside + self.group}",
                "+callbacks.fault.signal_name=SIGKILL",
                f"callbacks.model_checkpoint.last_every_n_steps={every}",
            ]  # fmt: skip
            stops["ctrl_c_mid_epoch"] = [*kill, f"+callbacks.fault.step={inside}"]
        else:
            stops["ctrl_c"] = [*kill, f"+callbacks.fault.step={self.steps_per_epoch + 1}"]
        return stops


BUDGETS = {
    # 1,300 training images of the fixture in batches of 256: 6 steps an epoch.
    "lenet": Budget(epochs=2, steps_per_epoch=6, fashion=True),
    "lenet_modern": Budget(epochs=2, steps_per_epoch=6, fashion=True),
    "max_regression": Budget(epochs=2, steps_per_epoch=1000, group=100),
    "max_classification": Budget(epochs=2, steps_per_epoch=1000),
    "max_gated": Budget(epochs=2, steps_per_epoch=1000, group=100),
    "max_exact": Budget(epochs=2, steps_per_epoch=1000, group=100),
    "edge_kernel": Budget(epochs=4, steps_per_epoch=1),
    # 10,000 patches in batches of 32.
    "maxpool_fn": Budget(epochs=2, steps_per_epoch=313),
}
# One of each family in the fast suite; the rest in `make test-full`.
FAST = ("lenet", "max_regression", "edge_kernel")


def test_every_experiment_has_a_budget():
    assert set(BUDGETS) == set(EXPERIMENTS)


def _same_result(run_dir: Path, reference: dict, label: str) -> None:
    record = read_record(run_dir)
    assert record["status"] == "completed", (label, record)
    assert record["metrics"] == reference["metrics"], label  # exactly, not approximately
    assert (record["epochs"], record["steps"]) == (reference["epochs"], reference["steps"]), label


def _check_experiment(experiment: str, tmp_path: Path) -> None:
    budget = BUDGETS[experiment]
    common = [
        f"experiment={experiment}", f"trainer.max_epochs={budget.epochs}",
        "trainer.deterministic=true",
    ]  # fmt: skip
    if budget.fashion:
        data = make_fashion_fixture(tmp_path / "fashion", n_train=1400)
        common += [f"data.data_dir={data}", "data.system_dir=null", "data.val_size=100"]

    stopped: dict[str, tuple[Path, list[str]]] = {}
    for name, overrides in budget.stops().items():
        run_dir = tmp_path / name
        result = run_script([*common, *overrides, f"hydra.run.dir={run_dir}"])
        expected = 130 if name.startswith("ctrl_c") else -signal.SIGKILL
        assert result.returncode == expected, (name, result.stderr[-3000:])
        assert (run_dir / "checkpoints" / "last.ckpt").is_file(), name
        copy = tmp_path / f"{name}_copy"
        shutil.copytree(run_dir, copy)
        stopped[name] = (copy, overrides)

    reference_dir = tmp_path / "reference"
    cases = [[*common, f"hydra.run.dir={reference_dir}"]]
    for name, (copy, overrides) in stopped.items():
        cases.append([*common, *overrides, f"ckpt_path={copy}/checkpoints/last.ckpt",
                      f"hydra.run.dir={tmp_path / (name + '_ckpt_path')}"])  # fmt: skip
        cases.append([f"resume={tmp_path / name}"])
    for case in run_batch(cases, tmp_path):
        assert case["code"] == 0, (case["argv"], case["stderr"][-3000:])

    reference = read_record(reference_dir)
    assert reference["status"] == "completed"
    assert reference["epochs"] == budget.epochs
    for name in stopped:
        _same_result(tmp_path / name, reference, f"{name}, resume=")
        _same_result(tmp_path / f"{name}_ckpt_path", reference, f"{name}, ckpt_path=")


@pytest.mark.parametrize("experiment", FAST)
def test_exact_resume(experiment, tmp_path: Path):
    _check_experiment(experiment, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("experiment", sorted(set(EXPERIMENTS) - set(FAST)))
def test_exact_resume_slow(experiment, tmp_path: Path):
    _check_experiment(experiment, tmp_path)
