"""The asyncio MQTT client against a real broker: PUBACK-awaited publish, acknowledgement only on
request (what the broker has not seen acknowledged comes back), 3.1.1 fallback, reconnect; and
the command channel to a rig."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from central.ingest.broker import EmbeddedBroker, free_port
from central.ingest.client import InboundMessage, MqttClient
from central.ingest.commands import CommandTimeout
from central.ingest.mqtt_sessions import discard_session
from protocol import CommandReply, PingCommand, decode_command, encode


async def _next(queue: asyncio.Queue[InboundMessage], timeout: float = 5) -> InboundMessage:
    return await asyncio.wait_for(queue.get(), timeout)


def test_an_unacknowledged_message_comes_back_on_the_next_connection(
    mqtt_broker: Any, topic_prefix: str
) -> None:
    if mqtt_broker.kind != "mosquitto":
        pytest.skip("amqtt does not resend unacknowledged QoS 1 messages after a reconnect")
    client_id = f"test-{uuid.uuid4().hex[:10]}"
    topic = f"{topic_prefix}/data"

    async def scenario() -> None:
        inbox: asyncio.Queue[InboundMessage] = asyncio.Queue()
        consumer = MqttClient(mqtt_broker.url, client_id, on_message=inbox.put_nowait)
        consumer.add_subscription(topic)
        await consumer.start(wait_connected_s=5)
        async with MqttClient(mqtt_broker.url, f"{client_id}-pub") as publisher:
            await publisher.wait_connected(5)
            await publisher.publish(topic, b"kept", qos=1)  # returns on the broker's PUBACK
            await publisher.publish(topic, b"done", qos=1)
            first, second = await _next(inbox), await _next(inbox)
            consumer.ack(second)  # "kept" is never acknowledged
            await consumer.close()

            consumer = MqttClient(mqtt_broker.url, client_id, on_message=inbox.put_nowait)
            consumer.add_subscription(topic)
            await consumer.start(wait_connected_s=5)
            again = await _next(inbox)
            assert (first.payload, second.payload, again.payload) == (b"kept", b"done", b"kept")
            consumer.ack(again)
            await asyncio.sleep(0.2)
            assert inbox.empty()
        await consumer.close()
        await discard_session(mqtt_broker.url, client_id)

    asyncio.run(scenario())


def test_against_amqtt_it_falls_back_to_311_and_reconnects_after_a_broker_restart() -> None:
    port = free_port()

    async def scenario() -> None:
        inbox: asyncio.Queue[InboundMessage] = asyncio.Queue()
        broker = EmbeddedBroker("127.0.0.1", port)
        await broker.start()
        client = MqttClient(
            broker.url,
            "fallback",
            on_message=inbox.put_nowait,
            backoff_initial_s=0.1,
            backoff_cap_s=0.5,
        )
        client.add_subscription("t/#")
        await client.start(wait_connected_s=10)
        assert client.protocol == "3.1.1" and client.is_connected

        await broker.stop()
        for _ in range(100):
            if not client.is_connected:
                break
            await asyncio.sleep(0.05)
        assert not client.is_connected

        broker = EmbeddedBroker("127.0.0.1", port)
        await broker.start()
        await client.wait_connected(10)
        async with MqttClient(broker.url, "pub", protocol="3.1.1") as publisher:
            await publisher.wait_connected(5)
            await publisher.publish("t/x", b"after the restart")
            assert (await _next(inbox)).payload == b"after the restart"
        await client.close()
        await broker.stop()

    asyncio.run(scenario())


def test_a_command_gets_the_rigs_reply_or_times_out(client: TestClient, make_rig: Any) -> None:
    rig = make_rig("rig-1")
    commands = rig.topics.commands("rig-1")

    def answer(_client: Any, _userdata: Any, message: Any) -> None:
        command = decode_command(message.payload)
        if command.command_id != "unanswered":
            reply = CommandReply(command_id=command.command_id, ok=True, rig_id="rig-1")
            rig.client.publish(rig.topics.replies("rig-1"), encode(reply), qos=1)

    rig.client.on_message = answer
    rig.client.subscribe(commands, qos=1)
    channel = client.app.state.commands  # type: ignore[attr-defined]
    portal = client.portal  # type: ignore[attr-defined]
    time.sleep(0.3)  # the fake rig's subscription is in place

    reply = portal.call(channel.request, "rig-1", PingCommand(command_id="c-1"), 5.0)
    assert reply == CommandReply(command_id="c-1", ok=True, rig_id="rig-1")
    with pytest.raises(CommandTimeout):
        portal.call(channel.request, "rig-1", PingCommand(command_id="unanswered"), 0.5)


def test_a_listener_that_closes_before_connack_is_named_as_such() -> None:
    """Something on the broker's port that accepts and hangs up (a proxy with no backend, a
    broker refusing at its connection limit): /health says so, not just "connecting"."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        stop = threading.Event()

        def hang_up() -> None:
            listener.settimeout(0.1)
            while not stop.is_set():
                try:
                    connection, _ = listener.accept()
                except TimeoutError:
                    continue
                connection.close()

        closer = threading.Thread(target=hang_up, daemon=True)
        closer.start()

        async def scenario() -> str:
            client = MqttClient(f"mqtt://127.0.0.1:{port}", f"test-{uuid.uuid4().hex[:10]}")
            await client.start()
            try:
                deadline = time.monotonic() + 10
                while client.last_error is None and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                return client.describe()
            finally:
                await client.close()

        try:
            described = asyncio.run(scenario())
        finally:
            stop.set()
            closer.join(5)
    assert described.endswith(": the broker closed the connection before answering CONNECT")
