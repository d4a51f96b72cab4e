"""How a side-by-side bench reports: min / median / max of each side and of each ratio.

Ratios are taken round by round (the sides of one round ran under the same machine load), so
their spread says how far one invocation can be trusted.
"""

import argparse
import contextlib
import os
import statistics
import sys
from collections.abc import Callable, Hashable, Iterator

# A ratio whose rounds spread wider than this (max - min, over the median) is not to be trusted.
TRUSTED_SPREAD = 0.10


def bench_parser(doc: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the sides")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per side per round")
    return parser


@contextlib.contextmanager
def console_off() -> Iterator[None]:
    """The runs' own console (progress bars, summaries, Lightning's lines) goes to the null
    device, so a bench prints its tables only; the bars are still drawn, as in a user's run."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        os.dup2(null.fileno(), 2)
        try:
            with contextlib.redirect_stdout(null), contextlib.redirect_stderr(null):
                yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, copy in zip((1, 2), saved, strict=True):
                os.dup2(copy, fd)
                os.close(copy)


def alternate(sides: dict[Hashable, Callable[[int], list[float]]], rounds: int, unit: str,
              scale: float = 1.0, digits: int | None = None,
              ) -> dict[Hashable, list[list[float]]]:  # fmt: skip
    """Time every side once a round, in turn, so machine noise hits all of them; print each
    round's times (scaled, rounded) as it ends. Returns side → round → the side's times."""
    times: dict[Hashable, list[list[float]]] = {name: [] for name in sides}
    for round_ in range(rounds):
        for name, run in sides.items():
            with console_off():
                times[name].append(run(round_))
        last = {name: [round(t * scale, digits) for t in per_round[-1]]
                for name, per_round in times.items()}  # fmt: skip
        print(f"round {round_ + 1}/{rounds} ({unit}): {last}", flush=True)
    return times


def round_ratios(numerator: list[list[float]], denominator: list[list[float]]) -> list[float]:
    """Per round: the median of one side's epochs over the median of the other's."""
    return [statistics.median(n) / statistics.median(d)
            for n, d in zip(numerator, denominator, strict=True)]  # fmt: skip


def spread(values: list[float]) -> tuple[float, float, float]:
    return min(values), statistics.median(values), max(values)


def untrusted(ratios: list[float]) -> bool:
    low, median, high = spread(ratios)
    return (high - low) / median > TRUSTED_SPREAD


def report(rounds: dict[str, list[list[float]]], labels: dict[str, str], unit: str, scale: float,
           against: str = "pipeline") -> dict[str, float]:  # fmt: skip
    """Print each side's min / median / max per epoch and ``against`` / side per round; return
    the medians (``<side>``) and median ratios (``<against>_vs_<side>``)."""
    result: dict[str, float] = {}
    print(f"{'':9}{'min':>9}{'median':>9}{'max':>9}  ({unit}; ratios per round)")
    for side, per_round in rounds.items():
        low, median, high = spread([t for epochs in per_round for t in epochs])
        result[side] = median
        print(f"  {'':7}{low * scale:9.3g}{median * scale:9.3g}{high * scale:9.3g}  {labels[side]}")
    for side in (side for side in rounds if side != against):
        ratios = round_ratios(rounds[against], rounds[side])
        low, median, high = spread(ratios)
        result[f"{against}_vs_{side}"] = median
        warning = "  spread too wide to trust: rerun on a quiet machine" * untrusted(ratios)
        print(f"  ratio  {low:9.3f}{median:9.3f}{high:9.3f}  {against} / {side}{warning}")
    return result
