"""Config checks that run after Hydra composes a config and before anything is built.

``find_problems(cfg)`` lists every problem, one line each, with the allowed keys or values (or
the closest valid key); ``validate_config`` raises them as one ``ConfigError``. The checks are
generic: every node with a ``_target_`` is compared with the signature of the class or function
it names, so a new config group is covered as soon as its class has annotated parameters.
"""

from convlab.runner.check.jobs import check_jobs, unwritable
from convlab.runner.check.walk import ConfigError, find_problems, validate_config

__all__ = ["ConfigError", "check_jobs", "find_problems", "unwritable", "validate_config"]
