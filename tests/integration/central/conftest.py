"""Fixtures of the central server's integration tests: a real, migrated database of its own for
every test, the app on it, a client, a token per role and factories.

- ``database_url`` runs each test twice: on SQLite (a copy of a template file migrated once per
  test run) and on PostgreSQL when 127.0.0.1:5432 answers (a schema of its own, made by the
  migrations' SQL, in a database of the test run; dropped after the test). ``blank_database_url``
  is the same without the migrations, for tests of the migrations themselves.
- ``settings`` has MQTT ingest off (``ingest_enabled=False``): API tests need no broker. Folders
  that need ingest override ``settings`` with ``ingest_settings`` (the test broker, the test's own
  topic prefix; central's persistent MQTT session is discarded afterwards). A test that needs
  other settings builds its own from ``settings.model_dump()``.
- ``live_server`` runs the app under a real uvicorn server on a free loopback port, for
  Socket.IO and HTTP clients; ``wait_until`` polls for what arrives asynchronously.
- ``client`` is entered as a context manager, so the app's lifespan (database, ingest) runs.
- ``tokens[Role.X]`` is a real token made by the token service; ``auth_headers[Role.X]`` the header.
"""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import uvicorn
from alembic import command
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from central.app import create_app
from central.auth import Role
from central.config import CentralSettings
from central.db.engine import make_engine, session_factory
from central.db.migrate import alembic_config, upgrade
from central.db.models import Video
from central.ingest.broker import free_port
from central.ingest.ingestor import central_client_id
from central.ingest.mqtt_sessions import discard_session
from central.services.tokens import create_token

POSTGRES_USER = "postgres"
POSTGRES_HOST = "127.0.0.1"
POSTGRES_PORT = 5432


def postgres_url(database: str, schema: str | None = None) -> str:
    """A URL of ``database``; with ``schema``, every connection works inside that schema."""
    url = f"postgresql+psycopg://{POSTGRES_USER}@{POSTGRES_HOST}:{POSTGRES_PORT}/{database}"
    return f"{url}?options=-csearch_path%3D{schema}" if schema else url


def _postgres_execute(database: str, sql: str) -> None:
    with psycopg.connect(
        host=POSTGRES_HOST,
        port=POSTGRES_PORT,
        user=POSTGRES_USER,
        dbname=database,
        autocommit=True,
    ) as connection:
        connection.execute(sql)  # type: ignore[arg-type]


def _migrations_sql() -> str:
    """The migrations as one SQL script for PostgreSQL (Alembic's offline mode)."""
    config = alembic_config(postgres_url("offline"))
    config.output_buffer = io.StringIO()
    command.upgrade(config, "head", sql=True)
    return config.output_buffer.getvalue()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "central.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _postgres_database(postgres_available: bool) -> Iterator[str]:
    """A database of this test run's own; each test works in a schema of it.

    A schema per test costs about a tenth of a second, a database cloned from a template about
    five times that (CREATE and DROP DATABASE each force a checkpoint).
    """
    if not postgres_available:
        pytest.skip("PostgreSQL does not answer on 127.0.0.1:5432")
    name = f"vru_test_{uuid.uuid4().hex[:16]}"
    _postgres_execute("postgres", f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        _postgres_execute("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def _postgres_migrations_sql(_postgres_database: str) -> str:
    return _migrations_sql()


@contextmanager
def _postgres_schema(database: str, sql: str = "") -> Iterator[str]:
    """A fresh schema in ``database`` with ``sql`` run inside it; yields its URL; dropped after."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    _postgres_execute(database, f'CREATE SCHEMA "{schema}"; SET search_path TO "{schema}"; {sql}')
    try:
        yield postgres_url(database, schema)
    finally:
        _postgres_execute(database, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


_DIALECTS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@contextmanager
def migrated_database(
    request: pytest.FixtureRequest, tmp_path: Path, dialect: str
) -> Iterator[str]:
    """A migrated database of the test's own: a SQLite file, or a PostgreSQL schema."""
    if dialect == "sqlite":
        path = tmp_path / "central.sqlite3"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    database = request.getfixturevalue("_postgres_database")
    with _postgres_schema(database, request.getfixturevalue("_postgres_migrations_sql")) as url:
        yield url


@pytest.fixture(params=_DIALECTS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database of this test's own: a SQLite file, and a PostgreSQL schema."""
    with migrated_database(request, tmp_path, request.param) as url:
        yield url


@pytest.fixture(params=_DIALECTS)
def blank_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (no tables) of this test's own, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'blank.sqlite3'}"
        return
    with _postgres_schema(request.getfixturevalue("_postgres_database")) as url:
        yield url


@pytest.fixture
def central_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own CENTRAL_* variables must not leak into tests."""
    for key in list(os.environ):
        if key.startswith("CENTRAL_"):
            monkeypatch.delenv(key)


@pytest.fixture
def settings(database_url: str, tmp_path: Path, central_env: None) -> CentralSettings:
    return CentralSettings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        ingest_enabled=False,
        no_auth=False,
    )


@pytest.fixture
def ingest_settings(
    database_url: str, tmp_path: Path, central_env: None, mqtt_broker: Any, topic_prefix: str
) -> Iterator[CentralSettings]:
    """Central with ingest on, on the test broker and this test's prefix.

    Central keeps a persistent MQTT session; it is discarded after the test so none is left on
    the shared broker.
    """
    settings = CentralSettings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        ingest_enabled=True,
        mqtt_url=mqtt_broker.url,
        topic_prefix=topic_prefix,
        no_auth=False,
    )
    yield settings
    protocol = "auto" if mqtt_broker.kind == "mosquitto" else "3.1.1"
    client_id = central_client_id(topic_prefix, settings.instance_id)
    asyncio.run(discard_session(mqtt_broker.url, client_id, protocol=protocol))


def poll_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    """Poll ``predicate`` until it returns something true; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.02)


@pytest.fixture
def wait_until() -> Callable[..., Any]:
    return poll_until


@pytest.fixture
def app(settings: CentralSettings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def db_session(client: TestClient) -> Iterator[Session]:
    """A session on the running app's database, for arranging rows and checking what was stored."""
    app: Any = client.app
    with app.state.session_factory() as session:
        yield session


@pytest.fixture
def tokens(db_session: Session) -> dict[Role, str]:
    """A live token for each role, made by the real token service."""
    return {role: create_token(db_session, role, f"test {role.value}")[1] for role in Role}


@pytest.fixture
def auth_headers(tokens: dict[Role, str]) -> dict[Role, dict[str, str]]:
    return {role: {"Authorization": f"Bearer {token}"} for role, token in tokens.items()}


@pytest.fixture
def viewer(auth_headers: dict[Role, dict[str, str]]) -> dict[str, str]:
    return auth_headers[Role.VIEWER]


@pytest.fixture
def annotator(auth_headers: dict[Role, dict[str, str]]) -> dict[str, str]:
    return auth_headers[Role.ANNOTATOR]


@pytest.fixture
def operator(auth_headers: dict[Role, dict[str, str]]) -> dict[str, str]:
    return auth_headers[Role.OPERATOR]


@pytest.fixture
def make_project(
    client: TestClient, auth_headers: dict[Role, dict[str, str]]
) -> Callable[..., dict[str, Any]]:
    """Create a project through the API (as operator); returns its JSON."""
    counter = iter(range(1, 1_000_000))

    def make(**fields: Any) -> dict[str, Any]:
        body = {"name": f"project {next(counter)}", **fields}
        response = client.post("/api/projects", json=body, headers=auth_headers[Role.OPERATOR])
        assert response.status_code == 201, response.text
        project: dict[str, Any] = response.json()
        return project

    return make


@pytest.fixture
def make_video(db_session: Session) -> Callable[..., Video]:
    """Insert a video row directly (no file on disk): for tests that only need a video to refer
    to. ``project_id=None`` puts it in the ground-truth library."""
    counter = iter(range(1, 1_000_000))

    def make(project_id: str | None = None, **fields: Any) -> Video:
        number = next(counter)
        values: dict[str, Any] = {
            "project_id": project_id,
            "filename": f"clip {number}.mp4",
            "stored_name": f"{uuid.uuid4().hex}.mp4",
            "size_bytes": 1000,
            "content_type": "video/mp4",
            "duration_s": 10.0,
            "fps": 30.0,
            "frame_count": 300,
            "width": 1280,
            "height": 720,
            "codec": "h264",
            "status": "ready",
            **fields,
        }
        video = Video(**values)
        db_session.add(video)
        db_session.commit()
        return video

    return make


@pytest.fixture
def make_test_session(
    client: TestClient,
    auth_headers: dict[Role, dict[str, str]],
    make_project: Callable[..., dict[str, Any]],
    make_video: Callable[..., Video],
) -> Callable[..., dict[str, Any]]:
    """Create a test session through the API (as operator), making a project and a video unless
    given; returns its JSON."""

    def make(**fields: Any) -> dict[str, Any]:
        project_id = fields.pop("projectId", None) or make_project()["id"]
        video_id = fields.pop("videoId", None) or make_video(project_id).id
        body = {"name": "run", "projectId": project_id, "videoId": video_id, "rigId": "rig-1"}
        response = client.post(
            "/api/test-sessions", json={**body, **fields}, headers=auth_headers[Role.OPERATOR]
        )
        assert response.status_code == 201, response.text
        session: dict[str, Any] = response.json()
        return session

    return make


@pytest.fixture
def role_tokens(settings: CentralSettings) -> dict[Role, str]:
    """A token per role, made in the database before the server runs."""
    engine = make_engine(settings.database_url)
    try:
        with session_factory(engine)() as session:
            return {role: create_token(session, role, role.value)[1] for role in Role}
    finally:
        engine.dispose()


@dataclass
class LiveServer:
    app: FastAPI
    url: str
    loop: asyncio.AbstractEventLoop
    tokens: dict[Role, str]

    def headers(self, role: Role = Role.ADMIN) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def call(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coroutine`` on the server's event loop (where Socket.IO lives)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)


@contextmanager
def serving(app: FastAPI, port: int) -> Iterator[asyncio.AbstractEventLoop]:
    """``app`` under uvicorn on 127.0.0.1:``port``, on its own thread and event loop (yielded)."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),))
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield loop
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        loop.close()


@pytest.fixture
def live_server(settings: CentralSettings, role_tokens: dict[Role, str]) -> Iterator[LiveServer]:
    """The app under uvicorn on its own thread and event loop, started and stopped per test."""
    app = create_app(settings)
    port = free_port()
    with serving(app, port) as loop:
        yield LiveServer(app, f"http://127.0.0.1:{port}", loop, role_tokens)
