"""Every Socket.IO event of ROADMAP.md section 4 (plus rig_status and session_progress), with its
room and payload fields, through a real server and real python-socketio clients."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as paho
import pytest
import socketio
from paho.mqtt.enums import CallbackAPIVersion

from central.auth import Role
from central.services.synthetic_video import write_synthetic_video
from protocol import (
    DetectionPayload,
    DetectionRecord,
    RigStatus,
    Topics,
    assemble_batch,
    encode,
    encode_record,
)

EVENTS = (
    "video_uploaded",
    "project_created",
    "test_completed",
    "detection_event",
    "annotation_update",
    "annotation_progress_update",
    "rig_status",
    "session_progress",
    "import_progress",
    "export_progress",
)
DETECTION_FIELDS = {
    "id",
    "test_session_id",
    "rig_id",
    "stream",
    "seq",
    "kind",
    "channel",
    "source",
    "clock",
    "t_mono_ns",
    "t_wall_ns",
    "t_video_ms",
    "vru_type",
    "bbox",
    "confidence",
    "frame_number",
    "latency_ms",
    "timestamp",
}


class Client:
    """A python-socketio AsyncClient that records every event it receives."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.received: dict[str, list[Any]] = defaultdict(list)
        for name in EVENTS:
            self.sio.on(name, self._recorder(name))

    def _recorder(self, name: str) -> Callable[[Any], None]:
        def record(data: Any) -> None:
            self.received[name].append(data)

        return record

    async def connect(self, url: str, token: str | None, *, header: bool = False) -> None:
        auth = {"token": token} if token and not header else None
        headers = {"Authorization": f"Bearer {token}"} if token and header else {}
        await self.sio.connect(
            url, auth=auth, headers=headers, transports=["websocket"], wait_timeout=5
        )

    async def join(self, event: str, data: dict[str, Any] | None = None) -> None:
        reply = await self.sio.call(event, data or {}, timeout=5)
        assert reply["ok"], reply

    async def wait_for(self, name: str, count: int = 1, timeout: float = 5.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        while len(self.received[name]) < count:
            assert time.monotonic() < deadline, f"no {name} (got {dict(self.received)})"
            await asyncio.sleep(0.01)
        return self.received[name]


async def connected(server: Any, role: Role = Role.VIEWER) -> Client:
    client = Client()
    await client.connect(server.url, server.tokens[role])
    return client


def test_a_connection_needs_a_valid_token(live_server: Any) -> None:
    async def scenario() -> None:
        for token in (None, "vru_not-a-real-token"):
            with pytest.raises(socketio.exceptions.ConnectionError):
                await Client().connect(live_server.url, token)
        by_auth = await connected(live_server)
        by_header = Client()
        await by_header.connect(live_server.url, live_server.tokens[Role.VIEWER], header=True)
        assert by_auth.sio.connected and by_header.sio.connected
        await by_auth.sio.disconnect()
        await by_header.sio.disconnect()

    asyncio.run(scenario())


def test_rest_changes_reach_the_dashboard_and_the_video_room(
    live_server: Any, http: httpx.Client, tmp_path: Path
) -> None:
    async def scenario() -> None:
        dashboard, outsider = await connected(live_server), await connected(live_server)
        await dashboard.join("join_dashboard")

        project = await asyncio.to_thread(http.post, "/api/projects", json={"name": "p"})
        created = (await dashboard.wait_for("project_created"))[0]
        assert created["project_id"] == project.json()["id"] and created["name"] == "p"
        assert isinstance(created["timestamp"], float)

        clip = write_synthetic_video(tmp_path / "clip.mp4", frame_count=10)
        with clip.open("rb") as file:
            upload = await asyncio.to_thread(
                http.post,
                "/api/videos",
                files={"file": ("clip.mp4", file, "video/mp4")},
                data={"projectId": project.json()["id"]},
            )
        assert upload.status_code == 201, upload.text
        video_id = upload.json()["id"]
        uploaded = (await dashboard.wait_for("video_uploaded"))[0]
        assert uploaded == {
            "video_id": video_id,
            "filename": "clip.mp4",
            "project_id": project.json()["id"],
            "timestamp": uploaded["timestamp"],
        }

        annotator = await connected(live_server)
        await annotator.join("join_annotation_session", {"video_id": video_id})
        box = {"x": 1, "y": 2, "width": 10, "height": 12}
        body = {"detectionId": "p1", "frameNumber": 3, "vruType": "pedestrian", "boundingBox": box}
        made = await asyncio.to_thread(http.post, f"/api/videos/{video_id}/annotations", json=body)
        assert made.status_code == 201, made.text
        annotation_id = made.json()["id"]
        await asyncio.to_thread(http.put, f"/api/annotations/{annotation_id}", json={"notes": "n"})
        await asyncio.to_thread(http.delete, f"/api/annotations/{annotation_id}")
        updates = await annotator.wait_for("annotation_update", 3)
        assert [u["action"] for u in updates] == ["created", "updated", "deleted"]
        assert all(u["video_id"] == video_id for u in updates)
        assert updates[0]["annotation"] == made.json()
        assert updates[1]["annotation"]["notes"] == "n"
        assert updates[2]["annotation"]["id"] == annotation_id

        await asyncio.sleep(0.2)
        assert not outsider.received, "events go to their rooms only"
        assert not dashboard.received["annotation_update"]
        for client in (dashboard, outsider, annotator):
            await client.sio.disconnect()

    asyncio.run(scenario())


def test_annotation_progress_reaches_the_others_on_the_same_video(live_server: Any) -> None:
    async def scenario() -> None:
        sender, peer, elsewhere = [await connected(live_server, Role.ANNOTATOR) for _ in range(3)]
        for client, video in ((sender, "v1"), (peer, "v1"), (elsewhere, "v2")):
            await client.join("join_annotation_session", {"video_id": video})

        progress = {"video_id": "v1", "current_frame": 42, "annotator": "ann"}
        assert await sender.sio.call("annotation_progress", progress, timeout=5) == {"ok": True}

        assert (await peer.wait_for("annotation_progress_update"))[0] == progress
        await asyncio.sleep(0.2)
        assert not sender.received["annotation_progress_update"], "the sender is skipped"
        assert not elsewhere.received["annotation_progress_update"]
        missing = await sender.sio.call("join_annotation_session", {}, timeout=5)
        assert missing == {"ok": False, "error": "video_id is required"}

        viewer = await connected(live_server, Role.VIEWER)
        await viewer.join("join_annotation_session", {"video_id": "v1"})
        refused = await viewer.sio.call("annotation_progress", progress, timeout=5)
        assert refused["ok"] is False and "annotator" in refused["error"]
        await asyncio.sleep(0.2)
        assert len(peer.received["annotation_progress_update"]) == 1, "a viewer only watches"
        for client in (sender, peer, elsewhere, viewer):
            await client.sio.disconnect()

    asyncio.run(scenario())


def test_session_events_go_to_the_session_room_and_the_dashboard(live_server: Any) -> None:
    realtime = live_server.app.state.realtime

    async def scenario() -> None:
        watcher, dashboard = await connected(live_server), await connected(live_server)
        await watcher.join("join_test_session", {"test_session_id": "ts-1"})
        await dashboard.join("join_dashboard")

        live_server.call(realtime.emit_session_progress("ts-1", {"tp": 3, "fp": 1, "fn": 0}))
        live_server.call(realtime.emit_test_completed("ts-1", {"metrics": {"accuracy": 0.75}}))
        live_server.call(realtime.emit_import_progress("v9", {"done": 1, "total": 2}))

        for client in (watcher, dashboard):
            progress = (await client.wait_for("session_progress"))[0]
            assert progress["test_session_id"] == "ts-1" and progress["tp"] == 3
            completed = (await client.wait_for("test_completed"))[0]
            assert completed["test_session_id"] == "ts-1"
            assert completed["metrics"] == {"accuracy": 0.75}
            assert isinstance(completed["timestamp"], float)
            assert len(client.received["test_completed"]) == 1
        assert not watcher.received["import_progress"], "import progress goes to its video room"
        for client in (watcher, dashboard):
            await client.sio.disconnect()

    asyncio.run(scenario())


def _rig_client(broker: Any) -> paho.Client:
    client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def test_detection_records_stream_coalesced_to_the_session_room(
    live_server: Any, http: httpx.Client, mqtt_broker: Any, settings: Any, tmp_path: Path
) -> None:
    project = http.post("/api/projects", json={"name": "p"}).json()
    clip = write_synthetic_video(tmp_path / "clip.mp4", frame_count=10)
    with clip.open("rb") as file:
        video = http.post(
            "/api/videos",
            files={"file": ("clip.mp4", file, "video/mp4")},
            data={"projectId": project["id"]},
        ).json()
    session = http.post(
        "/api/test-sessions",
        json={
            "name": "run",
            "projectId": project["id"],
            "videoId": video["id"],
            "rigId": "rig-1",
        },
    ).json()
    topics = Topics(settings.topic_prefix)
    messages, per_message = 40, 5

    async def scenario() -> None:
        watcher, other, dashboard = [await connected(live_server) for _ in range(3)]
        await watcher.join("join_test_session", {"test_session_id": session["id"]})
        await other.join("join_test_session", {"test_session_id": "another-session"})
        await dashboard.join("join_dashboard")
        rig = _rig_client(mqtt_broker)
        status = encode(RigStatus(rig_id="rig-1", state="online", spool_depth=0))
        rig.publish(topics.status("rig-1"), status, qos=1).wait_for_publish(5)
        rig_status = (await dashboard.wait_for("rig_status"))[0]
        assert rig_status["rig_id"] == "rig-1" and rig_status["state"] == "online"
        assert rig_status["spool_depth"] == 0 and rig_status["last_seen_at"]

        for n in range(messages):
            records = [
                encode_record(
                    DetectionRecord(
                        seq=seq,
                        session_id=session["id"],
                        channel="det",
                        source="simulated",
                        t_mono_ns=seq,
                        t_wall_ns=time.time_ns(),
                        clock="user_monotonic",
                        t_video_ms=float(seq),
                        payload=DetectionPayload(
                            vru_type="cyclist", bbox=(1, 2, 3, 4), confidence=0.5, raw_hex="aa"
                        ),
                    )
                )
                for seq in range(n * per_message, (n + 1) * per_message)
            ]
            batch = assemble_batch("rig-1", "s-1", records)
            rig.publish(topics.records("rig-1"), batch, qos=1).wait_for_publish(5)

        deadline = time.monotonic() + 10
        while sum(e["count"] for e in watcher.received["detection_event"]) < messages * per_message:
            assert time.monotonic() < deadline, "not every record was streamed"
            await asyncio.sleep(0.01)
        emits = watcher.received["detection_event"]
        detections = [d for emit in emits for d in emit["detections"]]
        assert sorted(d["seq"] for d in detections) == list(range(messages * per_message))
        assert len(emits) < messages, "records are coalesced, not one emit per MQTT message"
        assert all(e["test_session_id"] == session["id"] for e in emits)
        assert all(e["count"] == len(e["detections"]) for e in emits)
        assert set(detections[0]) == DETECTION_FIELDS
        assert detections[0]["vru_type"] == "cyclist" and detections[0]["bbox"] == [1, 2, 3, 4]
        assert not other.received["detection_event"]
        assert not dashboard.received["detection_event"]
        rig.loop_stop()
        rig.disconnect()
        for client in (watcher, other, dashboard):
            await client.sio.disconnect()

    asyncio.run(scenario())
