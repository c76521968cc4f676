"""The broker's side of central's persistent MQTT sessions."""

from __future__ import annotations

from central.ingest.client import MqttClient

__all__ = ["discard_session"]


async def discard_session(
    url: str, client_id: str, *, protocol: str = "auto", timeout_s: float = 10.0
) -> None:
    """Drop the persistent session of ``client_id`` and whatever the broker queued for it.

    For a central taken out of service (or a test done with its prefix): connecting with a clean
    start and no session expiry makes the broker forget the old session.
    """
    client = MqttClient(url, client_id, protocol=protocol, persistent=False)
    try:
        await client.start(wait_connected_s=timeout_s)
    finally:
        await client.close()
