"""Test sessions (one run of a video against a rig) and their execution config."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from central.matching import MatchConfig
from central.schemas.base import CamelModel, Page, RequestModel
from central.schemas.evaluation import (
    SIZE_BIN_EDGES,
    SizeBinEdges,
    SliceCriteria,
    check_criteria_bins,
)
from protocol import Source, validate_id

__all__ = [
    "ExecutionConfigBase",
    "ExecutionConfigCreate",
    "ExecutionConfigPublic",
    "MatchingMode",
    "TestSessionCreate",
    "TestSessionPublic",
    "TestSessionQuery",
    "TestSessionStatus",
]


class TestSessionStatus(StrEnum):
    __test__ = False  # not a pytest test class, despite the name

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    STOPPED = "stopped"


class MatchingMode(StrEnum):
    TEMPORAL = "temporal"
    """The signal carries no box: match by time window (GPIO edge, bare CAN flag)."""
    SPATIAL = "spatial"
    """The signal carries frame or time, box, class, confidence: match per frame by IoU."""


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


# The roadmap's frontend sends "GPIO", "Network", ...; stored as the protocol's source names.
SignalType = Annotated[Source, BeforeValidator(_lower)]
RigId = Annotated[str, AfterValidator(lambda value: validate_id(value, "rig id"))]
ChannelName = Annotated[str, AfterValidator(lambda value: validate_id(value, "channel"))]


class ExecutionConfigBase(CamelModel):
    """A session's ``TestExecutionConfig``: every field, default and range, declared once.

    The request and response models derive from it, the executor reads stored rows through it,
    and the matcher's rules come from it (:meth:`match_config`).
    """

    tolerance_ms: int = Field(
        100, ge=0, le=60_000, description="window around a ground-truth event"
    )
    signal_type: SignalType
    test_duration: int = Field(300, ge=1, le=86_400, description="seconds")
    enable_realtime_monitoring: bool = True
    max_latency_ms: int = Field(200, ge=0, le=60_000, description="latency budget (p95)")
    min_accuracy: float = Field(0.9, ge=0.0, le=1.0)
    mode: MatchingMode = MatchingMode.TEMPORAL
    iou_threshold: float = Field(0.5, gt=0.0, le=1.0)
    sync_channel: ChannelName | None = None
    channels: list[ChannelName] | None = Field(None, max_length=64, description="channels to arm")
    size_bin_edges_px: SizeBinEdges = SIZE_BIN_EDGES
    criteria: SliceCriteria = Field(
        default_factory=list, description="pass/fail criteria on a VRU type and/or size bin"
    )

    @model_validator(mode="after")
    def _criteria_name_known_bins(self) -> ExecutionConfigBase:
        check_criteria_bins(self.criteria, self.size_bin_edges_px)
        return self

    def match_config(self, fps: float | None, frame_count: int | None = None) -> MatchConfig:
        """The matcher's rules, with the video's frame rate and frame count (the count is the
        FPPI denominator of the log-average miss rate).

        :raises ValueError: a value the matcher cannot use (named in the message).
        """
        fields = self.model_dump(include=_MATCHER_FIELDS)
        return MatchConfig(**fields, fps=fps, frame_count=frame_count)


_MATCHER_FIELDS = {field.name for field in dataclasses.fields(MatchConfig)} & set(
    ExecutionConfigBase.model_fields
)


class ExecutionConfigCreate(ExecutionConfigBase, RequestModel):
    pass


class ExecutionConfigPublic(ExecutionConfigBase):
    # A response always carries every field, defaults included.
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    id: str
    created_at: datetime


class TestSessionCreate(RequestModel):
    __test__ = False  # not a pytest test class, despite the name

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
    project_id: str = Field(min_length=1, max_length=36)
    video_id: str = Field(min_length=1, max_length=36)
    rig_id: RigId
    execution_config: ExecutionConfigCreate | None = None


class TestSessionPublic(CamelModel):
    __test__ = False  # not a pytest test class, despite the name

    id: str
    name: str
    project_id: str
    video_id: str
    rig_id: str
    status: str
    failure_reason: str | None
    sync_mono_ns: int | None
    started_at: datetime | None
    completed_at: datetime | None
    results: dict[str, Any] | None
    execution_config: ExecutionConfigPublic | None
    created_at: datetime
    updated_at: datetime | None


class TestSessionQuery(Page):
    """Query of ``GET /api/test-sessions``: a page, optionally of one project or status."""

    __test__ = False  # not a pytest test class, despite the name

    project_id: str | None = Field(None, alias="projectId")
    status: TestSessionStatus | None = None
