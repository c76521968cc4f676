"""Ingest tests: the app with MQTT ingest on, against the real broker, under this test's own
topic prefix; a real paho client plays the rig."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from central.config import CentralSettings
from central.demo.rig import SYNC_CHANNEL, RigProcess, rig_config_toml
from central.demo.scenario import DEFAULT_SCENARIO
from central.demo.video import render_demo_video
from central.ingest.broker import free_port
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


@pytest.fixture
def settings(ingest_settings: CentralSettings) -> CentralSettings:
    return ingest_settings


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

    def batch(
        self,
        seqs: range | list[int],
        session_id: str | None = None,
        kind: str = "detection",
        stream: str | None = None,
    ) -> bytes:
        records = [encode_record(make_record(seq, session_id, kind)) for seq in seqs]
        return assemble_batch(self.rig_id, stream or self.stream, records)

    def records(self, seqs: range | list[int], **kwargs: Any) -> None:
        self.publish(self.topics.records(self.rig_id), self.batch(seqs, **kwargs))

    def publish_series(self, batches: int, records_per_batch: int) -> None:
        """Publish ``batches`` batches of consecutive seqs, 10 ms apart."""
        for n in range(batches):
            first = n * records_per_batch
            self.records(range(first, first + records_per_batch))
            time.sleep(0.01)

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
            **common,
            payload=payload,
            stimulus_channel="stim",
            stimulus_t_mono_ns=common["t_mono_ns"] - 42_000_000,
            latency_ms=42.0,
        )
    if kind == "sync":
        return SyncRecord(**common)
    return DetectionRecord(**common, payload=payload)


@pytest.fixture
def make_rig(mqtt_broker: Any, topic_prefix: str) -> Iterator[Callable[..., FakeRig]]:
    """Fake rigs on the test's prefix, disconnected after the test."""
    rigs: list[FakeRig] = []

    def make(rig_id: str = "rig-1", stream: str = "s-1") -> FakeRig:
        rigs.append(FakeRig(mqtt_broker, topic_prefix, rig_id, stream))
        return rigs[-1]

    yield make
    for fake in rigs:
        fake.close()


@pytest.fixture
def rig(client: Any, make_rig: Callable[..., FakeRig]) -> FakeRig:
    """A fake rig; ``client`` first, so central is already subscribed when it publishes."""
    return make_rig()


class CentralProcess:
    """``rig-central serve`` in a subprocess: the real CLI, killable like a real server.
    ``extra_args`` go on its command line (``--instance-id``, ``--mqtt-share-group``...),
    ``extra_env`` into its environment (``CENTRAL_SESSION_LEASE_S``...)."""

    def __init__(
        self,
        settings: CentralSettings,
        log_path: Path,
        extra_args: Sequence[str] = (),
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.port = free_port()
        self.log_path = log_path
        self.extra_args = list(extra_args)
        self.extra_env = dict(extra_env or {})
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(
        self,
        timeout: float = 60.0,
        ready: Callable[[str], bool] = lambda broker: broker.startswith("connected"),
    ) -> None:
        """Start and wait until ``/health`` shows a broker state that is ``ready`` (the timeout
        allows for a machine whose cores are shared with other test runs)."""
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CENTRAL_")},
            "CENTRAL_TOPIC_PREFIX": self.settings.topic_prefix,
            **self.extra_env,
        }
        for name in ("mqtt_ca_file", "mqtt_cert_file", "mqtt_key_file"):
            value = getattr(self.settings, name)
            if value is not None:
                env[f"CENTRAL_{name.upper()}"] = str(value)
        command = [
            str(Path(sys.executable).parent / "rig-central"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--no-auth",
            "--database-url",
            self.settings.database_url,
            "--data-dir",
            str(self.settings.data_dir),
            "--mqtt-url",
            str(self.settings.mqtt_url),
            *self.extra_args,
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_path.read_text()[-3000:]
            try:
                health = httpx.get(f"{self.url}/health", timeout=1).json()
                if ready(str(health.get("broker", ""))):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"central did not start:\n{self.log_path.read_text()[-3000:]}")

    def health(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/health", timeout=5).json())

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, nothing is flushed or acknowledged."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


REDIS = ("127.0.0.1", 6379)


def redis_url() -> str:
    """The local Redis, or a skip that says it is absent."""
    try:
        socket.create_connection(REDIS, timeout=0.5).close()
    except OSError:
        pytest.skip("Redis does not answer on 127.0.0.1:6379")
    return f"redis://{REDIS[0]}:{REDIS[1]}/0"


def scenario_session_over_http(base_url: str, tmp_path: Path, rig_id: str) -> str:
    """The demo scenario's project, video, ground truth and a pending session on ``rig_id``,
    made through the REST API of the central at ``base_url`` (run with ``--no-auth``)."""

    def call(path: str, **kwargs: Any) -> Any:
        response = httpx.post(f"{base_url}{path}", timeout=60, **kwargs)
        assert response.status_code < 300, f"POST {path}: {response.text}"
        return response.json()

    project = call("/api/projects", json={"name": f"scenario-{rig_id}"})
    video_path = render_demo_video(DEFAULT_SCENARIO, tmp_path / "scenario.mp4")
    with video_path.open("rb") as handle:
        files = {"file": ("scenario.mp4", handle, "video/mp4")}
        video = call(f"/api/projects/{project['id']}/videos", files=files)
    annotations = {"annotations": DEFAULT_SCENARIO.annotations()}
    call(f"/api/videos/{video['id']}/annotations/bulk", json=annotations)
    body = {"name": "scenario", "projectId": project["id"], "videoId": video["id"]}
    return str(call("/api/test-sessions", json={**body, "rigId": rig_id})["id"])


def start_scenario_agent(
    tmp_path: Path, mqtt_url: str, prefix: str, rig_id: str, start_delay_ms: float
) -> RigProcess:
    """A real rig agent that plays the scenario ``start_delay_ms`` after it starts."""
    config = tmp_path / f"{rig_id}.toml"
    config.write_text(
        rig_config_toml(
            DEFAULT_SCENARIO,
            rig_id=rig_id,
            mqtt_url=mqtt_url,
            topic_prefix=prefix,
            spool_path=tmp_path / f"{rig_id}-spool.db",
            start_delay_ms=start_delay_ms,
        )
    )
    agent = RigProcess(config, tmp_path / f"{rig_id}-agent.log")
    agent.start()
    return agent


def scenario_start_body(duration_s: int) -> dict[str, Any]:
    """A start body judging the scenario by its own rules, video time zero at the sync pulse."""
    return {
        "signalType": "network",
        "testDuration": duration_s,
        "toleranceMs": int(DEFAULT_SCENARIO.tolerance_ms),
        "maxLatencyMs": int(DEFAULT_SCENARIO.max_latency_ms),
        "minAccuracy": DEFAULT_SCENARIO.min_accuracy,
        "syncChannel": SYNC_CHANNEL,
    }


@pytest.fixture
def central_process(settings: CentralSettings, tmp_path: Path) -> Iterator[CentralProcess]:
    central = CentralProcess(settings, tmp_path / "central.log")
    yield central
    central.kill()


@pytest.fixture
def count_rows(client: Any) -> Callable[..., int]:
    """Rows of a model now (a fresh session each time, so no stale snapshot)."""

    def count(model: Any, *where: Any) -> int:
        with client.app.state.session_factory() as session:
            return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    return count
