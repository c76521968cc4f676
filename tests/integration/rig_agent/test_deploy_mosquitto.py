"""The shipped Mosquitto config and ACL, loaded by a real Mosquitto: each rig stays in its lane."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from rig_agent.cli import main

pytestmark = pytest.mark.network

DEPLOY = Path(__file__).parents[3] / "deploy" / "mosquitto"
USERS = {"central": "central-pw", "viewer": "viewer-pw", "rig-01": "pw-01", "rig-02": "pw-02"}


def shipped_config() -> str:
    """deploy/mosquitto/mosquitto.conf with this test's port and paths, without the TLS listener."""
    text = (DEPLOY / "mosquitto.conf").read_text().split("\nlistener 8883")[0]
    return (
        text.replace("listener 1883 127.0.0.1", "listener {port} 127.0.0.1")
        .replace("/var/lib/mosquitto/", "{dir}/")
        .replace("/etc/mosquitto/vru.passwd", "{dir}/passwd")
        .replace("/etc/mosquitto/vru.acl", str(DEPLOY / "acl"))
        .replace("log_dest syslog", "log_dest none")
    )


class Client:
    def __init__(self, port: int, user: str, password: str) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.connected = threading.Event()
        self.refused: str | None = None
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"acl-test-{user}")
        self._client.username_pw_set(user, password)
        self._client.on_connect = self._on_connect
        self._client.on_message = lambda c, u, m: self.messages.append((m.topic, m.payload))
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()
        assert self.connected.wait(5)

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self.refused = str(reason) if reason.is_failure else None
        self.connected.set()

    def subscribe(self, topic: str) -> None:
        result, _ = self._client.subscribe(topic, qos=1)
        assert result == 0

    def publish(self, topic: str, payload: bytes) -> None:
        self._client.publish(topic, payload, qos=1).wait_for_publish(5)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@pytest.fixture
def broker(make_mosquitto: Any) -> Any:
    passwd = shutil.which("mosquitto_passwd")
    if passwd is None:
        pytest.skip("mosquitto_passwd not installed")
    broker = make_mosquitto(shipped_config())
    for index, (user, password) in enumerate(USERS.items()):
        create = ["-c"] if index == 0 else []
        subprocess.run(
            [passwd, *create, "-b", str(broker.directory / "passwd"), user, password],
            check=True,
            capture_output=True,
        )
    broker.start()
    return broker


@pytest.fixture
def clients(broker: Any) -> Iterator[Any]:
    made: list[Client] = []

    def make(user: str, password: str | None = None) -> Client:
        client = Client(broker.port, user, password or USERS[user])
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def settle(receiver: Client, topic: str, sender: Client) -> None:
    """Publish a marker the receiver may read and wait for it: earlier messages have arrived."""
    sender.publish(topic, b"marker")
    deadline = time.monotonic() + 5
    while (topic, b"marker") not in receiver.messages:
        assert time.monotonic() < deadline, f"marker on {topic} never arrived"
        time.sleep(0.01)


def test_a_rig_publishes_only_under_its_own_rig_id(clients: Any) -> None:
    central = clients("central")
    central.subscribe("vru/v1/rigs/+/records")
    rig = clients("rig-01")
    time.sleep(0.2)
    rig.publish("vru/v1/rigs/rig-02/records", b"forged")
    rig.publish("vru/v1/rigs/rig-01/status", b"not a record")
    settle(central, "vru/v1/rigs/rig-01/records", rig)
    assert ("vru/v1/rigs/rig-02/records", b"forged") not in central.messages
    assert [topic for topic, _ in central.messages] == ["vru/v1/rigs/rig-01/records"]


def test_a_rig_reads_only_its_own_commands(clients: Any) -> None:
    rig = clients("rig-01")
    rig.subscribe("vru/v1/rigs/+/commands")
    rig.subscribe("vru/v1/rigs/rig-02/records")
    central = clients("central")
    time.sleep(0.2)
    central.publish("vru/v1/rigs/rig-02/commands", b"for rig-02")
    clients("rig-02").publish("vru/v1/rigs/rig-02/records", b"rig-02 data")
    settle(rig, "vru/v1/rigs/rig-01/commands", central)
    assert [topic for topic, _ in rig.messages] == ["vru/v1/rigs/rig-01/commands"]


def test_wrong_password_is_refused(clients: Any) -> None:
    assert clients("rig-01", "guess").refused is not None


def test_agent_with_its_credentials_passes_check(
    broker: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "rig.toml"
    body = (
        'rig_id = "rig-01"\n[mqtt]\nurl = "mqtt://127.0.0.1:{port}"\nusername = "rig-01"\n'
        'password = "{password}"\n[spool]\npath = "{spool}"\n'
        '[[channels]]\nname = "det"\nsource = "simulated"\n'
    )
    spool = tmp_path / "spool.db"
    config.write_text(body.format(port=broker.port, password=USERS["rig-01"], spool=spool))
    assert main(["check", "--config", str(config)]) == 0
    config.write_text(body.format(port=broker.port, password="wrong", spool=spool))
    assert main(["check", "--config", str(config)]) == 1
    assert "refused the connection: Not authorized" in capsys.readouterr().out


def test_a_rig_cannot_publish_results_or_acks_and_reads_only_its_own_acks(clients: Any) -> None:
    viewer = clients("viewer")
    viewer.subscribe("vru/v1/#")
    rig = clients("rig-01")
    rig.subscribe("vru/v1/rigs/+/acks")
    central = clients("central")
    time.sleep(0.2)
    rig.publish("vru/v1/sessions/s-1/results", b"forged verdict")
    rig.publish("vru/v1/rigs/rig-01/acks", b"forged watermark")
    central.publish("vru/v1/rigs/rig-02/acks", b"for rig-02")
    settle(rig, "vru/v1/rigs/rig-01/acks", central)
    settle(viewer, "vru/v1/rigs/rig-01/status", rig)
    seen = {topic for topic, _ in viewer.messages}
    assert "vru/v1/sessions/s-1/results" not in seen, "a rig cannot publish results"
    assert (("vru/v1/rigs/rig-01/acks", b"forged watermark")) not in viewer.messages
    assert [topic for topic, _ in rig.messages] == ["vru/v1/rigs/rig-01/acks"]


def test_central_refuses_a_record_whose_payload_names_another_rig(
    broker: Any, tmp_path: Path
) -> None:
    """The ACL keeps rig-01 on its own topics; a payload claiming rig-02 is still dead-lettered."""
    import asyncio

    from sqlalchemy import func, select

    from central.db.engine import make_engine
    from central.db.migrate import upgrade
    from central.db.models import DeadLetter, DetectionEvent
    from central.ingest.ingestor import Ingestor
    from protocol import DetectionRecord, RecordBatch, RigStatus, encode

    url = f"sqlite:///{tmp_path / 'central.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    record = DetectionRecord(
        seq=0,
        channel="det",
        source="simulated",
        t_mono_ns=1,
        t_wall_ns=1,
        clock="user_monotonic",
        payload={"raw_line": "x"},
    )
    rig = Client(broker.port, "rig-01", USERS["rig-01"])

    async def scenario() -> Any:
        ingestor = Ingestor(
            engine,
            f"mqtt://central:{USERS['central']}@127.0.0.1:{broker.port}",
            "vru/v1",
            client_id="central-acl-test",
        )
        await ingestor.start(wait_connected_s=5)
        try:
            rig.publish(
                "vru/v1/rigs/rig-01/status", encode(RigStatus(rig_id="rig-01", state="online"))
            )
            forged = RecordBatch(rig_id="rig-02", stream="s", records=[record])
            rig.publish("vru/v1/rigs/rig-01/records", encode(forged))
            honest = RecordBatch(rig_id="rig-01", stream="s", records=[record])
            rig.publish("vru/v1/rigs/rig-01/records", encode(honest))
            deadline = time.monotonic() + 10
            while ingestor.stats.messages < 3:
                assert time.monotonic() < deadline, ingestor.stats.snapshot()
                await asyncio.sleep(0.02)
            return ingestor.stats.dead_letters
        finally:
            await ingestor.stop()

    try:
        dead_letters = asyncio.run(scenario())
    finally:
        rig.close()
    assert dict(dead_letters) == {"rig_mismatch": 1}
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(DetectionEvent)) == 1
        (reason,) = connection.scalars(select(DeadLetter.reason)).all()
    engine.dispose()
    assert reason.startswith("rig_mismatch") and "'rig-02'" in reason
