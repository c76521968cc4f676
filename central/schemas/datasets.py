"""Dataset management (ROADMAP.md section 7): dataset export request, statistics, quality."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from central.schemas.annotation_io import AnnotationFormatName
from central.schemas.base import CamelModel, RequestModel

__all__ = [
    "DatasetExportRequest",
    "DatasetExportResponse",
    "DatasetQualityReport",
    "DatasetStatistics",
    "QualityFinding",
    "VideoStatisticsResponse",
]

MAX_EXPORT_VIDEOS = 10_000


class DatasetExportRequest(RequestModel):
    """A project's videos (uploaded into it or linked), a list of videos, or, with neither,
    every video."""

    format: AnnotationFormatName = "json"
    project_id: str | None = None
    video_ids: list[str] | None = Field(None, min_length=1, max_length=MAX_EXPORT_VIDEOS)

    @model_validator(mode="after")
    def _one_selection(self) -> DatasetExportRequest:
        if self.project_id is not None and self.video_ids is not None:
            raise ValueError("give projectId or videoIds, not both")
        return self


class DatasetExportResponse(CamelModel):
    """What ``POST /api/datasets/export`` answers to ``Accept: application/json``: the export's
    counts and a signed URL that streams the zip (the one the default answer would be)."""

    id: str
    format: AnnotationFormatName
    video_count: int = Field(description="videos in the dataset")
    annotation_count: int = Field(description="stored annotations of those videos")
    download_url: str = Field(
        description="path and query of the zip's download; needs no token until expiresAt"
    )
    expires_at: datetime


class BoxesPerFrame(CamelModel):
    """Over frames with at least one box; ``histogram`` maps a box count ("10+") to frames."""

    mean: float | None
    max: int | None
    histogram: dict[str, int]


class BoxSize(CamelModel):
    """COCO's size classes by area (small < 32², large >= 96² px²) and the extremes, in px."""

    small: int
    medium: int
    large: int
    mean_width: float | None
    mean_height: float | None
    min_width: float | None
    max_width: float | None
    min_height: float | None
    max_height: float | None


class FlagCounts(CamelModel):
    occluded: int
    truncated: int
    difficult: int
    validated: int


class DatasetStatistics(CamelModel):
    """``frames`` sums the lengths that are known; ``framesWithoutAnnotations`` counts within
    them. ``tracks`` are distinct (video, detectionId) pairs."""

    videos: int
    videos_with_annotations: int
    frames: int
    videos_with_unknown_frame_count: int
    annotated_frames: int
    frames_without_annotations: int
    annotations: int
    tracks: int
    by_vru_type: dict[str, int]
    by_flag: FlagCounts
    validated_share: float | None
    boxes_per_frame: BoxesPerFrame
    box_size: BoxSize


class QualityExample(CamelModel):
    """One instance of a finding; which fields are set depends on the finding."""

    annotation_id: str | None = None
    annotation_ids: list[str] | None = None
    video_id: str | None = None
    filename: str | None = None
    frame_number: int | None = None
    detection_id: str | None = None
    first_frame: int | None = None
    last_frame: int | None = None
    missing_frames: int | None = None
    vru_type: str | None = None
    annotations: int | None = None
    share: float | None = None


class QualityFinding(CamelModel):
    code: Literal[
        "boxes_outside_frame",
        "zero_area_boxes",
        "near_duplicate_boxes",
        "tracks_with_gaps",
        "unvalidated_annotations",
        "class_imbalance",
        "videos_without_ground_truth",
    ]
    severity: Literal["error", "warning", "info"]
    count: int
    examples: list[QualityExample] = Field(description="at most 5")
    recommendation: str


class DatasetQualityReport(CamelModel):
    """Every check, passed (``count`` 0) or not; ``issuesFound`` counts the failed ones."""

    annotations: int
    videos: int
    issues_found: int
    findings: list[QualityFinding]


class VideoGroundTruth(CamelModel):
    video_id: str
    filename: str
    project_id: str | None
    status: str
    frame_count: int | None
    annotations: int
    annotated_frames: int
    tracks: int
    validated: int
    validated_share: float | None
    frame_coverage: float | None = Field(description="annotated frames / frame count")


class VideoStatisticsResponse(CamelModel):
    """Totals over every video; ``videos`` is one page (``limit``/``offset``, total in
    ``X-Total-Count``) in upload order."""

    total_videos: int
    library_videos: int
    project_videos: int
    by_status: dict[str, int]
    by_resolution: dict[str, int]
    total_size_bytes: int
    total_duration_s: float
    total_frames: int
    with_ground_truth: int
    without_ground_truth: int
    videos: list[VideoGroundTruth]
