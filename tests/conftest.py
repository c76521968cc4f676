"""Fixtures shared by every test: a real MQTT broker, a topic prefix and a database per test.

Mosquitto on 127.0.0.1:1883 is used when it answers, else the embedded amqtt broker; PostgreSQL on
127.0.0.1:5432 when it answers (each test gets its own database), and SQLite always. Nothing here
mocks a broker or a database.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

MOSQUITTO = ("127.0.0.1", 1883)
POSTGRES = ("127.0.0.1", 5432)


def _answers(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=0.5):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class BrokerEndpoint:
    host: str
    port: int
    kind: str
    """``mosquitto`` or ``embedded``: tests of QoS 1 resend after reconnect need Mosquitto."""

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"


@pytest.fixture(scope="session")
def mqtt_broker() -> Iterator[BrokerEndpoint]:
    """A running MQTT broker on loopback (``VRU_TEST_BROKER=embedded`` forces the embedded one)."""
    if os.environ.get("VRU_TEST_BROKER") != "embedded" and _answers(MOSQUITTO):
        yield BrokerEndpoint(*MOSQUITTO, kind="mosquitto")
        return
    from central.ingest.broker import ThreadedBroker

    broker = ThreadedBroker().start()
    try:
        yield BrokerEndpoint(broker.broker.host, broker.broker.port, kind="embedded")
    finally:
        broker.stop()


@pytest.fixture
def topic_prefix() -> str:
    """A prefix of its own for each test, so tests can share one broker."""
    return f"test/{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    return os.environ.get("VRU_TEST_POSTGRES") != "off" and _answers(POSTGRES)
