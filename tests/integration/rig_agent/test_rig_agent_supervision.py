"""The supervisor: a worker thread that dies ends the daemon with a failure, never silently."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from protocol import Topics
from rig_agent.config import parse_config
from rig_agent.daemon import EXIT_FAILURE, Daemon
from rig_agent.records import RecordBuilder

pytestmark = pytest.mark.network


def test_a_dead_spool_writer_stops_the_daemon_with_a_failure(
    mqtt_broker: Any,
    topic_prefix: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken_build(self: RecordBuilder, capture: Any) -> Any:
        raise RuntimeError("bug in record building")

    monkeypatch.setattr(RecordBuilder, "build", broken_build)
    config = parse_config(
        {
            "rig_id": "rig-supervised",
            "mqtt": {"url": mqtt_broker.url, "topic_prefix": topic_prefix},
            "spool": {"path": str(tmp_path / "spool.db")},
            "channels": [{"name": "det", "source": "simulated", "rate_hz": 100}],
        }
    )
    daemon = Daemon(config)
    result: list[int] = []
    runner = threading.Thread(target=lambda: result.append(daemon.run()), daemon=True)
    runner.start()
    runner.join(15)
    assert not runner.is_alive(), "the daemon kept running with a dead writer"
    assert result == [EXIT_FAILURE]
    assert "the spool writer thread died: RuntimeError('bug in record building')" in caplog.text
    clear_retained(mqtt_broker, Topics(topic_prefix).status("rig-supervised"))


def clear_retained(broker: Any, topic: str) -> None:
    """Delete the retained status this test left on the shared broker."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.connect(broker.host, broker.port)
    client.loop_start()
    client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def test_an_unusable_tls_file_is_a_clear_failure(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    not_a_certificate = tmp_path / "ca.pem"
    not_a_certificate.write_text("this is not PEM\n")
    config = parse_config(
        {
            "rig_id": "rig-tls",
            "mqtt": {"url": "mqtts://127.0.0.1:1", "ca_file": str(not_a_certificate)},
            "spool": {"path": str(tmp_path / "spool.db")},
            "channels": [{"name": "det", "source": "simulated"}],
        }
    )
    assert Daemon(config).run() == EXIT_FAILURE
    assert "cannot set up the MQTT client" in caplog.text
