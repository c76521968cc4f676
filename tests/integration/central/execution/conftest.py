"""Test execution tests: the demo scenario's video and ground truth behind a real API, and helpers
to create, run and read sessions.

Sessions of rig ``http`` need no broker (detections are posted over HTTP); tests of rig commands
turn ingest on against the real broker and play the rig with a real MQTT client
(:class:`CommandedRig`), which answers commands as the rig agent's protocol says.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion

from central.auth import Role
from central.demo.scenario import DEFAULT_SCENARIO, DemoScenario
from central.demo.video import render_demo_video
from protocol import (
    ChannelStats,
    CommandReply,
    RigStatus,
    SessionResults,
    Topics,
    decode_command,
    decode_results,
    encode,
)

SCENARIO: DemoScenario = DEFAULT_SCENARIO


@pytest.fixture(scope="session")
def scenario_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_demo_video(SCENARIO, tmp_path_factory.mktemp("video") / "scenario.mp4")


def config_body(**overrides: Any) -> dict[str, Any]:
    """A start body for the scenario: its tolerance, budget and accuracy bar."""
    return {
        "signalType": "network",
        "testDuration": 60,
        "toleranceMs": int(SCENARIO.tolerance_ms),
        "maxLatencyMs": int(SCENARIO.max_latency_ms),
        "minAccuracy": SCENARIO.min_accuracy,
        **overrides,
    }


@dataclass
class Api:
    """The test client with the operator's (or a given role's) token on every call."""

    client: TestClient
    headers: dict[Role, dict[str, str]]

    def call(self, method: str, path: str, role: Role = Role.OPERATOR, **kwargs: Any) -> Any:
        return self.client.request(method, path, headers=self.headers[role], **kwargs)

    def ok(self, method: str, path: str, expected: int = 200, **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        assert response.status_code == expected, response.text
        return response.json()


@pytest.fixture
def api(client: TestClient, auth_headers: dict[Role, dict[str, str]]) -> Api:
    return Api(client, auth_headers)


def create_scenario_session(
    api: Api, video: Path, rig_id: str = "http", *, with_ground_truth: bool = True
) -> dict[str, Any]:
    """Project, uploaded scenario video, its ground truth and a pending session on ``rig_id``."""
    project = api.ok("POST", "/api/projects", 201, json={"name": f"p-{time.monotonic_ns()}"})
    with video.open("rb") as handle:
        uploaded = api.ok(
            "POST",
            f"/api/projects/{project['id']}/videos",
            201,
            files={"file": ("scenario.mp4", handle, "video/mp4")},
        )
    if with_ground_truth:
        api.ok(
            "POST",
            f"/api/videos/{uploaded['id']}/annotations/bulk",
            201,
            json={"annotations": SCENARIO.annotations()},
        )
    body = {"name": "run", "projectId": project["id"], "videoId": uploaded["id"], "rigId": rig_id}
    session: dict[str, Any] = api.ok("POST", "/api/test-sessions", 201, json=body)
    return session


@pytest.fixture
def make_scenario_session(api: Api, scenario_video: Path) -> Callable[..., dict[str, Any]]:
    def make(rig_id: str = "http", *, with_ground_truth: bool = True) -> dict[str, Any]:
        return create_scenario_session(
            api, scenario_video, rig_id, with_ground_truth=with_ground_truth
        )

    return make


def scenario_detections(jitter_ms: float = 0.0) -> list[dict[str, Any]]:
    """The scenario's scripted signals as HTTP detections."""
    return [
        {"tVideoMs": s.at_ms + jitter_ms, "vruType": str(s.vru_type), "confidence": s.confidence}
        for s in SCENARIO.signals
    ]


class CommandedRig:
    """A rig on the wire: a real MQTT client that answers start/stop/ping on its commands topic
    and can publish status. ``answer`` decides each reply (None: stay silent)."""

    def __init__(self, broker: Any, prefix: str, rig_id: str) -> None:
        self.topics = Topics(prefix)
        self.rig_id = rig_id
        self.commands: list[Any] = []
        self.sync_mono_ns = 123_456_789
        self.answer: Callable[[Any], CommandReply | None] = self.accept
        self.client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"commanded-{rig_id}-{os.getpid()}-{time.monotonic_ns()}",
        )
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        info = self.client.subscribe(self.topics.commands(rig_id), qos=1)
        assert info[0] == 0

    def accept(self, command: Any) -> CommandReply:
        return CommandReply(
            command_id=command.command_id,
            ok=True,
            rig_id=self.rig_id,
            command=command.command,
            session_id=command.session_id,
            sync_mono_ns=self.sync_mono_ns if command.command == "start" else None,
        )

    def _on_message(self, _client: Any, _userdata: Any, message: Any) -> None:
        command = decode_command(message.payload)
        self.commands.append(command)
        reply = self.answer(command)
        if reply is not None:
            self.client.publish(self.topics.replies(self.rig_id), encode(reply), qos=1)

    def status(self, session_id: str | None, drops: dict[str, int] | None = None) -> None:
        """An online heartbeat; ``drops`` gives channels and the totals they dropped so far."""
        channels = {
            name: ChannelStats(role="detection", source="gpio", drops=count)
            for name, count in (drops or {}).items()
        }
        self._publish_status(
            RigStatus(rig_id=self.rig_id, state="online", session_id=session_id, channels=channels)
        )

    def status_offline(self) -> None:
        self._publish_status(RigStatus(rig_id=self.rig_id, state="offline"))

    def _publish_status(self, status: RigStatus) -> None:
        info = self.client.publish(self.topics.status(self.rig_id), encode(status), qos=1)
        info.wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class ResultsSubscriber:
    """Collects SessionResults published on ``{prefix}/sessions/+/results``."""

    def __init__(self, broker: Any, prefix: str) -> None:
        self.received: list[SessionResults] = []
        self.client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"results-{os.getpid()}-{time.monotonic_ns()}",
        )
        self.client.on_message = lambda _c, _u, m: self.received.append(decode_results(m.payload))
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        self.client.subscribe(f"{prefix}/sessions/+/results", qos=1)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def results_subscriber(mqtt_broker: Any, topic_prefix: str) -> Iterator[ResultsSubscriber]:
    subscriber = ResultsSubscriber(mqtt_broker, topic_prefix)
    yield subscriber
    subscriber.close()
