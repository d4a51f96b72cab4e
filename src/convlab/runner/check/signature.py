"""What a ``_target_`` accepts: parameter names, annotations and defaults from its signature."""

from __future__ import annotations

import functools
import importlib
import inspect
import sys
import typing
from dataclasses import dataclass, field
from typing import Any

from hydra.utils import get_object

from convlab.runner.check.suggest import closest


@dataclass(frozen=True)
class Accepts:
    """The keyword arguments a callable takes, as far as its signature tells."""

    name: str
    params: dict[str, inspect.Parameter] = field(default_factory=dict)
    hints: dict[str, Any] = field(default_factory=dict)
    open: bool = False  # takes **kwargs that no parent class explains: any key may be right


def locate(target: str) -> Any:
    """The object a ``_target_`` names; ``ImportError`` with a one-line reason otherwise."""
    try:
        return get_object(target)
    except Exception as error:  # Hydra wraps the real reason in an ImportError with a long text
        module_name, _, name = target.rpartition(".")
        try:
            module = importlib.import_module(module_name)
        except Exception:
            module = None
        if module is not None and not hasattr(module, name):
            guess = closest(name, [n for n in dir(module) if not n.startswith("_")])
            hint = f"; did you mean {module_name}.{guess}?" if guess else ""
            raise ImportError(f"{module_name} has no {name}{hint}") from error
        cause = error.__cause__ or error
        lines = str(cause).strip().splitlines()
        reason = f"{type(cause).__name__}: {lines[0]}" if lines else repr(cause)
        raise ImportError(reason) from error


def _hints(function: Any) -> dict[str, Any]:
    """Annotations resolved to objects; any that cannot be resolved are left out."""
    function = inspect.unwrap(function)
    try:
        return typing.get_type_hints(function, include_extras=True)
    except Exception:
        pass
    namespace = getattr(sys.modules.get(function.__module__), "__dict__", {})
    hints = {}
    for name, annotation in getattr(function, "__annotations__", {}).items():
        if isinstance(annotation, str):
            try:
                annotation = eval(
                    annotation, dict(namespace)
                )  # annotations of the configured classes
            except Exception:
                continue
        hints[name] = annotation
    return hints


def _own_params(function: Any) -> tuple[dict[str, inspect.Parameter], bool]:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return {}, True
    params, var_kw = {}, False
    for name, param in signature.parameters.items():
        if param.kind is param.VAR_KEYWORD:
            var_kw = True
        elif param.kind is not param.VAR_POSITIONAL and name != "self":
            params[name] = param
    return params, var_kw


@functools.lru_cache(maxsize=256)
def accepts(target: str) -> Accepts:
    """Keyword arguments of ``target``; a class's ``**kwargs`` are followed up its parents."""
    obj = locate(target)
    name = getattr(obj, "__qualname__", target)
    if not isinstance(obj, type):
        params, var_kw = _own_params(obj)
        return Accepts(name, params, _hints(obj), open=var_kw)
    params: dict[str, inspect.Parameter] = {}
    hints: dict[str, Any] = {}
    for cls in obj.__mro__:
        init = cls.__dict__.get("__init__")
        if init is None or cls is object:
            continue
        own, var_kw = _own_params(init)
        own_hints = _hints(init)
        for key, param in own.items():
            params.setdefault(key, param)
            if key in own_hints:
                hints.setdefault(key, own_hints[key])
        if not var_kw:
            return Accepts(name, params, hints, open=False)
    return Accepts(name, params, hints, open=True)
