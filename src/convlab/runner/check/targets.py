"""What a ``_target_`` accepts: a pydantic model of its signature, built once and never called.

Types and bounds come from the signature's own annotations (``Literal[...]``,
``Annotated[int, Field(gt=0)]``); library classes that convlab cannot annotate get their bounds
from ``BOUNDS``. A class's ``**kwargs`` are followed into its parents; where no parent explains
them, any key may be right and unknown keys are let through.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import typing
from typing import Annotated, Any, NamedTuple

from annotated_types import Predicate
from hydra.utils import get_object
from pydantic import BaseModel, ConfigDict, Field, create_model

from convlab.runner.check.suggest import closest

# Strict: true is not an integer, "3" not a number (values are read as JSON, so a list may
# fill a tuple and a string a path). A class a config cannot write (a Tensor) is an isinstance
# check, which only a nested _target_ (checked on its own) can pass.
STRICT = ConfigDict(strict=True, arbitrary_types_allowed=True, protected_namespaces=())
UNLIMITED = (Predicate(lambda n: n == -1 or n > 0),
             Field(description="a positive integer, or -1 for no limit"))  # fmt: skip
# Bounds of library classes, added to their own annotations: (class, parameter) → constraints.
# They hold for subclasses too, unless a subclass annotates the parameter with bounds of its own.
BOUNDS: dict[tuple[str, str], tuple[Any, ...]] = {
    ("torch.optim.optimizer.Optimizer", "lr"): (Field(gt=0),),
    ("torch.optim.optimizer.Optimizer", "momentum"): (Field(ge=0),),
    ("torch.optim.optimizer.Optimizer", "weight_decay"): (Field(ge=0),),
    ("lightning.pytorch.trainer.trainer.Trainer", "max_epochs"): UNLIMITED,
    ("lightning.pytorch.trainer.trainer.Trainer", "max_steps"): UNLIMITED,
    ("lightning.pytorch.trainer.trainer.Trainer", "min_epochs"): (Field(ge=0),),
    ("lightning.pytorch.trainer.trainer.Trainer", "devices"): (
        Predicate(lambda n: not isinstance(n, int) or n == -1 or n > 0),
        Field(description="a positive integer, -1, 'auto' or a list"),
    ),
    ("lightning.pytorch.trainer.trainer.Trainer", "accumulate_grad_batches"): (Field(gt=0),),
    ("lightning.pytorch.trainer.trainer.Trainer", "log_every_n_steps"): (Field(gt=0),),
    ("lightning.pytorch.trainer.trainer.Trainer", "check_val_every_n_epoch"): (Field(gt=0),),
    ("lightning.pytorch.trainer.trainer.Trainer", "gradient_clip_val"): (Field(ge=0),),
    ("lightning.pytorch.callbacks.early_stopping.EarlyStopping", "patience"): (Field(ge=0),),
    ("lightning.pytorch.callbacks.model_checkpoint.ModelCheckpoint", "every_n_train_steps"): (
        Field(ge=0),
    ),
}


class Target(NamedTuple):
    name: str  # the class or function, as messages name it
    model: type[BaseModel]  # closed (extra="forbid") unless **kwargs stay unexplained
    none_defaults: frozenset[str]  # parameters whose default is None: null always passes


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


def _annotation(owner: Any, name: str, hint: Any) -> Any:
    """``hint`` with the bounds ``BOUNDS`` gives ``owner``'s parameter, unless it has its own."""
    if typing.get_origin(hint) is Annotated or not isinstance(owner, type):
        return hint
    for cls in owner.__mro__:
        bounds = BOUNDS.get((f"{cls.__module__}.{cls.__qualname__}", name))
        if bounds:
            return Annotated[(hint, *bounds)]
    return hint


@functools.lru_cache(maxsize=256)
def target(path: str) -> Target:
    """What the ``_target_`` ``path`` accepts (``ImportError`` when it cannot be imported)."""
    obj = locate(path)
    chain = [obj]
    if isinstance(obj, type):
        chain = [c.__dict__["__init__"] for c in obj.__mro__[:-1] if "__init__" in c.__dict__]
    fields: dict[str, Any] = {}
    none_defaults, closed = set(), False
    for function in chain:
        try:
            params = inspect.signature(function).parameters.values()
        except (TypeError, ValueError):  # a builtin: nothing to read
            break
        try:
            hints = typing.get_type_hints(inspect.unwrap(function), include_extras=True)
        except Exception:  # an annotation that cannot be resolved: its keys are still checked
            hints = {}
        for p in params:
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name in (*fields, "self"):
                continue
            fields[p.name] = (_annotation(obj, p.name, hints.get(p.name, Any)), None)
            if p.default is None:
                none_defaults.add(p.name)
        closed = not any(p.kind is p.VAR_KEYWORD for p in params)
        if closed:
            break
    config = ConfigDict(**STRICT, extra="forbid" if closed else "allow")
    name = getattr(obj, "__qualname__", path)
    return Target(name, create_model(name, __config__=config, **fields), frozenset(none_defaults))
