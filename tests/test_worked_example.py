"""The README's worked example runs as written: in a copy of the project, its new model, the
model's config and the sweep that compares it with LeNet are added exactly as the README shows
them, and the README's wiring checks (its `debug=fdr` commands) complete on the real data."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from omegaconf import OmegaConf

from tests.conftest import ROOT

SECTION = "## Add a model, a data set, a comparison"
# A file is shown as "`<path>`:", a blank line, then its code block.
FILE_BLOCK = re.compile(r"`((?:src|conf)/[\w/]+\.(?:py|yaml))`:\n\n```\w+\n(.*?)```", re.S)


def _section() -> str:
    readme = (ROOT / "README.md").read_text()
    assert SECTION in readme
    return readme.split(SECTION, 1)[1].split("\n## ", 1)[0]


def _wiring_checks(section: str) -> list[list[str]]:
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", section, re.S):
        for line in block.splitlines():
            words = line.split("#", 1)[0].split()
            if "debug=fdr" in words:
                commands.append(words)
    return commands


def _fork(destination: Path) -> Path:
    """What a user forks: the entry point, the configs and the package."""
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "src", destination / "src", ignore=ignore)
    shutil.copytree(ROOT / "conf", destination / "conf", ignore=ignore)
    shutil.copy2(ROOT / "train.py", destination / "train.py")
    return destination


def _run(fork: Path, words: list[str], output: Path) -> None:
    assert words[:2] == ["python", "train.py"], words
    folder = "hydra.sweep.dir" if "-m" in words else "hydra.run.dir"
    # The fork's package shadows the installed one; the fork is not the project's coverage.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_CORE_", "COVERAGE_"))}
    env.pop("CONVLAB_RUN_UID", None)
    env.update(PYTHONPATH=str(fork / "src"), HYDRA_FULL_ERROR="0")
    args = [*words[2:], f"{folder}={output}"]
    done = subprocess.run(
        [sys.executable, "train.py", *args],
        cwd=fork, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, (words, done.stdout[-2000:], done.stderr[-2000:])


def _records(output: Path) -> list[tuple[dict, dict]]:
    """(metrics.json, composed config) of every run under ``output``."""
    return [
        (json.loads(path.read_text()), OmegaConf.load(path.parent / ".hydra" / "config.yaml"))
        for path in sorted(output.rglob("metrics.json"))
        if (path.parent / ".hydra" / "config.yaml").is_file()
    ]


def test_the_worked_example_runs_as_written(tmp_path, real_fashion_mnist):
    section = _section()
    files = dict(FILE_BLOCK.findall(section))
    models = [path for path in files if re.fullmatch(r"src/convlab/models/\w+\.py", path)]
    model_confs = [path for path in files if re.fullmatch(r"conf/model/\w+\.yaml", path)]
    sweeps = [path for path in files if re.fullmatch(r"conf/sweep/\w+\.yaml", path)]
    assert len(models) == len(model_confs) == len(sweeps) == 1, sorted(files)
    fork = _fork(tmp_path / "fork")
    for path, text in files.items():
        assert not (fork / path).exists(), f"{path}: the example must add a file, not replace one"
        (fork / path).write_text(text)
    target = OmegaConf.load(fork / model_confs[0])["_target_"]
    sweep = OmegaConf.load(fork / sweeps[0])

    checks = _wiring_checks(section)
    assert [("-m" in words) for words in checks] == [False, True], checks
    for number, words in enumerate(checks):
        output = tmp_path / f"run{number}"
        _run(fork, words, output)
        records = _records(output)
        assert records and all(record["status"] == "completed" for record, _ in records), records
        if "-m" in words:  # every job of the sweep, the new model among them
            params = sweep.hydra.sweeper.params
            jobs = math.prod(len(str(values).split(",")) for values in params.values())
            assert len(records) == jobs
            assert target in {config.model._target_ for _, config in records}
        else:
            assert [config.model._target_ for _, config in records] == [target]
