"""The Socket.IO server (python-socketio, ASGI, mounted on the HTTP app): auth, rooms, origins.

Rooms: ``dashboard``, ``video_{id}``, ``test_session_{id}``; clients join them with the events of
ROADMAP.md section 4 and leave them with the matching ``leave_*`` (docs/realtime.md), each
acknowledged with an :class:`~central.schemas.events.Ack`. Their data is read by the models of
:mod:`central.schemas.events`, in camelCase or snake_case. What the server sends is in
:mod:`.emitter`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import socketio  # type: ignore[import-untyped]
from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel
from sqlalchemy.orm import Session, sessionmaker

from central.auth import Principal, Role
from central.realtime.origins import OriginCheck
from central.schemas.events import Ack, AnnotationProgress, TestSessionRoom, VideoRoom
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


def _read(model: type[BaseModel], data: object) -> BaseModel | str:
    """``data`` read by ``model``, or what is wrong with it (the names the client may send)."""
    try:
        return model.model_validate(data if isinstance(data, Mapping) else {})
    except ValidationError as exc:
        names = ", ".join(f"{to_camel(str(n))} (or {n})" for n in model.model_fields)
        logger.debug("Socket.IO data refused by %s: %s", model.__name__, exc)
        return f"{names} is required"


def _ack(ok: bool, *, room: str | None = None, error: str | None = None) -> dict[str, Any]:
    return Ack(ok=ok, room=room, error=error).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )


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

    async def enter(sid: str, room: str, joining: bool) -> dict[str, Any]:
        await (sio.enter_room if joining else sio.leave_room)(sid, room)
        return _ack(True, room=room)

    def on_room(event: str, room_of: Callable[[Any], str] | None, model: Any = None) -> None:
        """``join_*`` and ``leave_*`` of one kind of room."""

        async def handle(joining: bool, sid: str, data: object) -> dict[str, Any]:
            if room_of is None:
                return await enter(sid, DASHBOARD_ROOM, joining)
            read = _read(model, data)
            if isinstance(read, str):
                return _ack(False, error=read)
            return await enter(sid, room_of(read), joining)

        async def join(sid: str, data: object = None) -> dict[str, Any]:
            return await handle(True, sid, data)

        async def leave(sid: str, data: object = None) -> dict[str, Any]:
            return await handle(False, sid, data)

        sio.on(f"join_{event}", join)
        sio.on(f"leave_{event}", leave)

    on_room("dashboard", None)
    on_room("test_session", lambda r: test_session_room(r.test_session_id), TestSessionRoom)
    on_room("annotation_session", lambda r: video_room(r.video_id), VideoRoom)

    @sio.event
    async def annotation_progress(sid: str, data: object = None) -> dict[str, Any]:
        read = _read(AnnotationProgress, data)
        if isinstance(read, str):
            return _ack(False, error=read)
        video_id = read.video_id  # type: ignore[attr-defined]
        # Relayed as sent, but for the video id, which is always videoId.
        relayed = read.model_dump(mode="json", by_alias=True)
        if authenticate is not None:
            principal = (await sio.get_session(sid))["principal"]
            if not principal.role.allows(Role.ANNOTATOR):
                return _ack(False, error="annotation progress needs the annotator role")
        await sio.emit(
            "annotation_progress_update", relayed, room=video_room(video_id), skip_sid=sid
        )
        return _ack(True)

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
