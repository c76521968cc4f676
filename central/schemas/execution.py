"""Running a test session: detections posted over HTTP and the verdicts they get."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from central.schemas.base import CamelModel, RequestModel
from protocol import VruType
from protocol.messages import TrackId

__all__ = [
    "BoundingBox",
    "DetectionVerdictPublic",
    "FinalResultsPublic",
    "HttpDetection",
    "HttpDetectionBatch",
]


class BoundingBox(RequestModel):
    x: float
    y: float
    width: float = Field(gt=0)
    height: float = Field(gt=0)


class HttpDetection(RequestModel):
    """One detection of a model tested without a rig; placed in video time by ``tVideoMs``,
    ``timestamp`` (seconds) or ``frameNumber`` (with the video's frame rate)."""

    t_video_ms: float | None = Field(None, ge=0, le=86_400_000)
    timestamp: float | None = Field(None, ge=0, le=86_400, description="video time in seconds")
    frame_number: int | None = Field(None, ge=0)
    vru_type: VruType | None = None
    bounding_box: BoundingBox | None = None
    confidence: float | None = Field(None, ge=0.0, le=1.0)
    track_id: TrackId | None = Field(
        None, description="the tracker's identity of the object, for track metrics (MOTA, HOTA)"
    )

    @model_validator(mode="after")
    def _placed_in_time(self) -> HttpDetection:
        if self.t_video_ms is None and self.timestamp is None and self.frame_number is None:
            raise ValueError("give tVideoMs, timestamp or frameNumber")
        return self

    def as_record(self) -> dict[str, Any]:
        box = self.bounding_box
        return {
            "t_video_ms": self.t_video_ms,
            "timestamp": self.timestamp,
            "frame_number": self.frame_number,
            "vru_type": self.vru_type.value if self.vru_type is not None else None,
            "bbox": [box.x, box.y, box.width, box.height] if box is not None else None,
            "confidence": self.confidence,
            "track_id": self.track_id,
        }


class HttpDetectionBatch(RequestModel):
    detections: list[HttpDetection] = Field(min_length=1, max_length=1000)


class DetectionVerdictPublic(CamelModel):
    """A stored detection with its provisional verdict (the final one comes at stop)."""

    id: str
    seq: int | None
    t_video_ms: float | None
    vru_type: str | None
    bbox: list[float] | None
    confidence: float | None
    frame_number: int | None
    match_type: str
    ground_truth_id: str | None
    latency_ms: float | None
    iou: float | None
    provisional: bool


class FinalResultsPublic(CamelModel):
    test_session_id: str
    status: str
    results: dict[str, Any] = Field(description="the verdict, as in detailed-results")
