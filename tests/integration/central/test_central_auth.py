"""Bearer tokens and roles: 401 without a valid token, 403 below the route's role, through with
it; tokens are stored hashed; ``no_auth`` only on loopback."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.app import create_app
from central.auth import Role
from central.config import CentralSettings
from central.db.models import ApiToken

Headers = dict[Role, dict[str, str]]

# (method, path, body, the least role allowed). Unknown ids and bodies are fine: a request that
# gets past auth answers 404/422/2xx, never 401/403.
ROUTES = [
    ("GET", "/api/projects", None, Role.VIEWER),
    ("POST", "/api/projects", {"name": "p"}, Role.OPERATOR),
    ("GET", "/api/projects/nope", None, Role.VIEWER),
    ("PUT", "/api/projects/nope", {"name": "p"}, Role.OPERATOR),
    ("DELETE", "/api/projects/nope", None, Role.ADMIN),
    ("GET", "/api/test-sessions", None, Role.VIEWER),
    ("POST", "/api/test-sessions", {"name": "r"}, Role.OPERATOR),
    ("GET", "/api/test-sessions/nope", None, Role.VIEWER),
    ("DELETE", "/api/test-sessions/nope", None, Role.OPERATOR),
    ("GET", "/api/tokens", None, Role.ADMIN),
    ("POST", "/api/tokens", {"role": "viewer"}, Role.ADMIN),
    ("DELETE", "/api/tokens/nope", None, Role.ADMIN),
]


def _call(client: TestClient, method: str, path: str, body: object, headers: dict[str, str]) -> int:
    return client.request(method, path, json=body, headers=headers).status_code


def test_every_route_needs_its_role(client: TestClient, auth_headers: Headers) -> None:
    roles = list(Role)
    for method, path, body, needed in ROUTES:
        assert _call(client, method, path, body, {}) == 401, (method, path)
        for role in roles:
            status = _call(client, method, path, body, auth_headers[role])
            if role.allows(needed):
                assert status not in (401, 403), (method, path, role, status)
            else:
                assert status == 403, (method, path, role, status)


def test_every_api_route_declares_its_role_in_openapi(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    operations = [(method, path, op) for path, ops in paths.items() for method, op in ops.items()]

    undeclared = [
        (m, p) for m, p, op in operations if p.startswith("/api/") and "x-required-role" not in op
    ]
    assert undeclared == []
    for method, path, _body, needed in ROUTES:
        parameter = _PATH_PARAMETER[path.split("/")[2]]
        operation = paths[path.replace("nope", "{" + parameter + "}")]
        assert operation[method.lower()]["x-required-role"] == needed.value


_PATH_PARAMETER = {
    "projects": "project_id",
    "test-sessions": "test_session_id",
    "tokens": "token_id",
}


def test_missing_or_unknown_tokens_are_401_with_a_bearer_challenge(client: TestClient) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer vru_not-a-real-token"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ):
        response = client.get("/api/projects", headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_403_names_the_role_needed(client: TestClient, auth_headers: Headers) -> None:
    response = client.post("/api/projects", json={"name": "p"}, headers=auth_headers[Role.VIEWER])

    assert response.status_code == 403
    assert "operator" in response.json()["detail"] and "viewer" in response.json()["detail"]


def test_a_token_made_through_the_api_works_until_revoked(
    client: TestClient, auth_headers: Headers
) -> None:
    created = client.post(
        "/api/tokens",
        json={"role": "viewer", "name": "dashboard"},
        headers=auth_headers[Role.ADMIN],
    )
    assert created.status_code == 201
    token, token_id = created.json()["token"], created.json()["id"]
    bearer = {"Authorization": f"Bearer {token}"}

    assert client.get("/api/projects", headers=bearer).status_code == 200
    assert client.post("/api/projects", json={"name": "p"}, headers=bearer).status_code == 403
    listed = client.get("/api/tokens", headers=auth_headers[Role.ADMIN]).json()
    assert token_id in [t["id"] for t in listed]
    assert all("token" not in t for t in listed), "the plain token is never shown again"

    assert (
        client.delete(f"/api/tokens/{token_id}", headers=auth_headers[Role.ADMIN]).status_code
        == 204
    )
    assert client.get("/api/projects", headers=bearer).status_code == 401
    revoked = [
        t
        for t in client.get("/api/tokens", headers=auth_headers[Role.ADMIN]).json()
        if t["id"] == token_id
    ]
    assert revoked[0]["revokedAt"] is not None


def test_tokens_are_stored_only_as_hashes(tokens: dict[Role, str], db_session: Session) -> None:
    rows = db_session.scalars(select(ApiToken)).all()

    assert len(rows) == len(Role)
    stored = {value for row in rows for value in (row.token_hash, row.prefix, row.name)}
    for token in tokens.values():
        assert token not in stored
        assert not any(token in value for value in stored)


def test_no_auth_acts_as_admin_on_loopback(settings: CentralSettings) -> None:
    open_settings = CentralSettings(**{**settings.model_dump(), "no_auth": True})

    with TestClient(create_app(open_settings)) as client:
        created = client.post("/api/projects", json={"name": "p"})
        deleted = client.delete(f"/api/projects/{created.json()['id']}")

    assert created.status_code == 201
    assert deleted.status_code == 204


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.org"])
def test_no_auth_is_refused_off_loopback(host: str) -> None:
    with pytest.raises(ValidationError, match="loopback"):
        CentralSettings(host=host, no_auth=True)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_no_auth_is_accepted_on_loopback(host: str) -> None:
    assert CentralSettings(host=host, no_auth=True).no_auth
