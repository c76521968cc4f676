"""``rig-agent check``: everything the daemon needs, tested before it is started.

Each check returns a :class:`CheckResult` instead of raising, so one run reports every problem.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from protocol import describe_tls_error
from rig_agent.clock import RigClock
from rig_agent.config import AgentConfig
from rig_agent.mqtt_link import paho_client
from rig_agent.sources import SourceError, source_class
from rig_agent.spool import corrupt_spool_message, integrity_problem, is_damage
from rig_agent.tls import tls_refusal

__all__ = ["CheckResult", "check_broker", "check_sources", "check_spool", "run_checks"]


@dataclass(frozen=True, slots=True)
class CheckResult:
    subject: str
    ok: bool
    detail: str


def check_sources(config: AgentConfig) -> list[CheckResult]:
    """Open and release every channel's device, one at a time."""
    clock = RigClock()
    results = []
    for settings in config.channels:
        subject = f"channel {settings.name}"
        try:
            source = source_class(settings.source)(settings, lambda capture: None, clock)
            detail = source.probe()
        except (SourceError, ImportError, OSError) as exc:
            results.append(CheckResult(subject, False, str(exc) or type(exc).__name__))
        else:
            results.append(CheckResult(subject, True, detail))
    return results


def check_spool(config: AgentConfig) -> CheckResult:
    """The spool's directory is writable, and an existing spool file is readable."""
    path = Path(config.spool.path)
    subject = f"spool {path}"
    directory = next((p for p in (path.parent, *path.parent.parents) if p.exists()), None)
    if directory is None or not os.access(directory, os.W_OK | os.X_OK):
        return CheckResult(subject, False, f"cannot create files in {directory or path.parent}")
    if not path.exists():
        return CheckResult(subject, True, "will be created on first start")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            problem = integrity_problem(db)
            if problem is not None:
                return CheckResult(subject, False, corrupt_spool_message(path, problem))
            (depth,) = db.execute("SELECT COUNT(*) FROM records").fetchone()
            stream = db.execute("SELECT value FROM meta WHERE key = 'stream'").fetchone()
        finally:
            db.close()
    except sqlite3.Error as exc:
        if is_damage(exc):
            return CheckResult(subject, False, corrupt_spool_message(path, str(exc)))
        return CheckResult(subject, False, f"not a readable spool: {exc}")
    return CheckResult(subject, True, f"stream {stream[0] if stream else '?'}, {depth} records")


def check_broker(config: AgentConfig, timeout: float = 5.0) -> CheckResult:
    """Connect with the configured credentials (under a client id of its own) and disconnect."""
    mqtt_config = config.mqtt
    subject = f"broker {mqtt_config.url}"
    outcome: list[ReasonCode] = []
    tls_errors: list[str] = []
    answered = threading.Event()

    def on_disconnect(client: mqtt.Client, userdata: object, *args: object) -> None:
        answered.set()  # closed before CONNACK (after it, on_connect has answered already)

    def on_connect(
        client: mqtt.Client, userdata: object, flags: object, reason: ReasonCode, properties: object
    ) -> None:
        outcome.append(reason)
        answered.set()

    def on_log(client: mqtt.Client, userdata: object, level: int, message: str) -> None:
        # A broker refusing the client certificate closes the connection after the handshake:
        # paho only logs why, as it reads the alert.
        described = describe_tls_error(message) if level == mqtt.MQTT_LOG_ERR else None
        if described is not None:
            tls_errors.append(described)
            answered.set()

    try:  # its own client id: reusing the daemon's would disconnect a running daemon
        client = paho_client(config, "-check")
    except (OSError, ValueError) as exc:
        return CheckResult(subject, False, f"TLS files do not load: {exc}")
    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    client.on_log = on_log
    try:
        client.connect(
            mqtt_config.address.host, mqtt_config.address.port, keepalive=int(timeout) + 5
        )
    except (OSError, ValueError) as exc:
        return CheckResult(subject, False, describe_tls_error(exc) or f"unreachable: {exc}")
    client.loop_start()
    try:
        if not answered.wait(timeout):
            return CheckResult(subject, False, f"no answer within {timeout:g} s")
        if not outcome:
            refusal = tls_errors[0] if tls_errors else None
            if refusal is None and mqtt_config.address.tls:
                refusal = tls_refusal(mqtt_config, timeout)
            why = refusal or "the broker closed the connection before answering CONNECT"
            return CheckResult(subject, False, why)
        reason = outcome[0]
        if reason.is_failure:
            return CheckResult(subject, False, f"refused the connection: {reason}")
        return CheckResult(subject, True, "connected")
    finally:
        client.disconnect()
        client.loop_stop()


def run_checks(config: AgentConfig, broker_timeout: float = 5.0) -> list[CheckResult]:
    return [*check_sources(config), check_spool(config), check_broker(config, broker_timeout)]
