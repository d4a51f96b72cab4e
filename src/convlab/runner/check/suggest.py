"""Wording shared by the checks: the closest valid name and short lists of options."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

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
