"""A browser's WebSocket upgrade carries ``Origin``: central's own page (same scheme, host and
port) and the configured ``cors_origins`` get through, any other origin is refused and logged.

Real python-socketio clients over ``transports=["websocket"]`` against a live server (issue #11:
the server's own origin used to get 403 on the upgrade).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit

import pytest
import socketio

from central.auth import Role


async def _connect(server: Any, origin: str) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(
        server.url,
        auth={"token": server.tokens[Role.VIEWER]},
        headers={"Origin": origin},
        transports=["websocket"],
        wait_timeout=5,
    )
    return client


def test_the_servers_own_origin_and_configured_origins_may_connect(live_server: Any) -> None:
    configured = live_server.app.state.settings.cors_origins[0]

    async def scenario() -> None:
        for origin in (live_server.url, live_server.url.upper(), configured):
            client = await _connect(live_server, origin)
            reply = await client.call("join_dashboard", {}, timeout=5)
            assert client.connected and reply["ok"], origin
            await client.disconnect()

    asyncio.run(scenario())


def test_other_origins_are_refused_with_a_log_line_naming_them(
    live_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    port = urlsplit(live_server.url).port
    # Same host name spelt differently, another port, another scheme, another site.
    refused = (
        f"http://localhost:{port}",
        f"http://127.0.0.1:{port + 1 if port < 65535 else port - 1}",
        f"https://127.0.0.1:{port}",
        "http://evil.example",
    )

    async def scenario() -> None:
        for origin in refused:
            with pytest.raises(socketio.exceptions.ConnectionError):
                await _connect(live_server, origin)

    with caplog.at_level(logging.WARNING, logger="central.realtime.origins"):
        asyncio.run(scenario())
    logged = [r.getMessage() for r in caplog.records if r.name == "central.realtime.origins"]
    for origin in refused:
        assert any(f"origin {origin} is neither" in line for line in logged), (origin, logged)
    assert all(f"(http://127.0.0.1:{port})" in line for line in logged)
