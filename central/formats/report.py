"""What a conversion tells its user: where an input problem is, and what was clipped or dropped.

A :class:`Location` names the file, then the line (text formats) or the element (JSON path, XML
path) and the field. Reports keep the first :data:`MAX_REPORT_ENTRIES` clipped or dropped items
and count the rest, so a huge, dirty dataset gives a short report.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "MAX_REPORT_ENTRIES",
    "Action",
    "ExportReport",
    "ImportReport",
    "Issue",
    "Location",
    "ReportEntry",
]

MAX_REPORT_ENTRIES = 200


@dataclass(frozen=True, slots=True)
class Location:
    file: str
    line: int | None = None
    element: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        text = self.file if self.line is None else f"{self.file}:{self.line}"
        if self.element:
            text += f" {self.element}"
        if self.field:
            text += f" field '{self.field}'"
        return text


@dataclass(frozen=True, slots=True)
class Issue:
    """One reason an import was refused."""

    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self.location), "message": self.message}


class Action(StrEnum):
    CLIPPED = "clipped"
    DROPPED = "dropped"


@dataclass(frozen=True, slots=True)
class ReportEntry:
    action: Action
    where: str
    message: str


@dataclass(slots=True)
class _Report:
    format: str
    clipped: int = 0
    dropped: int = 0
    warnings: list[str] = field(default_factory=list)
    entries: list[ReportEntry] = field(default_factory=list)
    omitted_entries: int = 0

    def record(self, action: Action, where: str, message: str) -> None:
        if action is Action.CLIPPED:
            self.clipped += 1
        else:
            self.dropped += 1
        if len(self.entries) < MAX_REPORT_ENTRIES:
            self.entries.append(ReportEntry(action, where, message))
        else:
            self.omitted_entries += 1

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["entries"] = [
            {"action": str(e.action), "where": e.where, "message": e.message} for e in self.entries
        ]
        return data


@dataclass(slots=True)
class ExportReport(_Report):
    """Filled while the export streams; final once its chunks are exhausted (``complete``)."""

    frames: int = 0
    annotations: int = 0
    #: field name -> number of annotations whose value the format cannot carry
    not_represented: dict[str, int] = field(default_factory=dict)
    complete: bool = False

    def not_carried(self, field_name: str) -> None:
        self.not_represented[field_name] = self.not_represented.get(field_name, 0) + 1

    def summary(self) -> dict[str, Any]:
        """The part written into the exported file itself."""
        data = self.to_dict()
        del data["complete"]
        return data


@dataclass(slots=True)
class ImportReport(_Report):
    boxes_read: int = 0
    imported: int = 0
    frames: int = 0
    generated_track_ids: int = 0
