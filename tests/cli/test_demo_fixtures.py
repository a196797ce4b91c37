"""The shipped demo builds its assets from mmscore.fixtures, never from the test helpers."""

from __future__ import annotations

import ast
from pathlib import Path

import mmscore

SHIPPED_USERS_OF_FIXTURES = ("demo", "toyworld", "fixtures")


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_demo_toyworld_and_fixtures_do_not_import_the_test_helpers() -> None:
    root = Path(mmscore.__file__).parent
    offenders = []
    for package in SHIPPED_USERS_OF_FIXTURES:
        for path in sorted((root / package).rglob("*.py")):
            bad = {m for m in _imported_modules(path) if m == "mmscore.testing" or m.startswith("mmscore.testing.")}
            if bad:
                offenders.append(f"{path.relative_to(root)}: {sorted(bad)}")
    assert offenders == []
    # and the demo does use the shipped builders (the check above is not vacuous)
    assert "mmscore.fixtures.fake_openai" in _imported_modules(root / "demo" / "parts" / "judges.py")


def test_test_helper_names_are_the_shipped_modules_themselves() -> None:
    from mmscore.fixtures import media as shipped
    from mmscore.testing import media as test_helper

    assert test_helper is shipped
