"""What the entry points share: one clear message instead of a traceback, and ``resume=``.

``launch(main, config_name)`` starts a ``@hydra.main`` function: it expands ``resume=<run dir>``
and retells Hydra's composition errors (unknown key or option) in one line with the closest
valid name. ``guarded`` wraps the task function: whatever stops a run is recorded in its
``metrics.json`` and printed as one line; in a sweep a failed job is recorded and the sweep goes
on. ``HYDRA_FULL_ERROR=1`` shows the full traceback instead.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from omegaconf import DictConfig

from convlab.errors import ConvlabError
from convlab.runner.failure import first_line, in_multirun, log_traceback_to_files, record_failure
from convlab.runner.resolvers import register_resolvers
from convlab.runner.resume import RunInterrupted, expand_resume_argument

log = logging.getLogger("convlab")

EXIT_USER_ERROR = 2  # bad config, missing or corrupt data
EXIT_FAILED = 1  # anything else that went wrong inside a run
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report it


def _full_error() -> bool:
    return os.environ.get("HYDRA_FULL_ERROR") == "1"


def _interrupted(cfg: DictConfig, started: float, message: str | None) -> None:
    if message is None:
        record_failure(cfg, "interrupted", "KeyboardInterrupt", started)
        message = "stopped before training finished."
    print(f"interrupted: {message}", file=sys.stderr)
    sys.exit(EXIT_INTERRUPTED)


def _failed(cfg: DictConfig, error: Exception, started: float) -> None:
    """Record it; then a single run exits with one line, a sweep's job returns (sweep goes on)."""
    record_failure(cfg, "failed", first_line(error), started)
    if isinstance(error, ConvlabError):
        message, code = str(error), EXIT_USER_ERROR
    else:
        files = log_traceback_to_files(error)
        where = f" (traceback in {files[0]})" if files else ""
        message, code = f"{first_line(error)}{where}", EXIT_FAILED
    if in_multirun():
        log.error("job failed: %s", message)
        return
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


def guarded(run: Callable) -> Callable:
    """Turn what stops a run into a record and one line (see the module docstring)."""

    @functools.wraps(run)
    def wrapper(cfg: DictConfig, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return run(cfg, *args, **kwargs)
        except RunInterrupted as stop:  # recorded by the run itself
            _interrupted(cfg, started, str(stop))
        except KeyboardInterrupt:
            _interrupted(cfg, started, None)
        except SystemExit as exit_:
            # Lightning answers Ctrl-C outside fit (e.g. in test) with sys.exit(1).
            if isinstance(exit_.__context__, KeyboardInterrupt):
                _interrupted(cfg, started, None)
            raise
        except Exception as error:
            if _full_error():
                record_failure(cfg, "failed", first_line(error), started)
                raise
            _failed(cfg, error, started)
        return None

    return wrapper


@contextlib.contextmanager
def _composition_errors(config_name: str) -> Iterator[None]:
    """Route Hydra's composition errors through ``convlab.runner.check.composition.explain``;
    a folder Hydra cannot create becomes one line too.

    Hydra prints them in ``hydra._internal.utils.run_and_report``, which ``hydra.main`` looks up
    at call time; it is wrapped for the duration of the call. Should Hydra rename it, its own
    messages are shown unchanged.
    """
    import hydra._internal.utils as hydra_utils
    from hydra.errors import ConfigCompositionException

    from convlab.runner.check.composition import explain

    original = getattr(hydra_utils, "run_and_report", None)
    if original is None or _full_error():
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


register_resolvers()
