"""Read side of ingest for the API: rigs with their per-stream loss, and the dead letters."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central.db.models import DeadLetter, Rig, RigStream
from central.services.errors import NotFound

__all__ = [
    "RigView",
    "StreamView",
    "count_dead_letters",
    "get_rig",
    "list_dead_letters",
    "list_rigs",
]


@dataclass(frozen=True, slots=True)
class StreamView:
    """One spool stream of a rig: what arrived, and what did not (measured loss).

    Streams start at ``seq`` 0, and the rig's status states the last ``seq`` it spooled, so a
    record missing at the head or at the tail of a stream counts as lost as one in a gap does
    (until a replay brings it).
    """

    stream: str
    first_seq: int | None
    last_seq: int | None
    """Both None while nothing of the stream arrived."""
    received: int
    rig_last_seq: int | None = None
    """The last ``seq`` the rig says it spooled in this stream, from its latest status."""

    @property
    def lost(self) -> int:
        received_last = self.last_seq if self.last_seq is not None else -1
        last = max(received_last, self.rig_last_seq if self.rig_last_seq is not None else -1)
        return max(0, last + 1 - self.received)


@dataclass(frozen=True, slots=True)
class RigView:
    rig: Rig
    streams: list[StreamView]

    @property
    def received(self) -> int:
        return sum(s.received for s in self.streams)

    @property
    def lost(self) -> int:
        return sum(s.lost for s in self.streams)


def _rig_last_seq(rig: Rig, stream: str) -> int | None:
    status = rig.last_status or {}
    last_seq = status.get("last_seq")
    return last_seq if status.get("stream") == stream and isinstance(last_seq, int) else None


def _streams_by_rig(session: Session, rigs: list[Rig]) -> dict[str, list[StreamView]]:
    """The streams central stored records of, and the one the rig's status names even when none
    of its records arrived (all of them lost, not a rig with nothing to say)."""
    streams: dict[str, list[StreamView]] = {rig.id: [] for rig in rigs}
    if not rigs:
        return streams
    by_id = {rig.id: rig for rig in rigs}
    rows = session.scalars(
        select(RigStream).where(RigStream.rig_id.in_(by_id)).order_by(RigStream.created_at)
    )
    for row in rows:
        streams[row.rig_id].append(
            StreamView(
                row.stream,
                row.first_seq,
                row.last_seq,
                row.received_count,
                _rig_last_seq(by_id[row.rig_id], row.stream),
            )
        )
    for rig in rigs:
        stated = (rig.last_status or {}).get("stream")
        if stated is None or any(view.stream == stated for view in streams[rig.id]):
            continue
        rig_last_seq = _rig_last_seq(rig, stated)
        if rig_last_seq is not None:
            streams[rig.id].append(StreamView(stated, None, None, 0, rig_last_seq))
    return streams


def list_rigs(session: Session, *, limit: int, offset: int) -> tuple[list[RigView], int]:
    total = session.scalar(select(func.count()).select_from(Rig)) or 0
    rigs = list(session.scalars(select(Rig).order_by(Rig.id).limit(limit).offset(offset)))
    streams = _streams_by_rig(session, rigs)
    return [RigView(rig, streams[rig.id]) for rig in rigs], total


def get_rig(session: Session, rig_id: str) -> RigView:
    rig = session.get(Rig, rig_id)
    if rig is None:
        raise NotFound("rig", rig_id)
    return RigView(rig, _streams_by_rig(session, [rig])[rig_id])


def list_dead_letters(
    session: Session, *, limit: int, offset: int, rig_id: str | None = None
) -> tuple[list[DeadLetter], int]:
    """Newest first."""
    query = select(DeadLetter)
    if rig_id is not None:
        query = query.where(DeadLetter.rig_id == rig_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(DeadLetter.received_at.desc(), DeadLetter.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def count_dead_letters(session: Session) -> dict[str, int]:
    """Dead letters per reason (the first word of ``reason``)."""
    counts: dict[str, int] = {}
    for (reason,) in session.execute(select(DeadLetter.reason)):
        key = reason.split(":", 1)[0]
        counts[key] = counts.get(key, 0) + 1
    return counts
