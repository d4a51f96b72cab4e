"""``python -m convlab.study``: run every sweep of the study, report each, write RESULTS.md.

``make study`` runs the study's settings (the sweep configs) and writes ``docs/RESULTS.md`` and
``docs/figures/``; ``make study-quick`` runs the same sweeps for one epoch on a sliver of the
data with 2 seeds, into ``outputs/study_quick/`` (a check of the machinery, not results).
"""

import argparse
import datetime as dt
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from convlab.report import Report, build_report, read_curves
from convlab.report.__main__ import entry_point
from convlab.study.claims import CLAIMS, ESTIMATE_MIN, SWEEPS, Claim, Verdict
from convlab.study.document import Judged, claim_table, sweep_seeds, write_results

UNFINISHED = ("failed", "interrupted", "missing")
# The quick variant: the same sweeps and grids, 2 seeds, one epoch; LeNet sees 5 batches of
# Fashion-MNIST and is scored on one batch of each evaluation split.
QUICK = {"lenet": ("seed=1,2", "trainer.max_epochs=1", "++trainer.limit_train_batches=5",
                   "++trainer.limit_val_batches=1", "++trainer.limit_test_batches=1"),
         "max": ("seed=1,2", "trainer.max_epochs=1"),
         # Sweeps whose jobs stack their seeds (members=K): two members instead of two seeds.
         "members": ("members=2", "trainer.max_epochs=1")}  # fmt: skip


def quick_overrides(sweep: str) -> tuple[str, ...]:
    if not sweep.startswith("max_"):
        return QUICK["lenet"]
    _, stacked = sweep_seeds(sweep)
    return QUICK["members" if stacked else "max"]


def estimate() -> str:
    total = sum(ESTIMATE_MIN.get(name, 0.0) for name in SWEEPS)
    per = ", ".join(f"{name} {ESTIMATE_MIN.get(name, float('nan')):g}" for name in SWEEPS)
    return f"{total:.0f} min on 2 idle CPU cores ({per} min)"


def _git_commit() -> str:
    git = ("git", "rev-parse", "--short", "HEAD"), ("git", "status", "--porcelain", "-uno")
    try:
        commit, dirty = (subprocess.run(argv, capture_output=True, text=True, check=True)
                         .stdout.strip() for argv in git)  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + (" with uncommitted changes" if dirty else "")


def run_sweep(name: str, sweep_dir: Path, extra: tuple[str, ...]) -> tuple[int, float]:
    """(exit status, seconds) of one sweep; a re-run skips finished jobs and resumes the rest."""
    command = [sys.executable, "train.py", "-m", f"sweep={name}", f"hydra.sweep.dir={sweep_dir}",
               *extra]  # fmt: skip
    print(f"[study] {name}: {shlex.join(command)}", flush=True)
    started = time.perf_counter()
    returncode = subprocess.run(command, check=False).returncode
    seconds = time.perf_counter() - started
    print(f"[study] {name}: exit {returncode} after {seconds:.0f} s", flush=True)
    return returncode, seconds


def judge(claim: Claim, report: Report, others: dict[str, Report] | None = None) -> Verdict:
    """The claim's verdict, withheld while runs are unfinished: it could flip once they finish
    (divergence is a result and does not count)."""
    curves = report.curves or read_curves(report.runs)
    verdict = claim.judge(report, curves, *([others or {}] if claim.also else []))
    unfinished = [run for run in report.runs if run.status in UNFINISHED]
    if unfinished:
        word = f"inconclusive ({len(unfinished)} of {len(report.runs)} runs unfinished)"
        note = " Re-run the same command to finish them (finished jobs are skipped)."
        return Verdict(word, verdict.text + note, verdict.contrasts)
    return verdict


@entry_point
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m convlab.study", description=__doc__,
                                     epilog=f"Estimated cost: {estimate()}.")  # fmt: skip
    add = parser.add_argument
    add("--quick", action="store_true", help="CI-sized: 1 epoch, 2 seeds")
    add("--only", nargs="+", choices=SWEEPS, metavar="SWEEP",
        help=f"run only these sweeps (of: {', '.join(SWEEPS)})")  # fmt: skip
    add("--out", type=Path, help="sweep folders go to OUT/<sweep> (default outputs/study, or "
        "outputs/study_quick with --quick); re-running skips finished jobs")  # fmt: skip
    add("--doc", type=Path, help="RESULTS.md to write (default docs/RESULTS.md, with --quick "
        "OUT/RESULTS.md); figures go to a figures/ folder beside it")  # fmt: skip
    add("--report-only", action="store_true",
        help="do not train: report the sweep folders as they are")  # fmt: skip
    args = parser.parse_args(argv)
    out = args.out or Path("outputs/study_quick" if args.quick else "outputs/study")
    doc = args.doc or (out / "RESULTS.md" if args.quick else Path("docs/RESULTS.md"))
    sweeps = args.only or SWEEPS
    command = "make study-quick" if args.quick else "make study"
    if argv is None and sys.argv[1:] and sys.argv[1:] != ["--quick"]:
        command = "python -m convlab.study " + shlex.join(sys.argv[1:])
    started = time.perf_counter()
    commit = _git_commit()  # the code the sweeps run, not whatever is checked out at the end
    print(f"[study] {len(sweeps)} sweeps into {out}/ (finished jobs there are kept: delete the "
          "folder for a fresh study)", flush=True)  # fmt: skip
    failed, seconds = [], {}
    for name in [] if args.report_only else sweeps:
        extra = quick_overrides(name) if args.quick else ()
        returncode, seconds[name] = run_sweep(name, out / name, extra)
        if returncode != 0:
            failed.append(name)

    judged, claims = [], [c for c in CLAIMS if c.sweep in sweeps]
    reports = {name: build_report(out / name) for name in dict.fromkeys(
        [*sweeps, *(s for c in claims for s in c.also)]) if (out / name).is_dir()}  # fmt: skip
    for number, claim in enumerate(claims, 1):
        report = reports.get(claim.sweep)
        others = {name: reports[name] for name in claim.also if name in reports}
        verdict = (Verdict("not run", f"No runs in {out / claim.sweep}.") if report is None
                   else judge(claim, report, others))  # fmt: skip
        judged.append(Judged(number, claim, report, verdict, others))
        print(f"[study] {number}. {claim.title}: {verdict.word}. {verdict.text}", flush=True)
        if report is not None:
            print(claim_table(claim, report), flush=True)

    total = time.perf_counter() - started
    # The cost, once: as measured when the sweeps ran here, else the estimate.
    cost = (f"{total / 60:.1f} min on {os.cpu_count()} CPU cores (training times per sweep: "
            + ", ".join(f"{k} {v / 60:.1f} min" for k, v in seconds.items()) + ")"
            if seconds else f"report only (`make study`: an estimated {estimate()})")  # fmt: skip
    header = [f"Generated by `{command}` on {dt.date.today().isoformat()} at commit {commit}; "
              f"{cost}. Every number below is read from the sweeps' `metrics.json` files and "
              f"TensorBoard logs under `{out}/` by `convlab.report`; `python -m convlab.report "
              f"{out}/<sweep>` prints the full tables."]  # fmt: skip
    if args.quick:
        header.append("**Quick variant: 1 epoch, 2 seeds, a sliver of the data. These numbers "
                      "check the machinery; they are not the study's results.**")  # fmt: skip
    path = write_results(doc, judged, command, header)
    print(f"[study] wrote {path} in {total / 60:.1f} min", flush=True)
    if failed:
        print(f"[study] sweeps that exited non-zero: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
