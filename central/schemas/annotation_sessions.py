"""Annotation session schemas; the totals are counted from the video's annotations when served."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from central.schemas.base import CamelModel, RequestModel

__all__ = [
    "AnnotationSessionCreate",
    "AnnotationSessionPublic",
    "AnnotationSessionStatus",
    "AnnotationSessionUpdate",
]


class AnnotationSessionStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"


class AnnotationSessionCreate(RequestModel):
    video_id: str = Field(min_length=1, max_length=36)
    annotator_id: str | None = Field(None, max_length=64)
    status: AnnotationSessionStatus = AnnotationSessionStatus.ACTIVE
    current_frame: int = Field(0, ge=0)


class AnnotationSessionUpdate(RequestModel):
    """Only the fields sent change. Totals may be sent back, but are ignored: they are derived."""

    annotator_id: str | None = Field(None, max_length=64)
    status: AnnotationSessionStatus | None = None
    current_frame: int | None = Field(None, ge=0)
    total_detections: int | None = None
    validated_detections: int | None = None


class AnnotationSessionPublic(CamelModel):
    id: str
    video_id: str
    annotator_id: str | None
    status: str
    total_detections: int
    """Annotations (boxes) of the video, counted when served."""
    validated_detections: int
    """Those of them marked validated, counted when served."""
    current_frame: int
    created_at: datetime
    updated_at: datetime | None
