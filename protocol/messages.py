"""Message models of wire format v1 (snake_case JSON, integer nanosecond timestamps).

Models are tolerant with peers (unknown fields are ignored, so a newer rig can add a field without
breaking an older central) and strict about what they need. Every message carries ``v``; the codec
refuses other versions before these models see them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from protocol.topics import validate_id

__all__ = [
    "MAX_BATCH_RECORDS",
    "WIRE_VERSION",
    "BBox",
    "ChannelStats",
    "Clock",
    "Command",
    "CommandReply",
    "DetectionPayload",
    "DetectionRecord",
    "LatencyRecord",
    "PingCommand",
    "Record",
    "RecordBatch",
    "RecordKind",
    "ReplayCommand",
    "RigState",
    "RigStatus",
    "SessionResults",
    "Source",
    "StartCommand",
    "StopCommand",
    "StreamAck",
    "SyncPayload",
    "SyncRecord",
    "VruType",
]

WIRE_VERSION: Final = 1
MAX_BATCH_RECORDS = 1000


class VruType(StrEnum):
    PEDESTRIAN = "pedestrian"
    CYCLIST = "cyclist"
    MOTORCYCLIST = "motorcyclist"
    WHEELCHAIR_USER = "wheelchair_user"
    SCOOTER_RIDER = "scooter_rider"


class Source(StrEnum):
    GPIO = "gpio"
    CAN = "can"
    SERIAL = "serial"
    NETWORK = "network"
    SIMULATED = "simulated"


class RecordKind(StrEnum):
    DETECTION = "detection"
    LATENCY = "latency"
    SYNC = "sync"


class Clock(StrEnum):
    """Where a record's timestamp came from; all of them end up on the rig's CLOCK_MONOTONIC."""

    KERNEL_MONOTONIC = "kernel_monotonic"
    """The kernel stamped the event on CLOCK_MONOTONIC (libgpiod, lgpio edge ticks)."""
    KERNEL_REALTIME = "kernel_realtime"
    """The kernel stamped it on CLOCK_REALTIME (SO_TIMESTAMPNS, SocketCAN); converted by offset."""
    USER_MONOTONIC = "user_monotonic"
    """Read in user space when the event was seen (serial first byte, fakes, simulated)."""


RigId = Annotated[str, AfterValidator(lambda v: validate_id(v, "rig_id"))]
StreamId = Annotated[str, AfterValidator(lambda v: validate_id(v, "stream"))]
SessionId = Annotated[str, AfterValidator(lambda v: validate_id(v, "session_id"))]
INT64_MAX = 2**63 - 1
NonNegativeNs = Annotated[int, Field(ge=0, le=INT64_MAX)]
"""Stamps and seqs: signed 64-bit, as clocks count and databases store them; a larger number
is refused on decode, not discovered as an overflow on insert."""

BBox = Annotated[
    tuple[float, float, float, float],
    Field(description="[x, y, width, height] in pixels, 0-based; width and height positive"),
]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


def _track_id_text(value: Any) -> Any:
    # Trackers number their tracks; ids are compared as text, so 7 and "7" are one track.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


TrackId = Annotated[
    str,
    BeforeValidator(_track_id_text),
    StringConstraints(min_length=1, max_length=64),
    Field(description="the tracker's identity of the object (integer or text), for track metrics"),
]


class DetectionPayload(_Wire):
    """What the system under test said; ``raw_hex`` or ``raw_line`` is always kept."""

    vru_type: VruType | None = None
    bbox: BBox | None = None
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    frame: int | None = Field(default=None, ge=0)
    track_id: TrackId | None = None
    raw_hex: str | None = Field(default=None, pattern=r"^([0-9a-f]{2})*$")
    raw_line: str | None = None
    fields: dict[str, Any] = Field(
        default_factory=dict, description="other decoded fields, e.g. CAN signals by name"
    )

    @model_validator(mode="after")
    def _check(self) -> DetectionPayload:
        if self.raw_hex is None and self.raw_line is None:
            raise ValueError("a payload keeps what it was decoded from: raw_hex or raw_line")
        if self.bbox is not None and (self.bbox[2] <= 0 or self.bbox[3] <= 0):
            raise ValueError("bbox width and height must be positive")
        return self


class SyncPayload(_Wire):
    raw_hex: str | None = Field(default=None, pattern=r"^([0-9a-f]{2})*$")
    raw_line: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict)


class _RecordBase(_Wire):
    seq: NonNegativeNs
    session_id: SessionId | None = None
    channel: str = Field(min_length=1, max_length=128)
    source: Source
    t_mono_ns: NonNegativeNs
    t_wall_ns: NonNegativeNs
    clock: Clock
    t_video_ms: float | None = None


class DetectionRecord(_RecordBase):
    kind: Literal["detection"] = "detection"
    payload: DetectionPayload


class LatencyRecord(_RecordBase):
    """A detection paired with the stimulus before it: both stamps are on the rig's clock."""

    kind: Literal["latency"] = "latency"
    payload: DetectionPayload
    stimulus_channel: str | None = None
    stimulus_t_mono_ns: NonNegativeNs
    latency_ms: float

    @model_validator(mode="after")
    def _check(self) -> LatencyRecord:
        expected = (self.t_mono_ns - self.stimulus_t_mono_ns) / 1e6
        if abs(expected - self.latency_ms) > 1e-3:
            raise ValueError(
                f"latency_ms {self.latency_ms} disagrees with the stamps ({expected:.6f} ms)"
            )
        return self


class SyncRecord(_RecordBase):
    """Video time zero: the instant the rig saw the video's sync signal."""

    kind: Literal["sync"] = "sync"
    payload: SyncPayload = Field(default_factory=SyncPayload)


Record = Annotated[DetectionRecord | LatencyRecord | SyncRecord, Field(discriminator="kind")]


class RecordBatch(_Wire):
    v: Literal[1] = WIRE_VERSION
    rig_id: RigId
    stream: StreamId
    records: list[Record] = Field(min_length=1, max_length=MAX_BATCH_RECORDS)


class RigState(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class ChannelStats(_Wire):
    role: str | None = None
    source: Source | None = None
    count: int = Field(default=0, ge=0)
    drops: int = Field(default=0, ge=0)
    armed: bool = False


class RigStatus(_Wire):
    """Retained status; the last will is the same model with only ``state=offline``."""

    v: Literal[1] = WIRE_VERSION
    rig_id: RigId
    state: RigState
    version: str | None = None
    uptime_s: float | None = None
    interval_s: float | None = Field(
        default=None, gt=0, description="seconds between heartbeats; three missed: offline"
    )
    session_id: SessionId | None = None
    stream: StreamId | None = None
    spool_depth: int | None = Field(default=None, ge=0)
    spool_bytes: int | None = Field(default=None, ge=0)
    spool_full: bool = False
    refused_records: int = Field(default=0, ge=0)
    last_seq: NonNegativeNs | None = Field(
        default=None, description="highest seq committed to the spool in stream"
    )
    spool_first_seq: NonNegativeNs | None = Field(
        default=None, description="oldest seq the spool still holds (last_seq + 1 when empty)"
    )
    acked_seq: NonNegativeNs | None = Field(
        default=None, description="central's watermark as the rig last heard it; null: never"
    )
    evicted_records: int = Field(
        default=0,
        ge=0,
        description="records a full spool dropped, oldest first, before central confirmed them",
    )
    channels: dict[str, ChannelStats] = Field(default_factory=dict)
    last_error: str | None = None
    clock_offset_ns: int | None = Field(
        default=None, description="CLOCK_REALTIME minus CLOCK_MONOTONIC, narrowest sample"
    )
    t_wall_ns: NonNegativeNs | None = None


class _CommandBase(_Wire):
    v: Literal[1] = WIRE_VERSION
    command_id: str = Field(min_length=1, max_length=128)


class StartCommand(_CommandBase):
    command: Literal["start"] = "start"
    session_id: SessionId
    channels: list[str] | None = Field(
        default=None, description="channels to arm; null arms every channel"
    )
    duration_s: float | None = Field(default=None, gt=0)
    sync_channel: str | None = Field(
        default=None, description="channel whose next signal is video time zero; null: this command"
    )


class StopCommand(_CommandBase):
    command: Literal["stop"] = "stop"
    session_id: SessionId | None = None


class PingCommand(_CommandBase):
    command: Literal["ping"] = "ping"
    session_id: SessionId | None = None


class ReplayCommand(_CommandBase):
    """Send the records ``from_seq..to_seq`` of ``stream`` again: central found them missing."""

    command: Literal["replay"] = "replay"
    stream: StreamId
    from_seq: NonNegativeNs
    to_seq: NonNegativeNs

    @model_validator(mode="after")
    def _check(self) -> ReplayCommand:
        if self.to_seq < self.from_seq:
            raise ValueError(f"to_seq {self.to_seq} is before from_seq {self.from_seq}")
        return self


Command = Annotated[
    StartCommand | StopCommand | PingCommand | ReplayCommand, Field(discriminator="command")
]


class CommandReply(_Wire):
    v: Literal[1] = WIRE_VERSION
    command_id: str = Field(min_length=1, max_length=128)
    ok: bool
    error: str | None = None
    rig_id: RigId | None = None
    command: str | None = None
    session_id: SessionId | None = None
    sync_mono_ns: NonNegativeNs | None = Field(
        default=None, description="video time zero on the rig clock, when already known"
    )


class StreamAck(_Wire):
    """Retained on ``rigs/{rig_id}/acks`` by central after each commit: every record of ``stream``
    up to ``committed_seq`` is stored by central or no longer held by the rig, so the rig may drop
    them from its spool. A rig that never hears one drops records on the broker's PUBACK."""

    v: Literal[1] = WIRE_VERSION
    rig_id: RigId
    stream: StreamId
    committed_seq: NonNegativeNs
    t_wall_ns: NonNegativeNs | None = None


class SessionResults(_Wire):
    v: Literal[1] = WIRE_VERSION
    session_id: SessionId
    status: str
    passed: bool | None = None
    failed_criteria: list[str] = Field(default_factory=list)
    metrics: dict[str, Any] = Field(default_factory=dict)
    t_wall_ns: NonNegativeNs | None = None
