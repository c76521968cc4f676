"""The FastAPI application factory: settings, middleware, routers and the Socket.IO mount.

Nothing is opened here; :mod:`central.lifespan` starts and wires the parts when the app starts.
``app.state`` after build: ``settings`` and ``realtime`` (the
:class:`~central.realtime.emitter.RealtimeEmitter`, whose Socket.IO server is mounted at
``/socket.io``); the lifespan adds the rest.
"""

from __future__ import annotations

import socketio  # type: ignore[import-untyped]
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from central.api.deps import document_required_roles
from central.api.errors import install_error_handlers
from central.api.openapi import document_responses
from central.api.routes import ROUTERS
from central.config import CentralSettings
from central.lifespan import lifespan
from central.realtime import (
    RealtimeEmitter,
    create_socketio_server,
    origin_check,
    socketio_asgi_app,
    token_authenticator,
)

__all__ = ["create_app"]


def create_app(settings: CentralSettings | None = None) -> FastAPI:
    """The central server's ASGI app; nothing is opened until its lifespan starts."""
    settings = settings if settings is not None else CentralSettings()
    app = FastAPI(
        title="VRU rig central",
        summary="Projects, videos, ground truth and test sessions of the VRU test rigs",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["*"],
        allow_headers=["*"],
        # The frontend reads page totals and links, the export report and the download's name.
        expose_headers=["X-Total-Count", "Link", "X-Export-Report", "Content-Disposition"],
    )
    install_error_handlers(app)
    for router in ROUTERS:
        document_required_roles(router)
        document_responses(router)
        app.include_router(router)
    # Socket.IO follows the REST API's auth: a token unless no_auth.
    sio = create_socketio_server(
        authenticate=None
        if settings.no_auth
        else token_authenticator(lambda: app.state.session_factory),
        cors_allowed_origins=origin_check(settings.cors_origins),
        client_manager=None
        if settings.redis_url is None
        else socketio.AsyncRedisManager(
            settings.redis_url, channel=f"central-{settings.topic_prefix}"
        ),
    )
    app.state.realtime = RealtimeEmitter(sio)
    app.mount("/socket.io", socketio_asgi_app(sio))
    return app
