"""``python -m convlab.report <sweep dir> [...]``: write ``<sweep dir>/report/results.md``."""

import argparse
import sys
from collections.abc import Callable

from convlab.errors import ConvlabError
from convlab.report.build import build_report


def entry_point(run: Callable[[list[str] | None], int]) -> Callable[..., int]:
    """``run(argv)`` as a command: a ``ConvlabError`` is one ``error:`` line and status 2."""

    def main(argv: list[str] | None = None) -> int:
        try:
            return run(argv) or 0
        except ConvlabError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2

    return main


@entry_point
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m convlab.report", description=(
        "Aggregate a sweep: group its runs by their overrides minus the seed, and write "
        "<sweep dir>/report/results.md (mean ± std and n per group, diverged/failed counts) "
        "with PNG plots of the final metrics and the validation curves."))  # fmt: skip
    add = parser.add_argument
    add("sweep_dirs", nargs="+", metavar="SWEEP_DIR",
        help="a multirun folder (hydra.sweep.dir), or a single run's folder")  # fmt: skip
    add("--metric", action="append", dest="metrics", metavar="NAME",
        help="metric to tabulate, e.g. test/acc (repeatable; default: all test/* and val/* "
        "metrics)")  # fmt: skip
    add("--out", help="write here instead of <sweep dir>/report (one sweep only)")
    add("--no-curves", action="store_true", help="skip reading the TensorBoard/CSV logs (faster)")
    args = parser.parse_args(argv)
    if args.out and len(args.sweep_dirs) > 1:
        raise ConvlabError("--out needs exactly one SWEEP_DIR")
    for sweep_dir in args.sweep_dirs:
        print(build_report(sweep_dir, args.metrics, args.out, curves=not args.no_curves).markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
