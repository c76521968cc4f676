"""The Socket.IO server (python-socketio, ASGI, mounted on the HTTP app): auth, rooms, origins.

Rooms: ``dashboard``, ``video_{id}``, ``test_session_{id}``; clients join them with the events of
ROADMAP.md section 4 (docs/realtime.md). What the server sends is in :mod:`.emitter`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import socketio  # type: ignore[import-untyped]
from sqlalchemy.orm import Session, sessionmaker

from central.auth import Principal, Role
from central.services import tokens

__all__ = [
    "DASHBOARD_ROOM",
    "Authenticator",
    "create_socketio_server",
    "socketio_asgi_app",
    "test_session_room",
    "token_authenticator",
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
    cors_allowed_origins: list[str] | str,
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


def token_authenticator(factory: Callable[[], sessionmaker[Session]]) -> Authenticator:
    """Checks a token against the API tokens table, off the event loop.

    ``factory`` returns the session factory, which exists only once the database is open.
    """

    def lookup(token: str) -> Principal | None:
        with factory()() as session:
            row = tokens.authenticate(session, token)
            if row is None:
                return None
            return Principal(role=Role(row.role), token_id=row.id, name=row.name)

    async def authenticate(token: str) -> Principal | None:
        return await asyncio.to_thread(lookup, token)

    return authenticate
