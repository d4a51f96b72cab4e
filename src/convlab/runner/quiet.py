"""A quiet console: convlab's own lines, the progress bar and real problems.

Every run used to open with Lightning's advertisement for litlogger and a deprecation warning
that torch raises inside Lightning's own code (``LeafSpec``), none of which a user can act on.
``quiet_console()`` silences exactly those lines at their source: each entry below names the
module (or logger) that emits it and the start of its message, so the same kind of warning from
anywhere else, and every other warning, still shows. Nothing is filtered globally.

The warning filters are also exported through ``PYTHONWARNINGS`` so that processes the run
starts (``ddp_spawn`` ranks, joblib workers) inherit them.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from dataclasses import dataclass

# Lightning logs these through its rank-zero logger (which of the two depends on import order).
_RANK_ZERO_LOGGERS = (
    "lightning.pytorch.utilities.rank_zero",
    "lightning.fabric.utilities.rank_zero",
)


@dataclass(frozen=True)
class LogLine:
    """Log records to drop: the logger, a regular expression matched at the message's start,
    and why the line goes."""

    logger: str
    pattern: str
    why: str


@dataclass(frozen=True)
class WarningLine:
    """Warnings to drop: the module they are attributed to, their category, the literal start
    of their message, and why they go."""

    module: str
    category: type[Warning]
    prefix: str
    why: str


LOG_LINES: tuple[LogLine, ...] = (
    *(LogLine(name, r"💡 Tip: ", "Lightning's advertisements (litlogger, litmodels)")
      for name in _RANK_ZERO_LOGGERS),
    *(LogLine(name, r"(GPU|TPU|HPU) available: False\b",
              "an accelerator that is absent and unused (a GPU asked for is checked before)")
      for name in _RANK_ZERO_LOGGERS),
    LogLine("lightning.fabric.utilities.seed", r"(\[rank: \d+\] )?Seed set to \d+$",
            "the seed is in the config and in metrics.json"),
)  # fmt: skip

WARNING_LINES: tuple[WarningLine, ...] = (
    WarningLine(
        "lightning.pytorch.utilities._pytree", FutureWarning,
        "`isinstance(treespec, LeafSpec)` is deprecated",
        "torch deprecates LeafSpec and Lightning's own code still uses it: nothing to act on",
    ),
)  # fmt: skip


class _DropLines(logging.Filter):
    def __init__(self, patterns: list[re.Pattern[str]]) -> None:
        super().__init__()
        self.patterns = patterns

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(pattern.match(message) for pattern in self.patterns)


_installed = False


def _environment_option(line: WarningLine) -> str:
    """The entry as a ``PYTHONWARNINGS`` option, which child processes read at start-up. Its
    fields are separated by ``:`` and options by ``,``: the prefix is cut before either."""
    prefix = re.split(r"[,:]", line.prefix)[0]
    return f"ignore:{prefix}:{line.category.__name__}:{line.module}"


def quiet_console() -> None:
    """Drop the lines in ``LOG_LINES`` and ``WARNING_LINES`` (idempotent; call once at start)."""
    global _installed
    if _installed:
        return
    _installed = True
    by_logger: dict[str, list[re.Pattern[str]]] = {}
    for line in LOG_LINES:
        by_logger.setdefault(line.logger, []).append(re.compile(line.pattern))
    for name, patterns in by_logger.items():
        logging.getLogger(name).addFilter(_DropLines(patterns))
    for line in WARNING_LINES:
        warnings.filterwarnings(
            "ignore", message=re.escape(line.prefix), category=line.category,
            module=re.escape(line.module) + r"\Z",
        )  # fmt: skip
    inherited = [option for option in os.environ.get("PYTHONWARNINGS", "").split(",") if option]
    options = [_environment_option(line) for line in WARNING_LINES]
    os.environ["PYTHONWARNINGS"] = ",".join(dict.fromkeys([*inherited, *options]))
