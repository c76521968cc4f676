"""Without an MQTT URL, central runs its own broker (amqtt): a port already taken is no crash,
and the URL it really listens on is there for a rig agent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from central.app import create_app
from central.config import CentralSettings
from central.db.models import DetectionEvent
from protocol import (
    BrokerAddress,
    DetectionPayload,
    DetectionRecord,
    RigStatus,
    Topics,
    assemble_batch,
    encode,
    encode_record,
)


@pytest.fixture
def embedded_settings(database_url: str, tmp_path: Path, central_env: None) -> CentralSettings:
    """Ingest on, no broker URL: central starts its own."""
    return CentralSettings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        ingest_enabled=True,
        mqtt_url=None,
    )


def test_central_brings_its_own_broker_and_ingests_through_it(
    embedded_settings: CentralSettings, wait_until: Callable[..., Any]
) -> None:
    with TestClient(create_app(embedded_settings)) as client:
        state: Any = client.app.state
        address = BrokerAddress.from_url(state.mqtt_url)
        assert address.host == "127.0.0.1"
        broker = client.get("/health").json()["broker"]
        assert broker.startswith("connected") and "MQTT 3.1.1" in broker

        rig = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        rig.connect(address.host, address.port)
        rig.loop_start()
        topics = Topics(embedded_settings.topic_prefix)
        status = encode(RigStatus(rig_id="rig-1", state="online"))
        rig.publish(topics.status("rig-1"), status, qos=1).wait_for_publish(5)
        records = [
            encode_record(
                DetectionRecord(
                    seq=seq,
                    channel="d",
                    source="gpio",
                    t_mono_ns=seq,
                    t_wall_ns=seq,
                    clock="kernel_monotonic",
                    payload=DetectionPayload(raw_hex=""),
                )
            )
            for seq in range(10)
        ]
        batch = assemble_batch("rig-1", "s-1", records)
        rig.publish(topics.records("rig-1"), batch, qos=1).wait_for_publish(5)

        def stored() -> int:
            with state.session_factory() as session:
                return int(session.scalar(select(func.count()).select_from(DetectionEvent)) or 0)

        wait_until(lambda: stored() == 10, what="the records through the embedded broker")
        rig.loop_stop()
        rig.disconnect()
