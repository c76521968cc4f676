"""A test session's detections as MOTChallenge text: the import answer."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from central.schemas.annotation_io import ImportReportPublic
from central.schemas.base import CamelModel

__all__ = ["DetectionFormatName", "DetectionImportResultPublic"]

DetectionFormatName = Literal["mot"]
"""The formats a session's detections are exported and imported in."""


class DetectionImportResultPublic(CamelModel):
    """What the import stored, or with ``dryRun`` what it would store."""

    test_session_id: str
    format: DetectionFormatName
    dry_run: bool
    detections: int = Field(description="detections stored (or, with dryRun, that would be)")
    frames: int = Field(description="frames holding them")
    tracks: int = Field(description="distinct track ids among them")
    verdicts: dict[str, int] = Field(
        description="provisional verdicts of the stored detections by match type (TP, FP, "
        "...); empty with dryRun"
    )
    report: ImportReportPublic
