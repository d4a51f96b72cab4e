"""The config check: every problem of a composed config in one line each, before anything is
built (``validate.py``); the machine and budget (``environment.py``); composition errors."""

from convlab.runner.check.validate import Check, ConfigError, find_problems, validate_config

__all__ = ["Check", "ConfigError", "find_problems", "validate_config"]
