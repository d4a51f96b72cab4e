"""What a config may name, and the closest valid name when it names something else.

- ``target(path)``: what a ``_target_`` accepts, a pydantic model of its signature, built once and
  never called. Library classes convlab cannot annotate take their bounds from ``BOUNDS``;
  ``**kwargs`` are followed into the parents, and where none explains them any key may be right
  (the model stays open).
- ``explain(error, ...)``: Hydra's composition errors (an unknown key or option on the command
  line) retold in one line; the config is composed again without the bad override, to name what
  would be valid instead.
"""

import difflib
import functools
import inspect
import re
import sys
import typing
from collections.abc import Iterable, Sequence
from typing import Annotated, Any

from annotated_types import Predicate
from hydra import compose
from hydra.errors import ConfigCompositionException, MissingConfigException
from hydra.utils import get_object
from omegaconf import DictConfig, OmegaConf
from pydantic import BaseModel, ConfigDict, Field, create_model

from convlab.runner.overrides import first_job

# Values are read as JSON, strictly: true is no integer and "3" no number, but a list fills a
# tuple and a string a path; a class no config can write (a Tensor) needs a nested _target_.
STRICT = ConfigDict(strict=True, arbitrary_types_allowed=True, protected_namespaces=())
POSITIVE, AT_LEAST_0 = (Field(gt=0),), (Field(ge=0),)
UNLIMITED = (Predicate(lambda n: n == -1 or n > 0),
             Field(description="a positive integer, or -1 for no limit"))  # fmt: skip
DEVICES = (Predicate(lambda n: not isinstance(n, int) or n == -1 or n > 0),
           Field(description="a positive integer, -1, 'auto' or a list"))  # fmt: skip
OPTIMIZER, TRAINER = "torch.optim.optimizer.Optimizer", "lightning.pytorch.trainer.trainer.Trainer"
# (class, parameter) → constraints added to the annotation; a subclass inherits them unless it
# annotates the parameter with bounds of its own.
BOUNDS: dict[tuple[str, str], tuple[Any, ...]] = {
    (OPTIMIZER, "lr"): (Field(gt=0, allow_inf_nan=False, description="a positive, finite number"),),
    (OPTIMIZER, "momentum"): AT_LEAST_0,
    (OPTIMIZER, "weight_decay"): AT_LEAST_0, (TRAINER, "max_epochs"): UNLIMITED,
    (TRAINER, "max_steps"): UNLIMITED, (TRAINER, "min_epochs"): AT_LEAST_0,
    (TRAINER, "devices"): DEVICES, (TRAINER, "accumulate_grad_batches"): POSITIVE,
    (TRAINER, "log_every_n_steps"): POSITIVE, (TRAINER, "check_val_every_n_epoch"): POSITIVE,
    (TRAINER, "gradient_clip_val"): AT_LEAST_0,
    ("lightning.pytorch.callbacks.early_stopping.EarlyStopping", "patience"): AT_LEAST_0,
    ("lightning.pytorch.callbacks.model_checkpoint.ModelCheckpoint", "every_n_train_steps"):
        AT_LEAST_0,
}  # fmt: skip
MAX_LISTED = 12


def closest(name: str, options: Iterable[str]) -> str | None:
    return next(iter(difflib.get_close_matches(name, list(options), n=1)), None)


def listing(options: Iterable[str]) -> str:
    """``a, b, c`` (shortened with a count when there are many)."""
    options = [str(option) for option in options]
    more = f", … ({len(options) - MAX_LISTED} more)" if len(options) > MAX_LISTED else ""
    return ", ".join(options[:MAX_LISTED]) + more


def unknown_key(path: str, key: str, allowed: Iterable[str], owner: str | None) -> str:
    """``model.widht: no such key for LeNet. Did you mean model.width? Allowed: ...``."""
    allowed, prefix = sorted(set(allowed)), f"{path}." if path else ""
    hint = f" Did you mean {prefix}{guess}?" if (guess := closest(key, allowed)) else ""
    head = f"{prefix}{key}: no such key{f' for {owner}' if owner else ''}.{hint}"
    return head if guess and len(allowed) > MAX_LISTED else f"{head} Allowed: {listing(allowed)}."


def locate(path: str) -> Any:
    """The object a ``_target_`` names; ``ImportError`` with a one-line reason otherwise."""
    module_name, _, name = path.rpartition(".")
    try:
        return get_object(path)
    except Exception as error:  # Hydra wraps the real reason in an ImportError with a long text
        module = sys.modules.get(module_name)  # imported by get_object where it can be
        if module is not None and not hasattr(module, name):
            guess = closest(name, [n for n in dir(module) if not n.startswith("_")])
            hint = f"; did you mean {module_name}.{guess}?" if guess else ""
            raise ImportError(f"{module_name} has no {name}{hint}") from error
        cause = error.__cause__ or error
        reason = str(cause).strip().partition("\n")[0] or repr(cause)
        raise ImportError(f"{type(cause).__name__}: {reason}") from error


@functools.lru_cache(maxsize=256)
def target(path: str) -> type[BaseModel]:
    """The model of what ``path`` accepts, named after it; a field defaults to None only where the
    parameter does (null passes there). ``ImportError`` when it cannot be imported."""
    obj = locate(path)
    mro = obj.__mro__[:-1] if isinstance(obj, type) else ()
    owners = [f"{c.__module__}.{c.__qualname__}" for c in reversed(mro)]  # a subclass's win
    bounds = {key: b for owner in owners for (cls, key), b in BOUNDS.items() if cls == owner}
    fields, closed = {}, False
    chain = [c.__dict__["__init__"] for c in mro if "__init__" in c.__dict__] if mro else [obj]
    for function in chain:
        try:
            params = inspect.signature(function).parameters.values()
        except (TypeError, ValueError):  # a builtin: nothing to read
            break
        try:
            hints = typing.get_type_hints(inspect.unwrap(function), include_extras=True)
        except Exception:  # an annotation that cannot be resolved: the keys are still checked
            hints = {}
        for p in params:
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name in (*fields, "self"):
                continue
            hint = hints.get(p.name, Any)
            if p.name in bounds and typing.get_origin(hint) is not Annotated:
                hint = Annotated[(hint, *bounds[p.name])]
            fields[p.name] = (hint, None if p.default is None else ...)
        if closed := not any(p.kind is p.VAR_KEYWORD for p in params):
            break  # the first __init__ without **kwargs explains every key
    config = ConfigDict(**STRICT, extra="forbid" if closed else "allow")
    return create_model(getattr(obj, "__qualname__", path), __config__=config, **fields)


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
