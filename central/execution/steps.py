"""The executor's database steps: each one unit of work in one session, run in a worker thread.

:class:`~central.execution.executor.SessionExecutor` decides when; these read and write the rows.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db.models import Rig, TestExecutionConfig, TestSession
from central.db.types import utcnow
from central.execution.http_rig import HTTP_RIG_ID
from central.execution.loading import (
    load_ground_truth,
    load_judged_rows,
    load_session,
    match_config,
)
from central.execution.results import FINISHED_STATUSES
from central.matching import GroundTruth, MatchConfig
from central.schemas.test_sessions import ExecutionConfigBase
from central.services.errors import Conflict, InvalidInput

__all__ = [
    "LiveInputs",
    "finished_sessions",
    "live_inputs",
    "mark",
    "prepare_start",
    "rig_online",
    "running_session_ids",
    "set_sync",
]


class LiveInputs(NamedTuple):
    session: TestSession
    ground_truth: GroundTruth
    rules: MatchConfig
    duration_s: float
    extra: Any
    """The effective config values (at start) or the stored judged records (on resume)."""


def prepare_start(db: Session, session_id: str, config: dict[str, Any] | None) -> LiveInputs:
    session = load_session(db, session_id)
    if session.status != "pending":
        raise Conflict(
            f"test session {session_id!r} is {session.status}: only a pending session can start"
        )
    if session.rig_id != HTTP_RIG_ID:
        busy = db.scalar(
            select(TestSession.id).where(
                TestSession.rig_id == session.rig_id, TestSession.status == "running"
            )
        )
        if busy is not None:
            raise Conflict(f"rig {session.rig_id!r} is running test session {busy!r}")
        rig = db.get(Rig, session.rig_id)
        if rig is None or rig.state != "online":
            state = "has never reported its status" if rig is None else f"is {rig.state}"
            raise Conflict(f"rig {session.rig_id!r} {state}: start it and try again")
    ground_truth = load_ground_truth(db, session.video_id)
    if len(ground_truth) == 0:
        raise InvalidInput(
            f"video {session.video_id!r} has no ground-truth annotations to test against",
            "videoId",
        )
    row = session.execution_config
    if config is None:
        if row is None:
            raise InvalidInput("the session has no stored config: send a TestExecutionConfig")
    elif row is None:
        row = TestExecutionConfig(test_session_id=session_id, **config)
        db.add(row)
    else:
        for key, value in config.items():
            setattr(row, key, value)
    fps = session.video.fps
    try:
        rules = match_config(row, fps)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    db.commit()
    values = ExecutionConfigBase.model_validate(row).model_dump()
    return LiveInputs(session, ground_truth, rules, float(row.test_duration), values)


def finished_sessions(db: Session, session_ids: set[str]) -> list[str]:
    return list(
        db.scalars(
            select(TestSession.id).where(
                TestSession.id.in_(session_ids), TestSession.status.in_(FINISHED_STATUSES)
            )
        )
    )


def rig_online(db: Session, rig_id: str) -> bool:
    rig = db.get(Rig, rig_id)
    return rig is not None and rig.state == "online"


def running_session_ids(db: Session) -> list[str]:
    return list(db.scalars(select(TestSession.id).where(TestSession.status == "running")))


def live_inputs(db: Session, session_id: str) -> LiveInputs:
    session = load_session(db, session_id)
    config = session.execution_config
    if config is None:
        raise ValueError(f"running session {session_id!r} has no execution config")
    rules = match_config(config, session.video.fps)
    ground_truth = load_ground_truth(db, session.video_id)
    stored = load_judged_rows(db, session_id)
    return LiveInputs(session, ground_truth, rules, float(config.test_duration), stored)


def set_sync(db: Session, session_id: str, sync_mono_ns: int) -> None:
    session = load_session(db, session_id)
    if session.sync_mono_ns is None:
        session.sync_mono_ns = sync_mono_ns
        db.commit()


def mark(
    db: Session,
    session_id: str,
    status: str,
    *,
    failure_reason: str | None = None,
    started: bool = False,
    sync_mono_ns: int | None = None,
) -> TestSession:
    session = load_session(db, session_id)
    session.status = status
    session.failure_reason = failure_reason
    now = utcnow()
    if started:
        session.started_at = now
    if status == "failed":
        session.completed_at = now
    if sync_mono_ns is not None:
        session.sync_mono_ns = sync_mono_ns
    db.commit()
    db.refresh(session, ["execution_config"])
    return session
