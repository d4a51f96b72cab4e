"""Hydra's composition errors (an unknown key or option on the command line) retold in one line:
the config is composed again without the bad override, to name what would be valid instead.
"""

import re
from collections.abc import Sequence

from hydra import compose
from hydra.errors import ConfigCompositionException, MissingConfigException
from omegaconf import DictConfig, OmegaConf

from convlab.runner.check.targets import closest, listing, target, unknown_key
from convlab.runner.overrides import first_job


def _unknown_key(key: str, config_name: str, overrides: Sequence[str]) -> str | None:
    parent_path, _, leaf = key.rpartition(".")
    try:  # Hydra's own message where it cannot be composed (or Hydra is not initialised)
        cfg = compose(config_name=config_name, overrides=first_job(overrides, without=key))
    except Exception:
        return None
    parent = OmegaConf.select(cfg, parent_path) if parent_path else cfg
    if parent is None:
        return f"{key}: {parent_path} is not in this config (or is null)."
    if not isinstance(parent, DictConfig):
        return f"{key}: {parent_path} is a value, not a group of keys."
    allowed = {str(k) for k in parent if not re.fullmatch(r"_\w+_", str(k))}
    if not parent_path:
        hint = f" Did you mean {guess}?" if (guess := closest(leaf, allowed - {"hydra"})) else ""
        return f"{key}: no such top-level key or config group.{hint}"
    try:
        model = target(str(parent.get("_target_")))
    except ImportError:  # no _target_, or one that cannot be imported
        return unknown_key(parent_path, leaf, allowed, parent_path)
    if leaf in model.model_fields:
        return (f"{key}: {model.__name__} takes it, but this config does not set it; add it "
                f"with a '+': +{key}=...")  # fmt: skip
    return unknown_key(parent_path, leaf, allowed | set(model.model_fields), model.__name__)


def explain(
    error: ConfigCompositionException, config_name: str, overrides: Sequence[str]
) -> str | None:
    """A short message for a Hydra composition error, or ``None`` to keep Hydra's own."""
    if isinstance(error, MissingConfigException):
        group, _, name = (error.missing_cfg_file or "").rpartition("/")
        if not group or error.options is None:
            return None
        if not error.options:
            return f"{group}={name}: there is no config group '{group}'."
        options = sorted(str(option) for option in error.options)
        hint = f" Did you mean {group}={guess}?" if (guess := closest(name, options)) else ""
        return f"{group}={name}: no such {group} config.{hint} Available: {listing(options)}."
    if match := re.search(
        r"Could not append to config\. An item is already at '([^']+)'", str(error)
    ):
        return f"+{match[1]}: {match[1]} already exists; set it without the '+' ({match[1]}=...)."
    if match := re.search(r"Could not override '([^']+)'", str(error)):
        return _unknown_key(match[1], config_name, overrides)
    return None
