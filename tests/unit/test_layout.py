"""The dependency rules of DESIGN.md, checked on every module's imports.

rig_agent and central never import each other; protocol imports neither and does no I/O;
central's services never import the web framework, so they stay usable from the CLI and tests.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _imports(package: str) -> list[tuple[str, str]]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            found += [(str(path.relative_to(ROOT)), name) for name in names]
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("rig_agent", ("central",)),
        ("central", ("rig_agent",)),
        ("protocol", ("central", "rig_agent", "paho", "sqlalchemy", "fastapi", "socket")),
        ("central/services", ("fastapi", "starlette", "central.api")),
    ],
)
def test_package_does_not_import(package: str, forbidden: tuple[str, ...]) -> None:
    offending = [
        f"{module} imports {name}"
        for module, name in _imports(package)
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    ]
    assert offending == []
