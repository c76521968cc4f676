"""TLS towards the broker: central's client context, and the refusals paho only logs.

A broker that refuses central's client certificate (missing, expired, from another CA) closes
the connection after the handshake; paho reports no error for it, it only logs the TLS alert it
read. :func:`watch_tls_errors` turns that log line into a sentence saying what to change.

Under TLS 1.3 the client's side of the handshake ends before the broker checks the client
certificate, and paho sends CONNECT at once: the broker closes a socket with unread data, and
the reset often destroys its alert before it is read (a bare "EOF occurred in violation of
protocol", two connections in three here). :func:`tls_refusal` asks again the one way that
reads the alert every time: a handshake that sends nothing and waits.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho

from protocol import BrokerAddress, describe_tls_error

__all__ = ["closed_before_connack", "tls_context", "tls_refusal", "watch_tls_errors"]

logger = logging.getLogger(__name__)


def tls_context(
    ca_file: Path | None, cert_file: Path | None, key_file: Path | None
) -> ssl.SSLContext:
    """A client context trusting ``ca_file`` (the system's CAs without one), presenting
    ``cert_file``/``key_file`` to a broker that requires a client certificate.

    :raises OSError: a file does not load (``ssl.SSLError`` is one).
    """
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    if cert_file is not None:
        context.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
    return context


def watch_tls_errors(client: paho.Client, url: str, report: Callable[[str], None]) -> None:
    """Call ``report`` (on paho's thread) with each TLS refusal paho logs, in words."""

    def on_log(_client: paho.Client, _userdata: Any, level: int, message: str) -> None:
        if level == paho.MQTT_LOG_ERR and (described := describe_tls_error(message)) is not None:
            logger.error("MQTT broker %s: %s", url, described)
            report(described)

    client.on_log = on_log


async def tls_refusal(
    host: str, port: int, context: ssl.SSLContext, timeout_s: float = 3.0
) -> str | None:
    """Why the broker at ``host:port`` refuses a TLS connection, in words; None when it does not
    (or when the reason is no TLS one)."""
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(
                host, port, ssl=context, server_hostname=host
            )
            try:
                await reader.read(1)
            finally:
                writer.close()
    except (OSError, TimeoutError) as exc:  # ssl.SSLError is an OSError
        return describe_tls_error(exc)
    return None


async def closed_before_connack(
    address: BrokerAddress, context: ssl.SSLContext | None, said: str | None
) -> str:
    """Why the broker closed a connection before its CONNACK, in words; ``said`` is what paho
    reported on it, if anything."""
    if said is not None and said.startswith("TLS:"):
        return said
    if address.tls:
        refusal = await tls_refusal(
            address.host, address.port, context or ssl.create_default_context()
        )
        if refusal is not None:
            return refusal
    return "the broker closed the connection before answering CONNECT"
