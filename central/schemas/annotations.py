"""Ground-truth annotation schemas (ROADMAP.md section 1), boxes as ``{x, y, width, height}``.

Static checks live here (types, the VRU enum, signs of the box); checks against the video (frame
within it, box inside the frame, frame/time agreement) are the service's, in
:mod:`central.formats.rules`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, NotRequired

import orjson
from pydantic import (
    AfterValidator,
    AliasChoices,
    ConfigDict,
    Field,
    TypeAdapter,
    model_validator,
    with_config,
)
from pydantic.alias_generators import to_camel
from typing_extensions import TypedDict

from central.schemas.base import CamelModel, Page, RequestModel, _unstorable
from protocol import VruType

__all__ = [
    "BULK_ANNOTATIONS",
    "BULK_BODY_MAX",
    "AnnotationCreate",
    "AnnotationListQuery",
    "AnnotationPublic",
    "AnnotationUpdate",
    "AnnotationValidate",
    "BoundingBox",
    "BulkAnnotationCreate",
    "BulkAnnotationResult",
    "annotations_json",
]

DETECTION_ID_MAX = 64
ANNOTATOR_MAX = 64
NOTES_MAX = 10_000
BULK_MAX = 200_000
BULK_BODY_MAX = 64 * 1024 * 1024
"""Bytes of JSON a bulk request may carry (100,000 plain boxes take about 15 MB)."""
LIST_MAX = 100_000


def _camel_or_snake(name: str) -> AliasChoices:
    return AliasChoices(to_camel(name), name)


def _storable(text: str) -> str:
    """The check :class:`RequestModel` gives its fields, for the TypedDicts below."""
    reason = _unstorable(text)
    if reason is not None:
        raise ValueError(reason)
    return text


StorableText = Annotated[str, AfterValidator(_storable)]


@with_config(ConfigDict(extra="forbid"))
class BoundingBox(TypedDict):
    """Absolute, 0-based pixels of the video frame."""

    x: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    y: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    width: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    height: Annotated[float, Field(gt=0, allow_inf_nan=False)]


@with_config(ConfigDict(extra="forbid"))
class AnnotationCreate(TypedDict):
    """One box. Give ``frameNumber``, ``timestamp`` (seconds) or both; the other is derived.

    A TypedDict rather than a model: a bulk request validates 100,000 of these, and plain dicts
    validate several times faster than model instances are built.
    """

    detection_id: Annotated[
        StorableText,
        Field(
            min_length=1,
            max_length=DETECTION_ID_MAX,
            validation_alias=_camel_or_snake("detection_id"),
        ),
    ]
    frame_number: NotRequired[
        Annotated[int | None, Field(ge=0, validation_alias=_camel_or_snake("frame_number"))]
    ]
    timestamp: NotRequired[Annotated[float | None, Field(ge=0, allow_inf_nan=False)]]
    vru_type: Annotated[VruType, Field(validation_alias=_camel_or_snake("vru_type"))]
    bounding_box: Annotated[BoundingBox, Field(validation_alias=_camel_or_snake("bounding_box"))]
    occluded: NotRequired[bool]
    truncated: NotRequired[bool]
    difficult: NotRequired[bool]
    notes: NotRequired[Annotated[StorableText | None, Field(max_length=NOTES_MAX)]]
    annotator: NotRequired[Annotated[StorableText | None, Field(max_length=ANNOTATOR_MAX)]]
    validated: NotRequired[bool]


@with_config(ConfigDict(extra="forbid"))
class BulkAnnotationCreate(TypedDict):
    annotations: Annotated[list[AnnotationCreate], Field(min_length=1, max_length=BULK_MAX)]


BULK_ANNOTATIONS = TypeAdapter(BulkAnnotationCreate)
"""Validates a bulk request straight from its JSON bytes."""


class BulkAnnotationResult(CamelModel):
    video_id: str
    created: int


class AnnotationUpdate(RequestModel):
    """Only the fields sent change; a new frame without a timestamp re-derives it, and back."""

    detection_id: str | None = Field(None, min_length=1, max_length=DETECTION_ID_MAX)
    frame_number: int | None = Field(None, ge=0)
    timestamp: float | None = Field(None, ge=0, allow_inf_nan=False)
    vru_type: VruType | None = None
    bounding_box: BoundingBox | None = None
    occluded: bool | None = None
    truncated: bool | None = None
    difficult: bool | None = None
    notes: str | None = Field(None, max_length=NOTES_MAX)
    annotator: str | None = Field(None, max_length=ANNOTATOR_MAX)
    validated: bool | None = None


class AnnotationValidate(RequestModel):
    validated: bool


class AnnotationPublic(CamelModel):
    id: str
    video_id: str
    detection_id: str
    frame_number: int
    timestamp: float
    vru_type: str
    bounding_box: dict[str, float]
    occluded: bool
    truncated: bool
    difficult: bool
    notes: str | None
    annotator: str | None
    validated: bool
    created_at: datetime
    updated_at: datetime | None


class AnnotationListQuery(Page):
    """Filters of a video's annotation list; without ``limit`` every match is returned."""

    frame_start: int | None = Field(None, ge=0)
    frame_end: int | None = Field(None, ge=0)
    time_start: float | None = Field(None, ge=0, allow_inf_nan=False, description="seconds")
    time_end: float | None = Field(None, ge=0, allow_inf_nan=False, description="seconds")
    vru_type: VruType | None = None
    validated: bool | None = None
    limit: int | None = Field(  # type: ignore[assignment]
        None, ge=1, le=LIST_MAX, description="items per page; default every match"
    )

    @model_validator(mode="after")
    def _ranges_in_order(self) -> AnnotationListQuery:
        frames = (self.frame_start, self.frame_end)
        if frames[0] is not None and frames[1] is not None and frames[0] > frames[1]:
            raise ValueError("frameStart is after frameEnd")
        times = (self.time_start, self.time_end)
        if times[0] is not None and times[1] is not None and times[0] > times[1]:
            raise ValueError("timeStart is after timeEnd")
        return self


_PUBLIC_NAMES = tuple(
    (name, field.alias or name) for name, field in AnnotationPublic.model_fields.items()
)


def annotations_json(rows: Sequence[Any]) -> bytes:
    """A JSON array of :class:`AnnotationPublic` from database rows (anything with the column
    attributes), written by orjson in one pass: a page of 10,000 annotations costs a few
    milliseconds instead of the 0.3 s that building and dumping the models takes. The names come
    from the model; the values are the database's (aware UTC datetimes come out with ``Z``, as
    pydantic writes them)."""
    return orjson.dumps(
        [{alias: getattr(row, name) for name, alias in _PUBLIC_NAMES} for row in rows],
        option=orjson.OPT_UTC_Z,
    )
