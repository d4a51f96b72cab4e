"""The config check, after Hydra composes a config and before anything is built: every node with a
``_target_`` is validated (pydantic) against the signature of what it names, so a new class is
covered as soon as its parameters are annotated. One line per problem, with what would be valid.
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
