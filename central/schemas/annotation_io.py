"""Annotation export and import (ROADMAP.md section 2): formats, conflict policy, import answer."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from central.schemas.base import CamelModel

__all__ = [
    "AnnotationFormatName",
    "ConflictPolicy",
    "ImportReportPublic",
    "ImportResultPublic",
    "ReportEntryPublic",
]

AnnotationFormatName = Literal["json", "coco", "yolo", "pascal_voc", "mot"]
"""The names of :data:`central.formats.FORMATS`."""


class ConflictPolicy(StrEnum):
    """What an import does with a row whose (frame, track) is already stored; see
    :mod:`central.services.annotation_io`."""

    SKIP = "skip"
    REPLACE = "replace"
    MERGE = "merge"


class ReportEntryPublic(CamelModel):
    action: Literal["clipped", "dropped"]
    where: str
    message: str


class ImportReportPublic(CamelModel):
    """What the converter read, and every box it had to clip or drop (the first 200)."""

    format: str
    boxes_read: int
    imported: int
    frames: int
    clipped: int
    dropped: int
    generated_track_ids: int
    warnings: list[str]
    entries: list[ReportEntryPublic]
    omitted_entries: int


class ImportResultPublic(CamelModel):
    """What the import wrote, or with ``dryRun`` what it would write.

    ``created`` rows are new, ``updated`` overwrote a stored row of the same frame and track
    (merge), ``skipped`` were not written because that key is stored (skip), ``deleted`` stored
    rows were removed (replace), ``unchanged`` stored rows were left as they were.
    """

    video_id: str
    format: AnnotationFormatName
    dry_run: bool
    on_conflict: ConflictPolicy
    created: int
    updated: int
    skipped: int
    deleted: int
    unchanged: int
    report: ImportReportPublic
