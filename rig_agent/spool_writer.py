"""The spool writer thread: capture queue -> records -> SQLite, in batched commits.

Sources put captures on a :class:`queue.SimpleQueue` (thread-safe, never blocks, reentrant), so
nothing the writer does (encoding, a slow commit) can move a timestamp. Session changes travel on
the same queue, so they take effect exactly between the captures that came before and after.

When the spool is full it first evicts, oldest first, records the broker acknowledged that
central has not confirmed yet (held only in case the broker lost them; see
:mod:`rig_agent.publisher`), counted by the spool. Records not yet acknowledged are never
evicted: with none to evict the writer refuses new captures and counts them per channel; it alarms
once in the log and through ``on_alarm`` (the daemon republishes its status), and accepts records
again once the spool has drained below 90 % of its limit. A failed commit is counted the same way,
and so is a capture that finds the queue itself full (``max_queued`` captures waiting: the writer
is stuck, say on a hung disk, and memory must not grow until the kernel kills the daemon):
nothing is dropped silently.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from rig_agent.errors import SpoolError
from rig_agent.records import RecordBuilder, SessionSpec
from rig_agent.sources import Capture
from rig_agent.spool import Spool

__all__ = ["MAX_QUEUED_CAPTURES", "SpoolWriter", "StartSession", "StopSession"]

logger = logging.getLogger(__name__)

_RESUME_FRACTION = 0.9
_IDLE_WAKE_S = 0.5
_MAX_BATCH = 2000
MAX_QUEUED_CAPTURES = 500_000
"""Captures waiting for the writer before the sink refuses more: seconds of the fastest bursts."""


@dataclass(frozen=True, slots=True)
class StartSession:
    spec: SessionSpec


@dataclass(frozen=True, slots=True)
class StopSession:
    session_id: str
    stop_ns: int
    """Captures stamped from here on are outside the session, even if they queue behind this."""


class _Shutdown:
    """Queued last: the writer commits everything before it, then exits."""


_Item = Capture | StartSession | StopSession | _Shutdown


class SpoolWriter:
    def __init__(
        self,
        spool: Spool,
        builder: RecordBuilder,
        on_commit: Callable[[], None],
        on_alarm: Callable[[], None],
        max_queued: int = MAX_QUEUED_CAPTURES,
        evictable_through: Callable[[], int] = lambda: -1,
    ) -> None:
        """``evictable_through`` gives the highest seq up to which every record was acknowledged
        by the broker (the publisher knows): those may be evicted from a full spool."""
        self._spool = spool
        self._evictable_through = evictable_through
        self._max_queued = max_queued
        self._refused_lock = threading.Lock()
        self._queue_full = False
        self._builder = builder
        self._on_commit = on_commit
        self._on_alarm = on_alarm
        self._inbox: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="spool-writer", daemon=True)
        self.committed: dict[str, int] = {}
        """Captures whose records are in the spool, per channel."""
        self.refused: dict[str, int] = {}
        """Captures refused per channel (spool full or commit failed)."""
        self.refused_total = 0
        self.full = False
        self._commit_failing = False
        self.last_error: str | None = None
        self.last_tick = time.monotonic()
        """When the writer loop last went round; the supervisor checks it."""
        self.failure: Exception | None = None

    @property
    def builder(self) -> RecordBuilder:
        return self._builder

    def sink(self, capture: Capture) -> None:
        """The :data:`CaptureSink` given to every source: enqueue and return at once."""
        if self._inbox.qsize() >= self._max_queued:
            self._count_refused(capture.channel)
            if not self._queue_full:
                self._queue_full = True
                self._error(
                    f"capture queue full ({self._max_queued} waiting for the spool writer):"
                    " refusing and counting captures until it drains"
                )
                self._on_alarm()
            return
        self._inbox.put(capture)

    def submit(self, event: StartSession | StopSession) -> None:
        self._inbox.put(event)

    def start(self) -> None:
        self._thread.start()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def shutdown(self, timeout: float = 10.0) -> bool:
        """Commit whatever is queued, then stop; True when the thread finished in time."""
        if self._thread.is_alive():
            self._inbox.put(_Shutdown())
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # the supervisor sees the thread gone and reports this
            self.failure = exc
            logger.critical("the spool writer stopped on an error", exc_info=True)

    def _loop(self) -> None:
        while True:
            self.last_tick = time.monotonic()
            try:
                item = self._inbox.get(timeout=_IDLE_WAKE_S)
            except queue.Empty:
                self._check_room()
                continue
            items = [item]
            while len(items) < _MAX_BATCH:
                try:
                    items.append(self._inbox.get_nowait())
                except queue.Empty:
                    break
            stop = self._write(items)
            if self._queue_full and self._inbox.qsize() < self._max_queued // 2:
                self._queue_full = False
                logger.warning(
                    "capture queue drained; %d captures refused so far", self.refused_total
                )
                self._on_alarm()
            if stop:
                return

    def _write(self, items: list[_Item]) -> bool:
        """Build and commit one batch; True when a shutdown was among the items."""
        pending: list[tuple[int, bytes]] = []
        pending_bytes = 0
        pending_channels: list[str] = []
        stop = False
        self._check_room()
        for item in items:
            if isinstance(item, Capture):
                # The record that crosses the limit is kept: at most one capture's records over.
                if not self._has_room(pending_bytes):
                    self._refuse(item.channel, self._spool.held_bytes + pending_bytes)
                    continue
                try:
                    records = self._builder.build(item)
                except KeyError:
                    self._error(f"capture on unconfigured channel {item.channel!r} refused")
                    self._count_refused(item.channel)
                    continue
                except ValueError as exc:  # a source handed over stamps no record can carry
                    self._error(f"capture on channel {item.channel!r} refused: {exc}")
                    self._count_refused(item.channel)
                    continue
                pending_channels.append(item.channel)
            elif isinstance(item, StartSession):
                records = self._builder.start(item.spec)
            elif isinstance(item, StopSession):
                self._builder.stop(item.session_id, item.stop_ns)
                continue
            else:
                stop = True
                continue
            for record in records:
                pending.append(record)
                pending_bytes += len(record[1])
        self._commit(pending, pending_channels)
        return stop

    def _commit(self, pending: list[tuple[int, bytes]], channels: list[str]) -> None:
        if not pending:
            return
        try:
            self._spool.append(pending)
        except SpoolError as exc:
            self._builder.next_seq = self._spool.next_seq
            for channel in channels:
                self._count_refused(channel)
            # No count in the message: it is logged once, not per batch (the status counts).
            self._error(f"{exc}; captures are refused and counted until a commit succeeds")
            self._commit_failing = True
            return
        if self._commit_failing:
            self._commit_failing = False
            logger.warning(
                "the spool commits again; %d captures refused so far", self.refused_total
            )
        for channel in channels:
            self.committed[channel] = self.committed.get(channel, 0) + 1
        self._on_commit()

    def _count_refused(self, channel: str) -> None:
        with self._refused_lock:  # the sink counts from source threads too
            self.refused[channel] = self.refused.get(channel, 0) + 1
            self.refused_total += 1

    def _refuse(self, channel: str, held_bytes: int) -> None:
        self._count_refused(channel)
        if not self.full:
            self.full = True
            message = (
                f"spool full ({held_bytes} of {self._spool.max_bytes} bytes): refusing new"
                " records until it drains below 90 %; refused records are counted per channel in"
                " the status (refused_records, channels.*.drops)"
            )
            self._error(message)
            self._on_alarm()

    def _has_room(self, pending_bytes: int) -> bool:
        """Room for more after ``pending_bytes``, evicting acknowledged records down to the
        resume mark when the spool is full."""
        if not self.full and self._spool.has_room(pending_bytes):
            return True
        limit = self._spool.max_bytes
        excess = self._spool.held_bytes + pending_bytes - int(limit * _RESUME_FRACTION)
        try:
            evicted = self._spool.evict(self._evictable_through(), excess)
        except SpoolError as exc:
            self._error(f"{exc}; captures are refused and counted until it succeeds")
            return False
        if evicted:
            self._check_room()
        return not self.full and self._spool.has_room(pending_bytes)

    def _check_room(self) -> None:
        if self.full and self._spool.held_bytes <= self._spool.max_bytes * _RESUME_FRACTION:
            self.full = False
            logger.warning(
                "spool has room again; %d records were refused while it was full",
                self.refused_total,
            )
            self._on_alarm()

    def _error(self, message: str) -> None:
        if message != self.last_error:
            logger.error("%s", message)
        self.last_error = message
