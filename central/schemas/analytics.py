"""Project analytics: sessions over time, trends, per-rig and per-video summaries."""

from __future__ import annotations

from datetime import datetime

from central.schemas.base import CamelModel

__all__ = ["ProjectAnalyticsPublic"]


class Summary(CamelModel):
    sessions: int
    finished: int
    pass_rate: float | None
    mean_accuracy: float | None
    mean_precision: float | None
    mean_recall: float | None
    mean_p95_ms: float | None


class Totals(Summary):
    by_status: dict[str, int]


class DaySessions(CamelModel):
    date: str
    total: int
    completed: int
    stopped: int
    failed: int
    running: int
    pending: int
    passed: int


class TrendPoint(CamelModel):
    test_session_id: str
    name: str
    rig_id: str
    video_id: str
    completed_at: datetime | None
    accuracy: float | None
    precision: float | None
    recall: float | None
    f1: float | None
    p95_ms: float | None
    passed: bool | None


class RigSummary(Summary):
    rig_id: str


class VideoSummary(Summary):
    video_id: str
    filename: str | None


class ProjectAnalyticsPublic(CamelModel):
    project_id: str
    totals: Totals
    sessions_over_time: list[DaySessions]
    trends: list[TrendPoint]
    by_rig: list[RigSummary]
    by_video: list[VideoSummary]
