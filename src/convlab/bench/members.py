"""``members=K`` against single runs: time per optimizer step and per seed-step, side by side.

Each side is ``train.py experiment=<name> members=K`` run in this process (as
``convlab.bench.pairs`` runs the pipeline), K = 1 being the plain single run. The sides
alternate round by round, so machine noise hits all of them; medians over every epoch
(training + validation) are printed, with each K's cost per seed-step as a fraction of the
single run's step.

    python -m convlab.bench.members --rounds 3 --epochs 2 --members 4 8 16
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from convlab.bench.pairs import pipeline_step_times


def main(argv: list[str] | None = None) -> dict[int, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the sides")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per side per round")
    parser.add_argument("--members", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument("--experiment", default="max_regression")
    args = parser.parse_args(argv)
    sizes = [1, *(k for k in args.members if k != 1)]
    times: dict[int, list[float]] = {k: [] for k in sizes}
    with tempfile.TemporaryDirectory() as workdir:
        for round_ in range(args.rounds):
            for k in sizes:
                times[k] += pipeline_step_times(
                    args.experiment, args.epochs, round_, Path(workdir), [f"members={k}"]
                )
            last = {k: [round(t * 1e6) for t in v[-args.epochs :]] for k, v in times.items()}
            print(f"round {round_ + 1}/{args.rounds} (us/step by K): {last}", flush=True)
    step_us = {k: statistics.median(v) * 1e6 for k, v in times.items()}
    print(
        f"{args.experiment}, batch size 1, members=K: median of {len(times[1])} epochs "
        "(training + validation)"
    )
    print("  K   us/step   us/seed-step   seed-step / single run's step")
    for k in sizes:
        per_seed = step_us[k] / k
        print(f"  {k:<3} {step_us[k]:8.0f}   {per_seed:12.0f}   {per_seed / step_us[1]:.3f}")
    return {k: step_us[k] / k / step_us[1] for k in sizes}


if __name__ == "__main__":
    main()
