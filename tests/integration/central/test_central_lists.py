"""Every list pages the same way: ``limit``/``offset``, ``X-Total-Count``, ``Link: rel="next"``
while more follow, and a documented order (with ``sort`` where a list offers one)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient

from central.auth import Role

Headers = dict[Role, dict[str, str]]

_NEXT = re.compile(r'^<(?P<url>[^>]+)>; rel="next"$')


def _next(link: str) -> tuple[str, dict[str, list[str]]]:
    match = _NEXT.match(link)
    assert match is not None, link
    parts = urlsplit(match["url"])
    return parts.path, parse_qs(parts.query)


def _everything(client: TestClient, url: str, headers: dict[str, str]) -> list[Any]:
    """What a client wanting every item does: follow ``rel="next"`` until a page has none."""
    items: list[Any] = []
    pages = 0
    while True:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        items += response.json()
        pages += 1
        link = response.headers.get("Link")
        if link is None:
            break
        match = _NEXT.match(link)
        assert match is not None, link
        url = match["url"]
        assert pages < 50, "the next links never end"
    assert int(response.headers["X-Total-Count"]) == len(items)
    return items


def _make_projects(client: TestClient, headers: dict[str, str], names: list[str]) -> list[str]:
    ids = []
    for name in names:
        response = client.post("/api/projects", json={"name": name}, headers=headers)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def test_next_links_walk_a_list_to_its_end_without_repeats(
    client: TestClient, auth_headers: Headers
) -> None:
    ids = _make_projects(client, auth_headers[Role.OPERATOR], [f"p{i}" for i in range(7)])

    first = client.get("/api/projects?limit=3", headers=auth_headers[Role.VIEWER])
    assert first.headers["X-Total-Count"] == "7"
    assert _next(first.headers["Link"]) == ("/api/projects", {"limit": ["3"], "offset": ["3"]})

    walked = _everything(client, "/api/projects?limit=3", auth_headers[Role.VIEWER])
    assert [p["id"] for p in walked] == ids[::-1]  # newest first


def test_the_last_page_and_a_short_list_have_no_next_link(
    client: TestClient, auth_headers: Headers
) -> None:
    _make_projects(client, auth_headers[Role.OPERATOR], ["a", "b"])

    last = client.get("/api/projects?limit=1&offset=1", headers=auth_headers[Role.VIEWER])
    short = client.get("/api/projects", headers=auth_headers[Role.VIEWER])

    assert "Link" not in last.headers and "Link" not in short.headers
    assert last.headers["X-Total-Count"] == short.headers["X-Total-Count"] == "2"


def test_next_link_keeps_filters_and_sort(client: TestClient, auth_headers: Headers) -> None:
    _make_projects(client, auth_headers[Role.OPERATOR], ["c", "a", "b"])

    page = client.get("/api/projects?sort=name&limit=2", headers=auth_headers[Role.VIEWER])

    assert [p["name"] for p in page.json()] == ["a", "b"]
    assert _next(page.headers["Link"]) == (
        "/api/projects",
        {"sort": ["name"], "limit": ["2"], "offset": ["2"]},
    )
    assert [
        p["name"]
        for p in _everything(client, "/api/projects?sort=-name&limit=2", auth_headers[Role.VIEWER])
    ] == ["c", "b", "a"]


def test_an_unknown_sort_is_a_422_naming_the_parameter(
    client: TestClient, viewer: dict[str, str]
) -> None:
    response = client.get("/api/projects?sort=password", headers=viewer)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "sort"]


def test_tokens_page_oldest_first(client: TestClient, auth_headers: Headers) -> None:
    admin = auth_headers[Role.ADMIN]
    for name in ("ci", "dashboard"):
        assert client.post("/api/tokens", json={"role": "viewer", "name": name}, headers=admin)

    page = client.get("/api/tokens?limit=2&offset=1", headers=admin)
    everything = _everything(client, "/api/tokens?limit=2", admin)

    # The fixture made one token per role (4) before these two.
    assert page.headers["X-Total-Count"] == "6" and len(page.json()) == 2
    assert [t["name"] for t in everything][-2:] == ["ci", "dashboard"]
    assert [t["id"] for t in everything][1:3] == [t["id"] for t in page.json()]
