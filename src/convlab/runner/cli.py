"""``launch(main, config_name)`` starts a ``@hydra.main`` function the way the entry points need:

- ``resume=<run dir>`` is expanded into the overrides that continue that run (``runner.resume``);
- Hydra's composition errors (an unknown key or option) are retold in one line with the
  closest valid name, and an output folder Hydra cannot create too.

Hydra has no public hook for either, so the two private names used (its argument parser and
``run_and_report``, which prints composition errors) live in this module alone; if Hydra
renames them, ``resume=`` still works through the fallback parser and Hydra's own (longer)
messages come back.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

from convlab.errors import ConvlabError
from convlab.runner.job import EXIT_USER_ERROR
from convlab.runner.quiet import quiet_console
from convlab.runner.resolvers import register_resolvers
from convlab.runner.resume import expand_resume


def split_command_line(argv: list[str]) -> tuple[list[str], list[str]]:
    """Hydra's own reading of a command line: (flags with their values, overrides)."""
    from hydra._internal.utils import get_args_parser

    overrides = list(get_args_parser().parse_args(argv).overrides)
    flags = list(argv)
    for override in overrides:
        flags.remove(override)
    return flags, overrides


def expand_resume_argument(argv: list[str]) -> list[str]:
    """``argv`` with ``resume=<run dir>`` replaced by what continues that run."""
    expanded = expand_resume(*split_command_line(argv))
    return argv if expanded is None else expanded


@contextlib.contextmanager
def _composition_errors(config_name: str) -> Iterator[None]:
    """Wrap ``hydra._internal.utils.run_and_report`` (looked up by ``hydra.main`` at call time)
    so composition errors go through ``runner.check.composition.explain``."""
    import hydra._internal.utils as hydra_utils
    from hydra.errors import ConfigCompositionException

    from convlab.runner.check.composition import explain

    original = getattr(hydra_utils, "run_and_report", None)
    if original is None or os.environ.get("HYDRA_FULL_ERROR") == "1":
        yield
        return

    def run_and_report(func: Callable) -> Any:
        def explained() -> Any:
            try:
                return func()
            except ConfigCompositionException as error:
                args = hydra_utils.get_args_parser().parse_args()
                message = explain(error, args.config_name or config_name, args.overrides)
                if message is None:
                    raise
                print(f"error: {message}", file=sys.stderr)
                sys.exit(EXIT_USER_ERROR)
            except OSError as error:  # Hydra could not create the run's folder
                if not error.filename:
                    raise
                print(f"error: cannot create the output folder {error.filename}: "
                      f"{error.strerror}. Choose another with paths.log_dir=<folder> "
                      "(or hydra.run.dir / hydra.sweep.dir).", file=sys.stderr)  # fmt: skip
                sys.exit(EXIT_USER_ERROR)

        return original(explained)

    hydra_utils.run_and_report = run_and_report
    try:
        yield
    finally:
        hydra_utils.run_and_report = original


def launch(main: Callable[[], Any], config_name: str) -> None:
    """Run a ``@hydra.main`` function: ``resume=`` expanded, composition errors in one line."""
    quiet_console()
    register_resolvers()
    try:
        expanded = expand_resume_argument(sys.argv[1:])
    except ConvlabError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)
    if expanded != sys.argv[1:]:
        print(f"resume: {' '.join(expanded)}", file=sys.stderr)  # what the run will be
        sys.argv[1:] = expanded
    with _composition_errors(config_name):
        main()
