"""Per rig stream: the highest ``seq`` central may confirm, and the range it is missing.

Runs on the ingest writer thread after each commit. The watermark of a stream is the highest
``seq`` such that every record up to it is stored, or is older than the oldest record the rig
still holds (``spool_first_seq`` of its status: what the rig no longer has cannot be asked for,
so it must not hold the watermark back). Streams start at ``seq`` 0.

The watermark kept here is a lower bound of the truth (records are never taken back), so a
restart, or another central process storing part of the stream, only costs a look at the rows:
the stream's ``rig_streams`` counts settle the common case of no gap at once, and otherwise the
stored seqs after the watermark are read in order up to the first hole.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from central.db.models import DetectionEvent, RigStream
from protocol import RigStatus

__all__ = ["StreamProgress", "WatermarkTracker"]

logger = logging.getLogger(__name__)

_SCAN_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class StreamProgress:
    """Where one stream stands after a commit."""

    rig_id: str
    stream: str
    committed_seq: int
    """The watermark; -1 while not even ``seq`` 0 is stored."""
    missing: tuple[int, int] | None
    """The first range of records the rig holds that central lacks (a gap, or the tail); None
    also for a rig whose status never stated its seqs (an older agent, which cannot replay)."""
    rig_acked_seq: int | None
    """The watermark the rig last said it heard (None: it never said)."""


@dataclass(slots=True)
class _Stream:
    committed: int = -1
    stored_max: int = -1
    floor: int = -1
    """``spool_first_seq - 1`` of the rig's status: below this the rig holds nothing."""
    rig_last: int | None = None
    rig_acked: int | None = None
    loaded: bool = False


class WatermarkTracker:
    """Call only from the ingest writer thread."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._streams: dict[tuple[str, str], _Stream] = {}

    def update(
        self, events: Iterable[dict[str, Any]], statuses: Iterable[RigStatus]
    ) -> list[StreamProgress]:
        """Take a commit's new records and statuses; return the progress of the streams touched.

        A database error is logged and leaves the watermarks where they were: the next commit
        tries again, and ingest itself is not held up.
        """
        new_seqs: dict[tuple[str, str], list[int]] = {}
        for event in events:
            new_seqs.setdefault((event["rig_id"], event["stream"]), []).append(event["seq"])
        for status in statuses:
            if status.stream is None or status.last_seq is None:
                continue  # an older rig, or its last will: nothing said about seqs
            state = self._streams.setdefault((status.rig_id, status.stream), _Stream())
            state.rig_last = status.last_seq
            state.rig_acked = status.acked_seq
            if status.spool_first_seq is not None:
                state.floor = max(state.floor, status.spool_first_seq - 1)
            new_seqs.setdefault((status.rig_id, status.stream), [])
        progress = []
        for key, seqs in new_seqs.items():
            try:
                progress.append(self._advance(key, sorted(seqs)))
            except SQLAlchemyError as exc:
                logger.warning(
                    "watermark of stream %s of rig %s not updated: %s", key[1], key[0], exc
                )
        return progress

    def _advance(self, key: tuple[str, str], seqs: list[int]) -> StreamProgress:
        state = self._streams.setdefault(key, _Stream())
        if not state.loaded:
            self._load(key, state)
        state.committed = max(state.committed, state.floor)
        for seq in seqs:
            if seq == state.committed + 1:
                state.committed = seq
            elif seq > state.committed:
                break
        if seqs:
            state.stored_max = max(state.stored_max, seqs[-1])
        next_stored = self._scan(key, state) if state.stored_max > state.committed else None
        missing: tuple[int, int] | None = None
        if state.rig_last is None:
            pass  # a rig that never stated its seqs (an older agent) cannot replay: ask nothing
        elif next_stored is not None:
            missing = (state.committed + 1, next_stored - 1)
        elif state.rig_last > state.committed:
            missing = (state.committed + 1, state.rig_last)
        return StreamProgress(key[0], key[1], state.committed, missing, state.rig_acked)

    def _load(self, key: tuple[str, str], state: _Stream) -> None:
        """After a restart: a stream whose counts show no hole needs no scan."""
        with self._engine.connect() as conn:
            row = conn.execute(
                select(RigStream.first_seq, RigStream.last_seq, RigStream.received_count).where(
                    RigStream.rig_id == key[0], RigStream.stream == key[1]
                )
            ).first()
        state.loaded = True
        if row is None:
            return
        first, last, received = row
        state.stored_max = max(state.stored_max, last)
        if received == last - first + 1 and first <= max(state.committed, state.floor) + 1:
            state.committed = max(state.committed, last)

    def _scan(self, key: tuple[str, str], state: _Stream) -> int | None:
        """Advance over stored seqs after the watermark; return the seq after the first hole."""
        rig_id, stream = key
        with self._engine.connect() as conn:
            while True:
                seqs = conn.scalars(
                    select(DetectionEvent.seq)
                    .where(
                        DetectionEvent.rig_id == rig_id,
                        DetectionEvent.stream == stream,
                        DetectionEvent.seq > state.committed,
                    )
                    .order_by(DetectionEvent.seq)
                    .limit(_SCAN_CHUNK)
                ).all()
                for seq in seqs:
                    if seq != state.committed + 1:
                        return int(seq)
                    state.committed = seq
                if len(seqs) < _SCAN_CHUNK:
                    state.stored_max = state.committed
                    return None
