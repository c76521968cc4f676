"""Video schemas: what an upload returns and what the video lists hold."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from central.schemas.base import CamelModel, Page, RequestModel

__all__ = ["StreamLinkPublic", "VideoPublic", "VideoQuery", "VideoUpdate"]


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


class VideoUpdate(RequestModel):
    """``PUT /api/videos/{id}``: only the fields sent change.

    ``fps`` overrides the probed frame rate (a container that stores it wrongly) and re-derives
    ``durationS`` from the frame count; it is refused (409) once the video has annotations, whose
    timestamps were derived from the old rate.
    """

    filename: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
        | None
    ) = Field(None, description="the display name")
    fps: float | None = Field(None, gt=0, le=1000, description="frames per second")
