"""Each export follows DESIGN.md's conventions: ids, coordinates, flags, empty frames, report."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import orjson
import pytest
import yaml

from central.formats import (
    ExportError,
    UnknownFormatError,
    VideoInfo,
    export_annotations,
)
from protocol import VruType


def test_json_export_keeps_every_field(h, video, annotations):
    document = orjson.loads(h.export("json", video, annotations))

    assert document["format"] == "vru-annotations"
    assert document["video"]["frameCount"] == 6
    first = document["annotations"][1]
    assert first == {
        "id": "ann-1",
        "videoId": "video-1",
        "detectionId": "DET_PED_0001",
        "frameNumber": 0,
        "timestamp": 0.0,
        "vruType": "pedestrian",
        "boundingBox": {"x": 10.0, "y": 20.0, "width": 30.0, "height": 40.0},
        "occluded": True,
        "truncated": False,
        "difficult": False,
        "validated": True,
        "notes": "behind a pole",
        "annotator": "alice",
        "createdAt": "2026-01-02T03:04:05+00:00",
        "updatedAt": None,
    }
    assert len(document["annotations"]) == 4
    assert document["report"]["not_represented"] == {}


def test_coco_ids_categories_images_and_attributes(h, video, annotations):
    coco = orjson.loads(h.export("coco", video, annotations))

    assert [c["id"] for c in coco["categories"]] == [1, 2, 3, 4, 5]
    assert [c["name"] for c in coco["categories"]] == [v.value for v in VruType]
    assert [a["id"] for a in coco["annotations"]] == [1, 2, 3, 4]
    assert [a["attributes"]["track_id"] for a in coco["annotations"]] == [
        "DET_CYC_0001",
        "DET_PED_0001",
        "DET_PED_0001",
        "DET_SCO_0001",
    ]
    # an image for every frame, empty ones included, with the CocoVID fields
    assert [(i["id"], i["frame_id"], i["file_name"]) for i in coco["images"]] == [
        (f + 1, f, f"frame_{f:06d}.jpg") for f in range(6)
    ]
    assert {i["video_id"] for i in coco["images"]} == {coco["videos"][0]["id"]}
    assert coco["videos"][0]["name"] == "crossing.mp4"
    cyclist, first, later, scooter = coco["annotations"]
    assert first["image_id"] == 1 and first["category_id"] == 1 and first["id"] == 2
    assert first["bbox"] == [10.0, 20.0, 30.0, 40.0] and first["area"] == 1200.0
    assert first["attributes"] == {
        "track_id": "DET_PED_0001",
        "occluded": True,
        "truncated": False,
        "difficult": False,
        "validated": True,
    }
    assert cyclist["category_id"] == 2 and cyclist["attributes"]["truncated"] is True
    assert later["image_id"] == 2 and later["attributes"]["difficult"] is True
    assert scooter["category_id"] == 5
    # one integer CocoVID instance id per track
    assert first["instance_id"] == later["instance_id"] != cyclist["instance_id"]
    assert coco["export_report"]["not_represented"] == {"notes": 1, "annotator": 1}


def test_yolo_layout_rows_and_empty_frames(h, video, annotations):
    entries = h.entries(h.export("yolo", video, annotations))

    data = yaml.safe_load(entries["data.yaml"])
    assert data["names"] == {
        0: "pedestrian",
        1: "cyclist",
        2: "motorcyclist",
        3: "wheelchair_user",
        4: "scooter_rider",
    }
    assert "images/" in entries
    assert [n for n in entries if n.startswith("labels/")] == [
        f"labels/frame_{f:06d}.txt" for f in range(6)
    ]
    # 200x100 frame: box (10, 20, 30, 40) -> centre (25, 40) -> 0.125 0.4, size 0.15 0.4
    assert entries["labels/frame_000000.txt"].decode().splitlines() == [
        "1 0.625000 0.400000 0.250000 0.600000",
        "0 0.125000 0.400000 0.150000 0.400000",
    ]
    assert entries["labels/frame_000002.txt"] == b""
    assert entries["labels/frame_000003.txt"] == b"4 0.500000 0.500000 1.000000 1.000000\n"
    assert entries["labels/frame_000005.txt"] == b""
    report = orjson.loads(entries["export_report.json"])
    assert report["not_represented"]["track_id"] == 4
    assert report["not_represented"]["occluded"] == 1


def test_yolo_rows_are_clipped_to_the_frame(h, video):
    overhanging = h.annotation(1, 0, VruType.CYCLIST, (-20.0, 50.0, 60.0, 80.0), "DET_CYC_0001")

    result = export_annotations("yolo", video, [overhanging])
    entries = h.entries(b"".join(result.chunks))

    # clipped to x 0..40, y 50..100 before normalising
    assert entries["labels/frame_000000.txt"] == b"1 0.100000 0.750000 0.200000 0.500000\n"
    assert result.report.clipped == 1
    assert "ann-1" in result.report.entries[0].where


def test_voc_corners_are_one_based_inclusive_integers(h, video, annotations):
    entries = h.entries(h.export("pascal_voc", video, annotations))

    assert [n for n in entries if n.startswith("Annotations/")] == [
        f"Annotations/frame_{f:06d}.xml" for f in range(6)
    ]
    root = ET.fromstring(entries["Annotations/frame_000000.xml"])
    assert root.findtext("filename") == "frame_000000.jpg"
    assert root.findtext("size/width") == "200" and root.findtext("size/height") == "100"
    cyclist, pedestrian = root.findall("object")
    # x 10 width 30 covers 0-based pixels 10..39, i.e. 1-based 11..40
    assert [pedestrian.findtext(f"bndbox/{c}") for c in ("xmin", "ymin", "xmax", "ymax")] == [
        "11",
        "21",
        "40",
        "60",
    ]
    assert pedestrian.findtext("occluded") == "1" and pedestrian.findtext("truncated") == "0"
    assert cyclist.findtext("truncated") == "1"
    track = pedestrian.find("attributes/attribute[name='track_id']")
    assert track is not None and track.findtext("value") == "DET_PED_0001"
    empty = ET.fromstring(entries["Annotations/frame_000004.xml"])
    assert empty.findall("object") == []
    assert entries["ImageSets/Main/default.txt"].decode().split() == [
        f"frame_{f:06d}" for f in range(6)
    ]
    assert entries["labelmap.txt"].decode().splitlines()[1:] == [
        f"{vru.value}:::" for vru in VruType
    ]
    full = ET.fromstring(entries["Annotations/frame_000003.xml"]).find("object/bndbox")
    assert [full.findtext(c) for c in ("xmin", "ymin", "xmax", "ymax")] == ["1", "1", "200", "100"]


@pytest.mark.parametrize(
    ("frame", "box", "reason"),
    [
        (2, (250.0, 10.0, 20.0, 20.0), "lies outside the 200x100 frame"),
        (2, (10.0, 10.0, 0.0, 20.0), "has no area"),
        (2, (float("nan"), 10.0, 5.0, 5.0), "is not made of finite numbers"),
        (6, (10.0, 10.0, 5.0, 5.0), "frame 6 is outside the video's frames"),
    ],
)
def test_unusable_box_is_dropped_and_reported(h, video, frame, box, reason):
    unusable = h.annotation(7, frame, VruType.PEDESTRIAN, box, "DET_PED_0009")
    fine = h.annotation(8, 1, VruType.PEDESTRIAN, (1.0, 1.0, 5.0, 5.0), "DET_PED_0001")

    for format_name in ("coco", "yolo", "pascal_voc"):
        result = export_annotations(
            format_name, video, sorted([unusable, fine], key=lambda a: a.frame_number)
        )
        b"".join(result.chunks)
        assert result.report.complete
        assert (result.report.dropped, result.report.annotations) == (1, 1)
        (entry,) = result.report.entries
        assert "ann-7" in entry.where and reason in entry.message


def test_unknown_frame_count_ends_at_last_annotated_frame(h, video, annotations):
    unknown = VideoInfo(id="v", filename="x.mp4", width=200, height=100, fps=10.0)

    entries = h.entries(h.export("yolo", unknown, annotations))
    coco = orjson.loads(h.export("coco", unknown, annotations))

    assert max(n for n in entries if n.startswith("labels/")) == "labels/frame_000003.txt"
    assert [i["frame_id"] for i in coco["images"]] == [0, 1, 2, 3]
    assert any("frame count is unknown" in w for w in coco["export_report"]["warnings"])


def test_export_without_video_size(h, annotations):
    sizeless = VideoInfo(id="v", filename="x.mp4", fps=10.0, frame_count=6)

    for format_name in ("yolo", "pascal_voc"):
        with pytest.raises(ExportError, match="width and height"):
            export_annotations(format_name, sizeless, annotations)
    coco = orjson.loads(h.export("coco", sizeless, annotations))
    assert coco["images"][0]["width"] is None
    assert any("width and height unknown" in w for w in coco["export_report"]["warnings"])


def test_per_frame_exports_need_frame_order(video, annotations):
    result = export_annotations("pascal_voc", video, list(reversed(annotations)))

    with pytest.raises(ExportError, match="ordered by frame"):
        b"".join(result.chunks)


def test_unknown_format_is_refused(video):
    with pytest.raises(UnknownFormatError, match="known: json, coco, yolo, pascal_voc"):
        export_annotations("kitti", video, [])


def test_exports_stream_without_reading_everything_first(h, video):
    """The first chunk leaves before the annotation source is exhausted."""
    big = VideoInfo(
        id="v", filename="big.mp4", width=1920, height=1080, fps=30.0, frame_count=8_000
    )
    consumed = 0

    def source():
        nonlocal consumed
        for frame in range(8_000):
            consumed += 1
            yield h.annotation(
                frame,
                frame,
                VruType.PEDESTRIAN,
                (frame % 1800, 100.0, 50.0, 120.0),
                f"DET_PED_{frame:04d}",
            )

    for format_name in ("json", "coco", "yolo", "pascal_voc"):
        consumed = 0
        chunks = export_annotations(format_name, big, source()).chunks
        first = next(chunks)
        assert first and consumed < 8_000, format_name
        rest = b"".join(chunks)
        assert consumed == 8_000
        if format_name in ("yolo", "pascal_voc"):
            assert len(h.entries(first + rest)) > 8_000


def test_zip_export_is_deterministic(h, video, annotations):
    assert h.export("pascal_voc", video, annotations) == h.export("pascal_voc", video, annotations)
    assert io.BytesIO(h.export("yolo", video, annotations)).read(4) == b"PK\x03\x04"


def test_voc_keeps_a_one_pixel_box_at_a_half_pixel_position(h, video):
    """Edges round half up: rounding half to even would turn 1.5..2.5 into xmin 3 > xmax 2."""
    thin = h.annotation(1, 0, VruType.PEDESTRIAN, (1.5, 2.5, 1.0, 1.0), "DET_PED_0001")

    entries = h.entries(h.export("pascal_voc", video, [thin]))

    box = ET.fromstring(entries["Annotations/frame_000000.xml"]).find("object/bndbox")
    assert [box.findtext(c) for c in ("xmin", "ymin", "xmax", "ymax")] == ["3", "4", "3", "4"]


def test_download_name_is_safe_for_a_header(video):
    odd = VideoInfo(id="v", filename='../run "3"; a.b.mp4', width=200, height=100)

    assert export_annotations("coco", odd, []).filename == "run_3_a.b.coco.json"
    assert export_annotations("json", video, []).filename == "crossing.json"
