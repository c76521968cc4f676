"""The MQTT client's small parts: errors, states, received messages, backoff, reason codes."""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum

from paho.mqtt.reasoncodes import ReasonCode

__all__ = [
    "Backoff",
    "ConnectionState",
    "InboundMessage",
    "MqttError",
    "MqttNotConnected",
    "is_failure",
    "is_unsupported_version",
]


class MqttError(RuntimeError):
    """The broker refused an operation (publish, subscribe) or the client is closed."""


class MqttNotConnected(MqttError):
    """No connection to the broker when one was needed right away."""


class ConnectionState(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A message as received; hand it back to :meth:`~central.ingest.client.MqttClient.ack` once it is stored."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    mid: int
    connection: int
    """Which connection it arrived on: an ack for an older connection is not sent (see ack)."""
    received_ns: int
    """``time.monotonic_ns()`` on arrival, for latency accounting."""


@dataclass(slots=True)
class Backoff:
    """Capped exponential backoff with full jitter."""

    initial_s: float
    cap_s: float
    _attempt: int = 0

    def next_delay(self) -> float:
        ceiling = min(self.cap_s, self.initial_s * (2**self._attempt))
        self._attempt = min(self._attempt + 1, 30)
        return random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self._attempt = 0


def is_failure(reason: ReasonCode) -> bool:
    return bool(reason.is_failure)


_UNSUPPORTED_PROTOCOL_VERSION = 0x84


def is_unsupported_version(reason: ReasonCode) -> bool:
    """paho 2 reports a 3.1.1 CONNACK return code 1 as this MQTT 5 reason code too."""
    return reason.value == _UNSUPPORTED_PROTOCOL_VERSION
