"""Lifespan part of the app for MQTT: the embedded broker (when no ``mqtt_url`` is set), ingest,
the command channel to rigs, and their wiring to Socket.IO.

``app.state`` after start: ``mqtt_url`` (the broker actually used: hand it to a rig agent),
``ingestor``, ``commands`` (:class:`~central.ingest.commands.CommandChannel`) and
``broker_state`` (read by ``/health``). With ``ingest_enabled=False`` nothing starts.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from central.config import CentralSettings
from central.db.engine import make_engine
from central.ingest._rows import json_text
from central.ingest.broker import EmbeddedBroker
from central.ingest.client import MqttClient, MqttNotConnected
from central.ingest.commands import CommandChannel
from central.ingest.ingestor import Ingestor, central_client_id
from central.realtime.server import connect_ingest

__all__ = ["EMBEDDED_BROKER_PORT", "STARTUP_CONNECT_WAIT_S", "mqtt_lifespan"]

logger = logging.getLogger(__name__)

STARTUP_CONNECT_WAIT_S = 5.0
"""Startup waits this long for the broker (and the subscriptions), then goes on without it."""

EMBEDDED_BROKER_PORT = 1883
"""Tried first by the embedded broker; a free port is taken when it is busy."""


class _BrokerState:
    """``/health`` shows ``str(app.state.broker_state)``: this reads the live client state."""

    def __init__(self, client: MqttClient) -> None:
        self._client = client

    @property
    def connected(self) -> bool:
        return self._client.is_connected

    def __str__(self) -> str:
        return self._client.describe()


@asynccontextmanager
async def mqtt_lifespan(app: FastAPI) -> AsyncIterator[None]:
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
        ingestor = Ingestor(
            engine,
            url,
            settings.topic_prefix,
            client_id=central_client_id(settings.topic_prefix, settings.instance_id),
            share_group=settings.mqtt_share_group,
            mqtt_protocol=protocol,
        )
        connect_ingest(ingestor, app.state.realtime)
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
