"""What the entry points share: resolvers, and one clear message instead of a traceback."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable

from convlab.errors import ConvlabError
from convlab.resolvers import register_resolvers

log = logging.getLogger("convlab")


def guarded(run: Callable) -> Callable:
    """Print a ``ConvlabError`` as ``error: <message>`` and exit 2 (no traceback wall)."""

    @functools.wraps(run)
    def wrapper(*args, **kwargs):
        try:
            return run(*args, **kwargs)
        except ConvlabError as error:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(2)

    return wrapper


register_resolvers()
