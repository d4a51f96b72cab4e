"""A quiet console: third-party tips and warnings nobody can act on are dropped at their source;
everything else, convlab's lines and real problems, still shows."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings

import pytest

from convlab.runner import cli as quiet
from tests.conftest import ROOT, run_script

LEAF_SPEC = "`isinstance(treespec, LeafSpec)` is deprecated, use `isinstance(treespec, TreeSpec)`"
NOISE = ("💡 Tip", "LeafSpec", "GPU available: False", "TPU available: False", "Seed set to")


@pytest.fixture
def quiet_once(monkeypatch):
    """quiet_console() as at a process start, undone after the test."""
    quiet.quiet_console.cache_clear()
    monkeypatch.setenv("PYTHONWARNINGS", "default::DeprecationWarning")
    loggers = {line[0]: logging.getLogger(line[0]) for line in quiet.LOG_LINES}
    before = {name: list(logger.filters) for name, logger in loggers.items()}
    with warnings.catch_warnings():
        quiet.quiet_console()
        yield
    for name, logger in loggers.items():
        logger.filters[:] = before[name]
    quiet.quiet_console.cache_clear()


def _warn(module: str, message: str, category: type[Warning] = FutureWarning) -> list:
    with warnings.catch_warnings(record=True) as caught:
        warnings.warn_explicit(message, category, f"{module}.py", 21, module=module)
    return caught


def test_the_listed_warning_is_dropped_only_from_its_module(quiet_once):
    assert _warn("lightning.pytorch.utilities._pytree", LEAF_SPEC) == []
    # The same message from elsewhere, and another message from there, still show.
    assert len(_warn("mypackage.models", LEAF_SPEC)) == 1
    assert len(_warn("lightning.pytorch.utilities._pytree", "something else is deprecated")) == 1


def test_the_listed_log_lines_are_dropped_and_others_kept(quiet_once, caplog):
    rank_zero = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    with caplog.at_level(logging.INFO):
        rank_zero.info("💡 Tip: For seamless cloud logging, try installing litlogger")
        rank_zero.info("GPU available: False, used: False")
        rank_zero.info("GPU available: True (cuda), used: False")
        logging.getLogger("lightning.fabric.utilities.seed").info("Seed set to 42")
        rank_zero.info("Trainer.fit stopped: max_epochs=1 reached.")
    assert [r.getMessage() for r in caplog.records] == [
        "GPU available: True (cuda), used: False",
        "Trainer.fit stopped: max_epochs=1 reached.",
    ]


def test_child_processes_inherit_the_warning_filters(quiet_once):
    """ddp_spawn ranks start a fresh interpreter: PYTHONWARNINGS carries the filters there."""
    code = (
        "import warnings\n"
        f"warnings.warn_explicit({LEAF_SPEC!r}, FutureWarning, 'x.py', 1, "
        "module='lightning.pytorch.utilities._pytree')\n"
        "warnings.warn_explicit('kept', FutureWarning, 'x.py', 1, module='elsewhere')\n"
    )
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "LeafSpec" not in child.stderr
    assert "kept" in child.stderr
    assert "Invalid -W option" not in child.stderr
    assert "default::DeprecationWarning" in os.environ["PYTHONWARNINGS"]


def _short_run(tmp_path, fashion_fixture) -> list[str]:
    return [
        "experiment=lenet", "debug=fdr", f"data.data_dir={fashion_fixture}", "data.val_size=100",
        "data.batch_size=1000", f"hydra.run.dir={tmp_path / 'run'}",
    ]  # fmt: skip


def _assert_quiet(output: str) -> None:
    for noise in NOISE:
        assert noise not in output, (noise, output)
    assert "[convlab][INFO]" in output and "metrics:" in output  # convlab's own lines
    assert "data.batch_size=1000 is larger than the training split" in output  # a real problem


def test_a_short_real_run_prints_no_third_party_noise(tmp_path, fashion_fixture):
    """train.py as the entry point will run it once runner/cli.py:launch calls quiet_console."""
    starter = (
        "import runpy, sys\n"
        "from convlab.runner.cli import quiet_console\n"
        "quiet_console()\n"
        f"sys.argv = ['train.py', *{_short_run(tmp_path, fashion_fixture)!r}]\n"
        f"runpy.run_path({str(ROOT / 'train.py')!r}, run_name='__main__')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", starter], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    _assert_quiet(done.stdout + done.stderr)


def test_train_py_prints_no_third_party_noise(tmp_path, fashion_fixture):
    done = run_script(_short_run(tmp_path, fashion_fixture))
    assert done.returncode == 0, done.stderr[-3000:]
    _assert_quiet(done.stdout + done.stderr)
