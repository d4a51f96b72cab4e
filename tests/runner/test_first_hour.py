"""A newcomer's first hour: two commands on a fresh clone, a locked install, a help that pipes.

These check the files a newcomer meets (Makefile, README, docs/, constraints.txt,
pyproject.toml), not an install itself: CI (.ci/run) installs from scratch and compares
`pip freeze` with the lock.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from packaging.requirements import Requirement

from tests.conftest import CONF_DIR, ROOT

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


def _lock_module():
    spec = importlib.util.spec_from_file_location("lock", ROOT / "scripts" / "lock.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _make(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_the_quick_start_is_two_commands():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = section.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make train", "make test"]
    assert "GB" in section and "min" in section  # the install's size and time are said
    assert "## First hour" in readme


@needs_make
def test_train_and_test_set_up_a_fresh_clone_first(tmp_path):
    venv = tmp_path / "venv"
    for target in ("train", "test"):
        plan = _make("-n", target, f"VENV={venv}").stdout.splitlines()
        assert plan[0] == f"test -x {venv}/bin/python || python3 -m venv {venv}", plan
        installs = [line for line in plan if "pip install -c constraints.txt" in line]
        assert len(installs) == 2, plan  # torch, then the project with [dev]
        assert plan[-1].startswith(f"{venv}/bin/python ")  # then the command itself


@needs_make
def test_a_finished_install_is_not_repeated(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / ".convlab-installed").touch()  # newer than pyproject.toml and the lock
    plan = _make("-n", "train", f"VENV={venv}").stdout.splitlines()
    assert plan == [f"{venv}/bin/python train.py experiment=lenet "]


@needs_make
def test_help_has_no_colour_codes_in_a_pipe():
    done = _make("help")
    assert done.returncode == 0
    assert "\x1b" not in done.stdout
    assert re.search(r"^  train\s+Train D2L's LeNet", done.stdout, re.MULTILINE)
    assert re.search(r"^  lock\s+", done.stdout, re.MULTILINE)


def test_the_configuration_table_lists_every_option_in_conf():
    doc = (ROOT / "docs" / "configuration.md").read_text()
    table = doc.split("## Config groups", 1)[1].split("Top-level keys", 1)[0]
    rows = [line.split("|")[1:3] for line in table.splitlines() if line.startswith("| `")]
    listed = {}
    for group, options in rows:
        if "`" in options:  # the sweep row points to the study instead
            listed[group.strip(" `")] = set(re.findall(r"`([^`]+)`", options))
    groups = {path.name for path in CONF_DIR.iterdir() if path.is_dir()}
    # paths (one file) and hydra's own settings are not chosen; sweeps have their section.
    assert set(listed) == groups - {"paths", "hydra", "sweep"} | {"hydra/launcher"}
    for group, options in listed.items():
        assert options == {path.stem for path in (CONF_DIR / group).glob("*.yaml")}, group


def test_the_study_takes_the_same_time_everywhere():
    makefile = (ROOT / "Makefile").read_text()
    (minutes,) = re.findall(r"^study: .*?~(\d+) min", makefile, re.MULTILINE)
    for page in ("README.md", "docs/study.md"):
        assert f"`make study`, {minutes} min" in (ROOT / page).read_text(), page


def test_pyproject_has_ranges_and_an_spdx_license():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"  # a string: the table form warns on every install
    for line in project["dependencies"] + project["optional-dependencies"]["dev"]:
        specifier = Requirement(line).specifier
        assert any(s.operator == "<" for s in specifier), f"{line}: no upper bound"


def test_the_lock_pins_every_dependency_within_its_range():
    lock = _lock_module()
    pins = lock.read(ROOT / "constraints.txt")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for line in project["dependencies"] + project["optional-dependencies"]["dev"]:
        requirement = Requirement(line)
        name = lock.canonical(requirement.name)
        assert name in pins, f"{name} is not in constraints.txt: run make lock"
        assert requirement.specifier.contains(pins[name]), (line, pins[name])
    assert "convlab" not in pins


def test_freeze_is_compared_with_the_lock():
    lock = _lock_module()
    locked = {"torch": "2.14.1", "numpy": "2.4.6", "nvidia-nccl-cu13": "2.30.7"}
    # A CPU-only install: no CUDA libraries, torch with a local label.
    assert lock.differences(locked, {"torch": "2.14.1+cpu", "numpy": "2.4.6", "pip": "26"}) == []
    assert lock.differences(locked, {"torch": "2.14.1", "numpy": "2.3.0", "rich": "15.0.0"}) == [
        "numpy==2.3.0: the lock says 2.4.6",
        "rich==15.0.0: installed but not in the lock",
    ]


def test_evaluations_get_their_own_folders():
    """eval.py writes to outputs/<task>/evals/, not among the training runs in runs/."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("eval", overrides=["experiment=lenet"], return_hydra_config=True)
    run_dir = OmegaConf.to_container(cfg.hydra.run, resolve=False)["dir"]
    assert run_dir.startswith("${paths.log_dir}/${task_name}/evals/"), run_dir
    assert cfg.task_name == "lenet"  # the experiment still names the folder


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_every_link_in_the_readme_and_docs_leads_somewhere():
    pages = [ROOT / "README.md", ROOT / "notebooks" / "README.md", *(ROOT / "docs").glob("*.md")]
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if target.startswith(("http://", "https://")):
                continue
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            assert linked.exists(), (page.name, target)
            if anchor:
                assert anchor in _anchors(linked), (page.name, target)


@pytest.mark.parametrize(
    "args",
    [["--help"], ["experimnt=lenet"], ["experiment=lenett"], ["seed=["]],
)
def test_help_and_composition_errors_answer_before_torch_loads(args):
    """They answer within two seconds because neither torch nor Lightning is imported."""
    for script in ("train.py", "eval.py"):
        done = subprocess.run([sys.executable, "-X", "importtime", script, *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)  # fmt: skip
        imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines()
                    if line.startswith("import time:")}  # fmt: skip
        assert done.returncode == (0 if args == ["--help"] else 2), done.stderr[-1000:]
        assert imported and not imported & {"torch", "lightning"}, (script, args)
        assert (
            len(done.stdout.splitlines()) > 20
            if args == ["--help"]
            else len(
                [line for line in done.stderr.splitlines() if not line.startswith("import time:")]
            )
            == 1
        ), done.stderr[-1000:]
