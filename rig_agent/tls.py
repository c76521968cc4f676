"""TLS towards the broker: the rig's client context, and why a broker refuses it.

Under TLS 1.3 the client's side of the handshake ends before the broker checks the client
certificate, and paho sends CONNECT at once: the broker closes a socket with unread data, and the
reset often destroys its alert before paho reads it (a bare "EOF occurred in violation of
protocol", two connections in three on a loaded machine). :func:`tls_refusal` asks again the one
way that reads the alert every time: a handshake that sends nothing and waits.
"""

from __future__ import annotations

import socket
import ssl

from protocol import describe_tls_error
from rig_agent.config import MqttConfig

__all__ = ["tls_context", "tls_refusal"]


def tls_context(mqtt_config: MqttConfig) -> ssl.SSLContext:
    """Trust ``ca_file`` (the system's CAs without one); present ``cert_file``/``key_file``.

    :raises OSError: a file does not load (``ssl.SSLError`` is one).
    """
    ca_file = mqtt_config.ca_file
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    if mqtt_config.cert_file is not None:
        key_file = mqtt_config.key_file
        context.load_cert_chain(str(mqtt_config.cert_file), str(key_file) if key_file else None)
    return context


def tls_refusal(mqtt_config: MqttConfig, timeout_s: float = 3.0) -> str | None:
    """Why the broker refuses this rig's TLS connection, in words; None when it does not (or
    when the reason is no TLS one)."""
    host, port = mqtt_config.address.host, mqtt_config.address.port
    try:
        context = tls_context(mqtt_config)
        with (
            socket.create_connection((host, port), timeout=timeout_s) as raw,
            context.wrap_socket(raw, server_hostname=host) as connection,
        ):
            connection.recv(1)
    except OSError as exc:  # ssl.SSLError and socket timeouts are OSErrors
        return describe_tls_error(exc)
    return None
