"""Value rules an annotation cannot say: a batch size is positive, a learning rate too.

Each rule names config keys with a glob (``data.*batch_size``) and returns what the value must
be when it is wrong. Values of the wrong type are left to the annotation check; ``null`` is left
alone (it means "not set" wherever a key allows it).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Check = Callable[[Any], bool]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class Rule:
    pattern: str
    ok: Check
    requirement: str

    def matches(self, path: str) -> bool:
        return fnmatch.fnmatchcase(path, self.pattern)


def _positive(value: Any) -> bool:
    return value > 0


def _non_negative(value: Any) -> bool:
    return value >= 0


def _minus_one_or_positive(value: Any) -> bool:
    return value == -1 or value > 0


RULES: tuple[Rule, ...] = (
    Rule("seed", lambda v: 0 <= v < 2**32, "an integer in [0, 2**32)"),
    Rule("members", _positive, "a positive integer"),
    Rule("torch_threads", _positive, "a positive integer (or null)"),
    Rule("data.*batch_size", _positive, "a positive integer"),
    Rule("data.val_size", _positive, "a positive integer"),
    Rule("data.n_*", _positive, "a positive integer"),
    Rule("optimizer.lr", _positive, "a positive number"),
    Rule("optimizer.weight_decay", _non_negative, "a number >= 0"),
    Rule("optimizer.momentum", _non_negative, "a number >= 0"),
    Rule("model.width", _positive, "a positive integer"),
    Rule("model.depth", _non_negative, "an integer >= 0"),
    Rule("trainer.max_epochs", _minus_one_or_positive, "a positive integer, or -1 for no limit"),
    Rule("trainer.max_steps", _minus_one_or_positive, "a positive integer, or -1 for no limit"),
    Rule("trainer.min_epochs", _non_negative, "an integer >= 0"),
    Rule("trainer.devices", lambda v: v == -1 or v > 0, "a positive integer, -1, 'auto' or a list"),
    Rule("trainer.accumulate_grad_batches", _positive, "a positive integer"),
    Rule("trainer.log_every_n_steps", _positive, "a positive integer"),
    Rule("trainer.check_val_every_n_epoch", _positive, "a positive integer (or null)"),
    Rule("trainer.gradient_clip_val", _non_negative, "a number >= 0 (or null)"),
    Rule("callbacks.*.patience", _non_negative, "an integer >= 0"),
    Rule("callbacks.*.every_n_train_steps", _non_negative, "an integer >= 0 (or null)"),
    Rule("callbacks.*.last_every_n_steps", _positive, "a positive integer (or null)"),
)


# Rules between two keys of one node: (node, (key, key), holds, what must hold).
PAIR_RULES: tuple[tuple[str, tuple[str, str], Callable[[Any, Any], bool], str], ...] = (
    ("data", ("low", "high"), lambda low, high: low < high, "data.low must be below data.high"),
    ("trainer", ("min_epochs", "max_epochs"),
     lambda lo, hi: hi == -1 or lo <= hi, "trainer.min_epochs must not exceed trainer.max_epochs"),
)  # fmt: skip


def pair_violations(node_path: str, values: dict[str, Any]) -> list[str]:
    """Messages of the pair rules of ``node_path`` that ``values`` break (numbers only)."""
    problems = []
    for path, (first, second), holds, message in PAIR_RULES:
        if path != node_path:
            continue
        a, b = values.get(first), values.get(second)
        if _number(a) and _number(b) and not holds(a, b):
            problems.append(f"{message} (got {first}={a}, {second}={b}).")
    return problems


def violation(path: str, value: Any) -> str | None:
    """What ``value`` at ``path`` must be, if a rule rejects it."""
    if not _number(value):
        return None
    for rule in RULES:
        if rule.matches(path):
            return None if rule.ok(value) else rule.requirement
    return None
