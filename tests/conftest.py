"""Shared test helpers: compose configs the way train.py does, or run it as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hydra.utils import instantiate
from omegaconf import DictConfig

from convlab.data.idx import write_idx
from convlab.errors import DataNotFoundError
from convlab.runner.cli import (  # noqa: F401 (CONF_DIR: for the tests)
    CONF_DIR,
    compose_run_config,
    register_resolvers,
)

ROOT = Path(__file__).resolve().parents[1]

register_resolvers()


def compose_config(
    overrides: list[str], output_dir: Path, config_name: str = "train"
) -> DictConfig:
    """Compose like ``@hydra.main`` would, with the run's output folder set to ``output_dir``."""
    return compose_run_config(overrides, output_dir, config_name)


def run_script(
    args: list[str], cwd: Path = ROOT, script: str = "train.py", timeout: float = 600, env=None
) -> subprocess.CompletedProcess:
    """Run an entry point in a fresh interpreter (as a user would) and capture its output."""
    full_env = {**os.environ, "HYDRA_FULL_ERROR": "0", **(env or {})}
    full_env.pop("CONVLAB_RUN_UID", None)
    return subprocess.run(
        [sys.executable, str(ROOT / script), *args],
        cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def run_batch(
    cases: list[list[str]], folder: Path, name: str = "cases", env=None, timeout: float = 900
) -> list[dict]:
    """``train.py`` once per command line, all in one interpreter (``tests/cli_batch.py``):
    each case's ``argv``, exit ``code``, ``stdout`` and ``stderr``."""
    case_file = folder / f"{name}.json"
    case_file.write_text(json.dumps([["train.py", argv] for argv in cases]))
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "cli_batch.py"), str(case_file)],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def run_batch_ok(cases: list[list[str]], folder: Path) -> None:
    for case in run_batch(cases, folder):
        assert case["code"] == 0, (case["argv"], case["stderr"][-3000:])


def make_fashion_fixture(directory: Path, n_train: int = 600, n_test: int = 200, seed: int = 0):
    """Tiny IDX files in Fashion-MNIST's layout: class-dependent blobs, learnable in a few steps."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        images = rng.integers(0, 40, size=(n, 28, 28)).astype(np.uint8)
        for i, label in enumerate(labels):
            row = 2 + 2 * int(label)
            images[i, row : row + 3, 4:24] = 250
        write_idx(directory / f"{prefix}-images-idx3-ubyte.gz", images, compress=True)
        write_idx(directory / f"{prefix}-labels-idx1-ubyte", labels)
    return directory


@pytest.fixture
def fashion_fixture(tmp_path: Path) -> Path:
    return make_fashion_fixture(tmp_path / "fashion")


def locate_real_fashion_mnist(output_dir: Path, *overrides: str) -> Path:
    """The folder ``train.py`` reads Fashion-MNIST from (its config, its locator); where there is
    none, the locator's message is the failure (not a skip: CI installs the system copy)."""
    cfg = compose_config(list(overrides), output_dir)
    try:
        files = instantiate(cfg.data).locate()
    except DataNotFoundError as error:
        pytest.fail(str(error), pytrace=False)
    return files.train_images.parent


@pytest.fixture
def real_fashion_mnist(tmp_path_factory) -> Path:
    return locate_real_fashion_mnist(tmp_path_factory.mktemp("compose"))
