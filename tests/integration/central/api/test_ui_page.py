"""The page at ``/`` and ``/ui/...`` (issue #11): served by central itself, every module it
imports is there, nothing outside its folder is reachable, and it learns whether to ask for a
token. What it shows is tested in a real browser (tests/browser)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from central.ui import STATIC_DIR

_IMPORT = re.compile(
    r"""(?:^|;|\})\s*import\s[^'"]*?from\s*["']([^"']+)["']|^import\s*["']([^"']+)["']""",
    re.MULTILINE,
)


def test_every_page_path_answers_the_page(client: TestClient) -> None:
    for path in ("/", "/ui", "/ui/rigs", "/ui/sessions/01a2-anything", "/ui/videos/x"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert '<script type="module" src="/ui/static/js/main.js">' in response.text


def test_every_module_the_page_imports_is_served(client: TestClient) -> None:
    pending, seen = ["/ui/static/js/main.js"], set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        response = client.get(path)
        assert response.status_code == 200, path
        assert "javascript" in response.headers["content-type"], path
        for match in _IMPORT.finditer(response.text):
            spec = match.group(1) or match.group(2)
            base = path.rsplit("/", 1)[0]
            while spec.startswith("../"):
                spec, base = spec[3:], base.rsplit("/", 1)[0]
            pending.append(f"{base}/{spec.removeprefix('./')}")
    assert "/ui/static/vendor/socket.io.esm.min.js" in seen
    assert len(seen) == len(list(STATIC_DIR.rglob("*.js"))), "a module nothing imports"
    assert client.get("/ui/static/app.css").status_code == 200


def test_files_outside_the_pages_folder_are_not_served(client: TestClient) -> None:
    assert client.get("/ui/static/nope.js").status_code == 404
    for path in (
        "/ui/static/../__init__.py",
        "/ui/static/%2e%2e/__init__.py",
        "/ui/static/..%2f__init__.py",
    ):
        response = client.get(path)
        assert "STATIC_DIR" not in response.text, path
        assert response.status_code == 404 or response.headers["content-type"].startswith(
            "text/html"
        )


def test_the_page_asks_for_a_token_only_when_auth_is_on(client: TestClient) -> None:
    config = client.get("/ui/config").json()
    assert config["authRequired"] is True and config["rigStaleAfterS"] > 0
    client.app.state.settings = client.app.state.settings.model_copy(update={"no_auth": True})
    assert client.get("/ui/config").json()["authRequired"] is False
