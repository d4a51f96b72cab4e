"""The config check: after Hydra composes a config, before anything is built or a folder made.

``find_problems(cfg, extra_checks)`` lists every problem, one line each, with the allowed keys or
values (or the closest valid key); ``validate_config`` raises them as one ``ConfigError``. Every
node with a ``_target_`` is validated (pydantic) against the signature of what it names, so a new
class is covered as soon as its parameters are annotated.
"""

from convlab.runner.check.composition import explain
from convlab.runner.check.environment import available_cores
from convlab.runner.check.validate import (
    ConfigError,
    check_jobs,
    find_problems,
    unwritable,
    validate_config,
)

__all__ = ["ConfigError", "available_cores", "check_jobs", "explain", "find_problems",
           "unwritable", "validate_config"]  # fmt: skip
