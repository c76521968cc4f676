"""The session executor on ``app.state.executor``: built in the lifespan, reached by routes.

Its lifespan part runs after the database and ingest parts: it wires live matching into ingest
(records and rig status), uses ingest's command channel and MQTT client for commands and
results, and cancels the executor's timers on shutdown. With ingest off (``ingest_enabled``
false) sessions of the ``http`` rig still run; rig sessions fail to start with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request

from central.config import CentralSettings
from central.execution.executor import SessionExecutor
from central.execution.live import LiveMatching
from protocol import Topics

__all__ = ["execution_lifespan", "get_executor"]

logger = logging.getLogger(__name__)


@asynccontextmanager
async def execution_lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: CentralSettings = app.state.settings
    realtime = getattr(app.state, "realtime", None)
    ingestor: Any = getattr(app.state, "ingestor", None)
    live = LiveMatching(realtime)
    executor = SessionExecutor(
        app.state.session_factory,
        live=live,
        commands=getattr(app.state, "commands", None),
        publisher=ingestor.client if ingestor is not None else None,
        topics=Topics(settings.topic_prefix),
        realtime=realtime,
    )
    if ingestor is not None:
        ingestor.add_listener(live.on_batch)
        ingestor.add_listener(executor.on_batch)
        ingestor.add_status_listener(executor.on_rig_status)
    app.state.executor = executor
    await executor.resume()
    try:
        yield
    finally:
        await executor.close()


def get_executor(request: Request) -> SessionExecutor:
    executor: SessionExecutor = request.app.state.executor
    return executor
