"""Project-video link schemas (ROADMAP.md section 3)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from central.schemas.base import CamelModel, RequestModel
from central.schemas.videos import VideoPublic

__all__ = ["VideoAssignmentPublic", "VideoLinkRequest"]

LINK_MAX = 1000


class VideoLinkRequest(RequestModel):
    video_ids: list[str] = Field(min_length=1, max_length=LINK_MAX)
    assignment_reason: str | None = Field(None, max_length=10_000)


class VideoAssignmentPublic(CamelModel):
    """One link made: a ground-truth library video now serves the project."""

    id: str
    video_id: str
    project_id: str
    assignment_reason: str | None
    intelligent_match: bool
    created_at: datetime
    video: VideoPublic
