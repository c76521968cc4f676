"""MQTT ingest: rig records, status and replies into the database, acknowledged after commit.

    paho thread ──► event loop ──► writer thread: one transaction per batch, commit,
    (MqttClient)    (decode,        then PUBACK every message of the batch, in arrival order
                     enqueue)
                                          │
                                          └──► event loop: listeners (Socket.IO, live matching),
                                               rig status, command replies

A QoS 1 message is acknowledged only after the commit that stores its records (or its dead
letter), so a central killed at any point loses nothing: the broker resends what was not
acknowledged and ``(rig_id, stream, seq)`` dedupe drops what was already stored.

The broker's queue can be lost all the same (a hard kill, a lost disk), so after each commit the
stream's watermark goes back to the rig and a missing range is asked for again (see
:mod:`central.ingest.reconcile`).

Batching is group commit: the writer takes everything queued (up to ``max_batch_rows`` rows)
the moment it is free, so at a low rate each message is committed at once and at a high rate
batches grow while the previous commit runs. Nothing waits for a timer. The cap is high (5,000
rows: ten full rig batches) because each transaction has a fixed cost of a few milliseconds of
CPU (its queries, its commit): at 1,000 rows that was a fifth of central's CPU per record.

Database writes never run on the event loop. A transient database error (locked, connection
lost) retries the same batch with backoff; any other database error splits the batch and keeps
a message the database refuses on its own as a dead letter, so one bad message cannot stall ingest.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import random
import ssl
import threading
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from central.ingest._decode import Decoded, decode_message
from central.ingest._rows import DeadLetterReason, Refusal
from central.ingest._store import BatchOutcome, IngestStore
from central.ingest._watermarks import StreamProgress, WatermarkTracker
from central.ingest.client import InboundMessage, MqttClient
from central.ingest.liveness import StaleWatch
from central.ingest.reconcile import StreamReconciler
from protocol import CommandReply, TopicKind, Topics

__all__ = [
    "UNKNOWN_RIG_WAIT_S",
    "IngestStats",
    "IngestedBatch",
    "Ingestor",
    "central_client_id",
]

logger = logging.getLogger(__name__)

BatchListener = Callable[["IngestedBatch"], Awaitable[None]]
StatusListener = Callable[[dict[str, Any]], Awaitable[None]]
ReplyListener = Callable[[str, CommandReply], None]
"""Called on the event loop with the rig id (from the topic) and the reply."""

_T = TypeVar("_T")
_Inbound = tuple[InboundMessage, Decoded]
"""A message as received, and what it decodes to."""
_STOP = object()
_LAG_SAMPLES = 100_000
"""Recent capture-to-commit times kept per rig."""
UNKNOWN_RIG_WAIT_S = 5.0
"""In a share group: how long records of a rig not known yet wait for its status, which
another central may be committing, before they become a dead letter."""
_UNKNOWN_RIG_RETRY_S = 0.1


def central_client_id(topic_prefix: str, instance_id: str) -> str:
    """The MQTT client id of one central of a deployment: stable, so its session (and what the
    broker queued in it) survives restarts, and its own among several centrals."""
    return f"central-{topic_prefix.replace('/', '-')}-{instance_id}"


@dataclass(frozen=True, slots=True)
class IngestedBatch:
    """Detection records newly stored by one commit (duplicates are left out).

    ``events`` are ``detection_events`` rows as dicts: ``id``, ``test_session_id`` (None when the
    record named no session or an unknown one), ``rig_id``, ``stream``, ``seq``, ``kind``,
    ``channel``, ``source``, ``clock``, ``t_mono_ns``, ``t_wall_ns``, ``t_video_ms``, ``vru_type``,
    ``bbox``, ``confidence``, ``frame_number``, ``payload`` and ``received_at``.
    """

    events: list[dict[str, Any]]
    committed_wall_ns: int


def _lag_summary(array: np.ndarray) -> dict[str, float | int]:
    if not array.size:
        return {"samples": 0}
    p50, p95, p99, top = np.percentile(array, [50, 95, 99, 100]).tolist()
    return {"samples": int(array.size), "p50": p50, "p95": p95, "p99": p99, "max": top}


@dataclass(slots=True)
class IngestStats:
    """Counters since start; ``lag_ms`` keeps, per rig, the capture (rig wall clock) to commit
    time of its most recent records (clocks of rigs on other machines add their offset)."""

    messages: int = 0
    records_stored: int = 0
    duplicates: int = 0
    batches: int = 0
    status_updates: int = 0
    replies: int = 0
    dead_letters: Counter[str] = field(default_factory=Counter)
    records_of_unknown_sessions: int = 0
    """Records whose ``session_id`` names no test session: stored with a null session."""
    lag_ms: dict[str, deque[float]] = field(default_factory=dict)

    def add_lags(self, rig_id: str, lags: Iterable[float]) -> None:
        if rig_id not in self.lag_ms:
            self.lag_ms[rig_id] = deque(maxlen=_LAG_SAMPLES)
        self.lag_ms[rig_id].extend(lags)

    def snapshot(self) -> dict[str, Any]:
        # Copies taken in C, each atomic under the GIL: the writer thread appends meanwhile.
        rigs = {rig_id: np.array(lags) for rig_id, lags in list(self.lag_ms.items())}
        every_rig = np.concatenate(list(rigs.values())) if rigs else np.empty(0)
        return {
            "messages": self.messages,
            "records_stored": self.records_stored,
            "duplicates": self.duplicates,
            "batches": self.batches,
            "status_updates": self.status_updates,
            "replies": self.replies,
            "dead_letters": dict(self.dead_letters),
            "records_of_unknown_sessions": self.records_of_unknown_sessions,
            "capture_to_commit_ms": _lag_summary(every_rig),
            "capture_to_commit_ms_by_rig": {
                rig_id: _lag_summary(lags) for rig_id, lags in rigs.items()
            },
        }


class Ingestor:
    """Consumes ``{prefix}/rigs/+/{records,status,replies}`` into the database (commands, which
    central itself sends, are skipped; any other topic under ``rigs/`` is a dead letter).

    With ``share_group`` the rig topics are a shared subscription (``$share/{group}/...``): the
    broker hands each message to one of the centrals of the group. A reply to a command must
    reach the central that sent it, so each also subscribes to the replies on its own. Records
    of a rig not known yet wait up to :data:`UNKNOWN_RIG_WAIT_S`, unacknowledged, for the status
    that another central of the group may be storing.
    """

    def __init__(
        self,
        engine: Engine,
        mqtt_url: str,
        topic_prefix: str,
        *,
        client_id: str,
        share_group: str | None = None,
        mqtt_protocol: str = "auto",
        max_batch_rows: int = 5000,
        replay_after_s: float = 2.0,
        replay_retry_s: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.topics = Topics(topic_prefix)
        self.stats = IngestStats()
        self._unknown_rig_wait_ns = int(UNKNOWN_RIG_WAIT_S * 1e9) if share_group else 0
        self._store = IngestStore(engine)
        self._watermarks = WatermarkTracker(engine)
        self._max_batch_rows = max_batch_rows
        self.client = MqttClient(
            mqtt_url,
            client_id,
            on_message=self._enqueue,
            protocol=mqtt_protocol,
            ssl_context=ssl_context,
        )
        # Every rig topic, not just the three consumed: a message on a topic outside the contract
        # is then a dead letter an operator can see, not silence.
        rig_topics = f"{self.topics.prefix}/rigs/+/+"
        if share_group is None:
            self.client.add_subscription(rig_topics, qos=1)
        else:
            self.client.add_subscription(f"$share/{share_group}/{rig_topics}", qos=1)
            self.client.add_subscription(self.topics.all_rigs(TopicKind.REPLIES), qos=1)
        self.reconciler = StreamReconciler(
            self.client,
            self.topics,
            replay_after_s=replay_after_s,
            replay_retry_s=replay_retry_s,
        )
        self._reply_listeners: list[ReplyListener] = [self.reconciler.on_reply]
        self._inbox: queue.SimpleQueue[_Inbound | object] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._stopping = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listeners: list[BatchListener] = []
        self._status_listeners: list[StatusListener] = []
        self._liveness = StaleWatch(self._emit_status)
        self._outbox: asyncio.Queue[BatchOutcome | None] = asyncio.Queue()
        self._dispatcher: asyncio.Task[None] | None = None

    # ----------------------------------------------------------------------------- public API

    def add_listener(self, listener: BatchListener) -> None:
        """``await listener(batch)`` after each commit that stored new detection records."""
        self._listeners.append(listener)

    def add_status_listener(self, listener: StatusListener) -> None:
        """``await listener(rig)`` after a status message changed a rig (``rig_id``, ``state``...),
        and when a rig missed three heartbeats (``state`` offline; see
        :mod:`central.ingest.liveness`)."""
        self._status_listeners.append(listener)

    def add_reply_listener(self, listener: ReplyListener) -> None:
        self._reply_listeners.append(listener)

    async def start(self, *, wait_connected_s: float | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        self._writer = threading.Thread(
            target=self._write_forever, name="ingest-writer", daemon=True
        )
        self._writer.start()
        self._dispatcher = asyncio.create_task(self._dispatch_forever(), name="ingest-dispatch")
        self._liveness.start()
        await self.client.start(wait_connected_s=wait_connected_s)

    async def stop(self) -> None:
        """Commit and acknowledge what was received, then disconnect (the session stays)."""
        loop = asyncio.get_running_loop()
        if self._writer is not None:
            self._stopping.set()  # a batch waiting for the database is left to the next start
            self._inbox.put(_STOP)
            await loop.run_in_executor(None, self._writer.join)
            self._writer = None
        await self.reconciler.close()
        await self._liveness.close()
        await self.client.close()
        if self._dispatcher is not None:
            await self._outbox.put(None)
            await self._dispatcher
            self._dispatcher = None

    # ------------------------------------------------------------------ event loop: in and out

    def _enqueue(self, message: InboundMessage) -> None:
        # Decoded here, not on the writer thread: the writer spends much of its time waiting for
        # the database (the GIL released), and the next batch is decoded meanwhile.
        self._inbox.put((message, self._decode(message)))

    async def _dispatch_forever(self) -> None:
        while (outcome := await self._outbox.get()) is not None:
            for rig_id, reply in outcome.replies:
                for reply_listener in self._reply_listeners:
                    _call_safely(reply_listener, rig_id, reply)
            for status in outcome.statuses:
                # Only a heartbeat (not a retained status replayed on subscribing) sets last_seen_at.
                await self._emit_status(self._liveness.seen(status, "last_seen_at" in status))
            if outcome.events:
                batch = IngestedBatch(outcome.events, time.time_ns())
                for listener in self._listeners:
                    await _await_safely(listener(batch))

    async def _emit_status(self, rig: dict[str, Any]) -> None:
        for status_listener in self._status_listeners:
            await _await_safely(status_listener(rig))

    def _publish_outcome(self, outcome: BatchOutcome, progress: list[StreamProgress]) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._outbox.put_nowait, outcome)
            if progress:
                self._loop.call_soon_threadsafe(self.reconciler.note, progress)

    # ------------------------------------------------------------------- writer thread

    def _write_forever(self) -> None:
        while True:
            first = self._inbox.get()
            if first is _STOP:
                return
            assert isinstance(first, tuple)
            messages: list[_Inbound] = [first]
            rows = _row_count(first[1])
            stop_after = False
            while rows < self._max_batch_rows:
                try:
                    item = self._inbox.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop_after = True
                    break
                assert isinstance(item, tuple)
                messages.append(item)
                rows += _row_count(item[1])
            try:
                self._commit_and_ack(messages)
            except _Abandoned:
                logger.warning(
                    "stopping with the database unavailable: %d messages left "
                    "unacknowledged for the broker to resend",
                    len(messages),
                )
                return
            if stop_after:
                return

    def _decode(self, message: InboundMessage) -> Decoded:
        decoded = decode_message(self.topics, message.topic, message.payload, message.retain)
        if decoded.refusal is not None:
            logger.warning("dead letter from %s: %s", message.topic, decoded.refusal)
        return decoded

    def _commit_and_ack(self, messages: list[_Inbound]) -> None:
        decoded = [d for _, d in messages]
        now_ns = time.monotonic_ns()
        deferrable = [now_ns - m.received_ns < self._unknown_rig_wait_ns for m, _ in messages]
        try:
            outcome = self._with_retry(lambda: self._store.write(decoded, deferrable))
        except _Abandoned:
            raise
        except Exception as exc:  # noqa: BLE001 - e.g. an int too large for the driver, not wrapped
            if len(messages) > 1:
                logger.warning("batch of %d refused (%s); storing one by one", len(messages), exc)
                for one in messages:
                    self._commit_and_ack([one])
                return
            item = decoded[0]
            refusal = Refusal(
                DeadLetterReason.DATABASE, str(exc).splitlines()[0][:500], item.rig_id
            )
            logger.error("database refused a message from %s: %s", item.topic, refusal)
            self._with_retry(lambda: self._store.write_dead_letter(item, refusal))
            outcome = BatchOutcome(refusals=[refusal])
        deferred = set(outcome.deferred)
        for position, (message, _) in enumerate(messages):
            if position in deferred:
                self._retry_later(message)
            else:
                self.client.ack(message)
        self._account(len(messages) - len(deferred), outcome)
        statuses = [d.status for d in decoded if d.status is not None]
        self._publish_outcome(outcome, self._watermarks.update(outcome.events, statuses))

    def _retry_later(self, message: InboundMessage) -> None:
        """Back into the inbox, unacknowledged, once the rig's status may have been stored."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(loop.call_later, _UNKNOWN_RIG_RETRY_S, self._enqueue, message)

    def _with_retry(self, work: Callable[[], _T]) -> _T:
        """Run ``work``, retrying transient database errors (locked, connection lost) until it
        succeeds or ingest stops (then :class:`_Abandoned`)."""
        delay = 0.05
        while True:
            try:
                return work()
            except (OperationalError, DBAPIError) as exc:
                if not _is_transient(exc):
                    raise
                if self._stopping.is_set():
                    raise _Abandoned from exc
                logger.warning("database unavailable (%s); retrying in %.2f s", exc, delay)
                time.sleep(random.uniform(delay / 2, delay))
                delay = min(delay * 2, 5.0)

    def _account(self, message_count: int, outcome: BatchOutcome) -> None:
        stats = self.stats
        committed_ns = time.time_ns()
        stats.messages += message_count
        stats.batches += 1
        stats.records_stored += len(outcome.events)
        stats.duplicates += outcome.duplicates
        stats.status_updates += len(outcome.statuses)
        stats.replies += len(outcome.replies)
        for refusal in outcome.refusals:
            stats.dead_letters[refusal.reason.value] += 1
        if outcome.unknown_sessions:
            stats.records_of_unknown_sessions += outcome.unknown_sessions.total()
            logger.info("records name unknown test sessions %s", dict(outcome.unknown_sessions))
        by_rig: dict[str, list[float]] = {}
        for event in outcome.events:
            by_rig.setdefault(event["rig_id"], []).append((committed_ns - event["t_wall_ns"]) / 1e6)
        for rig_id, lags in by_rig.items():
            stats.add_lags(rig_id, lags)


class _Abandoned(Exception):
    """Ingest stops while the database is unavailable: the batch stays unacknowledged."""


def _row_count(decoded: Decoded) -> int:
    return len(decoded.batch.records) if decoded.batch is not None else 1


def _is_transient(exc: DBAPIError) -> bool:
    """Locked database, lost connection and the like: worth the same batch again."""
    return exc.connection_invalidated or isinstance(exc, OperationalError)


def _call_safely(callback: Callable[..., None], *args: Any) -> None:
    try:
        callback(*args)
    except Exception:
        logger.exception("ingest listener %r failed", callback)


async def _await_safely(awaitable: Awaitable[None]) -> None:
    try:
        await awaitable
    except Exception:
        logger.exception("ingest listener failed")
