"""Hydra's composition errors (an unknown key or option on the command line) retold in one line:
the config is composed again without the bad override, to name what would be valid instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from hydra.core.global_hydra import GlobalHydra
from hydra.errors import ConfigCompositionException, MissingConfigException
from omegaconf import DictConfig, OmegaConf

from convlab.runner.check.targets import closest, listing, target, unknown_key
from convlab.runner.overrides import first_job

_NOT_OVERRIDABLE = re.compile(r"Could not override '([^']+)'")
_APPEND_EXISTING = re.compile(r"Could not append to config\. An item is already at '([^']+)'")


def _missing_option(error: MissingConfigException) -> str | None:
    group, _, name = (error.missing_cfg_file or "").rpartition("/")
    if not group or error.options is None:
        return None
    if not error.options:
        return f"{group}={name}: there is no config group '{group}'."
    options = sorted(str(option) for option in error.options)
    guess = closest(name, options)
    hint = f" Did you mean {group}={guess}?" if guess else ""
    return f"{group}={name}: no such {group} config.{hint} Available: {listing(options)}."


def _unknown_key(key: str, config_name: str, overrides: Sequence[str]) -> str | None:
    from hydra import compose

    parent_path, _, leaf = key.rpartition(".")
    if not GlobalHydra.instance().is_initialized():
        return None
    try:
        cfg = compose(config_name=config_name, overrides=first_job(overrides, without=key))
    except Exception:
        return None  # Hydra's own message then
    parent = OmegaConf.select(cfg, parent_path) if parent_path else cfg
    if parent_path and parent is None:
        return f"{key}: {parent_path} is not in this config (or is null)."
    if not isinstance(parent, DictConfig):
        return f"{key}: {parent_path} is a value, not a group of keys."
    allowed = {str(k) for k in parent}
    if not parent_path:
        guess = closest(leaf, allowed - {"hydra"})
        hint = f" Did you mean {guess}?" if guess else ""
        return f"{key}: no such top-level key or config group.{hint}"
    owner = parent_path
    try:
        accepted = target(str(parent._target_))
        allowed |= set(accepted.model.model_fields)
        owner = accepted.name
    except Exception:  # no _target_, or one that cannot be imported
        pass
    allowed = {k for k in allowed if not (k.startswith("_") and k.endswith("_"))}
    return unknown_key(parent_path, leaf, allowed, owner)


def explain(error: Exception, config_name: str, overrides: Sequence[str]) -> str | None:
    """A short message for a Hydra composition error, or ``None`` to keep Hydra's own."""
    if isinstance(error, MissingConfigException):
        return _missing_option(error)
    if not isinstance(error, ConfigCompositionException):
        return None
    if match := _APPEND_EXISTING.search(str(error)):
        key = match.group(1)
        return f"+{key}: {key} already exists; set it without the '+' ({key}=...)."
    if match := _NOT_OVERRIDABLE.search(str(error)):
        return _unknown_key(match.group(1), config_name, overrides)
    return None
