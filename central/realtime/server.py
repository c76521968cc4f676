"""Real-time events to the dashboard over Socket.IO (python-socketio, ASGI, on the HTTP app).

Event names and payload fields are the contract of ROADMAP.md section 4; docs/realtime.md lists
every event, its room and its payload. Rooms: ``dashboard``, ``video_{id}``, ``test_session_{id}``.

Detection records arrive at up to tens of thousands a second; they are coalesced per test session
with a leading-edge throttle: the first records after a quiet spell go out at once, later ones
wait until ``detection_interval_s`` has passed since the previous emit and then leave together,
so a session never gets more than ``1 / detection_interval_s`` emits a second and a slow stream
pays no added latency.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any

import socketio  # type: ignore[import-untyped]
from fastapi import Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool

from central.auth import Principal, Role
from central.ingest.ingestor import Ingestor
from central.realtime.origins import OriginCheck, origin_check
from central.services import tokens

__all__ = [
    "DASHBOARD_ROOM",
    "Authenticator",
    "Realtime",
    "RealtimeDep",
    "connect_ingest",
    "create_socketio_server",
    "get_realtime",
    "install_realtime",
    "realtime_lifespan",
    "socketio_asgi_app",
    "test_session_room",
    "video_room",
]

logger = logging.getLogger(__name__)

DASHBOARD_ROOM = "dashboard"

Authenticator = Callable[[str], Awaitable[Principal | None]]
"""Maps a bearer token to the caller or ``None`` when the token is not valid."""


def video_room(video_id: object) -> str:
    return f"video_{video_id}"


def test_session_room(test_session_id: object) -> str:
    return f"test_session_{test_session_id}"


def _token_from(environ: Mapping[str, Any], auth: object) -> str | None:
    """The bearer token from the Socket.IO auth dict ``{token}`` or the Authorization header."""
    if isinstance(auth, Mapping):
        token = auth.get("token")
        if isinstance(token, str) and token:
            return token.removeprefix("Bearer ").strip()
    header = environ.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def _id_from(data: object, key: str) -> str | None:
    if isinstance(data, Mapping):
        value = data.get(key)
        if isinstance(value, str | int) and str(value):
            return str(value)
    return None


def create_socketio_server(
    *,
    authenticate: Authenticator | None,
    cors_allowed_origins: list[str] | str | OriginCheck,
    client_manager: socketio.AsyncManager | None = None,
) -> socketio.AsyncServer:
    """The Socket.IO server with its connect check and room handlers.

    ``authenticate=None`` turns auth off (a loopback dev server only); otherwise a connection
    without a valid token is refused. ``client_manager`` may be ``socketio.AsyncRedisManager`` so
    several central processes reach every dashboard.
    """
    sio = socketio.AsyncServer(
        async_mode="asgi",
        cors_allowed_origins=cors_allowed_origins,
        client_manager=client_manager,
    )

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: object = None) -> None:
        if authenticate is None:
            return
        token = _token_from(environ, auth)
        principal = await authenticate(token) if token else None
        if principal is None:
            logger.info("Socket.IO connection %s refused: missing or invalid token", sid)
            raise socketio.exceptions.ConnectionRefusedError("a valid bearer token is required")
        await sio.save_session(sid, {"principal": principal})

    async def join(sid: str, room: str) -> dict[str, Any]:
        await sio.enter_room(sid, room)
        return {"ok": True, "room": room}

    @sio.event
    async def join_dashboard(sid: str, _data: object = None) -> dict[str, Any]:
        return await join(sid, DASHBOARD_ROOM)

    @sio.event
    async def join_test_session(sid: str, data: object = None) -> dict[str, Any]:
        session_id = _id_from(data, "test_session_id")
        if session_id is None:
            return {"ok": False, "error": "test_session_id is required"}
        return await join(sid, test_session_room(session_id))

    @sio.event
    async def join_annotation_session(sid: str, data: object = None) -> dict[str, Any]:
        video_id = _id_from(data, "video_id")
        if video_id is None:
            return {"ok": False, "error": "video_id is required"}
        return await join(sid, video_room(video_id))

    @sio.event
    async def annotation_progress(sid: str, data: object = None) -> dict[str, Any]:
        video_id = _id_from(data, "video_id")
        if video_id is None:
            return {"ok": False, "error": "video_id is required"}
        if authenticate is not None:
            principal = (await sio.get_session(sid))["principal"]
            if not principal.role.allows(Role.ANNOTATOR):
                return {"ok": False, "error": "annotation progress needs the annotator role"}
        await sio.emit("annotation_progress_update", data, room=video_room(video_id), skip_sid=sid)
        return {"ok": True}

    return sio


def socketio_asgi_app(sio: socketio.AsyncServer) -> socketio.ASGIApp:
    """The ASGI app to mount at ``/socket.io`` on the FastAPI app (it takes every path there)."""
    return socketio.ASGIApp(sio, socketio_path=None)


class _Coalescer:
    """Per-key buffers flushed with a leading-edge throttle (see the module docstring)."""

    def __init__(
        self,
        flush: Callable[[str, list[dict[str, Any]]], Coroutine[Any, Any, None]],
        interval_s: float,
    ) -> None:
        self._flush = flush
        self._interval_s = interval_s
        self._buffers: dict[str, list[dict[str, Any]]] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._last_emit: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def add(self, key: str, items: Iterable[dict[str, Any]]) -> None:
        buffer = self._buffers.setdefault(key, [])
        buffer.extend(items)
        if not buffer or key in self._timers:
            return
        loop = asyncio.get_running_loop()
        wait = self._last_emit.get(key, float("-inf")) + self._interval_s - loop.time()
        if wait <= 0:
            self._emit(key)
        else:
            self._timers[key] = loop.call_later(wait, self._emit, key)

    def _emit(self, key: str) -> None:
        self._timers.pop(key, None)
        items = self._buffers.pop(key, None)
        if not items:
            return
        loop = asyncio.get_running_loop()
        self._last_emit[key] = loop.time()
        task = loop.create_task(self._flush(key, items), name=f"emit-{key}")
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("coalesced emit failed", exc_info=task.exception())

    async def aclose(self) -> None:
        """Send whatever is buffered now, and wait for emits in progress."""
        for timer in self._timers.values():
            timer.cancel()
        for key in list(self._buffers):
            self._emit(key)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


class Realtime:
    """Typed emitters for every server-side event; stored on ``app.state.realtime``.

    Services and routes call these and never name an event or a room themselves.
    """

    def __init__(self, sio: socketio.AsyncServer, *, detection_interval_s: float = 0.02) -> None:
        self.sio = sio
        self._detections = _Coalescer(self._emit_detections, detection_interval_s)

    async def aclose(self) -> None:
        await self._detections.aclose()

    async def _emit(self, event: str, data: dict[str, Any], room: str | list[str]) -> None:
        await self.sio.emit(event, {**data, "timestamp": time.time()}, room=room)

    async def emit_video_uploaded(
        self, video_id: str, filename: str, project_id: str | None = None
    ) -> None:
        await self._emit(
            "video_uploaded",
            {"video_id": video_id, "filename": filename, "project_id": project_id},
            DASHBOARD_ROOM,
        )

    async def emit_project_created(self, project_id: str, name: str) -> None:
        await self._emit(
            "project_created", {"project_id": project_id, "name": name}, DASHBOARD_ROOM
        )

    async def emit_test_completed(self, test_session_id: str, results: Mapping[str, Any]) -> None:
        """To the dashboard and the session's room; ``results`` carries ``metrics`` and more."""
        await self._emit(
            "test_completed",
            {**results, "test_session_id": test_session_id, "metrics": results.get("metrics", {})},
            [DASHBOARD_ROOM, test_session_room(test_session_id)],
        )

    def emit_detection_events(self, test_session_id: str, events: Iterable[dict[str, Any]]) -> None:
        """Queue detection records for the session's room; they leave coalesced (non-blocking)."""
        self._detections.add(test_session_id, events)

    async def _emit_detections(self, test_session_id: str, events: list[dict[str, Any]]) -> None:
        await self._emit(
            "detection_event",
            {"test_session_id": test_session_id, "count": len(events), "detections": events},
            test_session_room(test_session_id),
        )

    async def emit_annotation_update(
        self, video_id: str, action: str, annotation: Mapping[str, Any]
    ) -> None:
        """``action`` is ``created``, ``updated`` or ``deleted``; to room ``video_{id}``."""
        await self._emit(
            "annotation_update",
            {"video_id": video_id, "action": action, "annotation": dict(annotation)},
            video_room(video_id),
        )

    async def emit_annotations_bulk_created(self, video_id: str, count: int) -> None:
        """One ``annotation_update`` for a bulk write: too many rows to send; clients refetch."""
        await self._emit(
            "annotation_update",
            {"video_id": video_id, "action": "bulk_created", "count": count},
            video_room(video_id),
        )

    async def emit_rig_status(self, status: Mapping[str, Any]) -> None:
        """A rig came online, went offline or reported its spool; to the dashboard."""
        await self._emit("rig_status", dict(status), DASHBOARD_ROOM)

    async def emit_session_progress(
        self, test_session_id: str, progress: Mapping[str, Any]
    ) -> None:
        """Provisional results of a running session; to its room and the dashboard."""
        await self._emit(
            "session_progress",
            {**progress, "test_session_id": test_session_id},
            [DASHBOARD_ROOM, test_session_room(test_session_id)],
        )

    async def emit_import_progress(self, video_id: str, progress: Mapping[str, Any]) -> None:
        """To the dashboard, where long jobs are watched, and to the video's room."""
        await self._emit(
            "import_progress",
            {**progress, "video_id": video_id},
            [DASHBOARD_ROOM, video_room(video_id)],
        )

    async def emit_export_progress(self, video_id: str, progress: Mapping[str, Any]) -> None:
        """To the dashboard, where long jobs are watched, and to the video's room."""
        await self._emit(
            "export_progress",
            {**progress, "video_id": video_id},
            [DASHBOARD_ROOM, video_room(video_id)],
        )


# ------------------------------------------------------------------------ wiring into the app


def _token_authenticator(app: FastAPI) -> Authenticator:
    """Checks a token against the API tokens table (off the event loop)."""

    def lookup(token: str) -> Principal | None:
        with app.state.session_factory() as session:
            row = tokens.authenticate(session, token)
            if row is None:
                return None
            return Principal(role=Role(row.role), token_id=row.id, name=row.name)

    async def authenticate(token: str) -> Principal | None:
        return await run_in_threadpool(lookup, token)

    return authenticate


def install_realtime(app: FastAPI) -> Realtime:
    """Create the Socket.IO server, mount it at ``/socket.io`` and put the facade on
    ``app.state.realtime``. Auth follows the REST API: a token unless ``no_auth``."""
    settings = app.state.settings
    sio = create_socketio_server(
        authenticate=None if settings.no_auth else _token_authenticator(app),
        cors_allowed_origins=origin_check(settings.cors_origins),
    )
    realtime = Realtime(sio)
    app.state.realtime = realtime
    app.mount("/socket.io", socketio_asgi_app(sio))
    return realtime


@asynccontextmanager
async def realtime_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """On shutdown, send the detection records still buffered."""
    try:
        yield
    finally:
        await app.state.realtime.aclose()


def get_realtime(request: Request) -> Realtime:
    """FastAPI dependency: the app's :class:`Realtime`.

    A route emits after its commit as a background task, which also works from a sync route:
    ``background.add_task(realtime.emit_project_created, project.id, project.name)``.
    """
    realtime: Realtime = request.app.state.realtime
    return realtime


RealtimeDep = Annotated[Realtime, Depends(get_realtime)]


def _rig_status_message(rig: Mapping[str, Any]) -> dict[str, Any]:
    last_seen = rig.get("last_seen_at")
    return {
        "rig_id": rig["rig_id"],
        "state": rig["state"],
        "last_seen_at": last_seen.isoformat() if last_seen is not None else None,
        "spool_depth": rig.get("spool_depth"),
        "version": rig.get("version"),
        "status": rig.get("last_status"),
    }


def connect_ingest(ingestor: Ingestor, realtime: Realtime) -> None:
    """Forward every rig status change to the dashboard.

    ``detection_event`` is not sent from here: live matching (``central.execution.live``)
    judges each stored record of a running session and sends it with its provisional verdict.
    """

    async def on_status(rig: dict[str, Any]) -> None:
        await realtime.emit_rig_status(_rig_status_message(rig))

    ingestor.add_status_listener(on_status)
