"""``rig-central``: settings from flags and environment, ``db upgrade``/``check``, ``token ...``,
and ``serve`` for real."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from central.app import create_app
from central.cli.main import main
from central.config import CentralSettings
from central.db.migrate import current_revision, head_revision
from central.ingest.broker import free_port

pytestmark = pytest.mark.usefixtures("_clean_environment")


@pytest.fixture
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("CENTRAL_"):
            monkeypatch.delenv(key)


def _last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def test_defaults_are_loopback_and_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = CentralSettings(data_dir=tmp_path)

    assert (settings.host, settings.port, settings.no_auth) == ("127.0.0.1", 8000, False)
    assert settings.database_url == f"sqlite:///{tmp_path.resolve()}/central.sqlite3"


def test_every_setting_also_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CENTRAL_HOST", "::1")
    monkeypatch.setenv("CENTRAL_PORT", "9001")
    monkeypatch.setenv("CENTRAL_DATABASE_URL", "postgresql://ops@db.example/central")
    monkeypatch.setenv("CENTRAL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CENTRAL_MQTT_URL", "mqtt://127.0.0.1:1883")
    monkeypatch.setenv("CENTRAL_NO_AUTH", "true")

    settings = CentralSettings()

    assert (settings.host, settings.port, settings.data_dir) == ("::1", 9001, tmp_path)
    assert settings.database_url == "postgresql+psycopg://ops@db.example/central"
    assert settings.mqtt_url == "mqtt://127.0.0.1:1883"
    assert settings.no_auth is True


def test_serve_refuses_no_auth_off_loopback(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["serve", "--host", "0.0.0.0", "--no-auth"])

    assert code == 2
    assert "loopback" in capsys.readouterr().err


def test_serve_refuses_a_lease_renewed_less_often_than_twice_per_lease(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CENTRAL_SESSION_LEASE_S", "4")
    monkeypatch.setenv("CENTRAL_SESSION_RENEW_S", "3")
    code = main(["serve", "--host", "127.0.0.1"])

    assert code == 2
    assert "session_renew_s (3) must be at most half of session_lease_s (4)" in (
        capsys.readouterr().err
    )


def test_db_upgrade_then_check_on_a_blank_database(
    blank_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert current_revision(blank_database_url) is None

    assert main(["db", "upgrade", "--database-url", blank_database_url]) == 0
    assert main(["db", "upgrade", "--database-url", blank_database_url]) == 0, "safe to repeat"
    assert main(["db", "check", "--database-url", blank_database_url]) == 0

    assert current_revision(blank_database_url) == head_revision()
    assert head_revision() in capsys.readouterr().out


def test_db_check_fails_on_a_database_never_migrated(blank_database_url: str) -> None:
    assert main(["db", "check", "--database-url", blank_database_url]) == 1


def test_token_create_prints_a_working_token_last(
    settings: CentralSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "token",
            "create",
            "--role",
            "operator",
            "--name",
            "ci",
            "--database-url",
            settings.database_url,
        ]
    )
    token = _last_line(capsys.readouterr().out)

    assert code == 0
    with TestClient(create_app(settings)) as client:
        bearer = {"Authorization": f"Bearer {token}"}
        assert client.post("/api/projects", json={"name": "p"}, headers=bearer).status_code == 201
        assert client.delete("/api/projects/x", headers=bearer).status_code == 403


def test_token_list_and_revoke(
    settings: CentralSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    url = ["--database-url", settings.database_url]
    main(["token", "create", "--role", "viewer", "--name", "wall screen", *url])
    token = _last_line(capsys.readouterr().out)
    main(["token", "list", *url])
    listing = capsys.readouterr().out
    token_id = listing.split()[0]

    assert "wall screen" in listing and "viewer" in listing and token not in listing
    assert main(["token", "revoke", token_id, *url]) == 0
    assert main(["token", "revoke", "no-such-id", *url]) == 2
    with TestClient(create_app(settings)) as client:
        response = client.get("/api/projects", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_token_create_refuses_an_unknown_role(tmp_path: Path) -> None:
    assert main(["token", "create", "--role", "superuser", "--data-dir", str(tmp_path)]) == 2


def test_token_create_refuses_a_postgres_database_never_migrated(
    blank_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if blank_database_url.startswith("sqlite"):
        pytest.skip("an embedded SQLite file is migrated on use")

    assert main(["token", "create", "--role", "admin", "--database-url", blank_database_url]) == 2
    assert "db upgrade" in capsys.readouterr().err


@pytest.mark.network
def test_serve_runs_a_working_server(tmp_path: Path) -> None:
    port = free_port()
    environment = {**os.environ, "CENTRAL_INGEST_ENABLED": "false"}
    command = [
        sys.executable,
        "-c",
        "import sys; from central.cli.main import main; sys.exit(main())",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(tmp_path),
    ]
    server = subprocess.Popen(command, env=environment, stderr=subprocess.PIPE, text=True)
    try:
        health = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and server.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert health is not None, server.stderr.read() if server.stderr else ""
        assert health.json()["database"] == "ok"
        assert httpx.get(f"http://127.0.0.1:{port}/api/projects").status_code == 401
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert (tmp_path / "central.sqlite3").is_file()
