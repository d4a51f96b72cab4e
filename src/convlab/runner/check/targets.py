"""What a ``_target_`` accepts: a pydantic model of its signature, built once and never called.

Types and bounds come from the signature (``Literal[...]``, ``Annotated[int, Field(gt=0)]``);
library classes convlab cannot annotate take theirs from ``BOUNDS``. ``**kwargs`` are followed
into the parents; where none explains them, any key may be right (the model stays open).
"""

from __future__ import annotations

import difflib
import functools
import importlib
import inspect
import typing
from collections.abc import Iterable
from typing import Annotated, Any, NamedTuple

from annotated_types import Predicate
from hydra.utils import get_object
from pydantic import BaseModel, ConfigDict, Field, create_model

# Values are read as JSON, strictly: true is no integer and "3" no number, but a list fills a
# tuple and a string a path; a class no config can write (a Tensor) needs a nested _target_.
STRICT = ConfigDict(strict=True, arbitrary_types_allowed=True, protected_namespaces=())
POSITIVE, AT_LEAST_0 = (Field(gt=0),), (Field(ge=0),)
UNLIMITED = (Predicate(lambda n: n == -1 or n > 0),
             Field(description="a positive integer, or -1 for no limit"))  # fmt: skip
DEVICES = (Predicate(lambda n: not isinstance(n, int) or n == -1 or n > 0),
           Field(description="a positive integer, -1, 'auto' or a list"))  # fmt: skip
OPTIMIZER, TRAINER = "torch.optim.optimizer.Optimizer", "lightning.pytorch.trainer.trainer.Trainer"
# Bounds of library parameters, added to their annotations: (class, parameter) → constraints.
# A subclass has them too, unless it annotates the parameter with bounds of its own.
BOUNDS: dict[tuple[str, str], tuple[Any, ...]] = {
    (OPTIMIZER, "lr"): POSITIVE, (OPTIMIZER, "momentum"): AT_LEAST_0,
    (OPTIMIZER, "weight_decay"): AT_LEAST_0, (TRAINER, "max_epochs"): UNLIMITED,
    (TRAINER, "max_steps"): UNLIMITED, (TRAINER, "min_epochs"): AT_LEAST_0,
    (TRAINER, "devices"): DEVICES, (TRAINER, "accumulate_grad_batches"): POSITIVE,
    (TRAINER, "log_every_n_steps"): POSITIVE, (TRAINER, "check_val_every_n_epoch"): POSITIVE,
    (TRAINER, "gradient_clip_val"): AT_LEAST_0,
    ("lightning.pytorch.callbacks.early_stopping.EarlyStopping", "patience"): AT_LEAST_0,
    ("lightning.pytorch.callbacks.model_checkpoint.ModelCheckpoint", "every_n_train_steps"):
        AT_LEAST_0,
}  # fmt: skip


# Wording shared by the checks: the closest valid name, short lists of options.
MAX_LISTED = 12


def closest(name: str, options: Iterable[str]) -> str | None:
    """The option a typo most likely meant, or ``None`` when nothing is close."""
    matches = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return matches[0] if matches else None


def listing(options: Iterable[str]) -> str:
    """``a, b, c`` (shortened with a count when there are many)."""
    options = [str(option) for option in options]
    if len(options) <= MAX_LISTED:
        return ", ".join(options)
    return ", ".join(options[:MAX_LISTED]) + f", … ({len(options) - MAX_LISTED} more)"


def unknown_key(path: str, key: str, allowed: Iterable[str], owner: str | None) -> str:
    """``model.widht: no such key for LeNet. Did you mean model.width? Allowed: ...``."""
    allowed = sorted(set(allowed))
    full = f"{path}.{key}" if path else key
    guess = closest(key, allowed)
    hint = f" Did you mean {path + '.' if path else ''}{guess}?" if guess else ""
    head = f"{full}: no such key{f' for {owner}' if owner else ''}.{hint}"
    return head if guess and len(allowed) > MAX_LISTED else f"{head} Allowed: {listing(allowed)}."


class Target(NamedTuple):
    name: str  # the class or function, as messages name it
    model: type[BaseModel]  # extra="forbid" unless **kwargs stay unexplained
    none_defaults: frozenset[str]  # parameters whose default is None: null passes


def locate(path: str) -> Any:
    """The object a ``_target_`` names; ``ImportError`` with a one-line reason otherwise."""
    module_name, _, name = path.rpartition(".")
    try:
        return get_object(path)
    except Exception as error:  # Hydra wraps the real reason in an ImportError with a long text
        try:
            options = dir(importlib.import_module(module_name))
        except Exception:
            options = [name]
        if name not in options:
            guess = closest(name, [n for n in options if not n.startswith("_")])
            hint = f"; did you mean {module_name}.{guess}?" if guess else ""
            raise ImportError(f"{module_name} has no {name}{hint}") from error
        cause = error.__cause__ or error
        reason = (str(cause).strip().splitlines() or [repr(cause)])[0]
        raise ImportError(f"{type(cause).__name__}: {reason}") from error


def _bounded(owner: Any, name: str, hint: Any) -> Any:
    if typing.get_origin(hint) is Annotated or not isinstance(owner, type):
        return hint  # bounds of its own, or a function
    found = (BOUNDS.get((f"{c.__module__}.{c.__qualname__}", name)) for c in owner.__mro__)
    bounds = next((b for b in found if b), ())
    return Annotated[(hint, *bounds)] if bounds else hint


@functools.lru_cache(maxsize=256)
def target(path: str) -> Target:
    """What the ``_target_`` ``path`` accepts (``ImportError`` when it cannot be imported)."""
    obj = locate(path)
    chain = [obj]
    if isinstance(obj, type):  # each class's own __init__, up to the first without **kwargs
        chain = [c.__dict__["__init__"] for c in obj.__mro__[:-1] if "__init__" in c.__dict__]
    fields, none_defaults, closed = {}, set(), False
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
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name not in (*fields, "self"):
                fields[p.name] = (_bounded(obj, p.name, hints.get(p.name, Any)), None)
                none_defaults |= {p.name} if p.default is None else set()
        if closed := not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    config = ConfigDict(**STRICT, extra="forbid" if closed else "allow")
    name = getattr(obj, "__qualname__", path)
    return Target(name, create_model(name, __config__=config, **fields), frozenset(none_defaults))
