"""Bad input on the command line (docs/RELIABILITY.md): one short message, a non-zero exit, and
for config mistakes nothing built and no folder created.

All command lines run through the real entry point in one interpreter (tests/cli_batch.py).
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from convlab.record import read_record
from tests.conftest import ROOT, make_fashion_fixture, run_script

# name → (arguments, expected exit code, text the one error message must hold)
CONFIG_ERRORS = {
    "key typo": (["trainer.max_epoch=3"], "trainer.max_epoch: no such key for Trainer. "
                 "Did you mean trainer.max_epochs?"),
    "appended key typo": (["+model.widht=8"], "model.widht: no such key for LeNet. "
                          "Allowed: activation, channels_last, in_channels, init, num_classes, "
                          "pooling."),
    "wrong type": (["data.batch_size=abc"], "data.batch_size=abc: expected an integer"),
    "zero batch size": (["data.batch_size=0"], "data.batch_size=0: must be a positive integer"),
    "negative lr": (["optimizer.lr=-1"], "optimizer.lr=-1: must be a positive, finite number"),
    "choice": (["model.pooling=median"], "model.pooling=median: expected one of avg, max, strided"),
    "choice of new group": (["experiment=max_regression", "data.normalization=log"],
                            "data.normalization=log: expected one of none, unit, standard"),
    "top-level choice": (["test_ckpt=worst"], "test_ckpt=worst: expected one of best, last"),
    "callback typo": (["callbacks.model_chekpoint=null"],
                      "Did you mean callbacks.model_checkpoint?"),
    "unknown experiment": (["experiment=lenett"], "experiment=lenett: no such experiment config. "
                           "Did you mean experiment=lenet? Available: "),
    "unknown sweep": (["sweep=poolng"], "sweep=poolng: no such sweep config. "
                      "Did you mean sweep=pooling?"),
    "unknown group": (["modle=lenet"], "modle: no such top-level key or config group. "
                      "Did you mean model?"),
    "swept bad value": (["-m", "data.batch_size=0,16"], "data.batch_size=0: must be a positive"),
    "swept key typo": (["-m", "trainer.max_epoch=1,2"], "Did you mean trainer.max_epochs?"),
}  # fmt: skip
TYPO_EXPERIMENT = """\
# @package _global_
defaults:
  - override /model: lenet
model:
  widht: 8
trainer:
  max_epoch: 3
tset_ckpt: last
"""


def _shared_folder(tmp_path_factory) -> Path:
    """A folder of this test session shared by all pytest-xdist workers (xdist's recipe for a
    fixture executed once), so the workers running this module share one batch run."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the session's folder, above each worker's own
    return base / "reliability_inputs"


def _make_workspace(root: Path) -> None:
    (root / "conf" / "experiment").mkdir(parents=True)
    (root / "conf" / "experiment" / "typo.yaml").write_text(TYPO_EXPERIMENT)
    (root / "a_file").write_text("not a folder")
    (root / "not_a_run").mkdir()
    (root / "corrupt.ckpt").write_bytes(b"PK\x03\x04 this is not a whole checkpoint")
    make_fashion_fixture(root / "fashion")
    corrupt = make_fashion_fixture(root / "fashion_corrupt")
    raw = (corrupt / "train-labels-idx1-ubyte").read_bytes()
    (corrupt / "train-labels-idx1-ubyte").write_bytes(raw[:-7])  # truncated


def _tiny(data: Path) -> list[str]:
    return [f"data.data_dir={data}", "data.system_dir=null", "data.download=false",
            "data.val_size=100", "debug=fdr", "logger=none", "callbacks=none"]  # fmt: skip


def _cases(root: Path) -> dict[str, list[str]]:
    """name → command line of train.py (``eval.py`` first for that script)."""
    logs = f"paths.log_dir={root}/outputs"
    cases = {name: [*args, logs] for name, (args, _) in CONFIG_ERRORS.items()}
    cases |= {
        "typos in an experiment file": ["--config-dir", f"{root}/conf", "experiment=typo", logs],
        "missing checkpoint": [f"ckpt_path={root}/missing.ckpt", logs],
        "corrupt checkpoint": [f"ckpt_path={root}/corrupt.ckpt", logs],
        "resume without checkpoint": [f"resume={root}/not_a_run", logs],
        "resume in a sweep": ["-m", f"resume={root}/not_a_run", logs],
        "unwritable output": [f"hydra.run.dir={root}/a_file/run", logs],
        "missing data": [*_tiny(root / "nowhere"), f"hydra.run.dir={root}/runs/missing_data"],
        "corrupt data": [*_tiny(root / "fashion_corrupt"), f"hydra.run.dir={root}/runs/corrupt"],
        "exception in training": [
            *_tiny(root / "fashion"), "callbacks=default", "callbacks.rich_progress_bar=null",
            "+callbacks.fault._target_=tests.faults.FailAt", f"hydra.run.dir={root}/runs/fails",
        ],
        "eval without checkpoint": ["eval.py", logs],
    }  # fmt: skip
    return cases


def _run_batch(root: Path) -> dict[str, dict]:
    cases = _cases(root)
    scripts = [
        ("eval.py", argv[1:]) if argv[:1] == ["eval.py"] else ("train.py", argv)
        for argv in cases.values()
    ]
    case_file = root / "cases.json"
    case_file.write_text(json.dumps(scripts))
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "cli_batch.py"), str(case_file)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(zip(cases, json.loads(done.stdout), strict=True))


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """The folder the command lines work in; ``results.json`` holds what each one showed."""
    root = _shared_folder(tmp_path_factory)
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / "reliability_inputs.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the first worker runs the batch, the others wait
        if not (root / "results.json").exists():
            root.mkdir(exist_ok=True)
            _make_workspace(root)
            (root / "results.json").write_text(json.dumps(_run_batch(root)))
    return root


@pytest.fixture(scope="module")
def results(workspace: Path) -> dict[str, dict]:
    return json.loads((workspace / "results.json").read_text())


def _one_message(result: dict) -> str:
    """The error message, after checking it is short and has no traceback."""
    stderr = result["stderr"]
    assert "Traceback" not in stderr + result["stdout"], stderr
    lines = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, stderr
    start = stderr.index("error: ")
    assert len(stderr[start:].strip().splitlines()) <= 6, stderr  # "a few lines" at most
    return stderr[start:]


@pytest.mark.parametrize("name", list(CONFIG_ERRORS))
def test_config_error_is_one_message_and_nothing_is_created(name, results, workspace):
    result = results[name]
    assert result["code"] == 2, result
    assert CONFIG_ERRORS[name][1] in _one_message(result)
    assert not (workspace / "outputs").exists()  # no run or sweep folder was made


def test_typos_inside_an_experiment_file_are_all_named(results, workspace):
    result = results["typos in an experiment file"]
    assert result["code"] == 2
    message = _one_message(result)
    assert "3 problems in the config" in message
    assert "model.widht: no such key for LeNet" in message
    assert "trainer.max_epoch: no such key for Trainer. Did you mean trainer.max_epochs?" in message
    assert "tset_ckpt: no such top-level key. Did you mean test_ckpt?" in message
    assert not (workspace / "outputs").exists()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("missing checkpoint", "missing.ckpt: no such checkpoint file"),
        ("corrupt checkpoint", "corrupt.ckpt: not a readable checkpoint"),
        ("resume without checkpoint", "not_a_run: no checkpoints/last.ckpt there"),
        ("resume in a sweep", "resume= continues one run. To continue a sweep"),
        ("unwritable output", "a_file is a file, not a folder"),
    ],
)
def test_bad_paths_are_one_message_before_anything_runs(name, expected, results, workspace):
    result = results[name]
    assert result["code"] == 2, result
    assert expected in _one_message(result)
    assert not (workspace / "outputs").exists()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("missing data", "Fashion-MNIST not found. Tried:"),
        ("corrupt data", "train-labels-idx1-ubyte: header promises shape"),
    ],
)
def test_bad_data_is_one_message_and_a_failed_record(name, expected, results, workspace):
    result = results[name]
    assert result["code"] == 2, result
    assert expected in _one_message(result)
    run_dir = workspace / "runs" / ("missing_data" if name == "missing data" else "corrupt")
    record = read_record(run_dir)
    assert record["status"] == "failed"
    assert expected.split(".")[0].split(":")[0] in record["error"]
    assert "\n" not in record["error"]
    assert not (run_dir / "checkpoints").exists()


def test_exception_in_a_single_run_is_one_line_and_recorded(results, workspace):
    result = results["exception in training"]
    assert result["code"] == 1
    message = _one_message(result)
    run_dir = workspace / "runs" / "fails"
    assert message.strip() == (
        f"error: RuntimeError: injected failure (traceback in {run_dir / 'train.log'})"
    )
    record = read_record(run_dir)
    assert record["status"] == "failed"
    assert record["error"] == "RuntimeError: injected failure"  # the first line only
    assert "Traceback" in (run_dir / "train.log").read_text()


def test_entry_point_reports_a_typo_in_a_fresh_interpreter(tmp_path):
    """The same check through ``python train.py`` itself, as a user runs it."""
    result = run_script(["trainer.max_epoch=3", f"paths.log_dir={tmp_path}/outputs"])
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: trainer.max_epoch: no such key for Trainer. Did you mean trainer.max_epochs?"
    )
    assert not (tmp_path / "outputs").exists()


def test_eval_without_checkpoint_names_the_key(results, workspace):
    result = results["eval without checkpoint"]
    assert result["code"] == 2
    assert _one_message(result).strip() == "error: ckpt_path: must be set (ckpt_path=...)."
    assert not (workspace / "outputs").exists()
