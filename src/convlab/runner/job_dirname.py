"""Folder names for the jobs of a sweep, made from their overrides: readable, short, safe.

Hydra's ``override_dirname`` keeps ``/`` (``data.data_dir=/tmp/x`` would nest folders) and the
full dotted keys. Here ``model.pooling=avg`` becomes ``pooling=avg``; anything that is not a
letter, digit or one of ``._+=-`` becomes ``_``; a name that would still be long is cut and ends
with a hash of the full overrides, so it stays unique. The job number in front keeps two jobs
apart even if their shortened names met.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

MAX_LENGTH = 80
_UNSAFE = re.compile(r"[^A-Za-z0-9._+=-]")


def split_override(override: str) -> tuple[str, str]:
    """``"+model.width=8"`` → ``("model.width", "8")``; a deletion ``~key`` has no value."""
    key, _, value = override.partition("=")
    return key.lstrip("+~"), value


def _short_key(key: str) -> str:
    # The last dotted part names the knob; a group choice (optimizer=adam) has no dot at all.
    return key.rsplit(".", 1)[-1].replace("/", "-")


def job_dirname(
    num: int | str,
    overrides: Iterable[str],
    exclude: Iterable[str] = (),
    first: Any = None,
    only: Iterable[str] = (),
) -> str:
    """``3`` and ``["seed=1", "model.pooling=max"]`` → ``"3_pooling=max,seed=1"``.

    ``first``: the keys a sweep config varies (``hydra.sweeper.params``); they lead the name, so
    what tells the jobs apart survives when a long name is cut. The others follow, sorted.
    ``only``: when given, the keys the sweep varies: the overrides every job shares are left out
    (the folder is also the run's name in TensorBoard).
    """
    excluded = set(exclude)
    kept = set(only)
    leading = [str(key) for key in (first or ())]
    items = []
    for override in overrides:
        key, value = split_override(str(override))
        if key in excluded or (kept and key not in kept):
            continue
        text = f"{_short_key(key)}={value}" if value else _short_key(key)
        items.append((key, _UNSAFE.sub("_", text), "/" in value or len(value) > 24))
    # Long values (paths) go last, so a cut name keeps the short values that tell jobs apart.
    items.sort(
        key=lambda item: (
            leading.index(item[0]) if item[0] in leading else len(leading),
            item[2],
            item[0],
        )
    )
    name = ",".join(text for _, text, _ in items)
    prefix = f"{num}_" if name else f"{num}"
    if len(prefix) + len(name) > MAX_LENGTH:
        digest = hashlib.sha1(name.encode()).hexdigest()[:8]
        name = name[: MAX_LENGTH - len(prefix) - len(digest) - 1] + "-" + digest
    return prefix + name
