"""GET /health and the OpenAPI page (reachable without a token, honest about the database), and
the last-resort error mapping of the app."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from central.app import create_app
from central.config import CentralSettings
from central.db.migrate import DatabaseNotMigrated
from central.db.models import Rig


def test_health_reports_database_and_broker_without_a_token(client: TestClient) -> None:
    response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "not running"}


def test_health_shows_the_broker_state_ingest_reports(client: TestClient) -> None:
    client.app.state.broker_state = "connected"  # type: ignore[attr-defined]

    assert client.get("/health").json()["broker"] == "connected"


def test_health_is_503_when_the_database_is_gone(client: TestClient) -> None:
    # Point the running app at a database that cannot be opened.
    broken = create_engine("sqlite:////nonexistent-dir/x.sqlite3")
    client.app.state.session_factory.configure(bind=broken)  # type: ignore[attr-defined]

    response = client.get("/health")

    assert response.status_code == 503
    assert response.json()["database"] == "error"
    assert response.json()["status"] == "degraded"


def test_openapi_docs_are_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/projects" in paths and "/health" in paths


def test_a_fresh_data_dir_gets_a_migrated_sqlite_database(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("CENTRAL_DATABASE_URL", raising=False)
    settings = CentralSettings(data_dir=tmp_path / "fresh", ingest_enabled=False, no_auth=True)

    with TestClient(create_app(settings)) as client:
        created = client.post("/api/projects", json={"name": "first"})

    assert created.status_code == 201
    assert (tmp_path / "fresh" / "central.sqlite3").is_file()


def test_a_value_past_the_database_range_is_a_422_not_a_500(client: TestClient) -> None:
    def overflowing() -> None:
        raise OverflowError("Python int too large to convert to SQLite INTEGER")

    client.app.add_api_route("/overflow", overflowing)  # type: ignore[attr-defined]

    response = client.get("/overflow")

    assert response.status_code == 422
    assert "too large" in response.json()["detail"][0]["msg"]


def test_a_postgres_database_behind_the_code_stops_the_server_starting(
    blank_database_url: str, tmp_path, monkeypatch
) -> None:
    if blank_database_url.startswith("sqlite"):
        pytest.skip("an embedded SQLite file is migrated on start instead")
    monkeypatch.delenv("CENTRAL_DATABASE_URL", raising=False)
    settings = CentralSettings(
        database_url=blank_database_url, data_dir=tmp_path, ingest_enabled=False
    )

    with pytest.raises(DatabaseNotMigrated, match="db upgrade"), TestClient(create_app(settings)):
        pass


def test_a_constraint_a_service_did_not_foresee_is_a_409_naming_it(
    client: TestClient, db_session: Session
) -> None:
    def duplicate_rig() -> None:
        # Two inserts of one primary key: what a lost race between two requests looks like.
        for _ in range(2):
            db_session.add(Rig(id="rig-1"))
            db_session.flush()

    client.app.add_api_route("/race", duplicate_rig)  # type: ignore[attr-defined]

    response = client.get("/race")

    assert response.status_code == 409
    assert "rigs" in response.json()["detail"]
