"""Every Socket.IO event of ROADMAP.md section 4 (plus rig_status and session_progress), with its
room and payload fields, through a real server and real python-socketio clients. Every payload a
client receives is checked against docs/socketio-asyncapi.yaml."""

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
from central.demo.synthetic_video import write_synthetic_video
from protocol import (
    RigStatus,
    Topics,
    encode,
)
from tests.integration.central.socketio_contract import assert_fits_the_document

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


RUNNING = {
    "truePositives": 3,
    "falsePositives": 1,
    "falseNegatives": 0,
    "repeats": 0,
    "ignored": 0,
    "accuracy": 0.75,
    "provisional": True,
    "records": 4,
    "elapsedS": 1.5,
    "durationS": 60,
    "progress": 0.025,
    "tracks": {"seen": 3, "detected": 3, "ttfdP50Ms": 90.0},
}
"""A provisional score as live matching makes it."""

_GROUP = {
    "groundTruth": 1,
    "truePositives": 1,
    "falseNegatives": 0,
    "falsePositives": 0,
    "ignored": 0,
    "precision": 1.0,
    "recall": 1.0,
}
FINAL = {
    **{key: RUNNING[key] for key in ("truePositives", "falsePositives", "falseNegatives")},
    **{key: RUNNING[key] for key in ("repeats", "ignored", "accuracy")},
    "precision": 0.75,
    "recall": 1.0,
    "f1": 0.857,
    "ap50": None,
    "ap": None,
    "latency": {
        "count": 3,
        "meanMs": 80.0,
        "p50Ms": 80.0,
        "p95Ms": 90.0,
        "p99Ms": 90.0,
        "maxMs": 90.0,
        "histogram": {"edgesMs": [0.0, 100.0], "counts": [3]},
    },
    "byVruType": {"cyclist": _GROUP},
    "byFlag": {"occluded": {**_GROUP, "falsePositives": None}},
    "passed": False,
    "failedCriteria": ["x"],
    "mode": "temporal",
    "recordCount": 4,
}
"""Final results as the final pass stores them."""

IMPORT_WRITING = {
    "stage": "writing",
    "format": "json",
    "dry_run": False,
    "on_conflict": "skip",
    "written": 1,
    "total": 2,
}


def live_record(seq: int) -> dict[str, Any]:
    """A judged record as live matching hands it to the event sink."""
    return {
        "id": f"r{seq}",
        "test_session_id": "ts-1",
        "rig_id": "rig-1",
        "stream": "s1",
        "seq": seq,
        "kind": "detection",
        "channel": "det",
        "source": "simulated",
        "clock": "monotonic",
        "t_mono_ns": 1000 + seq,
        "t_wall_ns": 2000 + seq,
        "t_video_ms": 10.0 * seq,
        "vru_type": "pedestrian",
        "bbox": None,
        "confidence": 0.9,
        "frame_number": None,
        "match_type": "FP",
        "ground_truth_id": None,
        "latency_ms": None,
        "iou": None,
        "provisional": True,
    }


class Client:
    """A python-socketio AsyncClient that records every event it receives, each checked against
    the AsyncAPI document."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.received: dict[str, list[Any]] = defaultdict(list)
        for name in EVENTS:
            self.sio.on(name, self._recorder(name))

    def _recorder(self, name: str) -> Callable[[Any], None]:
        def record(data: Any) -> None:
            assert_fits_the_document(name, data)
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
        assert created["projectId"] == project.json()["id"] and created["name"] == "p"
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
            "videoId": video_id,
            "filename": "clip.mp4",
            "projectId": project.json()["id"],
            "timestamp": uploaded["timestamp"],
        }

        annotator = await connected(live_server)
        await annotator.join("join_annotation_session", {"videoId": video_id})
        box = {"x": 1, "y": 2, "width": 10, "height": 12}
        body = {"detectionId": "p1", "frameNumber": 3, "vruType": "pedestrian", "boundingBox": box}
        made = await asyncio.to_thread(http.post, f"/api/videos/{video_id}/annotations", json=body)
        assert made.status_code == 201, made.text
        annotation_id = made.json()["id"]
        await asyncio.to_thread(http.put, f"/api/annotations/{annotation_id}", json={"notes": "n"})
        await asyncio.to_thread(http.delete, f"/api/annotations/{annotation_id}")
        rows = [{**body, "detectionId": f"b{frame}", "frameNumber": frame} for frame in range(4)]
        bulk = await asyncio.to_thread(
            http.post, f"/api/videos/{video_id}/annotations/bulk", json={"annotations": rows}
        )
        assert bulk.status_code == 201, bulk.text
        updates = await annotator.wait_for("annotation_update", 4)
        assert [u["action"] for u in updates] == ["created", "updated", "deleted", "bulk_created"]
        assert updates[3]["count"] == 4
        assert all(u["videoId"] == video_id for u in updates)
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

        progress = {"videoId": "v1", "currentFrame": 42, "annotator": "ann"}
        assert await sender.sio.call("annotation_progress", progress, timeout=5) == {"ok": True}

        assert (await peer.wait_for("annotation_progress_update"))[0] == progress
        await asyncio.sleep(0.2)
        assert not sender.received["annotation_progress_update"], "the sender is skipped"
        assert not elsewhere.received["annotation_progress_update"]
        missing = await sender.sio.call("join_annotation_session", {}, timeout=5)
        assert missing == {"ok": False, "error": "videoId (or video_id) is required"}
        await sender.sio.call("annotation_progress", {"video_id": "v1", "n": 1}, timeout=5)
        relayed = (await peer.wait_for("annotation_progress_update", 2))[1]
        assert relayed == {"videoId": "v1", "n": 1}, "snake_case accepted, relayed as camelCase"

        viewer = await connected(live_server, Role.VIEWER)
        await viewer.join("join_annotation_session", {"video_id": "v1"})
        refused = await viewer.sio.call("annotation_progress", progress, timeout=5)
        assert refused["ok"] is False and "annotator" in refused["error"]
        await asyncio.sleep(0.2)
        assert len(peer.received["annotation_progress_update"]) == 2, "a viewer only watches"
        for client in (sender, peer, elsewhere, viewer):
            await client.sio.disconnect()

    asyncio.run(scenario())


def test_session_events_go_to_the_session_room_and_the_dashboard(live_server: Any) -> None:
    realtime = live_server.app.state.realtime

    async def scenario() -> None:
        watcher, dashboard = await connected(live_server), await connected(live_server)
        await watcher.join("join_test_session", {"testSessionId": "ts-1"})
        await dashboard.join("join_dashboard")

        # From this thread, not the server's loop: the sink hands each emit over to it.
        realtime.session_progress("ts-1", RUNNING)
        realtime.test_completed(
            "ts-1",
            {"status": "stopped", "passed": False, "failed_criteria": ["x"], "metrics": FINAL},
        )
        realtime.import_progress("v9", IMPORT_WRITING)

        for client in (watcher, dashboard):
            progress = (await client.wait_for("session_progress"))[0]
            assert progress["testSessionId"] == "ts-1" and progress["truePositives"] == 3
            assert progress["kind"] == "running" and progress["elapsedS"] == 1.5
            assert progress["tracks"] == RUNNING["tracks"]
            completed = (await client.wait_for("test_completed"))[0]
            assert completed["testSessionId"] == "ts-1" and completed["failedCriteria"] == ["x"]
            metrics = completed["metrics"]
            assert (
                metrics["kind"] == "final" and metrics["byVruType"]["cyclist"]["groundTruth"] == 1
            )
            assert metrics["latency"]["p95Ms"] == 90.0 and metrics["recordCount"] == 4
            assert isinstance(completed["timestamp"], float)
            assert len(client.received["test_completed"]) == 1
        imported = (await dashboard.wait_for("import_progress"))[0]
        assert imported["videoId"] == "v9" and imported["written"] == 1
        assert imported["dryRun"] is False and imported["onConflict"] == "skip"
        assert not watcher.received["import_progress"], "a session's room gets no import progress"
        for client in (watcher, dashboard):
            await client.sio.disconnect()

    asyncio.run(scenario())


def test_rig_status_reaches_the_dashboard_through_ingest(
    live_server: Any, mqtt_broker: Any, settings: Any
) -> None:
    topics = Topics(settings.topic_prefix)

    async def scenario() -> None:
        dashboard = await connected(live_server)
        await dashboard.join("join_dashboard")
        rig = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        rig.connect(mqtt_broker.host, mqtt_broker.port)
        rig.loop_start()
        status = encode(RigStatus(rig_id="rig-1", state="online", spool_depth=3, version="9"))
        rig.publish(topics.status("rig-1"), status, qos=1).wait_for_publish(5)

        rig_status = (await dashboard.wait_for("rig_status"))[0]
        assert rig_status["rigId"] == "rig-1" and rig_status["state"] == "online"
        assert rig_status["spoolDepth"] == 3 and rig_status["version"] == "9"
        # status is the rig's own MQTT message, in the wire's keys.
        assert rig_status["lastSeenAt"] and rig_status["status"]["spool_depth"] == 3
        rig.loop_stop()
        rig.disconnect()
        await dashboard.sio.disconnect()

    asyncio.run(scenario())


def test_detection_records_are_coalesced_into_few_events_of_their_session(
    live_server: Any,
) -> None:
    realtime = live_server.app.state.realtime
    calls, per_call = 40, 5

    async def feed() -> None:
        """What live matching does as batches are stored: many small emits in quick order."""
        for n in range(calls):
            records = [live_record(seq) for seq in range(n * 5, n * 5 + 5)]
            realtime.detections("ts-1", records)
            await asyncio.sleep(0.001)

    async def scenario() -> None:
        watcher, other = await connected(live_server), await connected(live_server)
        await watcher.join("join_test_session", {"test_session_id": "ts-1"})
        await other.join("join_test_session", {"test_session_id": "ts-2"})
        live_server.call(feed())

        deadline = time.monotonic() + 5
        while sum(e["count"] for e in watcher.received["detection_event"]) < calls * per_call:
            assert time.monotonic() < deadline, "not every record was sent"
            await asyncio.sleep(0.01)
        emits = watcher.received["detection_event"]
        assert [d["seq"] for e in emits for d in e["detections"]] == list(range(calls * per_call))
        assert 1 < len(emits) < calls / 2, "coalesced: a few events carrying many records"
        assert all(
            e["testSessionId"] == "ts-1" and e["count"] == len(e["detections"]) for e in emits
        )
        assert len(emits[0]["detections"]) == per_call, "the first records leave at once"
        assert not other.received["detection_event"]
        for client in (watcher, other):
            await client.sio.disconnect()

    asyncio.run(scenario())


def test_leaving_a_room_is_acknowledged_and_stops_its_events(live_server: Any) -> None:
    realtime = live_server.app.state.realtime

    async def scenario() -> None:
        client = await connected(live_server)
        joined = [
            await client.sio.call("join_dashboard", {}, timeout=5),
            await client.sio.call("join_test_session", {"test_session_id": "ts-1"}, timeout=5),
            await client.sio.call("join_annotation_session", {"videoId": "v1"}, timeout=5),
        ]
        assert [ack["room"] for ack in joined] == ["dashboard", "test_session_ts-1", "video_v1"]
        realtime.session_progress("ts-1", RUNNING)
        realtime.annotations_bulk_created("v1", 2)
        await client.wait_for("session_progress")
        await client.wait_for("annotation_update")

        left = [
            await client.sio.call("leave_dashboard", {}, timeout=5),
            await client.sio.call("leave_test_session", {"testSessionId": "ts-1"}, timeout=5),
            await client.sio.call("leave_annotation_session", {"video_id": "v1"}, timeout=5),
        ]
        assert left == [
            {"ok": True, "room": room} for room in ("dashboard", "test_session_ts-1", "video_v1")
        ]
        for ack in left:
            assert_fits_the_document("ack", ack)
        realtime.session_progress("ts-1", RUNNING)
        realtime.annotations_bulk_created("v1", 2)
        realtime.project_created("p1", "p")
        await asyncio.sleep(0.3)
        assert len(client.received["session_progress"]) == 1
        assert len(client.received["annotation_update"]) == 1
        assert not client.received["project_created"]
        refused = await client.sio.call("leave_test_session", {"session": "ts-1"}, timeout=5)
        assert refused["ok"] is False and "testSessionId" in refused["error"]
        await client.sio.disconnect()

    asyncio.run(scenario())
