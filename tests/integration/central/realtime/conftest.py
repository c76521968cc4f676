"""Socket.IO tests: the real app under a real uvicorn server on a free loopback port, with auth
on and MQTT ingest on the test broker; clients are real python-socketio AsyncClients."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from central.app import create_app
from central.auth import Role
from central.broker import free_port
from central.config import CentralSettings
from central.db.engine import make_engine, session_factory
from central.services.ingest import central_client_id
from central.services.mqtt_client import discard_session
from central.services.tokens import create_token


@pytest.fixture
def settings(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mqtt_broker: Any,
    topic_prefix: str,
) -> CentralSettings:
    for key in list(os.environ):
        if key.startswith("CENTRAL_"):
            monkeypatch.delenv(key)
    return CentralSettings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        ingest_enabled=True,
        mqtt_url=mqtt_broker.url,
        topic_prefix=topic_prefix,
        no_auth=False,
    )


@pytest.fixture
def role_tokens(settings: CentralSettings) -> dict[Role, str]:
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


@pytest.fixture
def live_server(
    settings: CentralSettings, role_tokens: dict[Role, str], mqtt_broker: Any
) -> Iterator[LiveServer]:
    """The app under uvicorn on its own thread and event loop, started and stopped per test."""
    app = create_app(settings)
    port = free_port()
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
        yield LiveServer(app, f"http://127.0.0.1:{port}", loop, role_tokens)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        loop.close()
        protocol = "auto" if mqtt_broker.kind == "mosquitto" else "3.1.1"
        client_id = central_client_id(settings.topic_prefix)
        asyncio.run(discard_session(mqtt_broker.url, client_id, protocol=protocol))


@pytest.fixture
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, headers=live_server.headers()) as client:
        yield client
