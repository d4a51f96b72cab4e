"""Config values: reading one that may not be set yet, whether it fits a parameter's annotation
(only what a config can express is checked), and showing it as the command line writes it.

Scalars (``int``, ``float``, ``bool``, ``str``), ``Literal`` choices, ``None``/``Optional``,
unions, lists and mappings are checked; any other class (a ``Callback``, a ``timedelta``) is
accepted, since a config can only build it through a nested ``_target_``.
"""

from __future__ import annotations

import collections.abc
import enum
import os
import types
import typing
from pathlib import PurePath
from typing import Any, Literal, Union

from omegaconf import DictConfig, ListConfig, OmegaConf

_NONE = type(None)
# What ``read`` gives for ``???`` and for an interpolation only Hydra's run can resolve.
MISSING, UNRESOLVED = object(), object()
_SEQUENCES = (list, tuple, collections.abc.Sequence, collections.abc.MutableSequence)
_MAPPINGS = (dict, collections.abc.Mapping, collections.abc.MutableMapping)


def read(node: DictConfig | ListConfig, key: Any) -> Any:
    """``node[key]``, or ``MISSING`` / ``UNRESOLVED`` where there is no value to check yet."""
    if OmegaConf.is_missing(node, key):
        return MISSING
    try:
        value = node[key]
    except Exception:
        return UNRESOLVED  # ${hydra:...} outside Hydra's run, or a key the node lacks
    if value is None and OmegaConf.is_interpolation(node, key):
        return UNRESOLVED  # ${hydra:runtime.output_dir} is null until the run's folder is set
    return value


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) is Union or isinstance(annotation, types.UnionType)


def _fits(value: Any, annotation: Any) -> bool | None:
    """True/False when the annotation says; None when it cannot be judged from a config."""
    if annotation is Any or isinstance(annotation, typing.TypeVar):
        return None
    if annotation is None or annotation is _NONE:
        return value is None
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return any(
            value == choice and type(value) is type(choice) for choice in annotation.__args__
        )
    if _is_union(annotation):
        verdicts = [_fits(value, member) for member in typing.get_args(annotation)]
        if any(verdict is True for verdict in verdicts):
            return True
        return None if any(verdict is None for verdict in verdicts) else False
    if origin is typing.Annotated:
        return _fits(value, typing.get_args(annotation)[0])
    if value is None:
        return False
    if isinstance(value, DictConfig) and "_target_" in value:
        return None  # built by its own _target_, checked on its own
    if origin in _SEQUENCES or annotation in _SEQUENCES:
        if not isinstance(value, (list, tuple, ListConfig)):
            return False
        args = [arg for arg in typing.get_args(annotation) if arg is not Ellipsis]
        if len(args) == 1:
            verdicts = [_fits(item, args[0]) for item in value]
            return not any(verdict is False for verdict in verdicts)
        return True
    if origin in _MAPPINGS or annotation in _MAPPINGS:
        return isinstance(value, (dict, DictConfig))
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is str:
        return isinstance(value, str)
    if annotation in (os.PathLike, PurePath) or (
        isinstance(annotation, type) and issubclass(annotation, PurePath)
    ):
        return isinstance(value, (str, PurePath))
    if isinstance(annotation, type) and isinstance(value, annotation):
        return True
    if isinstance(value, (str, int, float)) and isinstance(annotation, type):
        # A plain value for a class (a Tensor, a Callback): only an Enum may be given by name.
        return None if issubclass(annotation, enum.Enum) else False
    return None


def describe(annotation: Any) -> str:
    """``int`` → "an integer"; ``Literal["avg", "max"]`` → "one of avg, max"."""
    if typing.get_origin(annotation) is Literal:
        return "one of " + ", ".join(_plain(choice) for choice in annotation.__args__)
    if _is_union(annotation):
        members = _flatten(annotation)
        choices = [m for m in members if typing.get_origin(m) is Literal]
        others = [m for m in members if m is not _NONE and typing.get_origin(m) is not Literal]
        parts = []
        if choices:
            values = dict.fromkeys(_plain(c) for m in choices for c in m.__args__)
            parts.append("one of " + ", ".join(values))
        parts += [describe(m) for m in others]
        text = " or ".join(dict.fromkeys(parts))
        return text + (" or null" if _NONE in members else "")
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return describe(typing.get_args(annotation)[0])
    if origin in _SEQUENCES or annotation in _SEQUENCES:
        return "a list"
    if origin in _MAPPINGS or annotation in _MAPPINGS:
        return "a mapping"
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    if annotation in names:
        return names[annotation]
    if annotation is None or annotation is _NONE:
        return "null"
    return getattr(annotation, "__name__", str(annotation))


def _flatten(annotation: Any) -> list[Any]:
    """The members of a union, nested unions (type aliases of unions) included."""
    if not _is_union(annotation):
        return [annotation]
    return [leaf for member in typing.get_args(annotation) for leaf in _flatten(member)]


def _plain(value: Any) -> str:
    if value is None:
        return "null"
    return str(value).lower() if isinstance(value, bool) else str(value)


def mismatch(value: Any, annotation: Any) -> str | None:
    """``None`` when ``value`` may be passed as ``annotation``; else what was expected."""
    if _fits(value, annotation) is False:
        return describe(annotation)
    return None


def show(value: Any) -> str:
    """A value the way it is written on the command line."""
    if isinstance(value, str):
        return value if value else "''"
    return _plain(value)
