"""What a run will touch: its output folder, and every job of a sweep."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from hydra.errors import ConfigCompositionException

from convlab.runner.check.composition import explain
from convlab.runner.check.validate import Check, find_problems


def unwritable(directory: str | Path) -> str | None:
    """Why ``directory`` cannot be created or written to, or ``None`` when it can."""
    path = Path(directory).absolute()
    ancestor = next((p for p in (path, *path.parents) if p.exists()), None)
    if ancestor is not None and not ancestor.is_dir():
        return f"{ancestor} is a file, not a folder"
    if ancestor is not None and not os.access(ancestor, os.W_OK | os.X_OK):
        return f"{ancestor} is not writable"
    return None


def check_jobs(
    config_name: str, jobs: list[list[str]], extra_checks: Sequence[Check] = ()
) -> list[str]:
    """Compose each job's config (inside Hydra's initialised state) and collect its problems,
    each said once."""
    from hydra import compose

    problems: list[str] = []
    for overrides in jobs:
        try:
            found = find_problems(
                compose(config_name=config_name, overrides=overrides), extra_checks
            )
        except ConfigCompositionException as error:
            found = [message] if (message := explain(error, config_name, overrides)) else []
        problems += [problem for problem in found if problem not in problems]
    return problems
