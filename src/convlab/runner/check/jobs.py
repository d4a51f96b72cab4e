"""Checks of what a run will touch: the output folder, and every job of a sweep."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from hydra.errors import ConfigCompositionException

from convlab.runner.check.composition import explain
from convlab.runner.check.walk import find_problems


def unwritable(directory: str | Path) -> str | None:
    """Why ``directory`` cannot be created or written to, or ``None`` when it can."""
    path = Path(directory).absolute()
    for ancestor in (path, *path.parents):
        if ancestor.exists():
            if not ancestor.is_dir():
                return f"{ancestor} is a file, not a folder"
            if not os.access(ancestor, os.W_OK | os.X_OK):
                return f"{ancestor} is not writable"
            return None
    return None


def check_jobs(config_name: str, jobs: list[list[str]], extra_checks: Sequence = ()) -> list[str]:
    """Compose each job's config (inside Hydra's initialised state) and collect its problems."""
    from hydra import compose

    problems: list[str] = []
    for overrides in jobs:
        try:
            job_cfg = compose(config_name=config_name, overrides=overrides)
        except ConfigCompositionException as error:
            message = explain(error, config_name, overrides)
            if message and message not in problems:
                problems.append(message)
            continue
        problems += [
            problem for problem in find_problems(job_cfg, extra_checks) if problem not in problems
        ]
    return problems
