"""The schema: migrations equal the models on SQLite and PostgreSQL, and the database itself
enforces the keys, cascades and types the rest of central relies on."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from alembic import command
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from central.db.engine import make_engine, session_factory
from central.db.migrate import alembic_config, model_differences, upgrade
from central.db.models import (
    AnnotationSession,
    Base,
    DetectionComparison,
    DetectionEvent,
    GroundTruthAnnotation,
    LatencyMeasurement,
    Project,
    Rig,
    RigStream,
    TestSession,
    Video,
    VideoProjectLink,
)


def test_migrations_create_exactly_the_models(blank_database_url: str) -> None:
    upgrade(blank_database_url)

    assert model_differences(blank_database_url) == []
    engine = make_engine(blank_database_url)
    try:
        tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()
    assert tables == set(Base.metadata.tables)


def test_the_test_fixture_databases_match_the_models(database_url: str) -> None:
    # On PostgreSQL the fixture builds each schema from the migrations' offline SQL script.
    assert model_differences(database_url) == []


def test_the_comparison_notices_a_schema_that_drifted(blank_database_url: str) -> None:
    upgrade(blank_database_url)
    engine = make_engine(blank_database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE projects ADD COLUMN stray INTEGER"))
    finally:
        engine.dispose()

    differences = model_differences(blank_database_url)

    assert [d[0] for d in differences] == ["remove_column"]


def test_downgrade_to_base_removes_every_table_and_upgrade_restores_them(
    blank_database_url: str,
) -> None:
    upgrade(blank_database_url)
    command.downgrade(alembic_config(blank_database_url), "base")
    engine = make_engine(blank_database_url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(blank_database_url)
        assert set(inspect(engine).get_table_names()) - {"alembic_version"} == set(
            Base.metadata.tables
        )
    finally:
        engine.dispose()


@pytest.fixture
def db(database_url: str) -> Iterator[Session]:
    engine = make_engine(database_url)
    with session_factory(engine)() as session:
        yield session
    engine.dispose()


def _video(db: Session, project: Project | None = None) -> Video:
    video = Video(
        project=project,
        filename="a.mp4",
        stored_name=f"{uuid.uuid4().hex}.mp4",
        size_bytes=1,
        content_type="video/mp4",
    )
    db.add(video)
    db.flush()
    return video


def _event(db: Session, seq: int, session_id: str | None = None) -> DetectionEvent:
    event = DetectionEvent(
        test_session_id=session_id,
        rig_id="rig-1",
        stream="s1",
        seq=seq,
        kind="detection",
        channel="det0",
        source="gpio",
        clock="kernel_monotonic",
        t_mono_ns=9_000_000_000_123,
        t_wall_ns=1_764_000_000_123_456_789,
        payload={"raw_hex": "01"},
    )
    db.add(event)
    db.flush()
    return event


def test_sqlite_connections_enforce_foreign_keys_in_wal_mode(database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite pragmas")
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
    finally:
        engine.dispose()


def test_timestamps_refuse_naive_values_and_come_back_in_utc(db: Session) -> None:
    db.add(Project(name="naive", created_at=datetime(2026, 1, 1, 12, 0)))
    with pytest.raises(StatementError, match="naive"):
        db.flush()
    db.rollback()

    local = datetime(2026, 1, 1, 14, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    project = Project(name="aware", created_at=local)
    db.add(project)
    db.commit()
    db.expire_all()

    stored = db.scalars(select(Project).where(Project.name == "aware")).one().created_at
    assert stored == local
    assert stored.utcoffset() == timedelta(0)


def test_nanosecond_timestamps_fit(db: Session) -> None:
    event = _event(db, seq=1)
    db.commit()
    db.expire_all()

    assert db.get(DetectionEvent, event.id).t_wall_ns == 1_764_000_000_123_456_789  # type: ignore[union-attr]


def test_a_record_is_stored_once_per_rig_stream_and_seq(db: Session) -> None:
    _event(db, seq=7)
    db.commit()

    with pytest.raises(IntegrityError):
        _event(db, seq=7)


def test_one_box_per_track_and_frame(db: Session) -> None:
    video = _video(db)
    box = {"x": 1.0, "y": 2.0, "width": 3.0, "height": 4.0}
    for _ in range(2):
        db.add(
            GroundTruthAnnotation(
                video_id=video.id,
                detection_id="DET_PED_0001",
                frame_number=5,
                timestamp=0.2,
                vru_type="pedestrian",
                bounding_box=box,
            )
        )
    with pytest.raises(IntegrityError):
        db.flush()


def test_deleting_a_session_keeps_raw_events_and_drops_its_results(db: Session) -> None:
    project = Project(name="p")
    video = _video(db, project)
    session = TestSession(name="r", project=project, video=video, rig_id="rig-1")
    db.add(session)
    db.flush()
    event = _event(db, seq=1, session_id=session.id)
    db.add_all(
        [
            LatencyMeasurement(
                test_session_id=session.id,
                detection_event_id=event.id,
                detection_timestamp=1.0,
                signal_timestamp=0.9,
                latency_ms=100.0,
                within_tolerance=True,
            ),
            DetectionComparison(
                test_session_id=session.id, detection_event_id=event.id, match_type="TP"
            ),
        ]
    )
    db.commit()

    db.execute(TestSession.__table__.delete().where(TestSession.id == session.id))
    db.commit()
    db.expire_all()

    assert db.get(DetectionEvent, event.id).test_session_id is None  # type: ignore[union-attr]
    assert db.scalars(select(LatencyMeasurement)).all() == []
    assert db.scalars(select(DetectionComparison)).all() == []


def test_deleting_a_video_deletes_its_annotations_sessions_and_links(db: Session) -> None:
    project = Project(name="p")
    db.add(project)
    video = _video(db)
    annotation = GroundTruthAnnotation(
        video_id=video.id,
        detection_id="D1",
        frame_number=0,
        timestamp=0.0,
        vru_type="cyclist",
        bounding_box={"x": 0, "y": 0, "width": 1, "height": 1},
    )
    db.add_all(
        [
            annotation,
            AnnotationSession(video_id=video.id),
            VideoProjectLink(video_id=video.id, project_id=project.id),
        ]
    )
    db.flush()
    session = TestSession(name="r", project=project, video=_video(db, project), rig_id="rig-1")
    db.add(session)
    db.flush()
    db.add(
        DetectionComparison(
            test_session_id=session.id, ground_truth_id=annotation.id, match_type="FN"
        )
    )
    db.commit()

    db.execute(Video.__table__.delete().where(Video.id == video.id))
    db.commit()

    assert db.scalars(select(GroundTruthAnnotation)).all() == []
    assert db.scalars(select(AnnotationSession)).all() == []
    assert db.scalars(select(VideoProjectLink)).all() == []
    assert db.scalars(select(DetectionComparison.ground_truth_id)).all() == [None]


def test_deleting_a_rig_deletes_its_streams(db: Session) -> None:
    db.add(
        Rig(
            id="rig-1",
            streams=[RigStream(stream="s1", first_seq=1, last_seq=10, received_count=10)],
        )
    )
    db.commit()

    db.execute(Rig.__table__.delete())
    db.commit()

    assert db.scalars(select(RigStream)).all() == []
