"""Write constraints.txt: the exact versions of everything `pip install -e '.[dev]'` installs.

`make lock` runs this. pip resolves pyproject.toml's ranges afresh (`--dry-run
--ignore-installed --report`: nothing is installed, the current venv is not consulted) and every
package of the resolution is pinned with `==`. `make install` and CI install with
`-c constraints.txt`, so every machine gets these versions; a constraint only limits, so pins of
packages a platform does not need (the CUDA libraries that PyPI's Linux torch wheel pulls in)
are ignored there. Re-run it after changing a range, then run `make test` on the result.

    python scripts/lock.py [--output constraints.txt] [--check]

`--check` compares `pip freeze` of the running interpreter with the file instead: every
installed package (except pip, setuptools, wheel and convlab) must be pinned at the version
installed; exits 1 and names the differences otherwise.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = """\
# Exact versions convlab is tested with (a pip constraints file), written by `make lock`
# (scripts/lock.py) for Python {python} on {machine}. `make install` and .ci/run install with
# `-c constraints.txt`. Edit the ranges in pyproject.toml, not this file.
"""
UNPINNED = {"pip", "setuptools", "wheel", "convlab"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def resolve() -> dict[str, str]:
    """name → version of everything `pip install -e '.[dev]'` would install now."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
         "--report", "-", "-e", f"{ROOT}[dev]"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    report = json.loads(done.stdout)
    pins = {item["metadata"]["name"]: item["metadata"]["version"] for item in report["install"]}
    return {name: version for name, version in pins.items() if canonical(name) != "convlab"}


def write(path: Path, pins: dict[str, str]) -> None:
    machine = f"{platform.system()} {platform.machine()}"
    lines = [
        f"{name}=={version}"
        for name, version in sorted(pins.items(), key=lambda p: canonical(p[0]))
    ]
    path.write_text(
        HEADER.format(python=platform.python_version(), machine=machine) + "\n".join(lines) + "\n"
    )


def read(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[canonical(name)] = version.strip()
    return pins


def installed() -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--all", "--exclude-editable"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    versions = {}
    for line in done.stdout.splitlines():
        if "==" in line:
            name, version = line.split("==", 1)
            versions[canonical(name)] = version.strip()
    return versions


def differences(locked: dict[str, str], present: dict[str, str]) -> list[str]:
    """Installed packages that the lock does not pin at their version (local labels such as
    ``+cpu`` aside: ``torch==2.14.1`` admits ``2.14.1+cpu``, as pip itself does)."""
    found = []
    for name, version in sorted(present.items()):
        if name in UNPINNED:
            continue
        if name not in locked:
            found.append(f"{name}=={version}: installed but not in the lock")
        elif version.split("+")[0] != locked[name].split("+")[0]:
            found.append(f"{name}=={version}: the lock says {locked[name]}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "constraints.txt")
    parser.add_argument("--check", action="store_true", help="compare pip freeze with the lock")
    args = parser.parse_args()
    if args.check:
        problems = differences(read(args.output), installed())
        for problem in problems:
            print(f"lock: {problem}", file=sys.stderr)
        if problems:
            sys.exit(1)
        print(f"lock: every installed package matches {args.output.name}")
        return
    pins = resolve()
    write(args.output, pins)
    print(f"lock: {len(pins)} packages pinned in {args.output}")


if __name__ == "__main__":
    main()
