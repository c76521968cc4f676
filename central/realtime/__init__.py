"""Real-time events to the dashboard over Socket.IO: the server and the emitter."""

from central.realtime.emitter import RealtimeEmitter
from central.realtime.server import (
    DASHBOARD_ROOM,
    create_socketio_server,
    socketio_asgi_app,
    test_session_room,
    token_authenticator,
    video_room,
)

__all__ = [
    "DASHBOARD_ROOM",
    "RealtimeEmitter",
    "create_socketio_server",
    "socketio_asgi_app",
    "test_session_room",
    "token_authenticator",
    "video_room",
]
