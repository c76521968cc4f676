"""The app's lifespan: every part of central started in order, wired together, stopped in reverse.

Parts, each an async context manager taking the app (:data:`LIFESPAN_PARTS`):

1. **database**: an embedded SQLite file is migrated, a server database checked; ``engine`` and
   ``session_factory`` on ``app.state``.
2. **realtime**: the Socket.IO emitter (mounted by :func:`central.app.create_app`) binds to the
   loop; on shutdown it sends what it still buffers.
3. **ingest** (unless ``ingest_enabled`` is false): the embedded broker when no ``mqtt_url`` is
   set, the :class:`~central.ingest.Ingestor` on an engine of its own, the command channel to rigs,
   and rig status forwarded to the dashboard. ``app.state``: ``mqtt_url`` (the broker actually
   used: hand it to a rig agent), ``ingestor``, ``commands``, ``broker_state`` (for ``/health``).
4. **execution**: live matching and the :class:`~central.execution.SessionExecutor`, fed by
   ingest's records and rig status, commanding rigs through ingest's channel; ``executor``. It
   takes over the sessions whose lease is free (``instance_id`` names this central in leases).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from central.config import CentralSettings
from central.db import migrate
from central.db.engine import make_engine, session_factory
from central.db.types import json_text
from central.events import EventSink
from central.execution import LiveMatching, SessionExecutor
from central.execution.lease import LeaseTimings
from central.ingest import CommandChannel, Ingestor
from central.ingest.broker import EmbeddedBroker
from central.ingest.client import MqttClient, MqttNotConnected
from central.ingest.ingestor import central_client_id
from central.ingest.tls import tls_context
from central.realtime.emitter import RealtimeEmitter
from protocol import Topics

__all__ = ["EMBEDDED_BROKER_PORT", "LIFESPAN_PARTS", "STARTUP_CONNECT_WAIT_S", "lifespan"]

logger = logging.getLogger(__name__)

LifespanPart = Callable[[FastAPI], AbstractAsyncContextManager[None]]

STARTUP_CONNECT_WAIT_S = 5.0
"""Startup waits this long for the broker (and the subscriptions), then goes on without it."""

EMBEDDED_BROKER_PORT = 1883
"""Tried first by the embedded broker; a free port is taken when it is busy."""


@asynccontextmanager
async def database_lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: CentralSettings = app.state.settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await run_in_threadpool(migrate.ensure_ready, settings.database_url)
    engine = make_engine(settings.database_url)
    app.state.engine = engine
    app.state.session_factory = session_factory(engine)
    try:
        yield
    finally:
        engine.dispose()


@asynccontextmanager
async def realtime_lifespan(app: FastAPI) -> AsyncIterator[None]:
    emitter: RealtimeEmitter = app.state.realtime
    emitter.start()
    try:
        yield
    finally:
        await emitter.aclose()


class _BrokerState:
    """``/health`` shows ``str(app.state.broker_state)``: this reads the live client state."""

    def __init__(self, client: MqttClient) -> None:
        self._client = client

    @property
    def connected(self) -> bool:
        return self._client.is_connected

    def __str__(self) -> str:
        return self._client.describe()


def _forward_rig_status(events: EventSink) -> Callable[[dict[str, Any]], Any]:
    async def on_status(rig: dict[str, Any]) -> None:
        events.rig_status(rig)

    return on_status


@asynccontextmanager
async def ingest_lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: CentralSettings = app.state.settings
    if not settings.ingest_enabled:
        yield
        return
    async with AsyncExitStack() as stack:
        url, protocol = settings.mqtt_url, "auto"
        if url is None:
            broker = await stack.enter_async_context(
                EmbeddedBroker("127.0.0.1", EMBEDDED_BROKER_PORT)
            )
            url, protocol = broker.url, "3.1.1"  # amqtt speaks 3.1.1 only: skip the MQTT 5 probe
        app.state.mqtt_url = url
        # Ingest writes on an engine of its own, whose JSON columns are encoded by orjson.
        engine = make_engine(settings.database_url, json_serializer=json_text)
        stack.callback(engine.dispose)
        context = None
        if url.startswith("mqtts://"):
            context = tls_context(
                settings.mqtt_ca_file, settings.mqtt_cert_file, settings.mqtt_key_file
            )
        ingestor = Ingestor(
            engine,
            url,
            settings.topic_prefix,
            client_id=central_client_id(settings.topic_prefix, settings.instance_id),
            share_group=settings.mqtt_share_group,
            mqtt_protocol=protocol,
            ssl_context=context,
        )
        ingestor.add_status_listener(_forward_rig_status(app.state.realtime))
        app.state.ingestor = ingestor
        app.state.commands = CommandChannel(ingestor)
        app.state.broker_state = _BrokerState(ingestor.client)
        await ingestor.start()
        stack.push_async_callback(ingestor.stop)
        try:
            await ingestor.client.wait_connected(STARTUP_CONNECT_WAIT_S)
        except MqttNotConnected:
            logger.warning(
                "no MQTT broker at %s yet; ingest keeps trying", ingestor.client.address.url
            )
        logger.info(
            "MQTT ingest on %s under %s/", ingestor.client.address.url, settings.topic_prefix
        )
        yield


@asynccontextmanager
async def execution_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """With ingest off (``ingest_enabled`` false) sessions of the ``http`` rig still run; rig
    sessions fail to start with the reason."""
    settings: CentralSettings = app.state.settings
    events: EventSink = app.state.realtime
    ingestor: Ingestor | None = getattr(app.state, "ingestor", None)
    live = LiveMatching(events)
    executor = SessionExecutor(
        app.state.session_factory,
        live=live,
        commands=getattr(app.state, "commands", None),
        publisher=ingestor.client if ingestor is not None else None,
        topics=Topics(settings.topic_prefix),
        events=events,
        instance_id=settings.instance_id,
        lease_timings=LeaseTimings(
            settings.session_lease_s, settings.session_renew_s, settings.session_poll_s
        ),
        # Other centrals store records of this one's sessions only when they share the ingest.
        peers=settings.mqtt_share_group is not None or settings.redis_url is not None,
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


LIFESPAN_PARTS: list[LifespanPart] = [
    database_lifespan,
    realtime_lifespan,
    ingest_lifespan,
    execution_lifespan,
]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with AsyncExitStack() as stack:
        for part in LIFESPAN_PARTS:
            await stack.enter_async_context(part(app))
        # Everything made so far (modules, the app, ORM mappers, pools) lives as long as the
        # process: move it out of the collector's reach. Otherwise each full collection walks it
        # all again and stalls the ingest writer: measured 175 ms pauses, the p99 of ingest.
        gc.freeze()
        # Ingest keeps thousands of young rows alive per batch, and with the default thresholds
        # (700, 10, 10) the collector walked them again and again: about 30 % of central's CPU per
        # record under load (bench/ingest.py). Rarer collections walk each survivor about once.
        gc.set_threshold(20_000, 50, 50)
        try:
            yield
        finally:
            gc.unfreeze()
