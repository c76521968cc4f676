"""The :class:`~central.events.EventSink` over Socket.IO: every server-side event of the dashboard.

Event names and payload fields are the contract of ROADMAP.md section 4; docs/realtime.md lists
every event, its room and its payload. This module is the only one that names them.

Calls may come from the event loop or from worker threads (CRUD services commit there); each is
moved onto the loop the emitter was started on and sent as a task, so a caller never waits for a
client. High-rate streams go through :class:`~central.throttle.Throttle`: ``detection_event``
batches every record of a short spell; import and export progress keep every change of ``stage``
and only the latest of repeats.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

import socketio  # type: ignore[import-untyped]

from central.events import EventSink
from central.realtime.server import DASHBOARD_ROOM, test_session_room, video_room
from central.throttle import Throttle

__all__ = ["DETECTION_INTERVAL_S", "PROGRESS_INTERVAL_S", "RealtimeEmitter"]

logger = logging.getLogger(__name__)

DETECTION_INTERVAL_S = 0.02
"""Least time between two ``detection_event``\\ s of one session."""

PROGRESS_INTERVAL_S = 0.5
"""Least time between two import or export progress events of one video."""

_ProgressKey = tuple[str, str]
"""(event name, video id)."""


class RealtimeEmitter(EventSink):
    """Sends every event to its rooms; stored on ``app.state.realtime``."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        *,
        detection_interval_s: float = DETECTION_INTERVAL_S,
        progress_interval_s: float = PROGRESS_INTERVAL_S,
    ) -> None:
        self.sio = sio
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._detections: Throttle[str, Mapping[str, Any]] = Throttle(
            self._send_detections, detection_interval_s
        )
        self._progress: Throttle[_ProgressKey, Mapping[str, Any]] = Throttle(
            self._send_progress, progress_interval_s
        )

    def start(self) -> None:
        """Bind to the running event loop: every emit is sent from it."""
        self._loop = asyncio.get_running_loop()

    async def aclose(self) -> None:
        """Send whatever is buffered now, and wait for emits in progress."""
        self._detections.flush_all()
        self._progress.flush_all()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._loop = None

    # --------------------------------------------------------------------------- EventSink

    def project_created(self, project_id: str, name: str) -> None:
        self._emit("project_created", {"project_id": project_id, "name": name}, DASHBOARD_ROOM)

    def video_uploaded(self, video_id: str, filename: str, project_id: str | None) -> None:
        data = {"video_id": video_id, "filename": filename, "project_id": project_id}
        self._emit("video_uploaded", data, DASHBOARD_ROOM)

    def annotation_changed(self, video_id: str, action: str, annotation: Mapping[str, Any]) -> None:
        data = {"video_id": video_id, "action": action, "annotation": dict(annotation)}
        self._emit("annotation_update", data, video_room(video_id))

    def annotations_bulk_created(self, video_id: str, count: int) -> None:
        data = {"video_id": video_id, "action": "bulk_created", "count": count}
        self._emit("annotation_update", data, video_room(video_id))

    def import_progress(self, video_id: str, progress: Mapping[str, Any]) -> None:
        self._on_loop(self._progress.add, ("import_progress", video_id), [dict(progress)])

    def export_progress(self, video_id: str, progress: Mapping[str, Any]) -> None:
        self._on_loop(self._progress.add, ("export_progress", video_id), [dict(progress)])

    def rig_status(self, rig: Mapping[str, Any]) -> None:
        last_seen = rig.get("last_seen_at")
        data = {
            "rig_id": rig["rig_id"],
            "state": rig["state"],
            "last_seen_at": last_seen.isoformat() if last_seen is not None else None,
            "spool_depth": rig.get("spool_depth"),
            "version": rig.get("version"),
            "status": rig.get("last_status"),
        }
        self._emit("rig_status", data, DASHBOARD_ROOM)

    def detections(self, test_session_id: str, events: Sequence[Mapping[str, Any]]) -> None:
        self._on_loop(self._detections.add, test_session_id, events)

    def session_progress(self, test_session_id: str, progress: Mapping[str, Any]) -> None:
        data = {**progress, "test_session_id": test_session_id}
        self._emit("session_progress", data, [DASHBOARD_ROOM, test_session_room(test_session_id)])

    def test_completed(self, test_session_id: str, results: Mapping[str, Any]) -> None:
        """``results`` carries ``metrics`` and more; to the dashboard and the session's room."""
        data = {
            **results,
            "test_session_id": test_session_id,
            "metrics": results.get("metrics", {}),
        }
        self._emit("test_completed", data, [DASHBOARD_ROOM, test_session_room(test_session_id)])

    # ------------------------------------------------------------------------------ sending

    def _send_detections(self, test_session_id: str, events: list[Mapping[str, Any]]) -> None:
        data = {"test_session_id": test_session_id, "count": len(events), "detections": events}
        self._emit("detection_event", data, test_session_room(test_session_id))

    def _send_progress(self, key: _ProgressKey, updates: list[Mapping[str, Any]]) -> None:
        event, video_id = key
        for progress in _last_of_each_stage(updates):
            data = {**progress, "video_id": video_id}
            self._emit(event, data, [DASHBOARD_ROOM, video_room(video_id)])

    def _emit(self, event: str, data: Mapping[str, Any], room: str | list[str]) -> None:
        payload = {**data, "timestamp": time.time()}
        self._on_loop(self._spawn, lambda: self.sio.emit(event, payload, room=room), event)

    def _spawn(self, make: Callable[[], Coroutine[Any, Any, None]], event: str) -> None:
        task = asyncio.get_running_loop().create_task(make(), name=f"emit-{event}")
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("Socket.IO emit %s failed", task.get_name(), exc_info=task.exception())

    def _on_loop(self, call: Callable[..., None], *args: Any) -> None:
        """Run ``call(*args)`` on the emitter's loop: now when already there, else soon."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        loop = self._loop or running
        if loop is None or loop.is_closed():
            logger.debug("no event loop to emit on: dropped %s", call)
            return
        if loop is running:
            call(*args)
        else:
            loop.call_soon_threadsafe(call, *args)


def _last_of_each_stage(updates: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Of each run of updates with one ``stage``, the last: repeats thinned, changes kept."""
    kept: list[Mapping[str, Any]] = []
    for update in updates:
        if kept and kept[-1].get("stage") == update.get("stage"):
            kept[-1] = update
        else:
            kept.append(update)
    return kept
