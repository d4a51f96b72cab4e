"""Hydra's composition errors, retold in one line: the key or option, and what would be valid.

Hydra stops at an unknown key on the command line (``trainer.max_epoch=3``) with "Key
'max_epoch' is not in struct" and the advice to append it with ``+``; at an unknown option
(``experiment=lenett``) it lists the options together with its search path. Here the config is
composed again without the bad override so the message can name the keys the target accepts
and the closest one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import ConfigCompositionException, MissingConfigException
from omegaconf import DictConfig, OmegaConf

from convlab.runner.check.signature import accepts
from convlab.runner.check.suggest import closest, listing, unknown_key

_NOT_OVERRIDABLE = re.compile(r"Could not override '([^']+)'")
_APPEND_EXISTING = re.compile(r"Could not append to config\. An item is already at '([^']+)'")


def _missing_option(error: MissingConfigException) -> str | None:
    if not error.missing_cfg_file or error.options is None:
        return None
    group, _, name = error.missing_cfg_file.rpartition("/")
    if not group:
        return None
    options = sorted(str(option) for option in error.options)
    guess = closest(name, options)
    hint = f" Did you mean {group}={guess}?" if guess else ""
    if not options:
        return f"{group}={name}: there is no config group '{group}'."
    return f"{group}={name}: no such {group} config.{hint} Available: {listing(options)}."


def _without(overrides: Sequence[str], key: str) -> list[str]:
    """The overrides minus ``key``'s, sweeps reduced to their first value (to compose once)."""
    kept = []
    for override in OverridesParser.create().parse_overrides(list(overrides)):
        if override.key_or_group == key:
            continue
        if override.is_sweep_override():
            values = list(override.sweep_string_iterator())
            if values:
                kept.append(f"{override.get_key_element()}={values[0]}")
        else:
            kept.append(override.input_line)
    return kept


def _compose(config_name: str, overrides: list[str]) -> DictConfig | None:
    if not GlobalHydra.instance().is_initialized():
        return None
    from hydra import compose

    try:
        return compose(config_name=config_name, overrides=overrides)
    except Exception:
        return None


def _unknown_key(key: str, config_name: str, overrides: Sequence[str]) -> str | None:
    parent_path, _, leaf = key.rpartition(".")
    cfg = _compose(config_name, _without(overrides, key))
    if cfg is None:
        return None
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
    target = parent.get("_target_") if "_target_" in parent else None
    if isinstance(target, str):
        try:
            spec = accepts(target)
        except ImportError:
            spec = None
        if spec is not None:
            allowed |= set(spec.params)
            owner = spec.name
    allowed = {k for k in allowed if not (k.startswith("_") and k.endswith("_"))}
    return unknown_key(parent_path, leaf, allowed, owner)


def explain(error: Exception, config_name: str, overrides: Sequence[str]) -> str | None:
    """A short message for a Hydra composition error, or ``None`` to keep Hydra's own."""
    if isinstance(error, MissingConfigException):
        return _missing_option(error)
    if not isinstance(error, ConfigCompositionException):
        return None
    text = str(error)
    if match := _APPEND_EXISTING.search(text):
        key = match.group(1)
        return f"+{key}: {key} already exists; set it without the '+' ({key}=...)."
    if match := _NOT_OVERRIDABLE.search(text):
        key = match.group(1)
        return _unknown_key(key, config_name, overrides)
    return None
