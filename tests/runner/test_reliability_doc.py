"""docs/RELIABILITY.md stays true: every row names a test, and every named test exists."""

from __future__ import annotations

import re

from tests.conftest import ROOT

DOC = ROOT / "docs" / "RELIABILITY.md"
REFERENCE = re.compile(r"`((?:\w+/)?test_\w+\.py)::(test_\w+)(?:\[([^\]]+)\])?`")


def _rows() -> list[str]:
    lines = DOC.read_text().splitlines()
    return [
        line for line in lines
        if line.startswith("| ") and not line.startswith(("| Bad input", "| Fault"))
    ]  # fmt: skip


def test_every_row_names_a_test():
    rows = _rows()
    assert len(rows) >= 25
    for row in rows:
        assert REFERENCE.search(row), row


def test_every_named_test_exists():
    references = REFERENCE.findall(DOC.read_text())
    assert references
    for file_name, test_name, case in references:
        source = (ROOT / "tests" / file_name).read_text()
        assert re.search(rf"^def {test_name}\(", source, re.MULTILINE), (file_name, test_name)
        if case:  # a parametrized case, named by its id in the test file
            assert f'"{case}"' in source, (file_name, test_name, case)
