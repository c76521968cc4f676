"""Test sessions, the base object: create (with an optional execution config), list, read, delete.

Running one (start, stop, results) is the execution service's job; this module only keeps the
record. A running session cannot be deleted: stop it first.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from central.db.models import Project, TestExecutionConfig, TestSession, Video
from central.services.errors import Conflict, InvalidInput, NotFound
from central.services.listing import ordering

__all__ = [
    "create_test_session",
    "delete_test_session",
    "get_test_session",
    "list_test_sessions",
    "update_test_session",
]

logger = logging.getLogger(__name__)

# Every answer about a session carries its execution config: load it in the same round trip.
_CONFIG = selectinload(TestSession.execution_config)
_SORTS = {"createdAt": TestSession.created_at, "name": TestSession.name}


def create_test_session(
    session: Session, fields: dict[str, Any], execution_config: dict[str, Any] | None
) -> TestSession:
    """Store a pending session. ``fields``: name, description, project_id, video_id, rig_id.

    :raises NotFound: the project or the video does not exist.
    """
    if session.get(Project, fields["project_id"]) is None:
        raise NotFound("project", fields["project_id"])
    if session.get(Video, fields["video_id"]) is None:
        raise NotFound("video", fields["video_id"])
    test_session = TestSession(**fields)
    if execution_config is not None:
        test_session.execution_config = TestExecutionConfig(**execution_config)
    session.add(test_session)
    session.commit()
    logger.info("created test session %s for rig %s", test_session.id, test_session.rig_id)
    return test_session


def list_test_sessions(
    session: Session,
    *,
    limit: int,
    offset: int,
    project_id: str | None = None,
    status: str | None = None,
    sort: str = "-createdAt",
) -> tuple[list[TestSession], int]:
    """A page of sessions in ``sort`` order (default newest first), and the total count of the
    filtered list."""
    conditions = []
    if project_id is not None:
        conditions.append(TestSession.project_id == project_id)
    if status is not None:
        conditions.append(TestSession.status == status)
    total = session.scalar(select(func.count()).select_from(TestSession).where(*conditions)) or 0
    query = (
        select(TestSession)
        .options(_CONFIG)
        .where(*conditions)
        .order_by(*ordering(sort, _SORTS, TestSession.id))
        .limit(limit)
        .offset(offset)
    )
    return list(session.scalars(query)), total


def get_test_session(session: Session, test_session_id: str) -> TestSession:
    row = session.scalars(
        select(TestSession).options(_CONFIG).where(TestSession.id == test_session_id)
    ).first()
    if row is None:
        raise NotFound("test session", test_session_id)
    return row


def _replace_config(row: TestSession, config: dict[str, Any] | None) -> None:
    """Overwrite the stored config in place: a new row beside the old one would be inserted
    before the old one is deleted, against the one-config-per-session constraint."""
    if config is None:
        row.execution_config = None
    elif row.execution_config is None:
        row.execution_config = TestExecutionConfig(**config)
    else:
        for field, value in config.items():
            setattr(row.execution_config, field, value)


def update_test_session(
    session: Session, test_session_id: str, changes: dict[str, Any]
) -> TestSession:
    """Apply ``changes``: the fields the client sent of name, description and execution_config
    (a whole config, which replaces the stored one, or ``None``, which removes it).

    :raises Conflict: the session is running.
    :raises InvalidInput: ``name`` set to ``None``.
    """
    row = get_test_session(session, test_session_id)
    if row.status == "running":
        raise Conflict(f"test session {test_session_id!r} is running: stop it before changing it")
    if "name" in changes and changes["name"] is None:
        raise InvalidInput("name cannot be cleared", "name")
    fields = dict(changes)
    if "execution_config" in fields:
        _replace_config(row, fields.pop("execution_config"))
    for field, value in fields.items():
        setattr(row, field, value)
    session.commit()
    logger.info("updated test session %s: %s", test_session_id, sorted(changes))
    return get_test_session(session, test_session_id)


def delete_test_session(session: Session, test_session_id: str) -> None:
    """Delete a session with its config, comparisons and latency measurements; its raw
    detection events stay, detached (``test_session_id`` null).

    :raises Conflict: the session is running.
    """
    row = get_test_session(session, test_session_id)
    if row.status == "running":
        raise Conflict(f"test session {test_session_id!r} is running: stop it before deleting it")
    session.delete(row)
    session.commit()
    logger.info("deleted test session %s", test_session_id)
