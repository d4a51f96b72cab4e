"""``members=K`` against single runs: time per optimizer step and per seed-step, side by side.

Each side is ``train.py experiment=<name> members=K`` run in this process, K = 1 being the
single run; each K's cost per seed-step is printed as a fraction of the single run's step.
See docs/benchmarks.md.
"""

import statistics
import tempfile
from pathlib import Path

from convlab.bench.pairs import pipeline_step_times
from convlab.bench.spread import alternate, bench_parser


def main(argv: list[str] | None = None) -> dict[int, float]:
    parser = bench_parser(__doc__)
    parser.add_argument("--members", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument("--experiment", default="max_regression")
    args = parser.parse_args(argv)
    sizes = [1, *(k for k in args.members if k != 1)]
    with tempfile.TemporaryDirectory() as workdir:
        sides = {k: (lambda r, k=k: pipeline_step_times(args.experiment, args.epochs, r,
                                                        Path(workdir), [f"members={k}"]))
                 for k in sizes}  # fmt: skip
        times = alternate(sides, args.rounds, "us/step by K", scale=1e6)
    epochs = {k: [t for per_round in v for t in per_round] for k, v in times.items()}
    step_us = {k: statistics.median(v) * 1e6 for k, v in epochs.items()}
    print(f"{args.experiment}, batch size 1, members=K: median of {len(epochs[1])} epochs "
          "(training + validation)")  # fmt: skip
    print("  K   us/step   us/seed-step   seed-step / single run's step")
    for k in sizes:
        per_seed = step_us[k] / k
        print(f"  {k:<3} {step_us[k]:8.0f}   {per_seed:12.0f}   {per_seed / step_us[1]:.3f}")
    return {k: step_us[k] / k / step_us[1] for k in sizes}


if __name__ == "__main__":
    main()
