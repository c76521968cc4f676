"""Several centrals split one deployment's ingest through an MQTT shared subscription
(``--mqtt-share-group``), each with its own client id and session (``--instance-id``): every
record is stored exactly once, also when one of them is SIGKILLed mid-stream and restarted. With
``--redis-url`` a dashboard on any of them receives what any of them emits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio  # type: ignore[import-untyped]
from sqlalchemy import create_engine, func, select

from central.config import CentralSettings
from central.db.engine import make_engine
from central.db.models import DetectionEvent
from central.ingest import CommandChannel, Ingestor
from central.ingest.ingestor import central_client_id
from central.ingest.mqtt_sessions import discard_session
from protocol import CommandReply, PingCommand, Topics, decode_command, encode

from .conftest import CentralProcess, redis_url

BATCHES = 120
RECORDS_PER_BATCH = 50
INSTANCES = ("central-a", "central-b")


@pytest.fixture
def centrals(
    settings: CentralSettings, tmp_path: Path, mqtt_broker: Any
) -> Iterator[list[CentralProcess]]:
    """Two centrals of one share group on the same database, broker and Redis (whose channel
    is named after the test's own topic prefix)."""
    if mqtt_broker.kind != "mosquitto":
        pytest.skip("the embedded amqtt broker serves no shared subscriptions")
    group = settings.topic_prefix.replace("/", "-")
    redis = redis_url()
    processes = [
        CentralProcess(
            settings,
            tmp_path / f"{instance}.log",
            ["--instance-id", instance, "--mqtt-share-group", group, "--redis-url", redis],
        )
        for instance in INSTANCES
    ]
    yield processes
    for process in processes:
        process.kill()
    for instance in INSTANCES:
        client_id = central_client_id(settings.topic_prefix, instance)
        asyncio.run(discard_session(mqtt_broker.url, client_id))


def _messages(central: CentralProcess) -> int:
    stats = httpx.get(f"{central.url}/api/ingest", timeout=5).json()["stats"]
    return int(stats["messages"])


def test_two_centrals_share_the_ingest_and_store_every_record_once(
    centrals: list[CentralProcess],
    make_rig: Callable[..., Any],
    wait_until: Callable[..., Any],
) -> None:
    for central in centrals:
        central.start()
    engine = create_engine(centrals[0].settings.database_url)

    def stored() -> tuple[int, int]:
        with engine.connect() as connection:
            rows = select(func.count(), func.count(func.distinct(DetectionEvent.seq)))
            total, distinct = connection.execute(rows.select_from(DetectionEvent)).one()
            return int(total), int(distinct)

    rig = make_rig()
    rig.status()
    publisher = ThreadPoolExecutor(1)
    published = publisher.submit(rig.publish_series, BATCHES, RECORDS_PER_BATCH)
    total = BATCHES * RECORDS_PER_BATCH
    wait_until(lambda: stored()[0] >= total // 4, what="ingest to be under way")
    victim = centrals[1]
    victim.kill()
    at_kill = stored()[0]
    published.result(timeout=60)  # every batch taken by the broker
    publisher.shutdown()
    assert at_kill < total, "the kill came too late to test anything"
    victim.start()  # same instance id: it gets what the broker queued for its session

    wait_until(lambda: stored()[0] >= total, timeout=30, what="every record after the restart")
    time.sleep(0.3)  # a redelivered duplicate would land now
    assert stored() == (total, total)
    assert all(_messages(central) > 0 for central in centrals), "one central took no share"
    engine.dispose()


def test_a_dashboard_on_either_central_sees_what_the_other_ingested(
    centrals: list[CentralProcess], make_rig: Callable[..., Any]
) -> None:
    for central in centrals:
        central.start()

    async def watch() -> list[list[dict[str, Any]]]:
        seen: list[list[dict[str, Any]]] = [[] for _ in centrals]
        clients = []
        for central, inbox in zip(centrals, seen, strict=True):
            client = socketio.AsyncClient(reconnection=False)
            client.on("rig_status", inbox.append)
            await client.connect(central.url, transports=["websocket"], wait_timeout=10)
            await client.call("join_dashboard", {}, timeout=5)
            clients.append(client)
        # One central of the group takes each status; the other's dashboard hears it by Redis.
        rig = make_rig("rig-shared")
        for _ in range(3):
            rig.status()
        async with asyncio.timeout(15):
            while not all(len(inbox) >= 3 for inbox in seen):
                await asyncio.sleep(0.05)
        for client in clients:
            await client.disconnect()
        return seen

    seen = asyncio.run(watch())
    for inbox in seen:
        assert [event["rigId"] for event in inbox] == ["rig-shared"] * 3


def test_a_reply_reaches_the_central_that_sent_the_command(
    database_url: str, mqtt_broker: Any, topic_prefix: str, make_rig: Callable[..., Any]
) -> None:
    if mqtt_broker.kind != "mosquitto":
        pytest.skip("the embedded amqtt broker serves no shared subscriptions")
    rig = make_rig("rig-ping")
    topics = Topics(topic_prefix)

    def answer(_client: Any, _userdata: Any, message: Any) -> None:
        command = decode_command(message.payload)
        reply = CommandReply(command_id=command.command_id, ok=True, rig_id="rig-ping")
        rig.client.publish(topics.replies("rig-ping"), encode(reply), qos=1)

    rig.client.on_message = answer
    rig.client.subscribe(topics.commands("rig-ping"), qos=1)

    async def ping_from_each() -> list[bool]:
        engine = make_engine(database_url)
        ingestors = [
            Ingestor(
                engine,
                mqtt_broker.url,
                topic_prefix,
                client_id=central_client_id(topic_prefix, instance),
                share_group="replies",
            )
            for instance in INSTANCES
        ]
        channels = [CommandChannel(ingestor) for ingestor in ingestors]
        for ingestor in ingestors:
            await ingestor.start(wait_connected_s=10)
        try:
            # Round robin hands half the shared deliveries of the replies to the other central.
            replies = [
                await channel.request("rig-ping", PingCommand(command_id=f"ping-{n}-{i}"), 10)
                for n in range(3)
                for i, channel in enumerate(channels)
            ]
        finally:
            for ingestor in ingestors:
                await ingestor.stop()
                await discard_session(mqtt_broker.url, ingestor.client.client_id)
            engine.dispose()
        return [reply.ok for reply in replies]

    assert asyncio.run(ping_from_each()) == [True] * 6
