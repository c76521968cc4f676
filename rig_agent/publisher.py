"""The publisher thread: spool -> record batches on MQTT (QoS 1) -> delete when confirmed.

It reads the spool in ``seq`` order from an in-memory cursor that starts at the oldest record
still held, so after a restart everything not acknowledged is sent again, in order. A batch holds
up to ``batch_max_records`` records, within the protocol's message size limit, and leaves when
full or once the oldest waiting record has lingered ``batch_linger_ms``. At most
``max_inflight_batches`` are unacknowledged at a time; while the broker is away nothing new is
handed to paho (whose queue is memory only), capture and spooling go on, and after the reconnect
paho resends what was in flight and the cursor moves on.

PUBACKs arrive on paho's thread; they are queued and handled here, after the batch's mid was
recorded, so an acknowledgement can never race the bookkeeping of its own publish.

A PUBACK only says the broker has the batch, and a broker can lose its queue. So once central's
watermark was heard (:meth:`Publisher.confirmed`, from the retained acks topic) records stay in
the spool until the watermark covers them; a rig that never heard one (an older central, a plain
subscriber) deletes on PUBACK as before. Central asks for a missing range with a replay command
(:meth:`Publisher.replay`): those records are sent again from the spool ahead of new ones.

A spool that cannot delete (a full disk refuses even that) keeps the records and the thread
retries each round: they are sent again after a restart at worst, and central dedupes them.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass

from protocol import MAX_MESSAGE_BYTES, assemble_batch
from rig_agent.errors import SpoolError
from rig_agent.mqtt_link import MqttLink, publish_ok
from rig_agent.spool import Spool

__all__ = ["Publisher"]

logger = logging.getLogger(__name__)

_IDLE_WAKE_S = 0.5
_BATCH_BYTES = MAX_MESSAGE_BYTES - 4096
"""Room for the batch envelope: a bigger message would be refused whole by central."""


def _within_message_limit(rows: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    """The leading rows whose batch fits in one message (at least one row)."""
    size = 0
    for index, (_, data) in enumerate(rows):
        size += len(data) + 1
        if index and size > _BATCH_BYTES:
            return rows[:index]
    return rows


@dataclass(frozen=True, slots=True)
class _Span:
    first: int
    last: int
    size: int
    replay: bool = False
    """Sent again for central: its records were acknowledged once already."""


class Publisher:
    def __init__(
        self,
        link: MqttLink,
        spool: Spool,
        *,
        rig_id: str,
        topic: str,
        batch_max_records: int,
        linger_s: float,
        max_inflight: int,
    ) -> None:
        self._link = link
        self._spool = spool
        self._rig_id = rig_id
        self._topic = topic
        self._batch_max = batch_max_records
        self._linger_s = linger_s
        self._max_inflight = max_inflight
        self._cursor = spool.first_seq
        self._inflight: dict[int, _Span] = {}
        """mid -> the span of each unacknowledged batch."""
        self._acks: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._watermarks: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._replay_requests: queue.SimpleQueue[tuple[int, int]] = queue.SimpleQueue()
        self._replays: deque[tuple[int, int]] = deque()
        self._unremoved: list[tuple[int, int, int]] = []
        """PUBACKed spans the spool could not delete yet (disk full)."""
        self._confirm_failed: int | None = None
        self._spool_error_logged = False
        self.pubacked_through = spool.first_seq - 1
        """Every record up to here is acknowledged by the broker: the oldest may be evicted."""
        self.last_error: str | None = None
        self._wake = threading.Event()
        self._halt = threading.Event()
        self._drain = threading.Event()
        self._waiting_since: float | None = None
        self._thread = threading.Thread(target=self._run, name="publisher", daemon=True)
        self.last_tick = time.monotonic()
        self.failure: Exception | None = None

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    def start(self) -> None:
        self._thread.start()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def notify(self) -> None:
        """New records were committed (called by the writer)."""
        self._wake.set()

    def acknowledged(self, mid: int) -> None:
        """paho's on_publish: the broker acknowledged ``mid``."""
        self._acks.put(mid)
        self._wake.set()

    def confirmed(self, seq: int) -> None:
        """Central's watermark: every record up to ``seq`` is committed (paho's thread)."""
        self._watermarks.put(seq)
        self._wake.set()

    def replay(self, first: int, last: int) -> None:
        """Send the records ``first..last`` again, those the spool still holds (paho's thread)."""
        self._replay_requests.put((first, last))
        self._wake.set()

    def drain(self, timeout: float) -> bool:
        """Publish without lingering until the spool is empty; True if it emptied in time."""
        self._drain.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._drained():
                return True
            if not self._thread.is_alive():
                return False
            time.sleep(0.01)
        return self._drained()

    def _drained(self) -> bool:
        """Nothing left to send: the spool is empty or, when central confirms, all sent and
        acknowledged (central's watermark may come later; the records wait for it on disk)."""
        if self._inflight:
            return False
        if self._spool.acked_seq is None:
            return self._spool.depth == 0
        return self._cursor >= self._spool.next_seq

    def stop(self) -> None:
        self._halt.set()
        self._wake.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            while not self._halt.is_set():
                self.last_tick = time.monotonic()
                timeout = self._step()
                self._wake.wait(timeout)
                self._wake.clear()
        except Exception as exc:  # the supervisor sees the thread gone and reports this
            self.failure = exc
            logger.critical("the publisher stopped on an error", exc_info=True)

    def _step(self) -> float:
        """Handle acknowledgements and send what may be sent; return how long to sleep."""
        self._handle_acks()
        self._handle_watermarks()
        if not self._link.connected.is_set():
            self._waiting_since = None
            return _IDLE_WAKE_S
        try:
            return self._send_waiting()
        except SpoolError as exc:  # a read refused, as on a full disk: try again next round
            self._spool_failed(f"{exc}; retrying")
            return _IDLE_WAKE_S

    def _send_waiting(self) -> float:
        while self._replays and len(self._inflight) < self._max_inflight:
            if not self._publish_replay():
                return _IDLE_WAKE_S
        while len(self._inflight) < self._max_inflight:
            waiting = self._spool.next_seq - self._cursor
            if waiting <= 0:
                self._waiting_since = None
                return _IDLE_WAKE_S
            if waiting < self._batch_max and not self._drain.is_set():
                now = time.monotonic()
                if self._waiting_since is None:
                    self._waiting_since = now
                remaining = self._waiting_since + self._linger_s - now
                if remaining > 0:
                    return remaining
            if not self._publish_next():
                return _IDLE_WAKE_S
            self._waiting_since = None
        return _IDLE_WAKE_S

    def _publish_next(self) -> bool:
        rows = _within_message_limit(self._spool.read(self._cursor, self._batch_max))
        if not rows:
            return False
        span = self._send(rows, replay=False)
        if span is not None:
            self._cursor = span.last + 1
        return span is not None

    def _publish_replay(self) -> bool:
        first, last = self._replays[0]
        first = max(first, self._spool.first_seq)
        rows = (
            self._spool.read(first, min(self._batch_max, last - first + 1)) if first <= last else []
        )
        rows = _within_message_limit([row for row in rows if row[0] <= last])
        if not rows:
            self._replays.popleft()
            return True
        span = self._send(rows, replay=True)
        if span is None:
            return False
        if span.last >= last:
            self._replays.popleft()
        else:
            self._replays[0] = (span.last + 1, last)
        return True

    def _send(self, rows: list[tuple[int, bytes]], *, replay: bool) -> _Span | None:
        first, last = rows[0][0], rows[-1][0]
        if len(rows[0][1]) > _BATCH_BYTES:
            logger.warning(
                "record %d alone exceeds the message limit; central will refuse it", first
            )
        records = [data for _, data in rows]
        payload = assemble_batch(self._rig_id, self._spool.stream, records)
        info = self._link.publish(self._topic, payload)
        if not publish_ok(info):
            logger.warning("paho refused batch %d..%d (rc %s); retrying", first, last, info.rc)
            return None
        span = _Span(first, last, sum(len(data) for data in records), replay)
        self._inflight[info.mid] = span
        return span

    def _handle_acks(self) -> None:
        while True:
            try:
                mid = self._acks.get_nowait()
            except queue.Empty:
                break
            span = self._inflight.pop(mid, None)
            # Status and replies share the connection; their mids are not ours. A replayed span
            # was acknowledged once already; a watermark, not this PUBACK, lets it go.
            if span is not None and not span.replay and self._spool.acked_seq is None:
                self._unremoved.append((span.first, span.last, span.size))
        sent = [span.first for span in self._inflight.values() if not span.replay]
        self.pubacked_through = min(sent, default=self._cursor) - 1
        if self._unremoved:
            try:
                self._spool.remove(self._unremoved)
            except SpoolError as exc:
                self._spool_failed(f"{exc}; the records stay spooled and deletion is retried")
                return
            self._unremoved = []
            self._spool_recovered()

    def _handle_watermarks(self) -> None:
        while True:
            try:
                first, last = self._replay_requests.get_nowait()
            except queue.Empty:
                break
            self._replays.append((first, last))
        highest = self._confirm_failed
        while True:
            try:
                seq = self._watermarks.get_nowait()
            except queue.Empty:
                break
            highest = seq if highest is None else max(highest, seq)
        if highest is None:
            return
        try:
            self._spool.confirm(highest)
        except SpoolError as exc:
            self._confirm_failed = highest
            self._spool_failed(f"{exc}; retrying")
            return
        self._confirm_failed = None
        self._unremoved = []  # what they named is gone now, or kept until the next watermark
        self._cursor = max(self._cursor, self._spool.first_seq)
        self._spool_recovered()

    def _spool_failed(self, message: str) -> None:
        self.last_error = message
        if not self._spool_error_logged:
            logger.error("%s", message)
            self._spool_error_logged = True

    def _spool_recovered(self) -> None:
        if self._spool_error_logged:
            logger.warning("the spool deletes again")
            self._spool_error_logged = False
            self.last_error = None
