"""Write one batch of decoded messages in one transaction (runs on the ingest writer thread).

Records go in with ``INSERT .. ON CONFLICT (rig_id, stream, seq) DO NOTHING`` (on PostgreSQL by
COPY into a staging table and one ``INSERT .. SELECT`` of it), so a redelivered
or replayed record is skipped by the database itself (also when several central processes share
the work), and only the rows really inserted (the row count says whether any was skipped; then
they are looked up by their fresh ids) count towards ``rig_streams`` and reach the listeners.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Connection, Engine, Table, bindparam, case, select
from sqlalchemy.dialects import postgresql, sqlite

from central.db.bulk_insert import PreparedInsert
from central.db.copy_insert import CopyInsert
from central.db.models import (
    DeadLetter,
    DetectionEvent,
    LatencyMeasurement,
    Rig,
    RigStream,
    TestExecutionConfig,
    TestSession,
)
from central.db.types import json_text, new_id, new_ids, utcnow
from central.ingest._decode import Decoded
from central.ingest._fast_batch import FastBatch, FastLatency
from central.ingest._rows import (
    DeadLetterReason,
    Refusal,
    dead_letter_row,
    detection_event_row,
    latency_measurement_row,
    rig_values,
)
from protocol import CommandReply, LatencyRecord, RecordBatch

__all__ = ["DEFAULT_MAX_LATENCY_MS", "BatchOutcome", "IngestStore"]

logger = logging.getLogger(__name__)

DEFAULT_MAX_LATENCY_MS = 200.0
"""Latency budget for ``within_tolerance`` when a session has no execution config."""

_LOOKUP_CHUNK = 500
"""Ids per ``IN (...)`` when looking up which rows of a batch with duplicates were inserted."""

_events: Table = DetectionEvent.__table__  # type: ignore[assignment]
_latencies: Table = LatencyMeasurement.__table__  # type: ignore[assignment]
_rigs: Table = Rig.__table__  # type: ignore[assignment]
_streams: Table = RigStream.__table__  # type: ignore[assignment]
_dead_letters: Table = DeadLetter.__table__  # type: ignore[assignment]


@dataclass(slots=True)
class BatchOutcome:
    """What one committed transaction stored."""

    events: list[dict[str, Any]] = field(default_factory=list)
    """New ``detection_events`` rows (duplicates are not in here)."""
    statuses: list[dict[str, Any]] = field(default_factory=list)
    """The rigs rows changed by status messages, as plain values."""
    replies: list[tuple[str, CommandReply]] = field(default_factory=list)
    """(rig id from the topic, reply)."""
    refusals: list[Refusal] = field(default_factory=list)
    duplicates: int = 0
    unknown_sessions: Counter[str] = field(default_factory=Counter)
    """Records per ``session_id`` that names no test session (stored with a null session)."""
    deferred: list[int] = field(default_factory=list)
    """Positions of the messages left out for now: records of a rig not known yet, which the
    caller allowed to wait for the rig's status (see :meth:`IngestStore.write`)."""


class IngestStore:
    """Synchronous writer of ingest batches; call only from one worker thread."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # The dialect's own insert, for ON CONFLICT (the generic Insert has none).
        dialects: dict[str, Callable[[Table], Any]] = {
            "sqlite": sqlite.insert,
            "postgresql": postgresql.insert,
        }
        name = engine.dialect.name
        if name not in dialects:
            raise ValueError(f"ingest supports SQLite and PostgreSQL, not {name}")
        self._insert = dialects[name]
        unique = ["rig_id", "stream", "seq"]
        self._insert_events_sql: PreparedInsert | CopyInsert = (
            CopyInsert(_events, engine.dialect, unique)
            if name == "postgresql"
            else PreparedInsert(
                self._insert(_events).on_conflict_do_nothing(index_elements=unique),
                engine.dialect,
                converters={JSON: json_text},  # orjson, as for COPY: the stdlib encoder is slower
            )
        )
        # Built once: making these statements anew for every batch cost more than running them.
        self._known_rigs_sql = select(_rigs.c.id).where(
            _rigs.c.id.in_(bindparam("rig_ids", expanding=True))
        )
        self._count_streams_sql = _count_streams_statement(self._insert)

    def write(self, decoded: list[Decoded], deferrable: list[bool] | None = None) -> BatchOutcome:
        """Store every message of ``decoded`` in one transaction and return what was stored.

        Records of a rig that has never sent a status are a dead letter, unless the message's
        entry in ``deferrable`` is true: then nothing of it is written and its position is in
        ``outcome.deferred``. Centrals sharing a subscription need this, because a rig's status
        and its first records may reach two of them, and the records' commit may come first.
        """
        outcome = BatchOutcome()
        now = utcnow()
        with self._engine.begin() as conn:
            for item in decoded:
                if item.status is not None:
                    outcome.statuses.append(self._upsert_rig(conn, item, now))
            known_rigs = self._known_rigs(conn, {d.batch.rig_id for d in decoded if d.batch})
            sessions = self._sessions(conn, decoded)
            refused = [(d, d.refusal) for d in decoded if d.refusal is not None]
            accepted: list[RecordBatch | FastBatch] = []
            for position, item in enumerate(decoded):
                if item.reply is not None:
                    outcome.replies.append((item.rig_id or item.reply.rig_id or "", item.reply))
                if item.batch is None:
                    continue
                batch = item.batch
                if batch.rig_id not in known_rigs and deferrable and deferrable[position]:
                    outcome.deferred.append(position)
                    continue
                if batch.rig_id not in known_rigs:
                    detail = f"rig {batch.rig_id!r} has never sent a status"
                    refused.append(
                        (item, Refusal(DeadLetterReason.UNKNOWN_RIG, detail, batch.rig_id))
                    )
                    continue
                accepted.append(batch)
            events, latency_of = _event_rows(accepted, sessions, now, outcome)
            outcome.events = self._insert_events(conn, events)
            outcome.duplicates += len(events) - len(outcome.events)
            self._insert_latencies(conn, outcome.events, latency_of, sessions, now)
            self._count_streams(conn, outcome.events, now)
            if refused:
                conn.execute(
                    _dead_letters.insert(),
                    [dead_letter_row(d.topic, d.payload, r, now) for d, r in refused],
                )
            outcome.refusals = [r for _, r in refused]
        return outcome

    def write_dead_letter(self, item: Decoded, refusal: Refusal) -> None:
        """Keep one message that the database refused to take as data."""
        with self._engine.begin() as conn:
            conn.execute(
                _dead_letters.insert(),
                [dead_letter_row(item.topic, item.payload, refusal, utcnow())],
            )

    # ---------------------------------------------------------------------------------- steps

    def _upsert_rig(self, conn: Connection, item: Decoded, now: Any) -> dict[str, Any]:
        assert item.status is not None
        values = rig_values(item.status, now, heartbeat=not item.retained)
        stmt = self._insert(_rigs).values(id=item.status.rig_id, created_at=now, **values)
        conn.execute(stmt.on_conflict_do_update(index_elements=[_rigs.c.id], set_=values))
        return {"rig_id": item.status.rig_id, **values}

    def _known_rigs(self, conn: Connection, rig_ids: set[str]) -> set[str]:
        if not rig_ids:
            return set()
        return set(conn.scalars(self._known_rigs_sql, {"rig_ids": list(rig_ids)}))

    def _sessions(self, conn: Connection, decoded: Iterable[Decoded]) -> dict[str, float]:
        """Existing test sessions named by the records, with their latency budget."""
        wanted = {
            record.session_id
            for item in decoded
            if item.batch is not None
            for record in item.batch.records
            if record.session_id is not None
        }
        if not wanted:
            return {}
        rows = conn.execute(
            select(TestSession.id, TestExecutionConfig.max_latency_ms)
            .outerjoin(TestExecutionConfig, TestExecutionConfig.test_session_id == TestSession.id)
            .where(TestSession.id.in_(wanted))
        )
        return {
            session_id: float(budget) if budget is not None else DEFAULT_MAX_LATENCY_MS
            for session_id, budget in rows
        }

    def _insert_events(self, conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not rows:
            return []
        # Without RETURNING (several times faster in an executemany), the count says whether any
        # row was a duplicate, and only then are the new rows looked up by their (fresh) ids.
        if self._insert_events_sql.execute(conn, rows) == len(rows):
            return rows
        ids = [row["id"] for row in rows]
        inserted: set[str] = set()
        for start in range(0, len(ids), _LOOKUP_CHUNK):
            chunk = ids[start : start + _LOOKUP_CHUNK]
            inserted.update(conn.scalars(select(_events.c.id).where(_events.c.id.in_(chunk))))
        return [row for row in rows if row["id"] in inserted]

    def _insert_latencies(
        self,
        conn: Connection,
        events: list[dict[str, Any]],
        latency_of: dict[str, LatencyRecord | FastLatency],
        budgets: dict[str, float],
        now: Any,
    ) -> None:
        rows = [
            latency_measurement_row(
                latency_of[event["id"]],
                event["id"],
                event["test_session_id"],
                budgets[event["test_session_id"]],
                now,
            )
            for event in events
            if event["id"] in latency_of
        ]
        if rows:
            conn.execute(_latencies.insert(), rows)

    def _count_streams(self, conn: Connection, events: list[dict[str, Any]], now: Any) -> None:
        """Add the new rows to each stream's seq bookkeeping, atomically (safe with many writers)."""
        spans: dict[tuple[str, str], list[int]] = defaultdict(list)
        for event in events:
            spans[(event["rig_id"], event["stream"])].append(event["seq"])
        if not spans:
            return
        conn.execute(
            self._count_streams_sql,
            [
                {
                    "id": new_id(),
                    "rig_id": rig_id,
                    "stream": stream,
                    "first_seq": min(seqs),
                    "last_seq": max(seqs),
                    "received_count": len(seqs),
                    "created_at": now,
                }
                for (rig_id, stream), seqs in spans.items()
            ],
        )


def _count_streams_statement(insert: Callable[[Table], Any]) -> Any:
    """``rig_streams`` upsert: a stream's first and last seq widen, its count grows."""
    stmt = insert(_streams).values({name: bindparam(name) for name in _STREAM_COLUMNS})
    new = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=[_streams.c.rig_id, _streams.c.stream],
        set_={
            "first_seq": case(
                (new.first_seq < _streams.c.first_seq, new.first_seq),
                else_=_streams.c.first_seq,
            ),
            "last_seq": case(
                (new.last_seq > _streams.c.last_seq, new.last_seq),
                else_=_streams.c.last_seq,
            ),
            "received_count": _streams.c.received_count + new.received_count,
            "updated_at": new.created_at,
        },
    )


_STREAM_COLUMNS = (
    "id",
    "rig_id",
    "stream",
    "first_seq",
    "last_seq",
    "received_count",
    "created_at",
)


def _event_rows(
    batches: list[RecordBatch | FastBatch],
    sessions: dict[str, float],
    now: datetime,
    outcome: BatchOutcome,
) -> tuple[list[dict[str, Any]], dict[str, LatencyRecord | FastLatency]]:
    """The ``detection_events`` rows of ``batches`` (a record repeated within them counted as a
    duplicate in ``outcome``, a session id that names no session replaced by None), and the
    latency records among them that belong to a session, by row id. The hot loop of ingest."""
    events: list[dict[str, Any]] = []
    latency_of: dict[str, LatencyRecord | FastLatency] = {}
    ids = iter(new_ids(sum(len(batch.records) for batch in batches)))
    seen: dict[tuple[str, str], set[int]] = {}
    for batch in batches:
        rig_id, stream = batch.rig_id, batch.stream
        seen_seqs = seen.setdefault((rig_id, stream), set())
        for record in batch.records:
            seq = record.seq
            if seq in seen_seqs:
                outcome.duplicates += 1
                continue
            seen_seqs.add(seq)
            session_id = record.session_id
            if session_id is not None and session_id not in sessions:
                outcome.unknown_sessions[session_id] += 1
                session_id = None
            row = detection_event_row(next(ids), rig_id, stream, record, session_id, now)
            events.append(row)
            if session_id is not None and record.kind == "latency":
                latency_of[row["id"]] = record  # type: ignore[assignment]
    return events, latency_of
