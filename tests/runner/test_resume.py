"""Exact resume: a run stopped mid-training (Ctrl-C, SIGKILL) and resumed ends with exactly the
metrics of the same run done in one go (CPU, ``trainer.deterministic=true``)."""

from __future__ import annotations

import hashlib
import json
import logging
import signal
import subprocess
from pathlib import Path

import pytest
import torch
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from convlab.errors import ConvlabError
from convlab.record import LOCATION_KEYS, read_record
from convlab.runner import resume as resume_module
from convlab.runner.cli import expand_resume_argument, split_command_line
from convlab.runner.overrides import quote
from convlab.runner.resume import (
    check_checkpoint,
    checked_ckpt_path,
    differences,
    expand_resume,
    fingerprint,
    finished_record,
    last_checkpoint,
    resume_problem,
    run_dir_and_checkpoint,
    skip_or_resume,
)
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


def test_the_command_line_splits_into_hydras_flags_and_overrides():
    """Flags with a value keep it (separate or after "="), --info's value only when it is one
    of its choices; everything else is an override."""
    argv = ["-m", "--cfg", "job", "-cn", "eval", "--info", "seed=1", "-i", "defaults",
            "--config-dir=/x", "-p", "model", "+a.b=c", "~d", "--resolve",
            "-cd", "conf"]  # fmt: skip
    flags, overrides = split_command_line(argv)
    assert overrides == ["seed=1", "+a.b=c", "~d"]
    assert flags == ["-m", "--cfg", "job", "-cn", "eval", "--info", "-i", "defaults",
                     "--config-dir=/x", "-p", "model", "--resolve", "-cd", "conf"]  # fmt: skip


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


# --- the resume helpers, one by one (no training) --------------------------------------------


def test_run_folder_and_checkpoint_of_a_resume_target(tmp_path, monkeypatch):
    run_dir = _fake_run(tmp_path / "run", ["seed=1"])
    last = run_dir / "checkpoints" / "last.ckpt"
    assert run_dir_and_checkpoint(run_dir) == (run_dir, last)
    assert run_dir_and_checkpoint(str(last)) == (run_dir, last)
    monkeypatch.chdir(tmp_path)
    assert run_dir_and_checkpoint("run") == (run_dir, last)  # made absolute
    with pytest.raises(ConvlabError, match=r"^resume=.*other\.ckpt: no such checkpoint file\.$"):
        run_dir_and_checkpoint(run_dir / "checkpoints" / "other.ckpt")
    with pytest.raises(ConvlabError, match=r"^resume=.*nowhere: no such run folder\.$"):
        run_dir_and_checkpoint(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConvlabError) as error:
        run_dir_and_checkpoint(tmp_path / "empty")
    assert str(error.value) == (
        f"resume={tmp_path / 'empty'}: no checkpoints/last.ckpt there (the run stopped before "
        "its first checkpoint, or this is not a run folder); start the run again instead."
    )


def test_resume_in_a_sweep_is_refused_and_the_last_resume_wins(tmp_path):
    first, second = _fake_run(tmp_path / "a", ["seed=1"]), _fake_run(tmp_path / "b", ["seed=2"])
    argv = expand_resume([], [f"resume={first}", "x=1", f"resume='{second}'"])
    assert argv[0] == "seed=2" and argv[1] == "x=1" and argv[-1] == f"hydra.run.dir='{second}'"
    assert expand_resume(["-c"], ["x=1"]) is None
    assert expand_resume(["-c"], ["resume=", "x=1"]) == ["-c", "x=1"]
    assert expand_resume([], ["resume=None"]) == []
    for flag in ("-m", "--multirun"):
        with pytest.raises(ConvlabError) as error:
            expand_resume([flag], [f"resume={first}"])
        assert str(error.value) == (
            "resume= continues one run. To continue a sweep, run the same sweep command again "
            "with hydra.sweep.dir=<its folder>: finished jobs are skipped, stopped ones resume."
        )
    odd = _fake_run(tmp_path / "X", ["seed=4"])  # quotes are stripped, not letters
    assert expand_resume([], [f'resume="{odd}"'])[0] == "seed=4"


def test_quote_and_the_recorded_resume_settings_dropped(tmp_path):
    assert quote("a'b\\c") == "'a\\'b\\\\c'"
    run_dir = _fake_run(tmp_path / "run", ["+resume=/old", "~ckpt_path", "ckpt_path=/a=b", "s=1"])
    assert expand_resume([], [f"resume={run_dir}"])[0] == "s=1"


def test_check_checkpoint_tells_a_cut_off_file(tmp_path):
    good = tmp_path / "good.ckpt"
    torch.save({"a": 1}, good)
    assert check_checkpoint(good) is None
    cut = tmp_path / "cut.ckpt"
    cut.write_bytes(good.read_bytes()[:40])
    reason = check_checkpoint(cut)
    assert reason.startswith("not a readable checkpoint (")
    assert reason.endswith("); it may have been cut off while being written")
    assert check_checkpoint(tmp_path / "missing.ckpt").startswith("not a readable checkpoint")


def test_checked_ckpt_path_checks_the_file(tmp_path, caplog):
    assert checked_ckpt_path(OmegaConf.create({"ckpt_path": None})) is None
    assert checked_ckpt_path(OmegaConf.create({})) is None
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    with pytest.raises(ConvlabError, match=rf"^ckpt_path={ckpt}: no such checkpoint file\.$"):
        checked_ckpt_path(OmegaConf.create({"ckpt_path": str(ckpt)}))
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(b"not a zip")
    with pytest.raises(ConvlabError, match=rf"^ckpt_path={ckpt}: not a readable checkpoint .*\.$"):
        checked_ckpt_path(OmegaConf.create({"ckpt_path": str(ckpt)}))
    torch.save({}, ckpt)
    with caplog.at_level(logging.INFO, logger="convlab"):
        assert checked_ckpt_path(OmegaConf.create({"ckpt_path": str(ckpt)})) == str(ckpt)
    assert caplog.messages == [f"resuming from {ckpt}"]


def test_a_continued_run_may_change_only_what_does_not_change_the_computation(tmp_path):
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    (tmp_path / "run" / ".hydra").mkdir(parents=True)
    saved = {
        "seed": 1,
        "paths": {"x": 1},
        "trainer": {"max_epochs": 2, "devices": 1},
        "logger": {"tb": 1},
        "resume": None,
        "data": {"num_workers": 0, "batch_size": 8},
    }
    OmegaConf.save(OmegaConf.create(saved), ckpt.parent.parent / ".hydra" / "config.yaml")
    allowed = {
        **saved,
        "ckpt_path": str(ckpt),
        "paths": {"x": 2},
        "logger": None,
        "trainer": {"max_epochs": 9, "devices": 2},
        "data": {"num_workers": 4, "batch_size": 8},
    }
    assert resume_problem(OmegaConf.create(allowed)) is None
    changed = {**allowed, "seed": 2, "lr": 1, "data": {"num_workers": 0, "batch_size": 16}}
    assert resume_problem(OmegaConf.create(changed)) == (
        f"ckpt_path={ckpt}: these settings would change what the run computes (data.batch_size: "
        "8 -> 16; lr: None -> 1; seed: 1 -> 2). A continued run may change only its budget, "
        "logging, devices and workers; start a new run for the rest."
    )
    resumed = OmegaConf.create({**changed, "resume": "the/run"})
    assert resume_problem(resumed).startswith("resume=the/run: these settings would change")
    evaluating = OmegaConf.create({k: v for k, v in changed.items() if k != "resume"})
    assert resume_problem(evaluating) is None  # eval.py's config: checkpoint_mismatch's business


def test_differences_flatten_nested_settings_both_ways(tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / ".hydra").mkdir(parents=True)
    saved = {"a": {"b": 1, "c": [1, 2]}, "gone": 1, "hydra": {"x": 1}, "resume": "r", "nX": 1}
    OmegaConf.save(OmegaConf.create(saved), run_dir / ".hydra" / "config.yaml")
    now = OmegaConf.create(
        {"a": {"b": 2, "c": [1, 2]}, "new": {"d": "e"}, "hydra": {"x": 2}, "nX": 2}
    )
    assert differences(now, run_dir / "checkpoints" / "last.ckpt") == [
        "a.b: 1 -> 2", "gone: 1 -> None", "nX: 1 -> 2", "new.d: None -> 'e'",
    ]  # fmt: skip
    assert differences(now, tmp_path / "elsewhere" / "checkpoints" / "x.ckpt") == []


def test_fingerprint_ignores_where_a_run_lives():
    base = {"seed": 1, "model": {"w": 2}}
    located = {**base, **{key: "anything" for key in LOCATION_KEYS}}
    value = fingerprint(OmegaConf.create(base))
    assert len(value) == 16 and int(value, 16) >= 0
    assert fingerprint(OmegaConf.create(located)) == value
    assert fingerprint(OmegaConf.create({**base, "seed": 2})) != value
    expected = hashlib.sha1(json.dumps(base, sort_keys=True).encode()).hexdigest()[:16]
    assert value == expected
    assert len(fingerprint(OmegaConf.create({"where": Path("/data")}))) == 16  # not JSON: str()


def test_finished_record_and_last_checkpoint(tmp_path):
    assert finished_record(tmp_path) is None
    (tmp_path / "metrics.json").write_text('{"status": "comp')
    assert finished_record(tmp_path) is None
    for status, finished in (("completed", True), ("diverged", True), ("interrupted", False)):
        (tmp_path / "metrics.json").write_text(json.dumps({"status": status}))
        assert (finished_record(tmp_path) is not None) == finished
    cfg = OmegaConf.create({"paths": {"output_dir": str(tmp_path)}, "callbacks": None})
    assert last_checkpoint(cfg) is None
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "last.ckpt").write_bytes(b"")
    assert last_checkpoint(cfg) == tmp_path / "checkpoints" / "last.ckpt"
    elsewhere = tmp_path / "ckpts"
    elsewhere.mkdir()
    (elsewhere / "last.ckpt").write_bytes(b"")
    cfg.callbacks = {"model_checkpoint": {"dirpath": str(elsewhere)}}
    assert last_checkpoint(cfg) == elsewhere / "last.ckpt"


def test_a_sweep_job_is_skipped_resumed_or_started(tmp_path, monkeypatch, caplog):
    job = tmp_path / "sweep" / "0_seed=1"  # the sweep folder is made with it
    cfg = OmegaConf.create({"seed": 1, "ckpt_path": None, "paths": {"output_dir": str(job)}})
    monkeypatch.setattr(resume_module, "in_multirun", lambda: False)  # another test's Hydra app
    assert skip_or_resume(cfg) is None and not job.exists()  # not a sweep: nothing to do
    monkeypatch.setattr(resume_module, "in_multirun", lambda: True)
    assert skip_or_resume(cfg) is None and cfg.ckpt_path is None
    stamp = job / ".config_fingerprint"
    assert stamp.read_text() == fingerprint(cfg) + "\n"
    (job / "checkpoints").mkdir()
    (job / "checkpoints" / "last.ckpt").write_bytes(b"")
    with caplog.at_level(logging.INFO, logger="convlab"):
        assert skip_or_resume(cfg) is None
    assert cfg.ckpt_path == str(job / "checkpoints" / "last.ckpt")
    assert caplog.messages == [f"resuming 0_seed=1 from {job / 'checkpoints' / 'last.ckpt'}"]
    cfg.ckpt_path = "/chosen.ckpt"
    assert skip_or_resume(cfg) is None and cfg.ckpt_path == "/chosen.ckpt"  # given: kept
    cfg.ckpt_path = None
    cfg.resume = "somewhere"
    assert skip_or_resume(cfg) is None and cfg.ckpt_path is None
    (job / "metrics.json").write_text(json.dumps({"status": "diverged"}))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="convlab"):
        assert skip_or_resume(cfg) == {"status": "diverged"}
    assert caplog.messages == ["skipped 0_seed=1: already diverged in an earlier run of this sweep"]
    stamp.write_text("0123456789abcdef\n")
    (job / "checkpoints" / "last.ckpt").unlink()  # a record alone is reused too: refused
    with pytest.raises(ConvlabError) as error:
        skip_or_resume(cfg)
    assert str(error.value) == (
        f"{job} holds a run of a different config (the sweep's settings changed since); run the "
        "sweep into a fresh hydra.sweep.dir or delete that folder."
    )
    (job / "metrics.json").unlink()
    assert skip_or_resume(cfg) is None  # nothing to reuse: the stamp is renewed
    assert stamp.read_text() == fingerprint(cfg) + "\n"
