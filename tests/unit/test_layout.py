"""The dependency rules of DESIGN.md and shared/LAYOUT.md, checked on every module's imports.

rig_agent and central never import each other; protocol imports neither and does no I/O. Inside
central only the web layer (``api/``, ``app.py``, ``lifespan.py``) imports the web framework;
nothing below ``api/`` reaches up into ``central.api`` or ``central.realtime`` (services tell the
dashboard through ``central.events.EventSink``); the pure cores ``matching/`` and ``formats/``
import neither the database nor anything web. Sizes: no module over 500 lines, no package of
central over 30 % of its lines, at most 16 modules directly in ``central/services/``.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEB = ("fastapi", "starlette", "socketio", "uvicorn")


def _modules(place: str) -> list[Path]:
    path = ROOT / place
    return [path] if path.suffix == ".py" else sorted(path.rglob("*.py"))


def _imports(place: str) -> list[tuple[str, str]]:
    found = []
    for path in _modules(place):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            found += [(str(path.relative_to(ROOT)), name) for name in names]
    return found


def _below_api() -> list[str]:
    """Every place in central that is not the web layer."""
    web_layer = {"api", "app.py", "lifespan.py", "realtime", "__pycache__"}
    return sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "central").iterdir()
        if path.name not in web_layer and (path.is_dir() or path.suffix == ".py")
    )


RULES = [
    ("rig_agent", ("central",)),
    ("central", ("rig_agent",)),
    ("protocol", ("central", "rig_agent", "paho", "sqlalchemy", "fastapi", "socket")),
    ("central/realtime", ("fastapi", "starlette", "central.api")),
    ("central/matching", ("central.db", "sqlalchemy", *WEB)),
    ("central/formats", ("central.db", "sqlalchemy", *WEB)),
    *[
        (place, ("fastapi", "starlette", "central.api", "central.realtime"))
        for place in _below_api()
    ],
]


@pytest.mark.parametrize(("place", "forbidden"), RULES, ids=[place for place, _ in RULES])
def test_place_does_not_import(place: str, forbidden: tuple[str, ...]) -> None:
    offending = [
        f"{module} imports {name}"
        for module, name in _imports(place)
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    ]
    assert offending == []


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines())


def test_no_module_is_over_500_lines() -> None:
    sources = [*(ROOT / "central").rglob("*.py"), *(ROOT / "rig_agent").rglob("*.py")]
    long = {str(p.relative_to(ROOT)): _lines(p) for p in sources if "migrations" not in p.parts}
    assert {name: n for name, n in long.items() if n > 500} == {}


def test_no_package_of_central_holds_more_than_30_percent_of_its_lines() -> None:
    per_place: Counter[str] = Counter()
    for path in (ROOT / "central").rglob("*.py"):
        per_place[path.relative_to(ROOT / "central").parts[0]] += _lines(path)
    total = sum(per_place.values())
    assert {place: round(n / total, 2) for place, n in per_place.items() if n > 0.3 * total} == {}


def test_services_keep_to_the_crud_modules() -> None:
    assert len(list((ROOT / "central" / "services").glob("*.py"))) <= 16
