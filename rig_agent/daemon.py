"""The daemon: wires sources, spool writer, publisher and MQTT link, and runs the main loop.

Threads: each source's reader, the spool writer, the publisher, and paho's network thread. The
main thread runs :meth:`Daemon.run`'s loop and is the only place that acts on anything: signal
handlers and paho callbacks only put a token on its queue (gunicorn #2564: a handler that logs
can deadlock). The loop answers commands, publishes the heartbeat, ends timed sessions, reloads on
SIGHUP, and supervises: a dead writer or publisher ends the daemon with a non-zero exit (systemd
restarts it and the spool resumes), a stalled one stops the watchdog pings, and a channel whose
device is missing is retried.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from protocol import ProtocolError, ReplayCommand, RigState, decode_ack, encode
from rig_agent import __version__
from rig_agent.clock import RigClock
from rig_agent.commands import SessionControl
from rig_agent.config import AgentConfig, load_config
from rig_agent.errors import ConfigError, SpoolError
from rig_agent.mqtt_link import MqttLink
from rig_agent.publisher import Publisher
from rig_agent.records import ChannelInfo, RecordBuilder
from rig_agent.sources import ChannelSettings, SignalSource, SourceError, source_class
from rig_agent.spool import Spool
from rig_agent.spool_writer import SpoolWriter
from rig_agent.status import StatusInputs, build_status
from rig_agent.systemd import Notifier, watchdog_interval

__all__ = ["EXIT_FAILURE", "EXIT_OK", "Daemon"]

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILURE = 1

_SUPERVISE_EVERY_S = 1.0
_STALL_S = 10.0
_RETRY_SOURCE_EVERY_S = 10.0


@dataclass(frozen=True, slots=True)
class _Signal:
    signum: int


class _Connected:
    pass


class _Alarm:
    pass


class _SessionChanged:
    pass


_Token = _Signal | _Connected | _Alarm | _SessionChanged


def _channel_infos(config: AgentConfig) -> dict[str, ChannelInfo]:
    return {c.name: ChannelInfo(c.role, c.source) for c in config.channels}


class Daemon:
    def __init__(
        self,
        config: AgentConfig,
        config_path: Path | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self.config = config
        self._config_path = config_path
        self._notifier = notifier or Notifier()
        self._clock = RigClock()
        self._tokens: queue.SimpleQueue[_Token] = queue.SimpleQueue()
        self._sources: dict[str, SignalSource] = {}
        self._failed_sources: dict[str, float] = {}
        self._started = time.monotonic()
        self._last_error: str | None = None
        self._control = SessionControl(
            config.rig_id, [c.name for c in config.channels], replay=self._replay
        )
        self._control_lock = threading.Lock()

    # Entry points for signal handlers and embedding code: they only enqueue.

    def request_stop(self) -> None:
        self._tokens.put(_Signal(signal.SIGTERM))

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._tokens.put(_Signal(signum))

    def run(self) -> int:
        """Run until SIGTERM/SIGINT (or :meth:`request_stop`); return the process exit code."""
        try:
            spool = Spool(
                self.config.spool.path, self.config.spool.max_bytes, self.config.spool.durability
            )
        except SpoolError as exc:
            logger.error("%s", exc)
            return EXIT_FAILURE
        self._spool = spool
        builder = RecordBuilder(
            _channel_infos(self.config), int(self.config.pairing.window_ms * 1e6), spool.next_seq
        )
        self._writer = SpoolWriter(
            spool,
            builder,
            on_commit=self._records_committed,
            on_alarm=self._alarm,
            evictable_through=lambda: self._publisher.pubacked_through,
        )
        try:
            self._link = MqttLink(
                self.config,
                self._clock,
                on_message=self._on_message,
                on_published=self._acknowledged,
                on_connected=lambda: self._tokens.put(_Connected()),
            )
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError: a bad CA or key file
            logger.error("cannot set up the MQTT client: %s", exc)
            spool.close()
            return EXIT_FAILURE
        mqtt_config = self.config.mqtt
        self._publisher = Publisher(
            self._link,
            spool,
            rig_id=self.config.rig_id,
            topic=self.config.topics.records(self.config.rig_id),
            batch_max_records=mqtt_config.batch_max_records,
            linger_s=mqtt_config.batch_linger_ms / 1000,
            max_inflight=mqtt_config.max_inflight_batches,
        )
        restore = self._install_signal_handlers()
        try:
            self._writer.start()
            self._publisher.start()
            self._link.start()
            for settings in self.config.channels:
                self._start_source(settings)
            self._notifier.ready(f"capturing {len(self._sources)} channels")
            logger.info(
                "rig %s running: %d channels, stream %s, broker %s",
                self.config.rig_id,
                len(self.config.channels),
                spool.stream,
                mqtt_config.url,
            )
            healthy = self._loop()
        finally:
            self._notifier.stopping()
            clean = self._shutdown()
            restore()
        return EXIT_OK if healthy and clean else EXIT_FAILURE

    def _install_signal_handlers(self) -> Callable[[], None]:
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = {
            signum: signal.signal(signum, self._on_signal)
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        }

        def restore() -> None:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

        return restore

    # Callbacks from other threads.

    def _records_committed(self) -> None:
        self._publisher.notify()

    def _acknowledged(self, mid: int) -> None:
        self._publisher.acknowledged(mid)

    def _alarm(self) -> None:
        self._tokens.put(_Alarm())

    def _on_message(self, topic: str, payload: bytes, received_ns: int) -> None:
        """A command, on paho's thread: handled here, so that no capture stamped after the
        command's arrival can reach the writer's queue ahead of the session change."""
        if topic == self._link.acks_topic:
            self._on_ack(payload)
            return
        with self._control_lock:
            reply, event = self._control.handle(
                payload, received_ns, self._clock.mono_to_wall(received_ns)
            )
            if event is not None:
                self._writer.submit(event)
        if reply is not None:
            self._link.publish(self.config.topics.replies(self.config.rig_id), encode(reply))
        self._tokens.put(_SessionChanged())

    def _on_ack(self, payload: bytes) -> None:
        """Central's watermark, on paho's thread: the publisher drops what it covers."""
        if not payload:
            return  # a retained ack being cleared
        try:
            ack = decode_ack(payload)
        except ProtocolError as exc:
            logger.warning("malformed ack ignored: %s", exc)
            return
        if ack.rig_id != self.config.rig_id or ack.stream != self._spool.stream:
            logger.info("ack for stream %s of rig %s ignored", ack.stream, ack.rig_id)
            return
        self._publisher.confirmed(ack.committed_seq)

    def _replay(self, command: ReplayCommand) -> str | None:
        """Send the range again, the part the spool still holds; say what it does not hold."""
        spool = self._spool
        if command.stream != spool.stream:
            return f"stream {command.stream} is not this rig's (it spools {spool.stream})"
        first = max(command.from_seq, spool.first_seq)
        last = min(command.to_seq, spool.next_seq - 1)
        if first <= last:
            self._publisher.replay(first, last)
        problems = []
        if command.from_seq < spool.first_seq:
            gone = min(command.to_seq, spool.first_seq - 1)
            problems.append(f"records {command.from_seq}..{gone} are no longer held")
        if command.to_seq >= spool.next_seq:
            problems.append(f"no record after {spool.next_seq - 1} was ever spooled")
        if not problems:
            logger.info("replaying records %d..%d for central", first, last)
            return None
        sending = f"; sending {first}..{last}" if first <= last else ""
        return "; ".join(problems) + sending

    # The main loop.

    def _loop(self) -> bool:
        """Act on tokens and timers until asked to stop; False if a worker thread died."""
        status_every = self.config.status.interval_s
        watchdog_every = watchdog_interval()
        now = time.monotonic()
        next_status = now
        next_supervise = now + _SUPERVISE_EVERY_S
        next_watchdog = now if watchdog_every is not None else float("inf")
        while True:
            now = time.monotonic()
            wake = min(next_status, next_supervise, next_watchdog)
            try:
                token = self._tokens.get(timeout=max(0.0, wake - now))
            except queue.Empty:
                token = None
            if isinstance(token, _Signal):
                if token.signum == signal.SIGHUP:
                    self._reload()
                    continue
                logger.info("signal %s: flushing and stopping", signal.Signals(token.signum).name)
                return True
            if isinstance(token, _Connected | _Alarm | _SessionChanged):
                self._publish_status()
            now = time.monotonic()
            if now >= next_supervise:
                next_supervise = now + _SUPERVISE_EVERY_S
                with self._control_lock:
                    expired = self._control.expire(self._clock.now_ns())
                    if expired is not None:
                        self._writer.submit(expired)
                if expired is not None:
                    self._publish_status()
                if not self._workers_alive():
                    return False
                self._retry_sources()
            if now >= next_status:
                next_status = now + status_every
                self._publish_status()
                self._notifier.status(self._summary())
            if watchdog_every is not None and now >= next_watchdog:
                next_watchdog = now + watchdog_every
                if self._healthy():
                    self._notifier.watchdog()
                else:
                    logger.error("capture or spool is stalled: withholding the watchdog ping")

    def _workers_alive(self) -> bool:
        for name, worker in (("spool writer", self._writer), ("publisher", self._publisher)):
            if not worker.alive():
                self._last_error = f"the {name} thread died: {worker.failure!r}"
                logger.critical(
                    "%s; stopping so the service manager restarts the daemon", self._last_error
                )
                return False
        return True

    def _healthy(self) -> bool:
        """Capture and spool are moving: the writer loop went round recently."""
        return self._writer.alive() and time.monotonic() - self._writer.last_tick < _STALL_S

    def _status_bytes(self, state: RigState = RigState.ONLINE) -> bytes:
        errors = [self._writer.last_error, self._publisher.last_error, self._last_error]
        errors += [source.last_error for source in self._sources.values()]
        errors.append(self._link.last_error)
        inputs = StatusInputs(
            rig_id=self.config.rig_id,
            version=__version__,
            uptime_s=time.monotonic() - self._started,
            interval_s=self.config.status.interval_s,
            channels=list(self.config.channels),
            sources=dict(self._sources),
            session=self._control.current,
            spool=self._spool,
            writer=self._writer,
            last_error=next((e for e in errors if e), None),
            clock_offset_ns=self._clock.offset.offset_ns,
            t_wall_ns=self._clock.wall_ns(),
        )
        return encode(build_status(inputs, state))

    def _summary(self) -> str:
        """One line for ``systemctl status``."""
        session = self._control.current
        return (
            f"{'session ' + session.session_id if session else 'no session'}; "
            f"spool {self._spool.depth} records"
            f"{' FULL' if self._writer.full else ''}; "
            f"broker {'connected' if self._link.connected.is_set() else 'unreachable'}"
        )

    def _publish_status(self, state: RigState = RigState.ONLINE) -> None:
        # A heartbeat queued while the broker is away would be stale when it lands: skip it;
        # a fresh one goes out on every connect.
        if self._link.connected.is_set():
            self._link.publish(self._link.status_topic, self._status_bytes(state), retain=True)

    # Channels.

    def _start_source(self, settings: ChannelSettings) -> None:
        try:
            source = source_class(settings.source)(settings, self._writer.sink, self._clock)
            source.start()
        except (SourceError, ImportError, OSError) as exc:
            self._failed_sources[settings.name] = time.monotonic()
            message = f"channel {settings.name}: {exc}"
            if message != self._last_error:
                logger.error("%s; retrying every %g s", message, _RETRY_SOURCE_EVERY_S)
            self._last_error = message
            return
        self._failed_sources.pop(settings.name, None)
        self._sources[settings.name] = source

    def _retry_sources(self) -> None:
        now = time.monotonic()
        for name, failed_at in list(self._failed_sources.items()):
            settings = self.config.channel(name)
            if settings is None:
                self._failed_sources.pop(name)
            elif now - failed_at >= _RETRY_SOURCE_EVERY_S:
                self._start_source(settings)

    def _stop_source(self, name: str) -> None:
        source = self._sources.pop(name, None)
        self._failed_sources.pop(name, None)
        if source is not None:
            source.stop()

    def _reload(self) -> None:
        """SIGHUP: re-read the file and restart the channels that changed."""
        self._notifier.reloading()
        try:
            if self._config_path is None:
                logger.warning("SIGHUP: no config file to reload from")
                return
            try:
                fresh = load_config(self._config_path)
            except ConfigError as exc:
                logger.error("reload refused, keeping the running config: %s", exc)
                return
            kept = ("rig_id", "mqtt", "spool", "status")
            if any(getattr(fresh, key) != getattr(self.config, key) for key in kept):
                logger.warning("reload applies [[channels]] and [pairing]; restart for the rest")
            old = {c.name: c for c in self.config.channels}
            new = {c.name: c for c in fresh.channels}
            for name, settings in old.items():
                if new.get(name) != settings:
                    self._stop_source(name)
            builder = self._writer.builder
            builder.channels = {**builder.channels, **_channel_infos(fresh)}
            builder.window_ns = int(fresh.pairing.window_ms * 1e6)
            self.config = self.config.model_copy(
                update={"channels": fresh.channels, "pairing": fresh.pairing}
            )
            with self._control_lock:
                self._control.channels = [c.name for c in fresh.channels]
            for name, settings in new.items():
                if old.get(name) != settings:
                    self._start_source(settings)
            logger.info("reloaded: %d channels", len(new))
        finally:
            self._notifier.ready()
            self._publish_status()

    # Shutdown.

    def _shutdown(self) -> bool:
        """Stop capture, commit what was captured, drain to the broker, say offline."""
        for name in list(self._sources):
            self._stop_source(name)
        clean = self._writer.shutdown()
        if not clean:
            logger.error("the spool writer did not finish in time")
        if self._link.connected.is_set():
            if not self._publisher.drain(self.config.status.shutdown_timeout_s):
                logger.warning(
                    "stopping with %d records still spooled; they are sent after the next start",
                    self._spool.depth,
                )
        elif self._spool.depth:
            logger.warning(
                "broker unreachable: %d records stay spooled for the next start", self._spool.depth
            )
        self._publisher.stop()
        if self._link.connected.is_set():
            info = self._link.publish(
                self._link.status_topic, self._status_bytes(RigState.OFFLINE), retain=True
            )
            try:
                info.wait_for_publish(timeout=2)
            except (RuntimeError, ValueError) as exc:
                logger.warning("offline status not sent: %s", exc)
        self._link.stop()
        self._spool.close()
        logger.info("stopped; %d records spooled for later", self._spool.depth)
        return clean
