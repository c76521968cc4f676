"""Phase 3 of ``bench/ingest.py``: a test session started through central, watched over
Socket.IO from capture to arrival."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import socketio

from central.demo.synthetic_video import write_synthetic_video

__all__ = ["create_session", "wait_online", "watch_session"]


def create_session(central: str, workdir: Path) -> str:
    """A project, a video with one ground-truth box, and a test session on rig ``rig-live``."""
    with httpx.Client(base_url=central, timeout=30) as http:
        project = http.post("/api/projects", json={"name": f"bench {uuid.uuid4().hex[:6]}"})
        project.raise_for_status()
        clip = write_synthetic_video(workdir / "clip.mp4", frame_count=10)
        with clip.open("rb") as file:
            video = http.post(
                "/api/videos",
                files={"file": ("clip.mp4", file, "video/mp4")},
                data={"projectId": project.json()["id"]},
            )
        video.raise_for_status()
        box = {"x": 1, "y": 1, "width": 10, "height": 10}
        annotation = http.post(
            f"/api/videos/{video.json()['id']}/annotations",
            json={
                "detectionId": "p1",
                "frameNumber": 2,
                "vruType": "pedestrian",
                "boundingBox": box,
            },
        )
        annotation.raise_for_status()
        session = http.post(
            "/api/test-sessions",
            json={
                "name": "bench",
                "projectId": project.json()["id"],
                "videoId": video.json()["id"],
                "rigId": "rig-live",
            },
        )
        session.raise_for_status()
        return str(session.json()["id"])


def wait_online(central: str, rig_id: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = httpx.get(f"{central}/api/rigs/{rig_id}", timeout=5)
        if response.status_code == 200 and response.json()["state"] == "online":
            return
        time.sleep(0.1)
    raise SystemExit(f"rig {rig_id} did not come online")


async def watch_session(central: str, session_id: str, seconds: float) -> list[float]:
    """Join the session's room, start it through central (which commands the rig), collect
    each detection's capture-to-arrival time for ``seconds``, then stop it."""
    lags: list[float] = []
    sio = socketio.AsyncClient(reconnection=False)

    @sio.on("detection_event")
    def on_detections(data: dict[str, Any]) -> None:
        now = time.time_ns()
        # Socket.IO events are camelCase, as the REST API.
        lags.extend((now - d["tWallNs"]) / 1e6 for d in data["detections"])

    await sio.connect(central, transports=["websocket"], wait_timeout=10)
    await sio.call("join_test_session", {"test_session_id": session_id}, timeout=5)
    async with httpx.AsyncClient(base_url=central, timeout=30) as http:
        config = {
            "signalType": "network",
            "testDuration": int(seconds) + 30,
            "toleranceMs": 100,
            "maxLatencyMs": 200,
            "minAccuracy": 0.5,
            "channels": ["detections"],
        }
        started = await http.post(f"/api/test-sessions/{session_id}/start", json=config)
        started.raise_for_status()
        await asyncio.sleep(seconds)
        (await http.post(f"/api/test-sessions/{session_id}/stop")).raise_for_status()
    await sio.disconnect()
    return lags
