"""Turn wire messages into table rows, and classify what cannot be stored (no I/O here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import msgspec

from central.db.models import DEAD_LETTER_PAYLOAD_CAP
from central.db.types import new_id
from central.ingest._fast_batch import FastLatency, FastPayload, FastRecord, FastSyncPayload
from protocol import (
    MAX_MESSAGE_BYTES,
    DetectionPayload,
    LatencyRecord,
    ProtocolError,
    Record,
    RigState,
    RigStatus,
    SyncPayload,
    UnknownTopic,
    UnsupportedVersion,
)

__all__ = [
    "DeadLetterReason",
    "Refusal",
    "dead_letter_row",
    "detection_event_row",
    "latency_measurement_row",
    "refusal_for",
    "rig_values",
]


class DeadLetterReason(StrEnum):
    """Why a message went to the dead-letter table; the first word of ``dead_letters.reason``."""

    MALFORMED = "malformed"
    UNSUPPORTED_VERSION = "unsupported_version"
    OVERSIZED = "oversized"
    UNKNOWN_TOPIC = "unknown_topic"
    UNKNOWN_RIG = "unknown_rig"
    RIG_MISMATCH = "rig_mismatch"
    DATABASE = "database"


@dataclass(eq=False)
class Refusal(Exception):
    """A message that will not be stored as data; it becomes a dead letter with this reason."""

    reason: DeadLetterReason
    detail: str
    rig_id: str | None = field(default=None)

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"


def refusal_for(error: ProtocolError, payload_size: int, rig_id: str | None) -> Refusal:
    """Classify a protocol error into a dead-letter reason."""
    if isinstance(error, UnknownTopic):
        return Refusal(DeadLetterReason.UNKNOWN_TOPIC, str(error), rig_id)
    if isinstance(error, UnsupportedVersion):
        return Refusal(DeadLetterReason.UNSUPPORTED_VERSION, str(error), rig_id)
    if payload_size > MAX_MESSAGE_BYTES:
        return Refusal(DeadLetterReason.OVERSIZED, str(error), rig_id)
    return Refusal(DeadLetterReason.MALFORMED, str(error), rig_id)


def dead_letter_row(
    topic: str, payload: bytes, refusal: Refusal, received_at: datetime
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "received_at": received_at,
        "topic": topic,
        "rig_id": refusal.rig_id,
        "reason": str(refusal),
        "payload": bytes(payload[:DEAD_LETTER_PAYLOAD_CAP]),
        "payload_size": len(payload),
    }


def detection_event_row(
    row_id: str,
    rig_id: str,
    stream: str,
    record: Record | FastRecord,
    test_session_id: str | None,
    received_at: datetime,
) -> dict[str, Any]:
    """A ``detection_events`` row for any record kind (sync records are stored too), from a
    pydantic record or its msgspec twin of :mod:`central.ingest._fast_batch` alike."""
    payload = record.payload
    kind = record.kind
    values = _payload_values(payload)
    vru_type = bbox = confidence = frame = None
    if kind != "sync":
        vru = payload.vru_type  # type: ignore[union-attr]
        vru_type = vru.value if vru is not None else None
        box = payload.bbox  # type: ignore[union-attr]
        bbox = list(box) if box is not None else None
        confidence = payload.confidence  # type: ignore[union-attr]
        frame = payload.frame  # type: ignore[union-attr]
        if kind == "latency":
            # The stimulus side lives in the payload JSON: the table has no columns for it.
            values["stimulus_channel"] = record.stimulus_channel  # type: ignore[union-attr]
            values["stimulus_t_mono_ns"] = record.stimulus_t_mono_ns  # type: ignore[union-attr]
            values["latency_ms"] = record.latency_ms  # type: ignore[union-attr]
    return {
        "id": row_id,
        "test_session_id": test_session_id,
        "rig_id": rig_id,
        "stream": stream,
        "seq": record.seq,
        "kind": kind,
        "channel": record.channel,
        "source": record.source.value,
        "clock": record.clock.value,
        "t_mono_ns": record.t_mono_ns,
        "t_wall_ns": record.t_wall_ns,
        "t_video_ms": record.t_video_ms,
        "vru_type": vru_type,
        "bbox": bbox,
        "confidence": confidence,
        "frame_number": frame,
        "payload": values,
        "received_at": received_at,
    }


_PAYLOAD_SCALARS = ("confidence", "frame", "track_id", "raw_hex", "raw_line")


def _payload_values(
    payload: DetectionPayload | SyncPayload | FastPayload | FastSyncPayload,
) -> dict[str, Any]:
    """The payload's fields that carry a value, as JSON values; written out by hand because
    ``model_dump`` costs a third of the whole insert at ingest rates (msgspec's structs omit
    their defaults, in C, by themselves)."""
    if isinstance(payload, msgspec.Struct):
        values: dict[str, Any] = msgspec.to_builtins(payload)
        return values
    values = {}
    if isinstance(payload, DetectionPayload):
        if payload.vru_type is not None:
            values["vru_type"] = payload.vru_type.value
        if payload.bbox is not None:
            values["bbox"] = list(payload.bbox)
    for name in _PAYLOAD_SCALARS:
        value = getattr(payload, name, None)
        if value is not None:
            values[name] = value
    if payload.fields:
        values["fields"] = payload.fields
    return values


def latency_measurement_row(
    record: LatencyRecord | FastLatency,
    detection_event_id: str,
    test_session_id: str,
    max_latency_ms: float,
    created_at: datetime,
) -> dict[str, Any]:
    """A rig-measured latency (stimulus to detection, one rig clock); timestamps in seconds."""
    return {
        "id": new_id(),
        "test_session_id": test_session_id,
        "detection_event_id": detection_event_id,
        "detection_timestamp": record.t_mono_ns / 1e9,
        "signal_timestamp": record.stimulus_t_mono_ns / 1e9,
        "latency_ms": record.latency_ms,
        "within_tolerance": record.latency_ms <= max_latency_ms,
        "created_at": created_at,
    }


def rig_values(status: RigStatus, now: datetime, heartbeat: bool = True) -> dict[str, Any]:
    """Columns of ``rigs`` that a status message sets (fields it leaves out keep their value).

    ``last_seen_at`` moves only on a ``heartbeat``: a retained status replayed by the broker on
    subscribing says nothing about whether the rig is alive now."""
    values: dict[str, Any] = {
        "state": status.state.value,
        "last_status": status.model_dump(mode="json", exclude_none=True),
        "updated_at": now,
    }
    if status.state is RigState.ONLINE and heartbeat:
        values["last_seen_at"] = now
    if status.spool_depth is not None:
        values["spool_depth"] = status.spool_depth
    if status.version is not None:
        values["version"] = status.version
    return values
