"""The data model of the central server: every table of ROADMAP.md plus rigs, tokens, dead letters.

Relations and what a delete does (enforced by the database, ``ON DELETE``):

    Project ─┬─< TestSession (CASCADE) ─┬─ TestExecutionConfig (CASCADE, one per session)
             │                          ├─< LatencyMeasurement (CASCADE)
             │                          ├─< DetectionComparison (CASCADE)
             │                          ├─< TrackResult (CASCADE)
             │                          └─< DetectionEvent (SET NULL: raw rig data outlives it)
             ├─< Video (SET NULL: the video falls back to the ground-truth library)
             └─< VideoProjectLink (CASCADE) >─ Video (CASCADE)
    Video ─┬─< GroundTruthAnnotation (CASCADE) ─< DetectionComparison.ground_truth_id (SET NULL)
           ├─< AnnotationSession (CASCADE)
           └─< TestSession.video_id (RESTRICT: a video a test ran on cannot vanish under it)
    Rig ─< RigStream (CASCADE)
    DetectionEvent ─< LatencyMeasurement / DetectionComparison .detection_event_id (SET NULL)

Ids are time-ordered UUID strings (:func:`central.db.types.new_id`), except ``Rig.id`` which is
the rig's own id. Enumerated values (statuses, roles, kinds) are plain strings checked by the API
schemas, so adding a value needs no migration.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from central.db.types import ID_LENGTH, Timestamp, new_id, utcnow

__all__ = [
    "DEAD_LETTER_PAYLOAD_CAP",
    "AnnotationSession",
    "ApiToken",
    "Base",
    "DeadLetter",
    "DetectionComparison",
    "DetectionEvent",
    "GroundTruthAnnotation",
    "LatencyMeasurement",
    "Project",
    "Rig",
    "RigStream",
    "TestExecutionConfig",
    "TestSession",
    "TrackResult",
    "Video",
    "VideoProjectLink",
]

DEAD_LETTER_PAYLOAD_CAP = 64 * 1024
"""Bytes of a rejected message kept in ``dead_letters.payload``; ``payload_size`` keeps the size."""

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: Timestamp(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


def _id() -> Mapped[str]:
    return mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)


def _fk(target: str, ondelete: str, *, nullable: bool = False, index: bool = True) -> Mapped[Any]:
    return mapped_column(
        String(ID_LENGTH), ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index
    )


def _created() -> Mapped[datetime]:
    return mapped_column(default=utcnow)


def _updated() -> Mapped[datetime | None]:
    return mapped_column(default=None, onupdate=utcnow)


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[str] = _id()
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    camera_model: Mapped[str | None] = mapped_column(String(255))
    camera_view: Mapped[str | None] = mapped_column(String(64))
    lens_type: Mapped[str | None] = mapped_column(String(64))
    resolution: Mapped[str | None] = mapped_column(String(32), comment="e.g. 1920x1080")
    frame_rate: Mapped[float | None] = mapped_column(Float)
    signal_type: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32), default="active")
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime | None] = _updated()

    videos: Mapped[list[Video]] = relationship(back_populates="project", passive_deletes=True)
    test_sessions: Mapped[list[TestSession]] = relationship(
        back_populates="project", cascade="all, delete-orphan", passive_deletes=True
    )


class Video(Base):
    """An uploaded video; ``project_id`` null means it sits in the ground-truth library."""

    __tablename__ = "videos"

    id: Mapped[str] = _id()
    project_id: Mapped[str | None] = _fk("projects.id", "SET NULL", nullable=True)
    filename: Mapped[str] = mapped_column(String(255), comment="original name, for display only")
    stored_name: Mapped[str] = mapped_column(String(255), unique=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    duration_s: Mapped[float | None] = mapped_column(Float)
    fps: Mapped[float | None] = mapped_column(Float)
    frame_count: Mapped[int | None] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    codec: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32), default="uploaded", index=True)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime | None] = _updated()

    project: Mapped[Project | None] = relationship(back_populates="videos")
    annotations: Mapped[list[GroundTruthAnnotation]] = relationship(
        back_populates="video", cascade="all, delete-orphan", passive_deletes=True
    )
    annotation_sessions: Mapped[list[AnnotationSession]] = relationship(
        back_populates="video", cascade="all, delete-orphan", passive_deletes=True
    )
    project_links: Mapped[list[VideoProjectLink]] = relationship(
        back_populates="video", cascade="all, delete-orphan", passive_deletes=True
    )


class GroundTruthAnnotation(Base):
    """One box of one track (``detection_id``) on one frame; pixels, 0-based, absolute."""

    __tablename__ = "ground_truth_annotations"
    __table_args__ = (
        UniqueConstraint("video_id", "frame_number", "detection_id"),
        Index("idx_annotation_video_frame", "video_id", "frame_number"),
        Index("idx_annotation_detection_id", "detection_id"),
        Index("idx_annotation_vru_validated", "vru_type", "validated"),
    )

    id: Mapped[str] = _id()
    video_id: Mapped[str] = _fk("videos.id", "CASCADE", index=False)
    detection_id: Mapped[str] = mapped_column(String(64))
    frame_number: Mapped[int] = mapped_column(Integer)
    timestamp: Mapped[float] = mapped_column(Float, comment="seconds from the video's start")
    vru_type: Mapped[str] = mapped_column(String(32))
    bounding_box: Mapped[dict[str, Any]] = mapped_column(comment="{x, y, width, height} pixels")
    occluded: Mapped[bool] = mapped_column(Boolean, default=False)
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    difficult: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    annotator: Mapped[str | None] = mapped_column(String(64))
    validated: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime | None] = _updated()

    video: Mapped[Video] = relationship(back_populates="annotations")


class AnnotationSession(Base):
    __tablename__ = "annotation_sessions"

    id: Mapped[str] = _id()
    video_id: Mapped[str] = _fk("videos.id", "CASCADE")
    annotator_id: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(32), default="active", index=True)
    total_detections: Mapped[int] = mapped_column(Integer, default=0)
    validated_detections: Mapped[int] = mapped_column(Integer, default=0)
    current_frame: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime | None] = _updated()

    video: Mapped[Video] = relationship(back_populates="annotation_sessions")


class VideoProjectLink(Base):
    """A ground-truth library video linked into a project (a video can serve many projects)."""

    __tablename__ = "video_project_links"
    __table_args__ = (UniqueConstraint("video_id", "project_id"),)

    id: Mapped[str] = _id()
    video_id: Mapped[str] = _fk("videos.id", "CASCADE", index=False)
    project_id: Mapped[str] = _fk("projects.id", "CASCADE")
    assignment_reason: Mapped[str | None] = mapped_column(Text)
    intelligent_match: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = _created()

    video: Mapped[Video] = relationship(back_populates="project_links")
    project: Mapped[Project] = relationship()


class TestSession(Base):
    """One run of a video against a rig; ``status`` is pending|running|completed|failed|stopped.

    A pending or running session belongs to one central at a time, the one holding its lease
    (``owner_id`` until ``lease_expires_at``): :mod:`central.execution.lease`."""

    __tablename__ = "test_sessions"
    __test__ = False  # not a pytest test class, despite the name

    id: Mapped[str] = _id()
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    project_id: Mapped[str] = _fk("projects.id", "CASCADE")
    video_id: Mapped[str] = _fk("videos.id", "RESTRICT")
    rig_id: Mapped[str] = mapped_column(String(128), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    sync_mono_ns: Mapped[int | None] = mapped_column(
        BigInteger, comment="rig CLOCK_MONOTONIC instant of video time zero"
    )
    started_at: Mapped[datetime | None] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()
    results: Mapped[dict[str, Any] | None] = mapped_column()
    owner_id: Mapped[str | None] = mapped_column(
        String(128), comment="instance id of the central that runs the session (its lease)"
    )
    lease_expires_at: Mapped[datetime | None] = mapped_column(
        comment="the owner's lease ends here unless renewed; then another central takes over"
    )
    stop_requested_at: Mapped[datetime | None] = mapped_column(
        comment="a stop was asked for (at any central); the owner carries it out"
    )
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime | None] = _updated()

    project: Mapped[Project] = relationship(back_populates="test_sessions")
    video: Mapped[Video] = relationship()
    execution_config: Mapped[TestExecutionConfig | None] = relationship(
        back_populates="test_session", cascade="all, delete-orphan", passive_deletes=True
    )


class TestExecutionConfig(Base):
    __tablename__ = "test_execution_configs"
    __test__ = False  # not a pytest test class, despite the name

    id: Mapped[str] = _id()
    test_session_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("test_sessions.id", ondelete="CASCADE"), unique=True
    )
    # Defaults and ranges live in central.schemas.test_sessions.ExecutionConfigBase, the one
    # way rows are written.
    tolerance_ms: Mapped[int] = mapped_column(Integer)
    signal_type: Mapped[str] = mapped_column(String(32))
    test_duration: Mapped[int] = mapped_column(Integer, comment="seconds")
    enable_realtime_monitoring: Mapped[bool] = mapped_column(Boolean)
    max_latency_ms: Mapped[int] = mapped_column(Integer)
    min_accuracy: Mapped[float] = mapped_column(Float)
    mode: Mapped[str] = mapped_column(String(16), comment="temporal|spatial")
    iou_threshold: Mapped[float] = mapped_column(Float)
    sync_channel: Mapped[str | None] = mapped_column(String(128))
    channels: Mapped[list[Any] | None] = mapped_column(comment="channel names to arm")
    size_bin_edges_px: Mapped[list[Any] | None] = mapped_column(
        comment="box-height bin edges; null: the default"
    )
    criteria: Mapped[list[Any] | None] = mapped_column(comment="pass/fail criteria on slices")
    created_at: Mapped[datetime] = _created()

    test_session: Mapped[TestSession] = relationship(back_populates="execution_config")


class DetectionEvent(Base):
    """One record from a rig, stored once per ``(rig_id, stream, seq)`` however often it arrives."""

    __tablename__ = "detection_events"
    __table_args__ = (
        UniqueConstraint("rig_id", "stream", "seq"),
        Index("idx_detection_session_video_time", "test_session_id", "t_video_ms"),
    )

    id: Mapped[str] = _id()
    test_session_id: Mapped[str | None] = _fk(
        "test_sessions.id", "SET NULL", nullable=True, index=False
    )
    rig_id: Mapped[str] = mapped_column(String(128))
    stream: Mapped[str] = mapped_column(String(128))
    seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(16))
    clock: Mapped[str] = mapped_column(String(32))
    t_mono_ns: Mapped[int] = mapped_column(BigInteger)
    t_wall_ns: Mapped[int] = mapped_column(BigInteger)
    t_video_ms: Mapped[float | None] = mapped_column(Float)
    vru_type: Mapped[str | None] = mapped_column(String(32))
    bbox: Mapped[list[Any] | None] = mapped_column(comment="[x, y, width, height] pixels")
    confidence: Mapped[float | None] = mapped_column(Float)
    frame_number: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class LatencyMeasurement(Base):
    __tablename__ = "latency_measurements"
    __table_args__ = (
        Index("idx_latency_session_timestamp", "test_session_id", "detection_timestamp"),
    )

    id: Mapped[str] = _id()
    test_session_id: Mapped[str] = _fk("test_sessions.id", "CASCADE", index=False)
    detection_event_id: Mapped[str | None] = _fk("detection_events.id", "SET NULL", nullable=True)
    detection_timestamp: Mapped[float] = mapped_column(Float)
    signal_timestamp: Mapped[float] = mapped_column(Float)
    latency_ms: Mapped[float] = mapped_column(Float)
    within_tolerance: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = _created()


class DetectionComparison(Base):
    """One matching outcome: TP (both ids), FP (detection only) or FN (ground truth only)."""

    __tablename__ = "detection_comparisons"
    __table_args__ = (Index("idx_comparison_session_match", "test_session_id", "match_type"),)

    id: Mapped[str] = _id()
    test_session_id: Mapped[str] = _fk("test_sessions.id", "CASCADE", index=False)
    ground_truth_id: Mapped[str | None] = _fk(
        "ground_truth_annotations.id", "SET NULL", nullable=True
    )
    detection_event_id: Mapped[str | None] = _fk("detection_events.id", "SET NULL", nullable=True)
    match_type: Mapped[str] = mapped_column(String(8))
    vru_type: Mapped[str | None] = mapped_column(String(32))
    confidence_score: Mapped[float | None] = mapped_column(Float)
    temporal_difference_ms: Mapped[float | None] = mapped_column(Float)
    spatial_iou: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = _created()


class TrackResult(Base):
    """One ground-truth track's outcome in a session (issue #12): when it was first detected.

    Written with the comparison rows by the final pass; ``detection_id`` is the annotations'
    track id (not a key: the annotations may be edited after the run)."""

    __tablename__ = "track_results"
    __table_args__ = (Index("idx_track_result_session_type", "test_session_id", "vru_type"),)

    id: Mapped[str] = _id()
    test_session_id: Mapped[str] = _fk("test_sessions.id", "CASCADE", index=False)
    detection_id: Mapped[str] = mapped_column(String(64))
    vru_type: Mapped[str] = mapped_column(String(32))
    first_frame: Mapped[int] = mapped_column(Integer)
    last_frame: Mapped[int] = mapped_column(Integer)
    frames_seen: Mapped[int] = mapped_column(Integer)
    frames_counted: Mapped[int] = mapped_column(Integer, comment="boxes not marked difficult")
    frames_matched: Mapped[int] = mapped_column(Integer)
    first_matched_frame: Mapped[int | None] = mapped_column(Integer)
    ttfd_ms: Mapped[float | None] = mapped_column(Float, comment="time to first detection")
    recall: Mapped[float | None] = mapped_column(Float)
    never_detected: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = _created()


class Rig(Base):
    """A rig as last heard of; ``id`` is the rig's own id, ``state`` online|offline|unknown."""

    __tablename__ = "rigs"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="unknown")
    last_seen_at: Mapped[datetime | None] = mapped_column()
    spool_depth: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[str | None] = mapped_column(String(64))
    last_status: Mapped[dict[str, Any] | None] = mapped_column()
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime | None] = _updated()

    streams: Mapped[list[RigStream]] = relationship(
        back_populates="rig", cascade="all, delete-orphan", passive_deletes=True
    )


class RigStream(Base):
    """Seq bookkeeping of one spool stream: ``last_seq - first_seq + 1 - received_count`` lost."""

    __tablename__ = "rig_streams"
    __table_args__ = (UniqueConstraint("rig_id", "stream"),)

    id: Mapped[str] = _id()
    rig_id: Mapped[str] = mapped_column(String(128), ForeignKey("rigs.id", ondelete="CASCADE"))
    stream: Mapped[str] = mapped_column(String(128))
    first_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    received_count: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime | None] = _updated()

    rig: Mapped[Rig] = relationship(back_populates="streams")


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored (tokens are random, 256 bits: no salt needed)."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = _id()
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16), comment="first characters, to recognise it")
    created_at: Mapped[datetime] = _created()
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class DeadLetter(Base):
    """A message central could not use, kept with the reason instead of being dropped."""

    __tablename__ = "dead_letters"

    id: Mapped[str] = _id()
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    topic: Mapped[str] = mapped_column(Text)
    rig_id: Mapped[str | None] = mapped_column(String(128), index=True)
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[bytes] = mapped_column(LargeBinary, comment="first 64 KiB of the message")
    payload_size: Mapped[int] = mapped_column(Integer)
