"""The runner is below the packages that use it: it never imports them, not even inside a
function (they plug in through the config, e.g. ``extra_checks`` and the entry point's choice)."""

import ast
from pathlib import Path

import convlab.runner

ABOVE = ("convlab.members", "convlab.report", "convlab.study", "convlab.bench")


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def test_runner_imports_no_package_above_it():
    root = Path(next(iter(convlab.runner.__path__)))
    found = [
        f"{path.relative_to(root)}: {name}"
        for path in sorted(root.rglob("*.py"))
        for name in _imports(path)
        if name.startswith(ABOVE)
    ]
    assert found == []
