"""Import and export progress on Socket.IO (issue 5, item 6), through a real uvicorn server and a
real python-socketio client in the video's room (where :class:`central.realtime.RealtimeEmitter` sends
``import_progress`` and ``export_progress``)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import orjson
import socketio

from central.auth import Role
from central.db.models import Video
from tests.integration.central.conftest import LiveServer
from tests.integration.central.datasets.conftest import FPS, FRAMES, HEIGHT, WIDTH, box


def make_video(server: LiveServer) -> str:
    with server.app.state.session_factory() as session:
        video = Video(
            filename="clip.mp4",
            stored_name="progress-clip.mp4",
            size_bytes=1,
            content_type="video/mp4",
            fps=FPS,
            frame_count=FRAMES,
            width=WIDTH,
            height=HEIGHT,
        )
        session.add(video)
        session.commit()
        return video.id


async def wait_for_stage(
    events: list[dict[str, Any]], stage: str, timeout: float = 5.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        found = [event for event in events if event.get("stage") == stage]
        if found:
            return found[-1]
        assert time.monotonic() < deadline, f"no {stage!r} progress; got {events}"
        await asyncio.sleep(0.01)


def test_import_and_export_report_progress_to_the_video_room(live_server: LiveServer) -> None:
    video_id = make_video(live_server)
    document = orjson.dumps({"annotations": [box(f"T{i}", i, 1, 1, 5, 5) for i in range(10)]})

    async def scenario() -> None:
        received: dict[str, list[dict[str, Any]]] = {"import_progress": [], "export_progress": []}
        watcher = socketio.AsyncClient(reconnection=False)
        for name, events in received.items():
            watcher.on(name, events.append)
        await watcher.connect(
            live_server.url,
            auth={"token": live_server.tokens[Role.VIEWER]},
            transports=["websocket"],
            wait_timeout=5,
        )
        reply = await watcher.call("join_annotation_session", {"video_id": video_id}, timeout=5)
        assert reply["ok"]
        async with httpx.AsyncClient(base_url=live_server.url) as http:
            refused = await http.post(
                f"/api/videos/{video_id}/annotations/import",
                files={"file": ("bad.json", b"{")},
                headers=live_server.headers(Role.ANNOTATOR),
            )
            assert refused.status_code == 422
            assert (await wait_for_stage(received["import_progress"], "refused"))["issues"] == 1

            imported = await http.post(
                f"/api/videos/{video_id}/annotations/import",
                files={"file": ("gt.json", document)},
                headers=live_server.headers(Role.ANNOTATOR),
            )
            assert imported.status_code == 200, imported.text
            done = await wait_for_stage(received["import_progress"], "completed")
            assert (done["video_id"], done["created"], done["dry_run"]) == (video_id, 10, False)
            stages = [event["stage"] for event in received["import_progress"]]
            assert stages.index("received") < stages.index("validated") < stages.index("completed")

            exported = await http.get(
                f"/api/videos/{video_id}/annotations/export",
                params={"format": "coco"},
                headers=live_server.headers(Role.VIEWER),
            )
            assert exported.status_code == 200
            started = await wait_for_stage(received["export_progress"], "started")
            finished = await wait_for_stage(received["export_progress"], "completed")
            assert (started["done"], started["total"]) == (0, 10)
            assert (finished["done"], finished["format"]) == (10, "coco")
            assert finished["report"]["annotations"] == 10
        await watcher.disconnect()

    asyncio.run(scenario())
