"""Export -> import into an empty video -> export gives the same file, in every format.

"The same" means the same data, byte for byte for every zip entry: the export report embedded in
the file is left out of the comparison, since the first export reports what the format lost
(flags in YOLO, fractional pixels in VOC) and the second has nothing left to lose. In JSON the
database-assigned ``id`` and ``videoId`` differ too.
"""

from __future__ import annotations

import io
import uuid

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from central.formats import (
    Annotation,
    AnnotationRow,
    VideoInfo,
    export_annotations,
    parse_annotations,
)
from protocol import VruType

#: what the database assigns, so it differs between the two exports of a JSON round trip
_DATABASE_FIELDS = ("id", "videoId")


def _content(format_name: str, data: bytes, h) -> object:
    """The exported data without the embedded report (and, for JSON, the database's ids)."""
    if format_name in ("yolo", "pascal_voc"):
        entries = h.entries(data)
        del entries["export_report.json"]
        return entries
    document = orjson.loads(data)
    if format_name == "coco":
        del document["export_report"]
        return document
    del document["report"], document["video"]["id"]
    for item in document["annotations"]:
        for name in _DATABASE_FIELDS:
            del item[name]
    return document


def _store(rows: list[AnnotationRow], video: VideoInfo) -> list[Annotation]:
    """What the database service does with imported rows: new ids, same content, frame order."""
    stored = [
        Annotation(
            id=str(uuid.uuid4()),
            video_id=video.id,
            **{f: getattr(row, f) for f in AnnotationRow.__slots__},
        )
        for row in rows
    ]
    return sorted(stored, key=lambda a: (a.frame_number, a.detection_id))


def _round_trip(format_name: str, source: VideoInfo, annotations: list[Annotation]):
    first = b"".join(export_annotations(format_name, source, annotations).chunks)
    empty_video = VideoInfo(
        id="video-2",
        filename=source.filename,
        width=source.width,
        height=source.height,
        fps=source.fps,
        frame_count=source.frame_count,
    )
    imported = parse_annotations(format_name, io.BytesIO(first), empty_video)
    second = b"".join(
        export_annotations(format_name, empty_video, _store(imported.rows, empty_video)).chunks
    )
    return first, second, imported


def _irregular(h) -> list[Annotation]:
    """Boxes with fractional pixels, to show each format's precision."""
    return [
        h.annotation(
            1,
            0,
            VruType.PEDESTRIAN,
            (10.123456789, 20.5, 30.25, 40.0625),
            "DET_PED_0001",
            occluded=True,
        ),
        h.annotation(
            2, 2, VruType.WHEELCHAIR_USER, (0.3333333333, 1.0 / 7.0, 77.7, 12.9), "DET_WCH_0001"
        ),
        h.annotation(
            3,
            5,
            VruType.MOTORCYCLIST,
            (150.0, 60.0, 50.0, 40.0),
            "DET_MOT_0001",
            truncated=True,
            difficult=True,
        ),
    ]


def test_json_round_trip_is_exact(h, video, annotations):
    first, second, imported = _round_trip("json", video, annotations)

    assert _content("json", first, h) == _content("json", second, h)
    assert imported.rows[1].notes == "behind a pole"
    assert imported.rows[1].created_at == annotations[1].created_at


def test_json_round_trip_keeps_every_float_bit(h, video):
    first, second, _ = _round_trip("json", video, _irregular(h))
    assert _content("json", first, h) == _content("json", second, h)

    boxes = [[a["boundingBox"] for a in orjson.loads(d)["annotations"]] for d in (first, second)]
    assert boxes[0] == boxes[1]
    assert boxes[0][0]["x"] == 10.123456789


@pytest.mark.parametrize("format_name", ["coco", "yolo", "pascal_voc"])
def test_round_trip_gives_the_same_file(format_name, h, video, annotations):
    first, second, imported = _round_trip(format_name, video, annotations)

    assert _content(format_name, first, h) == _content(format_name, second, h)
    assert len(imported.rows) == len(annotations)


def test_coco_round_trip_is_exact_for_fractional_boxes(h, video):
    first, second, imported = _round_trip("coco", video, _irregular(h))

    assert _content("coco", first, h) == _content("coco", second, h)
    assert imported.rows[0].bounding_box.x == 10.123456789
    assert [r.detection_id for r in imported.rows] == [
        "DET_PED_0001",
        "DET_WCH_0001",
        "DET_MOT_0001",
    ]


def test_yolo_round_trip_within_a_millionth(h, video):
    source = _irregular(h)
    first, second, imported = _round_trip("yolo", video, source)

    assert _content("yolo", first, h) == _content("yolo", second, h)
    for original, row in zip(source, imported.rows, strict=True):
        for name, scale in (("x", 200), ("y", 100), ("width", 200), ("height", 100)):
            error = getattr(original.bounding_box, name) - getattr(row.bounding_box, name)
            assert abs(error) / scale <= 1e-6


def test_voc_round_trip_within_a_pixel(h, video):
    source = _irregular(h)
    first, second, imported = _round_trip("pascal_voc", video, source)

    assert _content("pascal_voc", first, h) == _content("pascal_voc", second, h)
    for original, row in zip(source, imported.rows, strict=True):
        assert row.detection_id == original.detection_id
        assert (row.occluded, row.truncated, row.difficult) == (
            original.occluded,
            original.truncated,
            original.difficult,
        )
        for name in ("x", "y", "right", "bottom"):
            assert abs(getattr(original.bounding_box, name) - getattr(row.bounding_box, name)) <= 1


_box_in_frame = st.tuples(
    st.floats(0, 190, allow_nan=False),
    st.floats(0, 90, allow_nan=False),
    st.floats(1, 200, allow_nan=False),
    st.floats(1, 100, allow_nan=False),
).map(lambda b: (b[0], b[1], min(b[2], 200 - b[0]), min(b[3], 100 - b[1])))

#: largest error allowed per coordinate, as a fraction of the frame size (VOC: pixels)
_PRECISION = {"json": 0.0, "coco": 0.0, "yolo": 1e-6 + 1e-9, "pascal_voc": 1.0}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(boxes=st.lists(st.tuples(st.integers(0, 5), _box_in_frame), min_size=1, max_size=8))
@pytest.mark.parametrize("format_name", list(_PRECISION))
def test_any_box_at_least_a_pixel_wide_comes_back(format_name, h, video, boxes):
    source = sorted(
        (
            h.annotation(i, frame, VruType.CYCLIST, box, f"DET_CYC_{i:04d}")
            for i, (frame, box) in enumerate(boxes)
        ),
        key=lambda a: (a.frame_number, a.detection_id),
    )

    data = b"".join(export_annotations(format_name, video, source).chunks)
    rows = parse_annotations(format_name, io.BytesIO(data), video).rows

    # every format keeps the order of boxes, so rows line up with the source (YOLO has no ids)
    assert len(rows) == len(source)
    for original, row in zip(source, rows, strict=True):
        assert row.frame_number == original.frame_number
        for name, size in (("x", 200), ("y", 100), ("right", 200), ("bottom", 100)):
            error = abs(getattr(row.bounding_box, name) - getattr(original.bounding_box, name))
            scale = 1 if format_name == "pascal_voc" else size
            assert error / scale <= _PRECISION[format_name], (name, original, row)
