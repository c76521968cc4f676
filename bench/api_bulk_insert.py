"""Benchmark the annotation API: bulk-insert 100,000 annotations, list them back 10,000 a page.

    .venv/bin/python bench/api_bulk_insert.py [--annotations 100000] [--page 10000] [--repeat 3]

The central server runs for real (uvicorn on 127.0.0.1, a SQLite file in a temporary directory,
auth on, with an operator token); a real video is uploaded first (made with PyAV, 10,000 frames
of 32x32), so every annotation is checked against it. The client encodes its JSON before the
clock starts: the times are the server's work plus loopback transfer.

Baseline, measured in the same run: the same rows (ids and JSON already made) inserted with plain
``sqlite3`` ``executemany`` into the same table (a database migrated like the API's: same columns,
indexes and foreign key), same pragmas (WAL, synchronous=NORMAL, foreign keys on), one
transaction; and the same pages read back with plain SELECTs. Goal: the API insert within 3x of
the raw insert. Best of ``--repeat`` runs each (a fresh video for every API run, a fresh database
for every raw run).
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import sqlite3
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Self

import httpx
import orjson
import uvicorn

from central.app import create_app
from central.auth import Role
from central.config import CentralSettings
from central.db.migrate import upgrade
from central.db.types import new_id, new_ids
from central.demo.synthetic_video import write_synthetic_video
from central.services.tokens import create_token

VRU_TYPES = ("pedestrian", "cyclist", "motorcyclist", "wheelchair_user", "scooter_rider")
FPS = 30
SIZE = 32
GOAL = 3.0


def make_rows(count: int, frames: int) -> list[dict[str, Any]]:
    """``count`` boxes: ``count // frames`` tracks, each on every frame."""
    per_frame = max(1, count // frames)
    return [
        {
            "detectionId": f"DET_{index % per_frame:04d}",
            "frameNumber": index // per_frame,
            "vruType": VRU_TYPES[index % per_frame % len(VRU_TYPES)],
            "boundingBox": {"x": 1.0, "y": 2.0, "width": 10.5, "height": 20.25},
            "occluded": index % 7 == 0,
        }
        for index in range(count)
    ]


class Server:
    """The real app under uvicorn on a free loopback port, in a thread."""

    def __init__(self, data_dir: Path) -> None:
        settings = CentralSettings.model_validate(
            {"data_dir": data_dir, "ingest_enabled": False, "port": 0}
        )
        self.app = create_app(settings)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def token(self, role: Role) -> str:
        with self.app.state.session_factory() as session:
            return create_token(session, role, "bench")[1]


def api_insert_and_list(
    client: httpx.Client, video_file: Path, body: bytes, count: int, page: int
) -> tuple[float, float]:
    with video_file.open("rb") as handle:
        video = client.post("/api/videos", files={"file": ("bench.mp4", handle, "video/mp4")})
    video.raise_for_status()
    video_id = video.json()["id"]

    start = time.perf_counter()
    response = client.post(
        f"/api/videos/{video_id}/annotations/bulk",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    insert_s = time.perf_counter() - start
    response.raise_for_status()
    assert response.json()["created"] == count, response.text

    start = time.perf_counter()
    listed = 0
    for offset in range(0, count, page):
        got = client.get(
            f"/api/videos/{video_id}/annotations", params={"limit": page, "offset": offset}
        )
        got.raise_for_status()
        listed += len(orjson.loads(got.content))
    list_s = time.perf_counter() - start
    assert listed == count, listed
    return insert_s, list_s


RAW_COLUMNS = (
    "id",
    "video_id",
    "detection_id",
    "frame_number",
    "timestamp",
    "vru_type",
    "bounding_box",
    "occluded",
    "truncated",
    "difficult",
    "notes",
    "annotator",
    "validated",
    "created_at",
    "updated_at",
)


def raw_rows(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The rows as the API stores them, made before the clock starts: time-ordered ids (as the
    API's), the box as JSON text."""
    video_id, created = new_id(), "2026-01-01 00:00:00.000000"
    return [
        (
            annotation_id,
            video_id,
            r["detectionId"],
            r["frameNumber"],
            r["frameNumber"] / FPS,
            r["vruType"],
            json.dumps(r["boundingBox"]),
            r["occluded"],
            False,
            False,
            None,
            None,
            False,
            created,
            None,
        )
        for annotation_id, r in zip(new_ids(len(rows)), rows, strict=True)
    ]


def raw_insert_and_list(
    template: Path, rows: list[tuple[Any, ...]], page: int
) -> tuple[float, float]:
    """Plain sqlite3 on a copy of a database migrated like the API's (same table, indexes and
    foreign key), with the video row the annotations refer to."""
    path = template.with_name(f"raw-{uuid.uuid4().hex}.sqlite3")
    shutil.copyfile(template, path)
    connection = sqlite3.connect(path)
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"):
        connection.execute(f"PRAGMA {pragma}")
    with connection:
        connection.execute(
            "INSERT INTO videos (id, filename, stored_name, size_bytes, content_type, status, "
            "created_at) VALUES (?, 'v.mp4', ?, 1, 'video/mp4', 'uploaded', ?)",
            (rows[0][1], f"{rows[0][1]}.mp4", rows[0][13]),
        )
    marks = ", ".join("?" * len(RAW_COLUMNS))
    insert = f"INSERT INTO ground_truth_annotations ({', '.join(RAW_COLUMNS)}) VALUES ({marks})"
    start = time.perf_counter()
    with connection:
        connection.executemany(insert, rows)
    insert_s = time.perf_counter() - start

    video_id = rows[0][1]
    start = time.perf_counter()
    listed = 0
    for offset in range(0, len(rows), page):
        listed += len(
            connection.execute(
                "SELECT * FROM ground_truth_annotations WHERE video_id = ? "
                "ORDER BY frame_number, detection_id LIMIT ? OFFSET ?",
                (video_id, page, offset),
            ).fetchall()
        )
    list_s = time.perf_counter() - start
    assert listed == len(rows)
    connection.close()
    return insert_s, list_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--annotations", type=int, default=100_000)
    parser.add_argument("--page", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    frames = 10_000

    rows = make_rows(args.annotations, frames)
    body = orjson.dumps({"annotations": rows})
    print(
        f"{args.annotations:,} annotations ({len(body) / 1e6:.1f} MB of JSON), "
        f"pages of {args.page:,}, best of {args.repeat}"
    )

    with tempfile.TemporaryDirectory(prefix="vru-bench-") as tmp:
        directory = Path(tmp)
        video_file = write_synthetic_video(
            directory / "bench.mp4", frame_count=frames, fps=FPS, width=SIZE, height=SIZE
        )
        with Server(directory / "data") as server:
            token = server.token(Role.OPERATOR)
            with httpx.Client(
                base_url=f"http://127.0.0.1:{server.port}",
                headers={"Authorization": f"Bearer {token}"},
                timeout=300,
            ) as client:
                results = [
                    api_insert_and_list(client, video_file, body, args.annotations, args.page)
                    for _ in range(args.repeat)
                ]
        api_insert = min(r[0] for r in results)
        api_list = min(r[1] for r in results)

        template = directory / "raw-template.sqlite3"
        upgrade(f"sqlite:///{template}")
        prepared = raw_rows(rows)
        raw = [raw_insert_and_list(template, prepared, args.page) for _ in range(args.repeat)]
        raw_insert = min(r[0] for r in raw)
        raw_list = min(r[1] for r in raw)

    def line(what: str, api: float, baseline: float) -> str:
        rate = args.annotations / api
        return (
            f"{what:<8} API {api:7.3f} s ({rate:9,.0f} rows/s)   raw sqlite3 {baseline:7.3f} s"
            f"   ratio {api / baseline:5.2f}x"
        )

    print(line("insert", api_insert, raw_insert))
    print(line("list", api_list, raw_list))
    ratio = api_insert / raw_insert
    verdict = "met" if ratio <= GOAL else "MISSED"
    print(f"goal: API insert within {GOAL:g}x of raw sqlite3 executemany: {verdict} ({ratio:.2f}x)")


if __name__ == "__main__":
    main()
