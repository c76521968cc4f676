"""An asyncio face on paho-mqtt 2 that acknowledges QoS 1 messages only when told to.

Why paho and not aiomqtt: aiomqtt 2.x acknowledges a message on arrival, so whatever is in
flight when central dies is lost. Here paho runs with ``manual_ack=True`` and the caller
acknowledges each message after the commit that stores it; until then the broker keeps it in the
persistent session and resends it on the next connection.

Threads: paho's network thread (``loop_start``) runs its callbacks; they reach the event loop
through ``loop.call_soon_threadsafe``. ``ack`` and ``publish`` may be called from any thread.
Reconnects are driven from asyncio with capped, jittered exponential backoff (paho's own has
no jitter).

Session: MQTT 5 with ``clean_start=False`` and a session expiry, so the broker queues QoS 1
messages while central is down. A broker that refuses MQTT 5 (amqtt speaks 3.1.1 only) gets a
3.1.1 persistent session (``clean_session=False``) instead.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any, Self

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from central.ingest._client_types import (
    Backoff,
    ConnectionState,
    InboundMessage,
    MqttError,
    MqttNotConnected,
    is_failure,
    is_unsupported_version,
    settle,
    settle_value,
)
from central.ingest.tls import closed_before_connack, watch_tls_errors
from protocol import BrokerAddress, describe_tls_error

__all__ = [
    "BrokerAddress",
    "ConnectionState",
    "InboundMessage",
    "MqttClient",
    "MqttError",
    "MqttNotConnected",
]

logger = logging.getLogger(__name__)

MessageHandler = Callable[["InboundMessage"], None]

_PROBE_TIMEOUT_S = 1.5
"""How long the first MQTT 5 CONNECT may go unanswered before 3.1.1 is tried instead."""


class MqttClient:
    """One broker connection with manual QoS 1 acknowledgement, usable from asyncio.

    Under MQTT 5 a subscription never delivers this client's own publications (no-local), except
    a shared one (``$share/{group}/...``), for which MQTT 5 forbids no-local.
    ``persistent=False`` starts clean and keeps no session (for throwaway clients).
    ``protocol`` is ``auto`` (MQTT 5, or 3.1.1 when the broker does not answer MQTT 5), ``5`` or
    ``3.1.1`` (skips the probe, e.g. for the embedded amqtt broker).

    ``on_message`` is called on the event loop for every message on the subscriptions; it must
    not block, and the message must later be passed to :meth:`ack` (QoS 1), or the broker resends
    it on the next connection.
    """

    def __init__(
        self,
        url: str,
        client_id: str,
        *,
        on_message: MessageHandler | None = None,
        session_expiry_s: int = 24 * 3600,
        keepalive_s: int = 30,
        connect_timeout_s: float = 10.0,
        backoff_initial_s: float = 0.5,
        backoff_cap_s: float = 30.0,
        receive_maximum: int | None = None,
        protocol: str = "auto",
        persistent: bool = True,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if protocol not in ("auto", "5", "3.1.1"):
            raise ValueError(f"MQTT protocol {protocol!r} must be 'auto', '5' or '3.1.1'")
        self.address = BrokerAddress.from_url(url)
        self.client_id = client_id
        self._ssl_context = ssl_context
        self.last_error: str | None = None  # why the last attempt failed, for /health
        self._on_message = on_message
        self._session_expiry_s = session_expiry_s
        self._keepalive_s = keepalive_s
        self._connect_timeout_s = connect_timeout_s
        self._backoff = Backoff(backoff_initial_s, backoff_cap_s)
        self._receive_maximum = receive_maximum
        self._persistent = persistent
        self._subscriptions: dict[str, int] = {}
        self._mqtt5 = protocol != "3.1.1"
        self._mqtt5_confirmed = protocol == "5"
        self._client: paho.Client | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: asyncio.Task[None] | None = None
        self._state = ConnectionState.DISCONNECTED
        self._connection = 0
        self._connected = asyncio.Event()
        self._connack: asyncio.Future[ReasonCode] | None = None
        self._lost: asyncio.Event | None = None
        # Re-entrant: paho may run on_publish inside publish() when no network thread is running.
        self._pending_lock = threading.RLock()
        self._ack_lock = threading.Lock()
        self._pending_publish: dict[int, asyncio.Future[None]] = {}
        self._pending_subscribe: dict[int, asyncio.Future[list[ReasonCode]]] = {}

    # ----------------------------------------------------------------------------- public API

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def is_connected(self) -> bool:
        return self._state is ConnectionState.CONNECTED

    @property
    def protocol(self) -> str:
        return "5" if self._mqtt5 else "3.1.1"

    def describe(self) -> str:
        """``connected (mqtt://127.0.0.1:1883, MQTT 5)``, with why the last attempt failed."""
        failed = self._state is not ConnectionState.CONNECTED and self.last_error
        return f"{self._state} ({self.address.url}, MQTT {self.protocol})" + (
            f": {self.last_error}" if failed else ""
        )

    def add_subscription(self, topic_filter: str, qos: int = 1) -> None:
        """Subscribe on every (re)connection; call before :meth:`start` or use :meth:`subscribe`."""
        self._subscriptions[topic_filter] = qos

    async def subscribe(self, topic_filter: str, qos: int = 1) -> None:
        """Add a subscription now (waiting for the SUBACK) and keep it across reconnects."""
        self._subscriptions[topic_filter] = qos
        if self.is_connected:
            await self._subscribe_now([(topic_filter, qos)])

    async def start(self, *, wait_connected_s: float | None = None) -> None:
        """Begin connecting in the background; optionally wait for the first connection."""
        if self._runner is not None:
            raise MqttError("client already started")
        self._loop = asyncio.get_running_loop()
        self._runner = asyncio.create_task(self._run(), name=f"mqtt-{self.client_id}")
        if wait_connected_s is not None:
            await self.wait_connected(wait_connected_s)

    async def wait_connected(self, timeout_s: float) -> None:
        try:
            async with asyncio.timeout(timeout_s):
                await self._connected.wait()
        except TimeoutError:
            raise MqttNotConnected(
                f"no connection to {self.address.url} within {timeout_s:.1f} s"
            ) from None

    async def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        """Publish and, for QoS 1, return once the broker's PUBACK arrived.

        While disconnected, paho keeps a QoS 1 message and sends it after reconnecting; wrap the
        call in ``asyncio.timeout`` to bound the wait.
        """
        client = self._require_client()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._pending_lock:
            info = client.publish(topic, payload, qos=qos, retain=retain)
            if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
                raise MqttError(f"publish to {topic!r} failed: {paho.error_string(info.rc)}")
            if qos == 0:
                return
            self._pending_publish[info.mid] = future
        try:
            await future
        finally:
            with self._pending_lock:
                self._pending_publish.pop(info.mid, None)

    def ack(self, message: InboundMessage) -> None:
        """Acknowledge ``message``; thread-safe. Call only once it is safely stored.

        An ack for a message of an earlier connection is dropped: the broker resends such a
        message on the new connection, and once any ack freed its packet id there, that id may
        name another message, which a late ack would then acknowledge before it is stored.
        """
        client = self._client
        if message.qos == 0 or client is None:
            return
        with self._ack_lock:
            if message.connection == self._connection:
                client.ack(message.mid, message.qos)

    async def close(self, *, end_session: bool = False) -> None:
        """Disconnect cleanly and stop.

        The persistent session stays on the broker (QoS 1 messages queue up for the next start)
        unless ``end_session`` is true (MQTT 5 only), which a throwaway client should use.
        """
        runner, self._runner = self._runner, None
        self._state = ConnectionState.CLOSED
        if runner is None:
            return
        client = self._client
        if client is not None and self._connected.is_set():
            properties = None
            if end_session and self._mqtt5:
                properties = Properties(PacketTypes.DISCONNECT)
                properties.SessionExpiryInterval = 0
            client.disconnect(properties=properties)
        runner.cancel()
        try:
            await runner
        except asyncio.CancelledError:
            pass
        if client is not None:
            await asyncio.get_running_loop().run_in_executor(None, client.loop_stop)
        self._fail_pending(MqttError("client closed"), publishes=True)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ------------------------------------------------------------------------ connection loop

    def _require_client(self) -> paho.Client:
        if self._client is None or self._state is ConnectionState.CLOSED:
            raise MqttNotConnected("the MQTT client is not started")
        return self._client

    def _new_paho_client(self) -> paho.Client:
        client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=paho.MQTTv5 if self._mqtt5 else paho.MQTTv311,
            clean_session=None if self._mqtt5 else not self._persistent,
            manual_ack=True,
            reconnect_on_failure=False,
        )
        if self.address.username is not None:
            client.username_pw_set(self.address.username, self.address.password)
        if self.address.tls:
            client.tls_set_context(self._ssl_context or ssl.create_default_context())
            watch_tls_errors(client, self.address.url, self._failed)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_paho_message
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        return client

    def _connect_properties(self) -> Properties | None:
        if not self._mqtt5:
            return None
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self._session_expiry_s if self._persistent else 0
        if self._receive_maximum is not None:
            properties.ReceiveMaximum = self._receive_maximum
        return properties

    def _connect_blocking(self, client: paho.Client) -> None:
        if self._mqtt5:
            client.connect(
                self.address.host,
                self.address.port,
                keepalive=self._keepalive_s,
                clean_start=not self._persistent,
                properties=self._connect_properties(),
            )
        else:
            client.connect(self.address.host, self.address.port, keepalive=self._keepalive_s)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if self._client is None:
                self._client = self._new_paho_client()
            client = self._client
            self._state = ConnectionState.CONNECTING
            self._connack = loop.create_future()
            self._lost = asyncio.Event()
            outcome = await self._attempt(client)
            if outcome == "connected":
                self._backoff.reset()
                await self._lost.wait()
                self._connected.clear()
                self._state = ConnectionState.DISCONNECTED
                logger.warning("lost the MQTT connection to %s; reconnecting", self.address.url)
            await loop.run_in_executor(None, client.loop_stop)
            if outcome == "retry_v311":
                self._mqtt5 = False
                self._client = None
                continue
            self._fail_pending(MqttNotConnected("connection lost before the broker answered"))
            await asyncio.sleep(self._backoff.next_delay())

    async def _attempt(self, client: paho.Client) -> str:
        """Connect once; return ``connected``, ``failed`` or ``retry_v311``."""
        loop = asyncio.get_running_loop()
        assert self._connack is not None and self._lost is not None
        try:
            await loop.run_in_executor(None, self._connect_blocking, client)
        except OSError as exc:
            self._failed(describe_tls_error(exc) or f"unreachable: {exc}")
            logger.warning("cannot reach MQTT broker %s: %s", self.address.url, self.last_error)
            return "failed"
        client.loop_start()
        # A 3.1.1-only broker may close the connection or, as amqtt does, wait forever for the
        # rest of an MQTT 5 CONNECT it misreads: until MQTT 5 worked once, a silence means 3.1.1.
        probing = self._mqtt5 and not self._mqtt5_confirmed
        lost: asyncio.Future[Any] = asyncio.ensure_future(self._lost.wait())
        try:
            async with asyncio.timeout(_PROBE_TIMEOUT_S if probing else self._connect_timeout_s):
                waits: list[asyncio.Future[Any]] = [self._connack, lost]
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        except TimeoutError:
            client.disconnect()
            if probing:
                logger.info("%s did not answer MQTT 5; using 3.1.1", self.address.url)
                return "retry_v311"
            logger.warning("MQTT broker %s did not answer CONNECT in time", self.address.url)
            return "failed"
        finally:
            lost.cancel()
        if not self._connack.done():
            if probing:
                logger.info("%s closed an MQTT 5 connection; using 3.1.1", self.address.url)
                return "retry_v311"
            why = await closed_before_connack(self.address, self._ssl_context, self.last_error)
            self._failed(why)
            logger.warning("MQTT broker %s closed: %s", self.address.url, self.last_error)
            return "failed"
        reason = self._connack.result()
        if is_failure(reason):
            if self._mqtt5 and is_unsupported_version(reason):
                logger.info("%s refused MQTT 5; using a 3.1.1 persistent session", self.address.url)
                return "retry_v311"
            logger.error("MQTT broker %s refused the connection: %s", self.address.url, reason)
            self._failed(f"refused the connection: {reason}")
            client.disconnect()
            return "failed"
        self._mqtt5_confirmed = self._mqtt5
        if self._subscriptions:
            try:
                async with asyncio.timeout(self._connect_timeout_s):
                    await self._subscribe_now(list(self._subscriptions.items()))
            except (TimeoutError, MqttError) as exc:
                logger.error("subscribing on %s failed: %s", self.address.url, exc)
                client.disconnect()
                return "failed"
        self._state = ConnectionState.CONNECTED
        self.last_error = None
        self._connected.set()
        logger.info(
            "connected to MQTT broker %s as %s (MQTT %s)",
            self.address.url,
            self.client_id,
            self.protocol,
        )
        return "connected"

    async def _subscribe_now(self, filters: list[tuple[str, int]]) -> None:
        client = self._client
        if client is None:
            raise MqttNotConnected("the MQTT client is not started")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[ReasonCode]] = loop.create_future()
        if self._mqtt5:
            # MQTT 5 forbids no-local on a shared subscription ($share/...).
            topics: list[tuple[str, Any]] = [
                (f, SubscribeOptions(qos=q, noLocal=not f.startswith("$share/")))
                for f, q in filters
            ]
        else:
            topics = list(filters)
        with self._pending_lock:
            rc, mid = client.subscribe(topics)
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or mid is None:
                raise MqttError(f"subscribe failed: {paho.error_string(rc)}")
            self._pending_subscribe[mid] = future
        codes = await future
        refused = [f for (f, _), code in zip(filters, codes, strict=False) if is_failure(code)]
        if refused:
            raise MqttError(f"broker refused subscriptions {refused}")

    def _fail_pending(self, error: Exception, *, publishes: bool = False) -> None:
        """Fail the waits for SUBACKs (lost with the connection) and, on close, for PUBACKs
        (while the client lives, paho resends a QoS 1 publish after a reconnect)."""
        with self._pending_lock:
            pending: list[asyncio.Future[Any]] = list(self._pending_subscribe.values())
            self._pending_subscribe.clear()
            if publishes:
                pending.extend(self._pending_publish.values())
                self._pending_publish.clear()
        for future in pending:
            if not future.done():
                future.set_exception(error)

    # ------------------------------------------------------------- paho callbacks (paho thread)

    def _failed(self, why: str) -> None:
        self.last_error = why

    def _call_in_loop(self, callback: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(callback, *args)

    def _on_connect(
        self, _client: paho.Client, _userdata: Any, flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        if not is_failure(reason):
            with self._ack_lock:
                self._connection += 1
            logger.debug("session present: %s", getattr(flags, "session_present", None))
        self._call_in_loop(self._set_connack, reason)

    def _set_connack(self, reason: ReasonCode) -> None:
        if self._connack is not None and not self._connack.done():
            self._connack.set_result(reason)

    def _on_disconnect(
        self, _client: paho.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        logger.debug("MQTT disconnect: %s", reason)
        with self._ack_lock:
            # Acks still to come for this connection's messages must not reach the next one
            # (paho drops the ones already queued when it reconnects).
            self._connection += 1
        self._call_in_loop(self._set_lost)

    def _set_lost(self) -> None:
        if self._lost is not None:
            self._lost.set()

    def _on_paho_message(self, _client: paho.Client, _userdata: Any, msg: paho.MQTTMessage) -> None:
        handler = self._on_message
        if handler is None:
            return
        message = InboundMessage(
            topic=msg.topic,
            payload=bytes(msg.payload),
            qos=msg.qos,
            retain=bool(msg.retain),
            mid=msg.mid,
            connection=self._connection,
            received_ns=time.monotonic_ns(),
        )
        self._call_in_loop(handler, message)

    def _on_publish(
        self, _client: paho.Client, _userdata: Any, mid: int, reason: ReasonCode, _props: Any
    ) -> None:
        with self._pending_lock:
            future = self._pending_publish.pop(mid, None)
        if future is not None:
            error = MqttError(f"broker refused publish: {reason}") if is_failure(reason) else None
            self._call_in_loop(settle, future, error)

    def _on_subscribe(
        self, _client: paho.Client, _userdata: Any, mid: int, codes: list[ReasonCode], _props: Any
    ) -> None:
        with self._pending_lock:
            future = self._pending_subscribe.pop(mid, None)
        if future is not None:
            self._call_in_loop(settle_value, future, codes)
