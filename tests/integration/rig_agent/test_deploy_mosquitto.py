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
USERS = {"central": "central-pw", "rig-01": "pw-01", "rig-02": "pw-02"}


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
