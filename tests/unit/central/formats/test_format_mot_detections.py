"""A session's detections as MOTChallenge text (issue 12, item 6), py-motmetrics as the oracle."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import motmetrics as mm
import orjson
import pytest

from central.formats import AnnotationImportError, BoundingBox, ExportReport, ImportLimits
from central.formats.mot_detections import (
    DetectionBox,
    export_mot_detections,
    parse_mot_detections,
)
from protocol import VruType

LIMITS = ImportLimits()
DETECTIONS = [
    DetectionBox(
        frame=0,
        box=BoundingBox(-2.5, 3.0, 10.0, 20.0),  # a detector's box may leave the frame
        vru_type=VruType.PEDESTRIAN,
        confidence=0.875,
        track_id="trk-a",
        record_id="r1",
    ),
    DetectionBox(
        frame=0, box=BoundingBox(50, 5, 8, 16), vru_type=VruType.SCOOTER_RIDER, record_id="r2"
    ),
    DetectionBox(
        frame=2,
        box=BoundingBox(1, 3, 10, 20),
        vru_type=VruType.PEDESTRIAN,
        confidence=0.5,
        track_id="trk-a",
        record_id="r3",
    ),
    DetectionBox(
        frame=3,
        box=BoundingBox(7, 7, 7, 7),
        vru_type=None,
        confidence=0.25,
        track_id="trk-b",
        record_id="r4",
    ),
]


def _export(detections: list[DetectionBox]) -> tuple[dict[str, bytes], ExportReport]:
    report = ExportReport(format="mot")
    data = b"".join(export_mot_detections("crossing", detections, report))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}, report


def test_an_export_reads_back_through_motmetrics_loadtxt(tmp_path: Path) -> None:
    unplaceable = [
        DetectionBox(frame=None, box=BoundingBox(1, 1, 2, 2), record_id="no-frame"),
        DetectionBox(frame=1, box=None, record_id="no-box"),
    ]
    entries, report = _export(DETECTIONS + unplaceable)
    assert set(entries) == {"data/crossing.txt", "track_ids.json", "export_report.json"}
    path = tmp_path / "crossing.txt"
    path.write_bytes(entries["data/crossing.txt"])
    frame = mm.io.loadtxt(str(path), fmt="mot15-2D")
    track_ids = orjson.loads(entries["track_ids.json"])
    assert track_ids == {"1": "trk-a", "2": "trk-b"}

    rows = list(frame.itertuples())
    assert [index for index, *_ in rows] == [(1, 1), (1, -1), (3, 1), (4, 2)]
    for row, want in zip(rows, DETECTIONS, strict=True):
        box = want.box
        assert box is not None
        assert [row.X, row.Y, row.Width, row.Height] == pytest.approx(
            [box.x, box.y, box.width, box.height]
        )
        assert row.Confidence == (-1 if want.confidence is None else want.confidence)
        assert row.ClassId == (
            -1 if want.vru_type is None else list(VruType).index(want.vru_type) + 1
        )
    assert (report.annotations, report.dropped) == (4, 2)
    assert {e.where for e in report.entries} == {"record no-frame", "record no-box"}


def test_export_import_export_gives_the_same_archive() -> None:
    first, _ = _export(DETECTIONS)
    upload = io.BytesIO()
    with zipfile.ZipFile(upload, "w") as archive:
        for name, content in first.items():
            archive.writestr(name, content)
    upload.seek(0)
    imported = parse_mot_detections(upload, "a.zip", LIMITS, frame_count=10)
    assert [d.track_id for d in imported.detections] == ["trk-a", None, "trk-a", "trk-b"]
    assert imported.tracks == 2 and imported.report.imported == 4
    # class -1 reads as pedestrian: the only change, and warned
    assert imported.detections[3].vru_type is VruType.PEDESTRIAN
    assert any("read as pedestrians" in w for w in imported.report.warnings)
    again = [
        DetectionBox(
            frame=d.frame,
            box=d.box,
            vru_type=None if i == 3 else d.vru_type,
            confidence=d.confidence,
            track_id=d.track_id,
        )
        for i, d in enumerate(imported.detections)
    ]
    second, _ = _export(again)
    assert second["data/crossing.txt"] == first["data/crossing.txt"]
    assert second["track_ids.json"] == first["track_ids.json"]


def test_a_bare_text_file_imports_with_its_ids_as_track_ids() -> None:
    text = b"1,7,11,21,30,40,0.9,1,-1\n2,7,13,21,30,40,0.8,2,-1\n2,-1,1,1,5,5,-1,1,-1\n"
    imported = parse_mot_detections(io.BytesIO(text), "det.txt", LIMITS, frame_count=None)
    first, second, untracked = imported.detections
    assert (first.frame, first.track_id, first.confidence) == (0, "7", 0.9)
    assert first.box == BoundingBox(10, 20, 30, 40)
    assert second.vru_type is VruType.CYCLIST
    assert (untracked.track_id, untracked.confidence) == (None, None)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("1,1,10,10,5,5,1.5,1,-1", "confidence 1.5 is not within [0, 1]"),
        ("11,1,10,10,5,5,1,1,-1", "frame 11 is past the video's last frame (10)"),
        ("1,1,10,10,5,0,1,1,-1", "height 0 is not more than 0"),
        ("1,1,10,10", "expected 9 values"),
        ("1,2,10,10,5,5,1,1,-1", "id 2 already has a box in frame 1 (line 1)"),
    ],
)
def test_a_bad_line_is_refused_with_its_line_number(line: str, message: str) -> None:
    text = f"1,2,3,3,4,4,1,1,-1\n{line}\n".encode()
    with pytest.raises(AnnotationImportError) as refused:
        parse_mot_detections(io.BytesIO(text), "det.txt", LIMITS, frame_count=10)
    assert "det.txt:2" in str(refused.value)
    assert message in str(refused.value)


def test_too_many_detections_are_refused() -> None:
    text = b"".join(b"%d,1,1,1,5,5,1,1,-1\n" % frame for frame in range(1, 6))
    with pytest.raises(AnnotationImportError, match="more than 3 detections"):
        parse_mot_detections(io.BytesIO(text), "det.txt", ImportLimits(max_boxes=3), None)


def test_a_file_over_the_size_limit_is_refused() -> None:
    text = b"1,1,1,1,5,5,1,1,-1\n" * 10
    with pytest.raises(AnnotationImportError, match="larger than the limit"):
        parse_mot_detections(io.BytesIO(text), "det.txt", ImportLimits(max_file_bytes=50), None)
