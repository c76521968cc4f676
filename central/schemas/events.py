"""Socket.IO payloads, both ways: the models that build every event the server sends, the data
of the events clients send, and their acknowledgements.

camelCase like the REST API, nested objects included (an annotation is the REST
``AnnotationPublic``, a result set the REST ``FinalResultSet``); clients may send the data of
their events in camelCase or snake_case (``testSessionId`` or ``test_session_id``). One object
is not ours and keeps its own keys: ``rig_status.status``, the rig's status message exactly as
it came over MQTT (``docs/schemas/rig_status.schema.json``).

:data:`SERVER_EVENTS` and :data:`CLIENT_EVENTS` name every event with its payload model, rooms and
meaning; :mod:`central.realtime.asyncapi` writes them out as ``docs/socketio-asyncapi.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Discriminator, Field

from central.schemas.annotations import AnnotationPublic
from central.schemas.base import CamelModel
from central.schemas.execution import DetectionVerdictPublic
from central.schemas.result_sets import FinalResultSet, RunningResultSet

__all__ = [
    "CLIENT_EVENTS",
    "SERVER_EVENTS",
    "Ack",
    "AnnotationChanged",
    "AnnotationProgress",
    "AnnotationUpdate",
    "AnnotationsBulkCreated",
    "DetectionEventBatch",
    "EventSpec",
    "ExportProgress",
    "ImportProgress",
    "LiveDetection",
    "ProjectCreated",
    "RigStatusEvent",
    "SessionProgress",
    "TestCompleted",
    "TestSessionRoom",
    "VideoRoom",
    "VideoUploaded",
]


class _Event(CamelModel):
    timestamp: float = Field(description="Unix seconds when the server sent the event")


class ProjectCreated(_Event):
    project_id: str
    name: str


class VideoUploaded(_Event):
    video_id: str
    filename: str
    project_id: str | None = Field(description="null: the ground-truth library")


class AnnotationChanged(_Event):
    video_id: str
    action: Literal["created", "updated", "deleted"]
    annotation: AnnotationPublic = Field(description="as the REST API returns it")


class AnnotationsBulkCreated(_Event):
    """A bulk write: too many rows to send; refetch the list."""

    video_id: str
    action: Literal["bulk_created"]
    count: int


AnnotationUpdate = Annotated[AnnotationChanged | AnnotationsBulkCreated, Discriminator("action")]


class ImportProgress(_Event):
    """A stage of an annotation import; the fields of later stages are null before them."""

    video_id: str
    stage: Literal["received", "validated", "writing", "completed", "refused"]
    format: str
    dry_run: bool
    on_conflict: str
    bytes: int | None = Field(None, description="received: the upload's size")
    rows: int | None = Field(None, description="validated: rows read from the file")
    written: int | None = Field(None, description="writing: rows written so far")
    total: int | None = Field(None, description="writing: rows to write")
    issues: int | None = Field(None, description="refused: problems found in the file")
    created: int | None = None
    updated: int | None = None
    skipped: int | None = None
    deleted: int | None = None
    unchanged: int | None = None


class ExportTotals(CamelModel):
    annotations: int
    frames: int
    clipped: int
    dropped: int
    not_represented: dict[str, int] = Field(description="field name: rows that lost it")


class ExportProgress(_Event):
    video_id: str = Field(description="the video being read (a dataset export: the current one)")
    stage: Literal["started", "exporting", "completed", "failed"]
    format: str
    filename: str
    videos: int
    done: int = Field(description="annotations written so far")
    total: int = Field(description="annotations to write")
    error: str | None = Field(None, description="failed: what went wrong")
    report: ExportTotals | None = Field(None, description="completed: the export's totals")


class RigStatusEvent(_Event):
    rig_id: str
    state: Literal["online", "offline"]
    last_seen_at: datetime | None
    spool_depth: int | None
    version: str | None
    status: dict[str, Any] | None = Field(
        description="the rig's last status message as sent over MQTT (snake_case, "
        "docs/schemas/rig_status.schema.json)"
    )


class LiveDetection(DetectionVerdictPublic):
    """A stored record with its provisional verdict, as live matching judged it."""

    test_session_id: str | None
    rig_id: str
    stream: str | None
    kind: str
    channel: str | None
    source: str | None
    clock: str | None
    t_mono_ns: int | None = Field(description="rig monotonic clock: use differences only")
    t_wall_ns: int | None = Field(description="rig wall clock at capture, for display")


class DetectionEventBatch(_Event):
    test_session_id: str
    count: int
    detections: list[LiveDetection]


class SessionProgress(RunningResultSet):
    test_session_id: str
    timestamp: float = Field(description="Unix seconds when the server sent the event")


class TestCompleted(_Event):
    __test__ = False  # not a pytest test class, despite the name

    test_session_id: str
    status: str
    passed: bool | None
    failed_criteria: list[str]
    metrics: FinalResultSet | None = Field(
        description="the final results, as REST serves them; null when they could not be made"
    )


class AnnotationProgress(CamelModel):
    """What an annotator sends with ``annotation_progress``: ``videoId`` (or ``video_id``) and
    anything else, relayed to the video's room as it was sent (the id as ``videoId``)."""

    model_config = ConfigDict(extra="allow")

    video_id: str = Field(min_length=1)


class TestSessionRoom(CamelModel):
    """``join_test_session``/``leave_test_session`` data."""

    __test__ = False  # not a pytest test class, despite the name

    test_session_id: str = Field(min_length=1)


class VideoRoom(CamelModel):
    """``join_annotation_session``/``leave_annotation_session`` data."""

    video_id: str = Field(min_length=1)


class Ack(CamelModel):
    """The acknowledgement of a client event."""

    ok: bool
    room: str | None = Field(None, description="the room joined or left (absent otherwise)")
    error: str | None = Field(None, description="why not, when ok is false (absent otherwise)")


@dataclass(frozen=True, slots=True)
class EventSpec:
    """One event of the contract: its payload, where it goes and when."""

    payload: Any
    rooms: str
    when: str


SERVER_EVENTS: dict[str, EventSpec] = {
    "project_created": EventSpec(ProjectCreated, "dashboard", "POST /api/projects committed"),
    "video_uploaded": EventSpec(VideoUploaded, "dashboard", "an upload committed"),
    "annotation_update": EventSpec(
        AnnotationUpdate,
        "video_{id}",
        "an annotation was created, updated (PUT, PATCH validate) or deleted; or a bulk write",
    ),
    "annotation_progress_update": EventSpec(
        AnnotationProgress, "video_{id} except the sender", "relayed from annotation_progress"
    ),
    "import_progress": EventSpec(
        ImportProgress, "dashboard, video_{id}", "an annotation import moved on (throttled)"
    ),
    "export_progress": EventSpec(
        ExportProgress, "dashboard, video_{id}", "an annotation export moved on (throttled)"
    ),
    "rig_status": EventSpec(RigStatusEvent, "dashboard", "a rig's status message was stored"),
    "detection_event": EventSpec(
        DetectionEventBatch,
        "test_session_{id}",
        "records of a running session were judged by live matching (coalesced)",
    ),
    "session_progress": EventSpec(
        SessionProgress,
        "dashboard, test_session_{id}",
        "live matching updated a running session's provisional score (throttled)",
    ),
    "test_completed": EventSpec(
        TestCompleted,
        "dashboard, test_session_{id}",
        "a session's final results were stored (stop, duration over, recompute)",
    ),
}

CLIENT_EVENTS: dict[str, EventSpec] = {
    "join_dashboard": EventSpec(None, "joins dashboard", "acknowledged with Ack"),
    "leave_dashboard": EventSpec(None, "leaves dashboard", "acknowledged with Ack"),
    "join_test_session": EventSpec(TestSessionRoom, "joins test_session_{id}", "Ack"),
    "leave_test_session": EventSpec(TestSessionRoom, "leaves test_session_{id}", "Ack"),
    "join_annotation_session": EventSpec(VideoRoom, "joins video_{id}", "Ack"),
    "leave_annotation_session": EventSpec(VideoRoom, "leaves video_{id}", "Ack"),
    "annotation_progress": EventSpec(
        AnnotationProgress,
        "relays to video_{id} except the sender",
        "Ack; needs the annotator role when auth is on",
    ),
}
