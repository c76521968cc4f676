"""Benchmark a session's stored final pass: read records and ground truth, match, write results.

    .venv/bin/python bench/session_results.py [--records 100000] [--events 2000] [--repeat 3]
                                              [--database-url sqlite:///...]

One temporal session on a SQLite file (or ``--database-url``): ``--events`` ground-truth tracks
of 10 boxes each and ``--records`` detection records at random video times. Timed:
``compute_final_results`` (load, match, replace the comparison and latency rows, commit), as
``POST /api/test-sessions/{id}/recompute`` runs it.

Baseline, in the same run and database: the database floor of the same work, i.e. reading the
same records' columns with one SELECT and inserting as many comparison rows with one
``executemany`` of plain tuples, no matching and no Python per row beyond the tuple. The ratio
says how much the final pass costs above that floor. Times are the best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from central.db.engine import make_engine, session_factory
from central.db.migrate import upgrade
from central.db.models import (
    DetectionComparison,
    DetectionEvent,
    GroundTruthAnnotation,
    Project,
    TestExecutionConfig,
    TestSession,
    Video,
)
from central.db.types import new_ids, utcnow
from central.execution.results import compute_final_results
from central.schemas.test_sessions import ExecutionConfigCreate

FPS = 30.0
BOXES_PER_EVENT = 10


def _seed(db: Session, records: int, events: int) -> str:
    project = Project(name="bench")
    db.add(project)
    db.flush()
    video = Video(
        project_id=project.id,
        filename="bench.mp4",
        stored_name="bench.mp4",
        size_bytes=1,
        content_type="video/mp4",
        fps=FPS,
    )
    db.add(video)
    db.flush()
    now = utcnow()
    frames = [(e, e * 50 + f) for e in range(events) for f in range(BOXES_PER_EVENT)]
    db.execute(
        insert(GroundTruthAnnotation),
        [
            {
                "id": i,
                "video_id": video.id,
                "detection_id": f"t{e}",
                "frame_number": frame,
                "timestamp": frame / FPS,
                "vru_type": "pedestrian",
                "created_at": now,
                "bounding_box": {"x": 1, "y": 1, "width": 5, "height": 5},
            }
            for i, (e, frame) in zip(new_ids(len(frames)), frames, strict=True)
        ],
    )
    session = TestSession(
        name="bench", project_id=project.id, video_id=video.id, rig_id="r", status="stopped"
    )
    db.add(session)
    db.flush()
    config = ExecutionConfigCreate(signal_type="gpio").model_dump()
    db.add(TestExecutionConfig(test_session_id=session.id, **config))
    span_ms = events * 50 / FPS * 1000
    rng = random.Random(1)
    db.execute(
        insert(DetectionEvent),
        [
            {
                "id": i,
                "test_session_id": session.id,
                "rig_id": "r",
                "stream": "s",
                "seq": n,
                "kind": "detection",
                "channel": "c",
                "source": "gpio",
                "clock": "user_monotonic",
                "t_mono_ns": int(t * 1e6),
                "t_wall_ns": 0,
                "t_video_ms": t,
                "payload": {"raw_hex": "01"},
                "received_at": now,
            }
            for n, (i, t) in enumerate(
                zip(
                    new_ids(records), (rng.uniform(0, span_ms) for _ in range(records)), strict=True
                )
            )
        ],
    )
    db.commit()
    return session.id


def _floor(db: Session, session_id: str) -> None:
    e = DetectionEvent
    rows = db.execute(
        select(
            e.id, e.rig_id, e.t_mono_ns, e.t_video_ms, e.vru_type, e.confidence, e.frame_number
        ).where(e.test_session_id == session_id)
    ).all()
    db.execute(delete(DetectionComparison).where(DetectionComparison.test_session_id == session_id))
    connection = db.connection()
    now = utcnow().replace(tzinfo=None).isoformat(sep=" ")
    connection.exec_driver_sql(
        "INSERT INTO detection_comparisons (id, test_session_id, detection_event_id, match_type,"
        " created_at) VALUES (?, ?, ?, ?, ?)",
        [
            (i, session_id, row[0], "FP", now)
            for i, row in zip(new_ids(len(rows)), rows, strict=True)
        ],
    )
    db.commit()


def _best(repeat: int, work: Callable[[], None]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        if not url.startswith("sqlite"):
            raise SystemExit("the baseline's INSERT is written for SQLite: use a sqlite URL")
        upgrade(url)
        engine = make_engine(url)
        factory = session_factory(engine)
        with factory() as db:
            session_id = _seed(db, args.records, args.events)

        def final_pass() -> None:
            with factory() as db:
                compute_final_results(db, session_id)

        def floor() -> None:
            with factory() as db:
                _floor(db, session_id)

        baseline = _best(args.repeat, floor)
        measured = _best(args.repeat, final_pass)
        with factory() as db:
            results = compute_final_results(db, session_id).results
        engine.dispose()
    print(
        f"records {args.records:,}  ground truth {args.events * BOXES_PER_EVENT:,} boxes "
        f"({args.events:,} events)  TP {results['truePositives']:,} "
        f"FP {results['falsePositives']:,} FN {results['falseNegatives']:,}"
    )
    print(f"database floor (select + insert as many rows): {baseline:.3f} s")
    print(
        f"final pass (load + match + store + commit):     {measured:.3f} s  "
        f"({measured / baseline:.1f}x the floor, "
        f"{args.records / measured:,.0f} records/s)"
    )


if __name__ == "__main__":
    main()
