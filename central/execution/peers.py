"""Live matching across centrals: the owner of a running session judges the records other
centrals ingested, read back from the database.

With several centrals sharing ingest (deploy/README.md, "Scaling out") the owner's own ingest
hands it only its share of a session's records. Every ``poll_s``
(:class:`~central.execution.lease.LeaseTimings`) it reads the ids of the session's judged
records stored with an id from the last :data:`COMMIT_LAG_S` seconds (ids are time-ordered,
:func:`central.db.types.new_id`), fetches those its live matcher has not judged yet, and judges
them like its own, in id order. A record committed later than that after its id was made is
judged by :meth:`PeerRecords.catch_up` with ``everything``, a sweep over every stored record
that the executor runs at stop, before live matching ends: so the provisional verdicts at stop
cover exactly the records of the final pass. A single central needs none of this (its ingest
hands it every record) and does not poll.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.orm import Session

from central.db.types import id_floor
from central.execution.live import LiveMatching
from central.execution.loading import judged_ids, load_judged_rows, load_session, sync_instant

__all__ = ["COMMIT_LAG_S", "PeerRecords"]

COMMIT_LAG_S = 10.0
"""How long after its id was made a record may still be committed and be judged by the poll
(batch transactions plus the clock difference between centrals)."""

_FETCH_CHUNK = 500
"""Ids per ``IN (...)`` query."""


def _stored(
    db: Session, session_id: str, since_id: str | None, need_sync: bool
) -> tuple[list[str], int | None]:
    sync = sync_instant(db, load_session(db, session_id)) if need_sync else None
    return judged_ids(db, session_id, since_id), sync


class PeerRecords:
    """Brings the records of owned sessions that other centrals stored into live matching."""

    def __init__(
        self, run_db: Callable[[Callable[[Session], Any]], Awaitable[Any]], live: LiveMatching
    ) -> None:
        self._db = run_db
        self._live = live

    async def catch_up(self, session_id: str, *, everything: bool = False) -> int:
        """Judge the session's stored records its live matcher has not seen: those of the last
        :data:`COMMIT_LAG_S` seconds, or with ``everything`` all of them. Returns how many."""
        since = None if everything else id_floor(time.time_ns() - int(COMMIT_LAG_S * 1e9))
        need_sync = self._live.needs_sync(session_id)
        ids, sync = await self._db(lambda db: _stored(db, session_id, since, need_sync))
        if sync is not None:
            self._live.synced(session_id, sync)
        unknown = self._live.unknown(session_id, ids)
        rows: list[dict[str, Any]] = []
        for first in range(0, len(unknown), _FETCH_CHUNK):
            chunk = unknown[first : first + _FETCH_CHUNK]
            rows += await self._db(lambda db, chunk=chunk: load_judged_rows(db, session_id, chunk))
        rows.sort(key=lambda row: row["id"])
        self._live.judge(session_id, rows)
        return len(rows)
