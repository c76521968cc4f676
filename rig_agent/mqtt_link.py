"""The rig's one MQTT connection (paho-mqtt 2, network loop in paho's own thread).

It owns what belongs to the connection: credentials and TLS, the retained last will that says the
rig is offline, the subscriptions to commands and to central's retained acks (renewed on every
connect), and reconnection with capped
exponential backoff and full jitter, so a fleet of rigs does not hammer a broker that has just
come back. paho resends its in-flight QoS 1 messages after a reconnect; its queue lives in memory
only, which is why records are deleted from the spool on PUBACK and not before.
"""

from __future__ import annotations

import logging
import random
import sys
import threading
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode

from protocol import RigState, RigStatus, describe_tls_error, encode
from rig_agent.clock import RigClock
from rig_agent.config import AgentConfig
from rig_agent.tls import tls_context, tls_refusal

__all__ = ["MqttLink", "backoff_delay", "paho_client", "publish_ok"]

logger = logging.getLogger(__name__)


def backoff_delay(attempt: int, minimum: float, maximum: float, rng: random.Random) -> float:
    """Delay before reconnect ``attempt`` (0-based): exponential, capped, jittered in [1/2, 1]."""
    ceiling = min(maximum, minimum * 2 ** min(attempt, 32))
    return max(minimum / 2, ceiling * rng.uniform(0.5, 1.0))


def paho_client(config: AgentConfig, id_suffix: str = "") -> mqtt.Client:
    """A paho client with the rig's client id (plus ``id_suffix``), credentials and TLS.

    :raises OSError: a TLS file does not load (``ssl.SSLError`` is one).
    """
    mqtt_config = config.mqtt
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"{mqtt_config.client_id or f'rig-agent-{config.rig_id}'}{id_suffix}",
        protocol=mqtt.MQTTv311,
        clean_session=True,
    )
    if mqtt_config.username is not None:
        password = mqtt_config.password.get_secret_value() if mqtt_config.password else None
        client.username_pw_set(mqtt_config.username, password)
    if mqtt_config.address.tls:
        client.tls_set_context(tls_context(mqtt_config))
    return client


MessageHandler = Callable[[str, bytes, int], None]
"""Called from paho's thread with (topic, payload, rig clock ns at arrival)."""


class MqttLink:
    def __init__(
        self,
        config: AgentConfig,
        clock: RigClock,
        on_message: MessageHandler,
        on_published: Callable[[int], None],
        on_connected: Callable[[], None],
    ) -> None:
        self._config = config
        self._clock = clock
        self._on_message = on_message
        self._on_published = on_published
        self._on_connected = on_connected
        self._rng = random.Random()
        self._attempt = 0
        self._outage_logged: set[str] = set()
        """What this outage logged at WARNING: each reason once, repeats at DEBUG."""
        self._refusal_logged: str | None = None
        self._tls_words_read = False
        """paho read the broker's TLS alert on this connection attempt."""
        self.connected = threading.Event()
        self.last_error: str | None = None
        topics = config.topics
        self.status_topic = topics.status(config.rig_id)
        self.commands_topic = topics.commands(config.rig_id)
        self.acks_topic = topics.acks(config.rig_id)
        mqtt_config = config.mqtt
        client = paho_client(config)
        offline = RigStatus(rig_id=config.rig_id, state=RigState.OFFLINE)
        client.will_set(self.status_topic, encode(offline), qos=1, retain=True)
        client.max_inflight_messages_set(mqtt_config.max_inflight_batches)
        client.max_queued_messages_set(0)
        client.on_connect = self._handle_connect
        client.on_connect_fail = self._handle_connect_fail
        client.on_disconnect = self._handle_disconnect
        client.on_log = self._handle_log
        client.on_message = self._handle_message
        client.on_publish = self._handle_publish
        self._client = client
        self._schedule_reconnect()

    def start(self) -> None:
        """Connect in the background; paho's thread keeps reconnecting until :meth:`stop`."""
        mqtt_config = self._config.mqtt
        self._client.connect_async(
            mqtt_config.address.host, mqtt_config.address.port, mqtt_config.keepalive_s
        )
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
        self.connected.clear()

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> mqtt.MQTTMessageInfo:
        """Queue a QoS 1 message; paho sends it now or after the next connect."""
        return self._client.publish(topic, payload, qos=1, retain=retain)

    def _schedule_reconnect(self) -> None:
        mqtt_config = self._config.mqtt
        delay = backoff_delay(
            self._attempt, mqtt_config.reconnect_min_s, mqtt_config.reconnect_max_s, self._rng
        )
        self._attempt += 1
        # paho waits min_delay before its next attempt when its own delay was just reset.
        self._client.reconnect_delay_set(min_delay=delay, max_delay=delay)  # type: ignore[arg-type]

    def _handle_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: object,
    ) -> None:
        if reason.is_failure:
            message = f"broker refused the connection: {reason}"
            # Bad credentials are retried with backoff; say so once, not every attempt.
            level = logging.DEBUG if message == self._refusal_logged else logging.ERROR
            logger.log(level, "%s; retrying with backoff", message)
            self._refusal_logged = message
            self.last_error = message
            self._schedule_reconnect()
            return
        self._attempt = 0
        self._schedule_reconnect()
        self._outage_logged.clear()
        self._refusal_logged = None
        self.last_error = None
        self.connected.set()
        logger.info("connected to %s", self._config.mqtt.url)
        client.subscribe([(self.commands_topic, 1), (self.acks_topic, 1)])
        self._on_connected()

    def _handle_connect_fail(self, client: mqtt.Client, userdata: object) -> None:
        # paho calls this from inside its ``except OSError``: the exception says why.
        error = sys.exception()
        described = describe_tls_error(error) if error is not None else None
        self._schedule_reconnect()
        if described is not None:
            self._log_outage(f"broker {self._config.mqtt.url}: {described}")
        else:
            self._log_outage(f"cannot reach the broker at {self._config.mqtt.url}")

    def _handle_log(self, client: mqtt.Client, userdata: object, level: int, message: str) -> None:
        """A broker refusing the client certificate closes the connection after the handshake;
        paho only logs why, as it reads the alert."""
        if level == mqtt.MQTT_LOG_ERR and (described := describe_tls_error(message)) is not None:
            self._tls_words_read = True
            self._log_outage(f"broker {self._config.mqtt.url}: {described}")

    def _handle_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: object,
    ) -> None:
        answered = self.connected.is_set()
        self.connected.clear()
        self._schedule_reconnect()
        if not answered and self._config.mqtt.address.tls:
            # Closed before CONNACK: a TLS refusal, said already or its alert lost on the way.
            words_read, self._tls_words_read = self._tls_words_read, False
            refusal = None if words_read else tls_refusal(self._config.mqtt)
            if refusal is not None:
                self._log_outage(f"broker {self._config.mqtt.url}: {refusal}")
            if words_read or refusal is not None:
                return
        if reason.is_failure:
            self._log_outage(f"lost the broker connection ({reason}); spooling and reconnecting")

    def _log_outage(self, message: str) -> None:
        self.last_error = message
        if message not in self._outage_logged:
            logger.warning("%s", message)
            self._outage_logged.add(message)
        else:
            logger.debug("%s", message)

    def _handle_message(
        self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage
    ) -> None:
        self._on_message(message.topic, bytes(message.payload), self._clock.now_ns())

    def _handle_publish(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reason: ReasonCode,
        properties: object,
    ) -> None:
        self._on_published(mid)


def publish_ok(info: mqtt.MQTTMessageInfo) -> bool:
    """True when paho took the message (sent, or queued until the next connect)."""
    return info.rc in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN)
