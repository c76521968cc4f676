"""The data the converters work on, independent of the database.

The database layer maps its ORM rows to :class:`Annotation` for export and stores each imported
:class:`AnnotationRow` (it has no id: the database assigns one). A row's natural key is
``(frame_number, detection_id)``: the conflict policy (merge, skip, replace) works on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from protocol import VruType

__all__ = ["Annotation", "AnnotationRow", "BoundingBox", "VideoInfo"]


@dataclass(frozen=True, slots=True)
class BoundingBox:
    """Absolute, 0-based float pixels: (x, y) is the top-left corner."""

    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height


@dataclass(frozen=True, slots=True, kw_only=True)
class AnnotationRow:
    """One ground-truth box as an importer produces it: everything but the database's ids."""

    detection_id: str
    frame_number: int
    timestamp: float
    vru_type: VruType
    bounding_box: BoundingBox
    occluded: bool = False
    truncated: bool = False
    difficult: bool = False
    validated: bool = False
    notes: str | None = None
    annotator: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def key(self) -> tuple[int, str]:
        """The natural key the import conflict policy works on."""
        return (self.frame_number, self.detection_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class Annotation(AnnotationRow):
    """A stored ground-truth box, as the exporters read it."""

    id: str
    video_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class VideoInfo:
    """What the converters need to know about a video; unknown values are None."""

    id: str
    filename: str
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    frame_count: int | None = None
    #: (width, height) when both are known and positive; read once per box by the converters
    size: tuple[int, int] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        known = self.width and self.height and self.width > 0 and self.height > 0
        object.__setattr__(self, "size", (self.width, self.height) if known else None)
