"""Project analytics: sessions over time, result trends, and summaries per rig and per video.

Read from the sessions' stored final results (one JSON per session), so the cost grows with the
number of sessions of the project, never with the number of records.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from statistics import fmean
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db.models import Project, TestSession, Video
from central.services.errors import NotFound

__all__ = ["project_analytics"]

logger = logging.getLogger(__name__)

_FINISHED = ("completed", "stopped")


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return fmean(present) if present else None


def _rate(flags: list[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def _trend_point(session: TestSession) -> dict[str, Any]:
    results = session.results or {}
    latency = results.get("latency") or {}
    return {
        "test_session_id": session.id,
        "name": session.name,
        "rig_id": session.rig_id,
        "video_id": session.video_id,
        "completed_at": session.completed_at,
        "accuracy": results.get("accuracy"),
        "precision": results.get("precision"),
        "recall": results.get("recall"),
        "f1": results.get("f1"),
        "p95_ms": latency.get("p95Ms"),
        "passed": results.get("passed"),
    }


def _summary(sessions: list[TestSession]) -> dict[str, Any]:
    finished = [s for s in sessions if s.status in _FINISHED and s.results is not None]
    points = [_trend_point(s) for s in finished]
    return {
        "sessions": len(sessions),
        "finished": len(finished),
        "pass_rate": _rate([bool(p["passed"]) for p in points]),
        "mean_accuracy": _mean(p["accuracy"] for p in points),
        "mean_precision": _mean(p["precision"] for p in points),
        "mean_recall": _mean(p["recall"] for p in points),
        "mean_p95_ms": _mean(p["p95_ms"] for p in points),
    }


def project_analytics(db: Session, project_id: str) -> dict[str, Any]:
    """Everything the project's analytics page shows (snake_case keys; the API camelCases them).

    :raises NotFound: no such project.
    """
    if db.get(Project, project_id) is None:
        raise NotFound("project", project_id)
    sessions = list(
        db.scalars(
            select(TestSession)
            .where(TestSession.project_id == project_id)
            .order_by(TestSession.created_at, TestSession.id)
        )
    )
    filenames: dict[str, str] = {
        video_id: filename
        for video_id, filename in db.execute(
            select(Video.id, Video.filename).where(Video.id.in_({s.video_id for s in sessions}))
        )
    }
    by_day: dict[str, Counter[str]] = defaultdict(Counter)
    for s in sessions:
        day = by_day[s.created_at.date().isoformat()]
        day["total"] += 1
        day[s.status] += 1
        if s.results is not None and s.results.get("passed"):
            day["passed"] += 1
    statuses = Counter(s.status for s in sessions)
    by_rig: dict[str, list[TestSession]] = defaultdict(list)
    by_video: dict[str, list[TestSession]] = defaultdict(list)
    for s in sessions:
        by_rig[s.rig_id].append(s)
        by_video[s.video_id].append(s)
    trends = sorted(
        (_trend_point(s) for s in sessions if s.status in _FINISHED and s.results is not None),
        key=lambda p: (p["completed_at"] is None, p["completed_at"], p["test_session_id"]),
    )
    return {
        "project_id": project_id,
        "totals": {**_summary(sessions), "by_status": dict(statuses)},
        "sessions_over_time": [
            {
                "date": day,
                "total": counts["total"],
                "completed": counts["completed"],
                "stopped": counts["stopped"],
                "failed": counts["failed"],
                "running": counts["running"],
                "pending": counts["pending"],
                "passed": counts["passed"],
            }
            for day, counts in sorted(by_day.items())
        ],
        "trends": trends,
        "by_rig": [{"rig_id": rig, **_summary(rows)} for rig, rows in sorted(by_rig.items())],
        "by_video": [
            {"video_id": video, "filename": filenames.get(video), **_summary(rows)}
            for video, rows in sorted(by_video.items())
        ],
    }
