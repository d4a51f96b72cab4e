"""``make mutate``: mutation testing of the core with mutmut, one package at a time.

What is mutated and which tests run are ``[tool.mutmut]`` in pyproject.toml (``only_mutate``,
``pytest_add_cli_args_test_selection``). This script runs ``mutmut run`` once per package (or
per module named on the command line) under a time limit, then prints the score of every
module: killed / (killed + survived + no tests). Surviving mutants are explained, one line
each, in docs/MUTANTS.md.

    python scripts/mutate.py                      # every package of the core
    python scripts/mutate.py data/idx.py report   # one module, one package
    python scripts/mutate.py --limit 600 models   # seconds per mutmut run

Results are kept in ``mutants/`` (git-ignored); ``mutmut browse`` or ``mutmut show NAME`` there
shows a mutant's diff. Exit status 1 when a module scores below ``--target``.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
KILLED = {"killed", "timeout", "caught by type check"}
COUNTED = KILLED | {"survived", "no tests", "suspicious", "segfault"}


def mutated_modules() -> list[str]:
    """``only_mutate`` expanded to module paths relative to src/convlab (``data/idx.py``)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    skip = config.get("do_not_mutate", [])
    modules = []
    for path in sorted((SRC / "convlab").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        if any(fnmatch.fnmatch(name, p) for p in config["only_mutate"]) and not any(
            fnmatch.fnmatch(name, p) for p in skip
        ):
            modules.append(path.relative_to(SRC / "convlab").as_posix())
    return modules


def dotted(module: str) -> str:
    """``data/idx.py`` → ``convlab.data.idx``; ``data`` → ``convlab.data``."""
    return "convlab." + module.removesuffix(".py").replace("/", ".")


def targets(selection: list[str], modules: list[str]) -> list[str]:
    """One mutmut run per package by default; a module or package named on the command line."""
    if not selection:
        return sorted({m.rsplit("/", 1)[0] if "/" in m else m for m in modules})
    unknown = [s for s in selection if not any(m == s or m.startswith(s + "/") for m in modules)]
    if unknown:
        sys.exit(f"not under mutation testing: {', '.join(unknown)} (choose from {modules})")
    return selection


def run_mutmut(target: str, limit: float, workers: int) -> tuple[float, bool]:
    """``mutmut run`` on the mutants of ``target``; (seconds, finished within ``limit``).

    Exits when mutmut could not run the tests on the unmutated code: every score would be
    meaningless (mutmut then reports its mutants as not checked and stops)."""
    glob = dotted(target) + ".*"
    # Subprocess tests (train.py) must import the mutated copy too, not the installed package
    # (the folder exists before mutmut starts, or Python caches it as missing); mutmut_site
    # lets Lightning read the constructor arguments of mutated classes (see its docstring).
    (ROOT / "mutants" / "src").mkdir(parents=True, exist_ok=True)
    path = [ROOT / "mutants" / "src", Path(__file__).parent / "mutmut_site"]
    # One intra-op thread: mutmut forks a worker per mutant from a process that has already run
    # torch, and a forked child's first parallel op can wait forever on the parent's thread
    # pool (every such mutant then ends as a "timeout" after minutes, using no CPU).
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, path)), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(workers), glob]
    print(f"[mutate] {target}: {' '.join(command[2:])} (limit {limit:.0f} s)", flush=True)
    start = time.monotonic()
    log = ROOT / "mutants" / f"run-{target.replace('/', '_')}.log"
    with log.open("w") as handle:
        try:
            subprocess.run(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
                           timeout=limit, check=False)  # fmt: skip
            finished = True
        except subprocess.TimeoutExpired:
            finished = False
    text = log.read_text(errors="replace")
    if "failed to collect stats" in text or "Failed to run clean test" in text:
        failures = [line for line in text.splitlines() if line.startswith(("FAILED", "ERROR"))]
        where = "; ".join(failures) or "see the log"
        sys.exit(f"[mutate] {target}: the tests fail on the unmutated code, so no mutant was "
                 f"run: {where} (log: {log.relative_to(ROOT)})")  # fmt: skip
    return time.monotonic() - start, finished


def results() -> dict[str, str]:
    """mutant name → status, for every mutant mutmut knows of."""
    out = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    pairs = (re.match(r"\s*(\S+): (.+)$", line) for line in out.splitlines())
    return {m.group(1): m.group(2).strip() for m in pairs if m}


def module_of(mutant: str, modules: list[str]) -> str | None:
    for module in modules:
        if mutant.startswith(dotted(module) + "."):
            return module
    return None


def scores(modules: list[str], chosen: list[str]) -> dict[str, Counter]:
    by_module: dict[str, Counter] = defaultdict(Counter)
    for mutant, status in results().items():
        module = module_of(mutant, modules)
        if module and any(module == c or module.startswith(c + "/") for c in chosen):
            by_module[module][status] += 1
    return by_module


def print_table(by_module: dict[str, Counter], target: float) -> list[str]:
    """The per-module table; returns the modules below ``target`` percent."""
    low = []
    header = ("module", "killed", "survived", "no tests", "other", "score")
    print("\n{:34} {:>7} {:>8} {:>8} {:>6} {:>7}".format(*header))
    for module in sorted(by_module):
        counts = by_module[module]
        killed = sum(counts[s] for s in KILLED)
        counted = sum(counts[s] for s in COUNTED)
        other = sum(n for s, n in counts.items() if s not in COUNTED)  # not checked, skipped
        if not counted:
            print(f"{module:34} {'':7} {'':8} {'':8} {other:6}       –  (not run: time limit?)")
            continue
        score = 100.0 * killed / counted
        flag = "" if score >= target else "  < target"
        if other:
            flag += f"  ({other} not run: time limit?)"
        print(f"{module:34} {killed:7} {counts['survived']:8} {counts['no tests']:8} {other:6} "
              f"{score:6.1f}%{flag}")  # fmt: skip
        if score < target:
            low.append(module)
    return low


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", help="packages or modules under src/convlab")
    parser.add_argument("--limit", type=float, default=1800, help="seconds per mutmut run")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--target", type=float, default=85.0, help="score every module needs")
    parser.add_argument("--report-only", action="store_true", help="print the last results")
    args = parser.parse_args(argv)
    modules = mutated_modules()
    chosen = targets(args.targets, modules)
    start = time.monotonic()
    if not args.report_only:
        for target in chosen:
            seconds, finished = run_mutmut(target, args.limit, args.workers)
            state = "done" if finished else "STOPPED at the time limit"
            print(f"[mutate] {target}: {state} in {seconds:.0f} s", flush=True)
    low = print_table(scores(modules, chosen), args.target)
    print(f"\n[mutate] {time.monotonic() - start:.0f} s; surviving mutants: `mutmut results` "
          "(explained in docs/MUTANTS.md)")  # fmt: skip
    return 1 if low else 0


if __name__ == "__main__":
    sys.exit(main())
