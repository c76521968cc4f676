"""Ingest tests: the app with MQTT ingest on, against the real broker, under this test's own
topic prefix; a real paho client plays the rig."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import func, select

from central.config import CentralSettings
from central.services.ingest import central_client_id
from protocol import (
    DetectionPayload,
    DetectionRecord,
    LatencyRecord,
    RigStatus,
    SyncRecord,
    Topics,
    assemble_batch,
    encode,
    encode_record,
)


def end_mqtt_session(broker: Any, client_id: str) -> None:
    """Remove a persistent session a test left on the shared broker."""
    mqtt5 = broker.kind == "mosquitto"
    client = paho.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=paho.MQTTv5 if mqtt5 else paho.MQTTv311,
        clean_session=None if mqtt5 else True,
    )
    if mqtt5:
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 0
        client.connect(broker.host, broker.port, clean_start=True, properties=properties)
    else:
        client.connect(broker.host, broker.port)
    client.loop_start()
    client.disconnect()
    client.loop_stop()


@pytest.fixture
def settings(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mqtt_broker: Any,
    topic_prefix: str,
) -> Iterator[CentralSettings]:
    """Central with ingest on, on the test broker and this test's prefix."""
    for key in list(os.environ):
        if key.startswith("CENTRAL_"):
            monkeypatch.delenv(key)
    yield CentralSettings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        ingest_enabled=True,
        mqtt_url=mqtt_broker.url,
        topic_prefix=topic_prefix,
        no_auth=False,
    )
    end_mqtt_session(mqtt_broker, central_client_id(topic_prefix))


class FakeRig:
    """A rig as the wire sees it: a real MQTT client publishing status and record batches."""

    def __init__(self, broker: Any, prefix: str, rig_id: str = "rig-1", stream: str = "s-1"):
        self.topics = Topics(prefix)
        self.rig_id = rig_id
        self.stream = stream
        mqtt5 = broker.kind == "mosquitto"
        self.client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"fake-{rig_id}-{os.getpid()}-{time.monotonic_ns()}",
            protocol=paho.MQTTv5 if mqtt5 else paho.MQTTv311,
        )
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes) -> None:
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout=5)
        assert info.is_published(), f"broker did not take the message on {topic}"

    def status(self, state: str = "online", **fields: Any) -> None:
        status = RigStatus(rig_id=self.rig_id, state=state, **fields)
        self.publish(self.topics.status(self.rig_id), encode(status))

    def batch(self, seqs: range | list[int], session_id: str | None = None, kind: str = "detection",
              stream: str | None = None) -> bytes:
        records = [encode_record(make_record(seq, session_id, kind)) for seq in seqs]
        return assemble_batch(self.rig_id, stream or self.stream, records)

    def records(self, seqs: range | list[int], **kwargs: Any) -> None:
        self.publish(self.topics.records(self.rig_id), self.batch(seqs, **kwargs))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def make_record(seq: int, session_id: str | None = None, kind: str = "detection") -> Any:
    common: dict[str, Any] = {
        "seq": seq,
        "session_id": session_id,
        "channel": "det",
        "source": "simulated",
        "t_mono_ns": 1_000_000_000 + seq * 1_000_000,
        "t_wall_ns": time.time_ns(),
        "clock": "user_monotonic",
        "t_video_ms": seq * 1.0,
    }
    payload = DetectionPayload(
        vru_type="pedestrian", bbox=(10, 20, 30, 40), confidence=0.9, frame=seq, raw_hex="01"
    )
    if kind == "latency":
        return LatencyRecord(
            **common, payload=payload, stimulus_channel="stim",
            stimulus_t_mono_ns=common["t_mono_ns"] - 42_000_000, latency_ms=42.0,
        )
    if kind == "sync":
        return SyncRecord(**common)
    return DetectionRecord(**common, payload=payload)


@pytest.fixture
def rig(client: Any, mqtt_broker: Any, topic_prefix: str) -> Iterator[FakeRig]:
    """A fake rig on the test's prefix; ``client`` first, so central is subscribed already."""
    fake = FakeRig(mqtt_broker, topic_prefix)
    yield fake
    fake.close()


def _wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
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
    return _wait_until


@pytest.fixture
def count_rows(client: Any) -> Callable[..., int]:
    """Rows of a model now (a fresh session each time, so no stale snapshot)."""

    def count(model: Any, *where: Any) -> int:
        with client.app.state.session_factory() as session:
            return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    return count
