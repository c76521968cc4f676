"""Projects: a camera and model under test, with its videos and test sessions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from central.schemas.base import CamelModel, Page, RequestModel

__all__ = ["ProjectCreate", "ProjectPublic", "ProjectQuery", "ProjectStatus", "ProjectUpdate"]

ProjectName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]
Resolution = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)]
FrameRate = Annotated[float, Field(gt=0, le=1000, description="frames per second")]


class ProjectStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    ARCHIVED = "archived"


class ProjectCreate(RequestModel):
    name: ProjectName
    description: str | None = Field(None, max_length=10_000)
    camera_model: ShortText | None = None
    camera_view: Label | None = None
    lens_type: Label | None = None
    resolution: Resolution | None = None
    frame_rate: FrameRate | None = None
    signal_type: Annotated[str, StringConstraints(max_length=32)] | None = None
    status: ProjectStatus = ProjectStatus.ACTIVE


class ProjectUpdate(RequestModel):
    """Only the fields sent change; ``null`` clears an optional field."""

    name: ProjectName | None = None
    description: str | None = Field(None, max_length=10_000)
    camera_model: ShortText | None = None
    camera_view: Label | None = None
    lens_type: Label | None = None
    resolution: Resolution | None = None
    frame_rate: FrameRate | None = None
    signal_type: Annotated[str, StringConstraints(max_length=32)] | None = None
    status: ProjectStatus | None = None


class ProjectPublic(CamelModel):
    id: str
    name: str
    description: str | None
    camera_model: str | None
    camera_view: str | None
    lens_type: str | None
    resolution: str | None
    frame_rate: float | None
    signal_type: str | None
    status: str
    created_at: datetime
    updated_at: datetime | None


class ProjectQuery(Page):
    """Query of ``GET /api/projects``: newest first unless ``sort`` says otherwise."""

    sort: Literal["-createdAt", "createdAt", "name", "-name"] = "-createdAt"
