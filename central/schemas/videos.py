"""Video schemas: what an upload returns and what the video lists hold."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from central.schemas.base import CamelModel, Page

__all__ = ["StreamLinkPublic", "VideoPublic", "VideoQuery"]


class VideoPublic(CamelModel):
    """A stored video and its probed metadata; ``projectId`` null = ground-truth library."""

    id: str
    project_id: str | None
    filename: str
    """The name the file had on the uploader's machine: display only."""
    size_bytes: int
    content_type: str
    duration_s: float | None
    fps: float | None
    frame_count: int | None
    width: int | None
    height: int | None
    codec: str | None
    status: str
    created_at: datetime
    updated_at: datetime | None


class StreamLinkPublic(CamelModel):
    """A signed link to the video's stream, for a player that cannot send a bearer token."""

    url: str
    """Path and query of the stream, to use as a ``<video>`` element's ``src``."""
    expires_at: datetime


class VideoQuery(Page):
    """Query of the video lists: newest first unless ``sort`` says otherwise."""

    sort: Literal["-createdAt", "createdAt", "filename", "-filename"] = "-createdAt"
