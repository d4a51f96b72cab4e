"""Named sweeps compose; a tiny real sweep through ``train.py -m`` is reported right and, run
again, trains no job twice."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from convlab.record import read_record
from convlab.report import build_report, group_runs, load_runs
from convlab.report.summary import Stat
from convlab.runner.overrides import job_dirname, sweep_domains
from tests.conftest import CONF_DIR, compose_config, run_script

SWEEPS = sorted(p.stem for p in (CONF_DIR / "sweep").glob("*.yaml"))
STUDY_SWEEPS = {
    "pooling", "lenet_activation", "max_normalization", "max_optimizers", "max_batch_size",
    "max_tasks", "max_capacity", "max_gated_lr", "max_optimizer_switch", "max_residual",
    "maxpool_fn",
}  # fmt: skip


def sweep_params(name: str) -> dict[str, list[str]]:
    params = yaml.safe_load((CONF_DIR / "sweep" / f"{name}.yaml").read_text())
    params = params["hydra"]["sweeper"]["params"]
    return {key: [v.strip() for v in str(values).split(",")] for key, values in params.items()}


def test_every_claim_of_the_study_has_a_sweep():
    assert set(SWEEPS) >= STUDY_SWEEPS


@pytest.mark.parametrize("name", SWEEPS)
def test_sweep_composes_with_each_swept_value(name, tmp_path: Path):
    params = sweep_params(name)
    params.pop("seed", None)
    raw = yaml.safe_load((CONF_DIR / "sweep" / f"{name}.yaml").read_text())
    swept = raw["hydra"]["sweeper"]["params"].get("seed")  # 1,2,3 or range(1,38)
    seeds = sweep_domains([f"seed={swept}"])["seed"] if swept is not None else []
    cfg = compose_config([f"sweep={name}"], tmp_path)
    # Seeds swept one per job, or stacked in every job (members=K: seed .. seed+K-1).
    assert max(len(seeds), cfg.members) >= 3, "every sweep repeats over at least 3 seeds"
    assert cfg.task_name.startswith("sweep_"), "a sweep names its own output folder"
    assert cfg.hydra.sweeper.params  # what `-m sweep=<name>` sweeps over
    for key, values in params.items():
        for value in values:
            cfg = compose_config([f"sweep={name}", f"{key}={value}"], tmp_path)
            choices = cfg.hydra.runtime.choices  # a group (optimizer=sgd) or a value
            assert same(choices[key] if key in choices else OmegaConf.select(cfg, key), value)


def same(actual, swept: str) -> bool:
    try:
        return float(actual) == float(swept)
    except (TypeError, ValueError):
        return str(actual) == swept


def test_job_dirname_is_short_safe_and_led_by_swept_keys():
    name = job_dirname(
        7, ["seed=2", "data.data_dir=/a/b,c", "model.width=8", "sweep=x"], exclude=["sweep"],
        first={"model.width": "8,16", "seed": "1,2"},
    )  # fmt: skip
    assert name == "7_width=8,seed=2,data_dir=_a_b_c"
    long = job_dirname(1, [f"model.k{i}=value{i}" for i in range(30)])
    assert len(long) <= 80 and long.startswith("1_k0=value0")
    assert long != job_dirname(1, [f"model.k{i}=value{i}" for i in range(31)])


# --- a tiny real sweep ----------------------------------------------------------------------
# 2 learning rates × 2 seeds of max_regression on 64 pairs; lr 1e12 makes SGD diverge.
TINY = [
    "-m", "experiment=max_regression", "optimizer=sgd", "optimizer.lr=0.001,1e12", "seed=1,2",
    "data.n_train=64", "data.n_val=64", "data.n_test=64", "data.batch_size=16",
    "trainer.max_epochs=2", "callbacks.rich_progress_bar=null",
]  # fmt: skip


def _stamps(sweep: Path) -> dict[str, int]:
    """mtime of every record and checkpoint: a job trained again rewrites them."""
    files = [*sweep.glob("*/metrics.json"), *sweep.glob("*/checkpoints/*.ckpt")]
    return {str(p.relative_to(sweep)): p.stat().st_mtime_ns for p in files}


def test_tiny_sweep_report_and_rerun(tmp_path: Path):
    sweep = tmp_path / "sweep"
    first = run_script([*TINY, f"hydra.sweep.dir={sweep}"], timeout=300)
    assert first.returncode == 0, first.stderr[-3000:]

    runs = load_runs(sweep)
    assert len(runs) == 4
    groups = group_runs(runs)
    assert [list(g.settings) for g in groups] == [["optimizer.lr"], ["optimizer.lr"]]
    assert [float(g.settings["optimizer.lr"]) for g in groups] == [0.001, 1e12]
    assert [r.status for r in groups[1].runs] == ["diverged", "diverged"]
    assert [r.status for r in groups[0].runs] == ["completed", "completed"]

    report = build_report(sweep, quiet=True)
    ok, diverged = report.rows
    maes = [read_record(run.path)["metrics"]["test/mae"] for run in groups[0].runs]
    assert ok["test/mae"].mean == pytest.approx(statistics.fmean(maes))
    assert ok["test/mae"].std == pytest.approx(statistics.stdev(maes))
    assert (ok["completed"], ok["diverged"], diverged["diverged"], diverged["completed"]) == (
        2, 0, 2, 0,
    )  # fmt: skip
    table = (sweep / "report" / "results.md").read_text()
    assert Stat.of(maes).format() in table
    assert (sweep / "report" / "final_test_mae.png").is_file()
    assert (sweep / "report" / "curve_val_mae.png").is_file()

    # Run the same command again after "killing" one job after its last checkpoint: the three
    # finished jobs are skipped untouched, the fourth resumes from last.ckpt.
    resumed = groups[0].runs[1].path
    (resumed / "metrics.json").unlink()
    before = _stamps(sweep)
    second = run_script([*TINY, f"hydra.sweep.dir={sweep}"], timeout=300)
    assert second.returncode == 0, second.stderr[-3000:]
    log = second.stdout + second.stderr
    assert log.count("already completed") == 1 and log.count("already diverged") == 2
    assert f"resuming {resumed.name}" in log
    after = _stamps(sweep)
    untouched = {k: v for k, v in before.items() if not k.startswith(resumed.name)}
    assert {k: after[k] for k in untouched} == untouched, "a finished job was trained again"
    record = read_record(resumed)
    assert record["status"] == "completed" and record["steps"] == runs[1].record["steps"]
    assert len(load_runs(sweep)) == 4


def _as_sweep_job(cfg):
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    from omegaconf import open_dict, read_write

    with read_write(cfg.hydra), open_dict(cfg.hydra):
        cfg.hydra.mode = RunMode.MULTIRUN
    HydraConfig.instance().set_config(cfg)
    return cfg


def test_a_finished_job_of_another_config_is_not_reused(tmp_path: Path):
    from convlab.errors import ConvlabError
    from convlab.record import write_record
    from convlab.runner.resume import skip_or_resume

    cfg = _as_sweep_job(compose_config(["experiment=max_regression"], tmp_path))
    write_record(tmp_path, {"status": "completed", "metrics": {"test/mae": 1.0}})
    assert skip_or_resume(cfg)["metrics"] == {"test/mae": 1.0}  # skipped, fingerprint kept
    cfg.trainer.max_epochs = cfg.trainer.max_epochs + 1  # the sweep file changed since
    with pytest.raises(ConvlabError, match="different config"):
        skip_or_resume(cfg)
    cfg.trainer.max_epochs = cfg.trainer.max_epochs - 1
    assert skip_or_resume(cfg) is not None
    (tmp_path / "metrics.json").unlink()  # nothing left to reuse: trains, whatever changed
    cfg.trainer.max_epochs = 1
    assert skip_or_resume(cfg) is None and cfg.get("ckpt_path") is None
