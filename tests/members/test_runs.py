"""``members=K`` where users stand: real ``train.py`` runs, compared with the single runs.

The in-process runs share one interpreter (``tests/cli_batch.py``); the killed run is a real
process, since a SIGKILL cannot be simulated in-process.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import torch

from convlab.members.check import members_problems
from convlab.record import read_record
from convlab.report import group_runs, load_runs
from tests.conftest import CONF_DIR, compose_config, run_batch_ok, run_script

SEED, K = 3, 3
BASE = ["experiment=max_regression", "trainer.deterministic=true"]
PROBES = "tests.members.probes"
# Float tolerance of the per-step losses (see test_per_step_losses_match_single_runs).
RTOL, ATOL = 1e-4, 1e-6


def stackable_experiments(tmp_path: Path) -> list[str]:
    """Every experiment that ``members=2`` accepts as it is."""
    names = sorted(path.stem for path in (CONF_DIR / "experiment").glob("*.yaml"))
    return [
        name
        for name in names
        if not members_problems(compose_config([f"experiment={name}", "members=2"], tmp_path))
    ]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """Stacked and single runs of the same budgets, run once for every test of this module."""
    root = tmp_path_factory.mktemp("members")
    steps = [*BASE, "trainer.max_steps=200"]
    record = f"+callbacks.losses._target_={PROBES}.RecordLosses"
    epoch = [*BASE, "trainer.max_epochs=1", "data.n_train=400"]
    poison = [f"+callbacks.poison._target_={PROBES}.PoisonMember", "+callbacks.poison.step=100",
              "+callbacks.poison.member=1"]  # fmt: skip
    cases = [
        [*steps, f"members={K}", f"seed={SEED}", record, f"+callbacks.losses.path={root}/k.pt",
         f"hydra.run.dir={root / 'stacked'}"],
        *([*steps, f"seed={SEED + k}", record, f"+callbacks.losses.path={root}/{k}.pt",
           f"hydra.run.dir={root / f'single{k}'}"] for k in range(K)),
        [*epoch, "members=3", f"hydra.run.dir={root / 'clean'}"],
        [*epoch, "members=3", *poison, f"hydra.run.dir={root / 'poisoned'}"],
        ["-m", *epoch, "members=2", "optimizer.lr=0.001,0.01", f"hydra.sweep.dir={root / 'sweep'}"],
    ]  # fmt: skip
    # Each stackable experiment, 2 epochs (its own data size, so train/batch_loss is logged),
    # as members=2 and as the single run of the first member's seed.
    for name in stackable_experiments(root / "compose"):
        budget = [f"experiment={name}", "trainer.max_epochs=2", f"seed={SEED}"]
        if name == "max_classification":  # a trainer batch per step: fewer steps
            budget.append("data.n_train=200")
        cases += [[*budget, "members=2", f"hydra.run.dir={root / name / 'members'}"],
                  [*budget, f"hydra.run.dir={root / name / 'single'}"]]  # fmt: skip
    run_batch_ok(cases, root)
    return root


def test_per_step_losses_match_single_runs(runs):
    """200 optimizer steps: member k's loss at every step is the single run's with seed+k.

    Not bit for bit: a member's layer is a batched matmul (bmm) where the single run's is an
    addmm, whose kernels may round differently (float32, ~1e-7 relative). Those differences
    then ride along 200 Adam steps; measured worst over these steps about 1e-5 relative, so the
    check allows rtol 1e-4 (and atol 1e-7 for losses near zero). A wrong batch, seed or
    gradient shows as O(1) relative differences from the first step.
    """
    stacked = torch.load(runs / "k.pt")
    assert stacked.shape == (200, K)
    for k in range(K):
        single = torch.load(runs / f"{k}.pt")
        assert single.shape == (200,)
        torch.testing.assert_close(stacked[:, k], single, rtol=RTOL, atol=ATOL)
    assert not torch.allclose(stacked[:, 0], stacked[:, 1])  # the members do differ


def test_each_member_is_a_complete_run_folder(runs):
    top = read_record(runs / "stacked")
    assert top["members"] == [f"seed={SEED + k}" for k in range(K)]
    for k in range(K):
        member = runs / "stacked" / f"seed={SEED + k}"
        record = read_record(member)
        single = read_record(runs / f"single{k}")
        assert record["status"] == "completed" and record["seed"] == SEED + k
        assert (record["epochs"], record["steps"]) == (single["epochs"], single["steps"])
        assert set(record["metrics"]) == set(single["metrics"])
        for name, value in single["metrics"].items():
            assert record["metrics"][name] == pytest.approx(value, rel=1e-3), name
        assert "members=3" not in record["overrides"] and f"seed={SEED + k}" in record["overrides"]
        assert list(member.glob("events.out.tfevents.*")), "no TensorBoard scalars"


def test_member_tensorboard_has_the_single_runs_tags_and_an_hparams_row(runs):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(runs / "clean" / "seed=43")).Reload()
    scalars = set(events.Tags()["scalars"])
    assert {"train/loss", "val/mae", "val/loss", "test/mae", "train/lr"} <= scalars
    plugins = events.PluginTagToContent("hparams")
    assert {"_hparams_/session_start_info", "_hparams_/session_end_info"} <= set(plugins)


def _scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0}).Reload()
    return {
        tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]
    }


def test_a_member_logs_the_tags_of_its_single_run_at_its_steps(runs, tmp_path):
    experiments = stackable_experiments(tmp_path)
    assert {"max_regression", "max_classification", "max_gated", "max_exact"} <= set(experiments)
    for name in experiments:
        member = _scalars(runs / name / "members" / f"seed={SEED}")
        single = _scalars(runs / name / "single")
        assert {"train/lr", "train/batch_loss", "wall/epoch_s"} <= set(single), name
        assert set(member) == set(single), name
        for tag, points in single.items():
            assert [step for step, _ in member[tag]] == [step for step, _ in points], (name, tag)
        assert member["train/lr"] == single["train/lr"], name
        assert single["train/lr"][0][0] == 0, name  # the rate of the first epoch, at its start


def test_one_diverged_member_leaves_the_others_alone(runs):
    for seed, status in ((42, "completed"), (43, "diverged"), (44, "completed")):
        poisoned = read_record(runs / "poisoned" / f"seed={seed}")
        assert poisoned["status"] == status, seed
        if status == "completed":  # exactly what they reach without the diverged member
            assert poisoned["metrics"] == read_record(runs / "clean" / f"seed={seed}")["metrics"]
    diverged = read_record(runs / "poisoned" / "seed=43")
    assert diverged["diverged_at_step"] == 100
    # As a single run: it finishes that epoch's validation (NaN weights), then stops.
    assert diverged["metrics"]["val/mae"] == "nan" and diverged["epochs"] == 1
    statuses = sorted(run.status for run in load_runs(runs / "poisoned"))
    assert statuses == ["completed", "completed", "diverged"]


def test_a_sweep_with_members_reports_each_member_as_a_run(runs):
    found = load_runs(runs / "sweep")
    assert len(found) == 4 and len({run.name for run in found}) == 4
    assert all(run.status == "completed" for run in found)
    groups = group_runs(found)
    assert [len(group.runs) for group in groups] == [2, 2]
    assert {run.seed for run in groups[0].runs} == {"42", "43"}


def test_killed_and_resumed_it_ends_exactly_as_uninterrupted(tmp_path):
    common = [*BASE, "members=2", "trainer.max_epochs=2", "data.n_train=400"]
    kill = ["+callbacks.fault._target_=tests.faults.SignalAt", "+callbacks.fault.step=600",
            "+callbacks.fault.signal_name=SIGKILL",
            "callbacks.model_checkpoint.last_every_n_steps=100"]  # fmt: skip
    result = run_script([*common, *kill, f"hydra.run.dir={tmp_path / 'killed'}"])
    assert result.returncode == -signal.SIGKILL, result.stderr[-3000:]
    assert not (tmp_path / "killed" / "seed=42" / "metrics.json").exists()
    run_batch_ok([[*common, f"hydra.run.dir={tmp_path / 'reference'}"],
            [f"resume={tmp_path / 'killed'}"]], tmp_path)  # fmt: skip
    for seed in (42, 43):
        resumed = read_record(tmp_path / "killed" / f"seed={seed}")
        reference = read_record(tmp_path / "reference" / f"seed={seed}")
        assert resumed["status"] == "completed"
        assert resumed["metrics"] == reference["metrics"]  # exactly, not approximately
        assert (resumed["epochs"], resumed["steps"]) == (reference["epochs"], reference["steps"])
