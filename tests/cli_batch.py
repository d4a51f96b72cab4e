"""Run the entry points for many command lines in one interpreter; print what each showed.

``python tests/cli_batch.py cases.json`` where the file holds a list of ``[script, argv]`` pairs
(script: ``train.py`` or ``eval.py``). Each command line goes through the real entry point
(``launch`` → ``@hydra.main`` → callbacks → ``run_job``), exactly as ``python train.py ...``
would, minus the 5 s of imports a fresh interpreter costs per case. Prints a JSON list of
``{"argv", "code", "stdout", "stderr"}``.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _exit_code(error: SystemExit) -> int:
    if error.code is None:
        return 0
    return error.code if isinstance(error.code, int) else 1


def load_entry_point(script: Path) -> dict:
    """Execute the script as __main__ (Hydra finds conf/ next to it) with a harmless first
    command line (--help), keeping the functions it defines."""
    namespace: dict = {"__name__": "__main__", "__file__": str(script)}
    sys.argv = [str(script), "--help"]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        exec(compile(script.read_text(), str(script), "exec"), namespace)
    return namespace


def run_case(namespace: dict, argv: list[str]) -> dict:
    sys.argv = [namespace["__file__"], *argv]
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            config_name = Path(namespace["__file__"]).stem  # train.py → train.yaml
            namespace["launch"](namespace["main"], config_name=config_name)
        except SystemExit as error:
            code = _exit_code(error)
        except BaseException:
            traceback.print_exc()
            code = -1
    return {"argv": argv, "code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}


def main() -> None:
    cases = json.loads(Path(sys.argv[1]).read_text())
    sys.path.insert(0, str(ROOT))  # as for `python train.py`: tests.faults is importable
    entry_points = {name: load_entry_point(ROOT / name) for name in {s for s, _ in cases}}
    results = [run_case(entry_points[script], argv) for script, argv in cases]
    sys.stdout.write(json.dumps(results))


if __name__ == "__main__":
    main()
