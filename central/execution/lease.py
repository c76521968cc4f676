"""One owner per session: the lease a central holds on a pending or running session's row.

Several centrals may share one database (deploy/README.md, "Scaling out"). Start, stop, the
duration timer and the final pass of a session run on one of them only: the one whose instance
id is in ``test_sessions.owner_id`` while ``lease_expires_at`` lies ahead. Each step here is one
conditional ``UPDATE`` (atomic on SQLite and PostgreSQL alike), so of two centrals trying at
once exactly one gets the lease:

- :func:`take`: a central takes a session that has no owner, whose lease expired, or that is
  already its own (a central restarted under the same instance id takes its sessions back at
  once);
- :func:`check`: the owner renews its lease every few seconds and learns of stop requests;
  a renewal that finds another owner means the lease was lost (this central stalled past it);
- :func:`request_stop`: any central records a stop request; the owner carries it out;
- :func:`release`: a central shutting down lets its leases expire now, so a peer takes over at
  its next scan instead of after the lease.

Times are each central's own clock: keep the centrals' clocks in sync (NTP), far within the
lease duration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from central.db.models import TestSession
from central.db.types import utcnow

__all__ = [
    "LeaseCheck",
    "LeaseTimings",
    "adoptable",
    "check",
    "release",
    "request_stop",
    "take",
]


@dataclass(frozen=True, slots=True)
class LeaseTimings:
    lease_s: float = 15.0
    """A session whose owner did not renew its lease for this long is taken over."""
    renew_s: float = 3.0
    """The owner renews this often; other centrals look for expired leases this often."""
    poll_s: float = 0.5
    """The owner looks for stop requests (and records other centrals ingested) this often."""


class LeaseCheck(NamedTuple):
    held: bool
    """This central still owns the session (and the session still runs)."""
    stop_requested: bool


def _free_for(owner: str, now: datetime) -> ColumnElement[bool]:
    s = TestSession
    return or_(s.owner_id.is_(None), s.owner_id == owner, s.lease_expires_at < now)


def _update(db: Session, *where: Any, **values: Any) -> bool:
    statement = update(TestSession).where(*where).values(**values)
    done = db.execute(statement.execution_options(synchronize_session=False)).rowcount == 1  # type: ignore[attr-defined]
    db.commit()
    return done


def take(db: Session, session_id: str, owner: str, lease_s: float, status: str) -> bool:
    """Make ``owner`` the owner of the session if it is in ``status`` and free for it."""
    now = utcnow()
    return _update(
        db,
        TestSession.id == session_id,
        TestSession.status == status,
        _free_for(owner, now),
        owner_id=owner,
        lease_expires_at=now + timedelta(seconds=lease_s),
    )


def check(db: Session, session_id: str, owner: str, lease_s: float | None) -> LeaseCheck:
    """Whether ``owner`` still holds the running session's lease, renewing it for ``lease_s``
    more seconds (None: no renewal), and whether a stop was requested."""
    s = TestSession
    mine = (s.id == session_id, s.owner_id == owner, s.status == "running")
    if lease_s is not None:
        expiry = utcnow() + timedelta(seconds=lease_s)
        if not _update(db, *mine, lease_expires_at=expiry):
            return LeaseCheck(held=False, stop_requested=False)
    row = db.execute(select(s.stop_requested_at).where(*mine)).first()
    return LeaseCheck(held=row is not None, stop_requested=row is not None and row[0] is not None)


def request_stop(db: Session, session_id: str) -> bool:
    """Record a stop request on a running session (kept from the first request)."""
    s = TestSession
    return _update(
        db,
        s.id == session_id,
        s.status == "running",
        s.stop_requested_at.is_(None),
        stop_requested_at=utcnow(),
    )


def adoptable(db: Session, owner: str) -> list[str]:
    """Running sessions ``owner`` may take: without an owner, with an expired lease, or its own."""
    s = TestSession
    query = select(s.id).where(s.status == "running", _free_for(owner, utcnow()))
    return list(db.scalars(query))


def release(db: Session, owner: str) -> None:
    """End ``owner``'s leases on running sessions now (it is shutting down)."""
    s = TestSession
    _update(db, s.owner_id == owner, s.status == "running", lease_expires_at=utcnow())
