"""The publisher thread: spool -> record batches on MQTT (QoS 1) -> delete on PUBACK.

It reads the spool in ``seq`` order from an in-memory cursor that starts at the oldest record
still held, so after a restart everything not acknowledged is sent again, in order. A batch holds
up to ``batch_max_records`` records, within the protocol's message size limit, and leaves when
full or once the oldest waiting record has lingered ``batch_linger_ms``. At most
``max_inflight_batches`` are unacknowledged at a time; while the broker is away nothing new is
handed to paho (whose queue is memory only), capture and spooling go on, and after the reconnect
paho resends what was in flight and the cursor moves on.

PUBACKs arrive on paho's thread; they are queued and handled here, after the batch's mid was
recorded, so an acknowledgement can never race the bookkeeping of its own publish.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from protocol import MAX_MESSAGE_BYTES, assemble_batch
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
        self._inflight: dict[int, tuple[int, int, int]] = {}
        """mid -> (first seq, last seq, encoded bytes) of each unacknowledged batch."""
        self._acks: queue.SimpleQueue[int] = queue.SimpleQueue()
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

    def drain(self, timeout: float) -> bool:
        """Publish without lingering until the spool is empty; True if it emptied in time."""
        self._drain.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._spool.depth == 0 and not self._inflight:
                return True
            if not self._thread.is_alive():
                return False
            time.sleep(0.01)
        return self._spool.depth == 0

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
        if not self._link.connected.is_set():
            self._waiting_since = None
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
            return False
        self._inflight[info.mid] = (first, last, sum(len(data) for data in records))
        self._cursor = last + 1
        return True

    def _handle_acks(self) -> None:
        spans: list[tuple[int, int, int]] = []
        while True:
            try:
                mid = self._acks.get_nowait()
            except queue.Empty:
                break
            span = self._inflight.pop(mid, None)
            if span is not None:  # status and replies share the connection; their mids are not ours
                spans.append(span)
        if spans:
            self._spool.remove(spans)
