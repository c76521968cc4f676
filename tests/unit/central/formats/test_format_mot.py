"""MOTChallenge ground truth (issue 12, item 6): py-motmetrics' ``io.loadtxt`` is the oracle.

What we export reads back through loadtxt with the same frames, ids and boxes; a file written
the way loadtxt reads it imports with those values; export -> import -> export gives the same
archive; bad lines are refused with their line number.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import motmetrics as mm
import orjson
import pytest

from central.formats import Annotation, AnnotationImportError, VideoInfo, parse_annotations
from central.formats.mot import OCCLUDED_VISIBILITY
from protocol import VruType

GT_ENTRY = "crossing/gt/gt.txt"


def _loadtxt(tmp_path: Path, text: bytes) -> Any:
    path = tmp_path / "gt.txt"
    path.write_bytes(text)
    return mm.io.loadtxt(str(path), fmt="mot15-2D")


def test_an_export_reads_back_through_motmetrics_loadtxt(
    tmp_path: Path, h: Any, video: VideoInfo, annotations: list[Annotation]
) -> None:
    entries = h.entries(h.export("mot", video, annotations))
    assert set(entries) == {
        "crossing/seqinfo.ini",
        GT_ENTRY,
        "track_ids.json",
        "export_report.json",
    }
    track_ids = {int(k): v for k, v in orjson.loads(entries["track_ids.json"]).items()}
    frame = _loadtxt(tmp_path, entries[GT_ENTRY])

    assert len(frame) == len(annotations)
    by_key = {(a.frame_number + 1, a.detection_id): a for a in annotations}
    for (frame_id, mot_id), row in frame.iterrows():
        annotation = by_key[(frame_id, track_ids[mot_id])]
        box = annotation.bounding_box
        assert [row.X, row.Y, row.Width, row.Height] == pytest.approx(
            [box.x, box.y, box.width, box.height], abs=1e-9
        )
        assert row.Confidence == (0 if annotation.difficult else 1)
        assert row.ClassId == list(VruType).index(annotation.vru_type) + 1
        assert row.Visibility == (OCCLUDED_VISIBILITY if annotation.occluded else 1)
    seqinfo = entries["crossing/seqinfo.ini"].decode()
    assert "frameRate=10" in seqinfo and "seqLength=6" in seqinfo and "imWidth=200" in seqinfo

    report = orjson.loads(entries["export_report.json"])
    assert report["annotations"] == 4 and report["dropped"] == 0
    assert report["not_represented"] == {"truncated": 1, "validated": 1, "notes": 1, "annotator": 1}


def test_a_file_as_loadtxt_reads_it_imports_with_its_values(
    tmp_path: Path, video: VideoInfo
) -> None:
    text = (
        b"1,3,11.5,21,30,40,1,1,1\n"
        b"1,4,101,11,50,60,0,2,0.2\n"
        b"2\t3\t13.25\t21\t30\t40\t1\t1\t0.9\n"
        b"3 -1 1 1 20 20 1 -1 -1\n"
    )
    expected = _loadtxt(tmp_path, text)
    result = parse_annotations("mot", tmp_path / "gt.txt", video)

    generated = [r for r in result.rows if not r.detection_id.isdigit()]
    assert len(generated) == 1 and result.report.generated_track_ids == 1
    rows = {(r.frame_number + 1, int(r.detection_id)): r for r in result.rows if r not in generated}
    for (frame_id, mot_id), want in expected.iterrows():
        if mot_id == -1:
            continue
        box = rows[(frame_id, mot_id)].bounding_box
        assert [box.x, box.y, box.width, box.height] == pytest.approx(
            [want.X, want.Y, want.Width, want.Height], abs=1e-9
        )
    cyclist = rows[(1, 4)]
    assert (cyclist.vru_type, cyclist.difficult, cyclist.occluded) == (VruType.CYCLIST, True, True)
    assert rows[(2, 3)].occluded is False  # 90 % visible is not occluded
    assert rows[(2, 3)].timestamp == pytest.approx(0.1)
    assert generated[0].vru_type is VruType.PEDESTRIAN
    assert any("read as pedestrians" in w for w in result.report.warnings)


def test_export_import_export_gives_the_same_archive(
    h: Any, video: VideoInfo, annotations: list[Annotation]
) -> None:
    first = h.export("mot", video, annotations)
    imported = parse_annotations("mot", io.BytesIO(first), video, filename="a.mot.zip")
    assert [r.detection_id for r in imported.rows] == [a.detection_id for a in annotations]
    again = [
        h.annotation(
            i,
            r.frame_number,
            r.vru_type,
            _tuple(r.bounding_box),
            r.detection_id,
            occluded=r.occluded,
            difficult=r.difficult,
        )
        for i, r in enumerate(imported.rows)
    ]
    second = h.export("mot", video, again)
    a, b = h.entries(first), h.entries(second)
    for name in (GT_ENTRY, "track_ids.json", "crossing/seqinfo.ini"):
        assert a[name] == b[name], name


def _tuple(box: Any) -> tuple[float, float, float, float]:
    return (box.x, box.y, box.width, box.height)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("1,1,10,10,5,5,1,1", "expected 9 values"),
        ("1,1,ten,10,5,5,1,1,1", "'ten' is not a number"),
        ("1,1,10,10,-5,5,1,1,1", "width -5 is not more than 0"),
        ("1,1,10,10,5,-5,1,1,1", "height -5 is not more than 0"),
        ("0,1,10,10,5,5,1,1,1", "before the first frame"),
        ("1,1.5,10,10,5,5,1,1,1", "'1.5' is not an integer"),
        ("1,1,10,10,5,5,1,1,nan", "is not a finite number"),
        ("1,0,10,10,5,5,1,1,1", "id 0 is not a positive integer"),
        ("1,1,12,12,5,5,1,1,1", "id 1 already has a box in frame 1 (line 1)"),
    ],
)
def test_a_bad_line_is_refused_with_its_line_number(
    video: VideoInfo, line: str, message: str
) -> None:
    text = (
        f"1,1,10,10,5,5,1,1,1\n{line}\n" if "already" in message else f"1,2,3,3,4,4,1,1,1\n{line}\n"
    )
    with pytest.raises(AnnotationImportError) as refused:
        parse_annotations("mot", io.BytesIO(text.encode()), video, filename="gt.txt")
    assert "gt.txt:2" in str(refused.value)
    assert message in str(refused.value)


def test_frames_past_the_video_and_unknown_classes(video: VideoInfo) -> None:
    past = io.BytesIO(b"7,1,1,1,5,5,1,1,1\n")
    with pytest.raises(AnnotationImportError, match="past the video's last frame"):
        parse_annotations("mot", past, video, filename="gt.txt")
    cars = io.BytesIO(b"1,1,1,1,5,5,1,1,1\n1,2,1,1,5,5,0,6,1\n")
    result = parse_annotations("mot", cars, video, filename="gt.txt")
    assert len(result.rows) == 1 and result.report.dropped == 1
    assert any("MOT class 6" in w for w in result.report.warnings)


def test_an_archive_must_hold_one_text_file_and_a_complete_track_map(
    h: Any, video: VideoInfo
) -> None:
    two = h.zip({"a/gt/gt.txt": "1,1,1,1,5,5,1,1,1\n", "b/gt/gt.txt": "1,1,1,1,5,5,1,1,1\n"})
    with pytest.raises(AnnotationImportError, match="expected one MOT text file"):
        parse_annotations("mot", two, video, filename="a.zip")
    unmapped = h.zip({"s/gt/gt.txt": "1,2,1,1,5,5,1,1,1\n", "track_ids.json": '{"1": "PED"}'})
    with pytest.raises(AnnotationImportError, match="id 2 is not in track_ids.json"):
        parse_annotations("mot", unmapped, video, filename="a.zip")
    clashing = h.zip({"s/gt/gt.txt": "", "track_ids.json": '{"1": "PED", "2": "PED"}'})
    with pytest.raises(AnnotationImportError, match="two MOT ids to one track id"):
        parse_annotations("mot", clashing, video, filename="a.zip")
