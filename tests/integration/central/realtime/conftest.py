"""Socket.IO tests: the real app under a real uvicorn server on a free loopback port
(``live_server``), with auth on and MQTT ingest on the test broker; clients are real
python-socketio AsyncClients."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from central.config import CentralSettings
from tests.integration.central.conftest import LiveServer


@pytest.fixture
def settings(ingest_settings: CentralSettings) -> CentralSettings:
    return ingest_settings


@pytest.fixture
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, headers=live_server.headers()) as client:
        yield client
