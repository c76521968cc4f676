"""Helpers for running the rig agent as a real process against a real broker."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from protocol import CommandReply, RigStatus, Topics, decode_batch, decode_reply, decode_status

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


@dataclass
class Received:
    records: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[RigStatus] = field(default_factory=list)
    replies: list[CommandReply] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def seqs(self) -> list[int]:
        return [r["seq"] for r in self.records]

    def unique(self) -> dict[tuple[str, str, int], dict[str, Any]]:
        """Records after central's dedupe on (rig_id, stream, seq)."""
        return {(r["rig_id"], r["stream"], r["seq"]): r for r in self.records}


class Subscriber:
    """A real MQTT client following one rig's topics at QoS 1.

    ``persistent`` keeps its session across a broker restart (the broker queues for it while it
    is away); used only on the tests' own brokers, so the shared one keeps no leftover sessions.
    """

    def __init__(self, host: str, port: int, prefix: str, rig_id: str, persistent: bool) -> None:
        self.topics = Topics(prefix)
        self.rig_id = rig_id
        self.received = Received()
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"test-sub-{uuid.uuid4().hex[:10]}",
            clean_session=not persistent,
        )
        self._client.reconnect_delay_set(0.1, 0.5)  # type: ignore[arg-type]
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.on_subscribe = lambda *args: self._subscribed.set()
        self._client.connect(host, port)
        self._client.loop_start()
        assert self._subscribed.wait(5), "subscriber did not subscribe"

    def _on_connect(self, client: mqtt.Client, *args: Any) -> None:
        client.subscribe(f"{self.topics.prefix}/rigs/{self.rig_id}/#", qos=1)

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        try:
            self._store(message)
        except Exception as exc:  # noqa: BLE001 - one would end paho's loop: keep it for the test
            self.received.errors.append(f"{message.topic}: {exc!r}")

    def _store(self, message: mqtt.MQTTMessage) -> None:
        kind = message.topic.rsplit("/", 1)[-1]
        with self._lock:
            if kind == "records":
                batch = decode_batch(message.payload)
                for record in batch.records:
                    self.received.records.append(
                        {
                            "rig_id": batch.rig_id,
                            "stream": batch.stream,
                            **record.model_dump(mode="json"),
                        }
                    )
            elif kind == "status":
                self.received.statuses.append(decode_status(message.payload))
            elif kind == "replies":
                self.received.replies.append(decode_reply(message.payload))

    def send_command(self, **fields: Any) -> None:
        import orjson

        payload = orjson.dumps({"v": 1, **fields})
        self._client.publish(self.topics.commands(self.rig_id), payload, qos=1).wait_for_publish(5)

    def reply(self, command_id: str, timeout: float = 5.0) -> CommandReply:
        def find() -> CommandReply | None:
            return next((r for r in self.received.replies if r.command_id == command_id), None)

        wait_for(lambda: find() is not None, timeout, f"reply to {command_id}")
        reply = find()
        assert reply is not None
        return reply

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
        assert not self.received.errors, (
            f"messages that broke the wire contract: {self.received.errors}"
        )


@dataclass
class AgentProcess:
    config_path: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self, extra_env: dict[str, str] | None = None) -> AgentProcess:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("NOTIFY_SOCKET", None)
        env.pop("WATCHDOG_USEC", None)
        env.update(extra_env or {})
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rig_agent", "run", "--config", str(self.config_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        log.close()
        return self

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, timeout: float = 15.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value)


def write_config(
    path: Path,
    *,
    url: str,
    prefix: str,
    rig_id: str,
    spool: Path,
    channels: list[dict[str, Any]],
    mqtt_extra: dict[str, Any] | None = None,
    spool_extra: dict[str, Any] | None = None,
    status_interval_s: float = 0.5,
) -> Path:
    lines = [
        f"rig_id = {toml_value(rig_id)}",
        "",
        "[mqtt]",
        f"url = {toml_value(url)}",
        f"topic_prefix = {toml_value(prefix)}",
        "reconnect_min_s = 0.1",
        "reconnect_max_s = 0.5",
    ]
    lines += [f"{k} = {toml_value(v)}" for k, v in (mqtt_extra or {}).items()]
    lines += ["", "[spool]", f"path = {toml_value(str(spool))}"]
    lines += [f"{k} = {toml_value(v)}" for k, v in (spool_extra or {}).items()]
    lines += ["", "[status]", f"interval_s = {status_interval_s}", "shutdown_timeout_s = 5"]
    for channel in channels:
        lines += ["", "[[channels]]"] + [f"{k} = {toml_value(v)}" for k, v in channel.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


class RigHarness:
    """One test's rig: its config, its agent processes and its subscribers."""

    wait_for = staticmethod(wait_for)

    def __init__(
        self, tmp_path: Path, host: str, port: int, prefix: str, private_broker: bool = False
    ) -> None:
        self.tmp_path = tmp_path
        self.private_broker = private_broker
        self.host = host
        self.port = port
        self.prefix = prefix
        self.rig_id = f"rig-{uuid.uuid4().hex[:8]}"
        self.spool = tmp_path / "spool.db"
        self.config_path = tmp_path / "rig.toml"
        self._agents: list[AgentProcess] = []
        self._subscribers: list[Subscriber] = []

    def configure(self, channels: list[dict[str, Any]], **options: Any) -> Path:
        return write_config(
            self.config_path,
            url=options.pop("url", f"mqtt://{self.host}:{self.port}"),
            prefix=self.prefix,
            rig_id=self.rig_id,
            spool=self.spool,
            channels=channels,
            **options,
        )

    def agent(self, extra_env: dict[str, str] | None = None) -> AgentProcess:
        agent = AgentProcess(self.config_path, self.tmp_path / "agent.log").start(extra_env)
        self._agents.append(agent)
        return agent

    def subscribe(self) -> Subscriber:
        subscriber = Subscriber(
            self.host, self.port, self.prefix, self.rig_id, persistent=self.private_broker
        )
        self._subscribers.append(subscriber)
        return subscriber

    def close(self) -> None:
        for agent in self._agents:
            agent.stop()
        for subscriber in self._subscribers:
            subscriber.close()
        if not self.private_broker:
            self._clear_retained_status()

    def _clear_retained_status(self) -> None:
        """An empty retained message deletes the rig's status, so the shared broker keeps none."""
        client = mqtt.Client(CallbackAPIVersion.VERSION2)
        try:
            client.connect(self.host, self.port)
        except OSError:
            return
        client.loop_start()
        topic = Topics(self.prefix).status(self.rig_id)
        client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
        client.disconnect()
        client.loop_stop()


@pytest.fixture
def rig(tmp_path: Path, mqtt_broker: Any, topic_prefix: str) -> Iterator[RigHarness]:
    harness = RigHarness(tmp_path, mqtt_broker.host, mqtt_broker.port, topic_prefix)
    yield harness
    harness.close()


@pytest.fixture
def private_rig(tmp_path: Path, topic_prefix: str) -> Iterator[tuple[RigHarness, PrivateMosquitto]]:
    """A rig whose broker the test may stop: a Mosquitto process of its own."""
    if not Path(MOSQUITTO).exists():
        pytest.skip("mosquitto binary not installed")
    broker = PrivateMosquitto(tmp_path / "broker")
    broker.start()
    harness = RigHarness(tmp_path, "127.0.0.1", broker.port, topic_prefix, private_broker=True)
    yield harness, broker
    harness.close()
    broker.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateMosquitto:
    """A Mosquitto of the test's own, which the test may stop and restart; persistence on."""

    def __init__(self, directory: Path, config_text: str | None = None) -> None:
        """``config_text`` replaces the default config; ``{port}`` and ``{dir}`` are filled in."""
        directory.mkdir(exist_ok=True)
        self.port = free_port()
        self.directory = directory
        self.config = directory / "mosquitto.conf"
        text = config_text or (
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            "persistence_location {dir}/\nautosave_interval 1\n"
            "max_queued_messages 100000\nmax_inflight_messages 100\n"
        )
        # Started as root, mosquitto drops to its own user, which cannot write in tmp_path.
        text += "\nuser root\n" if os.geteuid() == 0 else ""
        self.config.write_text(
            text.replace("{port}", str(self.port)).replace("{dir}", str(directory))
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def answers() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return True
            except OSError:
                return False

        wait_for(answers, 5, "mosquitto to listen")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(5)


@pytest.fixture
def make_mosquitto(tmp_path: Path) -> Iterator[Callable[[str], PrivateMosquitto]]:
    """Private Mosquittos from a config text (not yet started); all stopped after the test."""
    if not Path(MOSQUITTO).exists():
        pytest.skip("mosquitto binary not installed")
    made: list[PrivateMosquitto] = []

    def make(config_text: str) -> PrivateMosquitto:
        broker = PrivateMosquitto(tmp_path / f"broker-{len(made)}", config_text)
        made.append(broker)
        return broker

    yield make
    for broker in made:
        broker.stop()
