"""Imports of files written by other tools: numbering, category names, frames, track ids."""

from __future__ import annotations

import io

import orjson
import pytest

from central.formats import AnnotationImportError, VideoInfo, parse_annotations
from central.formats.frames import parse_frame_index
from central.formats.rules import VideoGeometry, check_box
from protocol import VruType


def _coco(categories, images, annotations, **extra) -> io.BytesIO:
    document = {"categories": categories, "images": images, "annotations": annotations, **extra}
    return io.BytesIO(orjson.dumps(document))


@pytest.mark.parametrize(
    ("name", "frame"),
    [
        ("frame_000123.jpg", 123),
        ("000123.jpg", 123),
        ("images/train/frame_000007.png", 7),
        ("labels/000042.txt", 42),
        ("frame_000010_jpg.rf.0123abcdef.jpg", 10),
        ("IMG_1234.jpg", None),
        ("frame_.jpg", None),
    ],
)
def test_frame_index_from_file_name(name, frame):
    assert parse_frame_index(name) == frame


def test_coco_zero_based_ids_roboflow_parent_and_instance_ids(video):
    """Roboflow style: an empty parent category at id 0, real categories from 1, image ids
    from 0; the track comes from CocoVID's instance_id when attributes carry none."""
    upload = _coco(
        categories=[
            {"id": 0, "name": "vru-dataset", "supercategory": "none"},
            {"id": 1, "name": "Pedestrian", "supercategory": "vru-dataset"},
            {"id": 2, "name": "Wheelchair User", "supercategory": "vru-dataset"},
        ],
        images=[
            {"id": 0, "file_name": "000004.jpg", "width": 200, "height": 100},
            {"id": 1, "file_name": "frame_000005.jpg", "width": 200, "height": 100},
        ],
        annotations=[
            {"id": 0, "image_id": 0, "category_id": 2, "bbox": [1, 2, 3, 4], "instance_id": 7},
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": [5, 6, 7, 8],
                "attributes": {"track_id": "DET_PED_0042", "occluded": "true"},
            },
        ],
    )

    result = parse_annotations("coco", upload, video)

    first, second = result.rows
    assert (first.frame_number, first.vru_type, first.detection_id) == (
        4,
        VruType.WHEELCHAIR_USER,
        "7",
    )
    assert first.timestamp == pytest.approx(0.4)
    assert (second.frame_number, second.detection_id, second.occluded) == (5, "DET_PED_0042", True)
    assert result.report.dropped == 0
    assert any("vru-dataset" in w and "ignored" in w for w in result.report.warnings)


def test_coco_frame_id_wins_over_the_file_name(video):
    upload = _coco(
        categories=[{"id": 1, "name": "cyclist"}],
        images=[{"id": 9, "file_name": "anything.jpg", "frame_id": 3}],
        annotations=[{"id": 1, "image_id": 9, "category_id": 1, "bbox": [0, 0, 10, 10]}],
    )

    (row,) = parse_annotations("coco", upload, video).rows
    assert row.frame_number == 3
    assert row.detection_id == "DET_CYC_0001"  # generated


def test_coco_foreign_categories_are_dropped_and_reported(video):
    upload = _coco(
        categories=[{"id": 1, "name": "car"}, {"id": 2, "name": "pedestrian"}],
        images=[{"id": 1, "file_name": "frame_000000.jpg"}],
        annotations=[
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10]},
            {"id": 2, "image_id": 1, "category_id": 2, "bbox": [0, 0, 10, 10]},
        ],
    )

    result = parse_annotations("coco", upload, video)

    assert [r.vru_type for r in result.rows] == [VruType.PEDESTRIAN]
    assert (result.report.boxes_read, result.report.imported, result.report.dropped) == (2, 1, 1)
    assert "annotations[0]" in result.report.entries[0].where
    assert "class 'car' is not a VRU type: 1 boxes dropped" in result.report.warnings


def test_import_clips_boxes_and_drops_empty_ones(video):
    upload = _coco(
        categories=[{"id": 1, "name": "pedestrian"}],
        images=[{"id": 1, "file_name": "frame_000000.jpg"}],
        annotations=[
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [190, 90, 20, 20]},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [10, 10, 0, 5]},
            {"id": 3, "image_id": 1, "category_id": 1, "bbox": [300, 10, 5, 5]},
        ],
    )

    result = parse_annotations("coco", upload, video, filename="gt.json")

    (row,) = result.rows
    box = row.bounding_box
    assert (box.x, box.width, box.height) == (190, 10, 10)
    # the clipped box passes the rules every stored annotation meets
    geometry = VideoGeometry(video.fps, video.frame_count, video.width, video.height)
    assert check_box(box.x, box.y, box.width, box.height, geometry) == []
    assert (result.report.clipped, result.report.dropped) == (1, 2)
    assert [e.where for e in result.report.entries] == [
        "gt.json annotations[0] (id 1)",
        "gt.json annotations[1] (id 2)",
        "gt.json annotations[2] (id 3)",
    ]


def test_yolo_names_list_class_file_and_generated_tracks(h, video):
    upload = h.zip(
        {
            "dataset/data.yaml": "names: [cyclist, pedestrian, car]\n",
            "dataset/labels/train/frame_000001.txt": "1 0.5 0.5 0.1 0.2\n\n0 0.25 0.25 0.1 0.1\n",
            "dataset/labels/train/000002.txt": "2 0.5 0.5 0.1 0.1\n",
            "dataset/labels/train/frame_000003.txt": "",
        }
    )

    result = parse_annotations("yolo", upload, video)

    assert [(r.frame_number, r.vru_type, r.detection_id) for r in result.rows] == [
        (1, VruType.PEDESTRIAN, "DET_PED_0001"),
        (1, VruType.CYCLIST, "DET_CYC_0001"),
    ]
    pedestrian = result.rows[0].bounding_box
    assert (pedestrian.x, pedestrian.y, pedestrian.width, pedestrian.height) == (90, 40, 20, 20)
    assert result.report.dropped == 1
    assert result.report.warnings[0] == "class 'car' is not a VRU type: 1 boxes dropped"
    assert result.report.generated_track_ids == 2


def test_yolo_classes_txt_without_data_yaml(h, video):
    upload = h.zip({"classes.txt": "scooter_rider\n", "frame_000000.txt": "0 0.5 0.5 1 1\n"})

    (row,) = parse_annotations("yolo", upload, video).rows
    assert row.vru_type == VruType.SCOOTER_RIDER and row.bounding_box.width == 200


def test_generated_track_ids_skip_ids_present_in_the_file(video):
    upload = io.BytesIO(
        orjson.dumps(
            [
                {
                    "frameNumber": 0,
                    "vruType": "pedestrian",
                    "detectionId": "DET_PED_0001",
                    "boundingBox": {"x": 0, "y": 0, "width": 5, "height": 5},
                },
                {
                    "frame_number": 1,
                    "vru_type": "pedestrian",
                    "bounding_box": {"x": 0, "y": 0, "width": 5, "height": 5},
                },
            ]
        )
    )

    rows = parse_annotations("json", upload, video).rows
    assert [r.detection_id for r in rows] == ["DET_PED_0001", "DET_PED_0002"]
    assert rows[1].key == (1, "DET_PED_0002")


def test_voc_from_another_tool(h, video):
    """LabelImg-style VOC: floats, no attributes, no occluded element."""
    xml = """<annotation><filename>000002.jpg</filename>
      <size><width>200</width><height>100</height><depth>3</depth></size>
      <object><name>Motorcyclist</name><difficult>1</difficult>
        <bndbox><xmin>1.0</xmin><ymin>1</ymin><xmax>50</xmax><ymax>100</ymax></bndbox>
      </object></annotation>"""

    (row,) = parse_annotations("pascal_voc", h.zip({"Annotations/a.xml": xml}), video).rows

    assert (row.frame_number, row.vru_type, row.difficult, row.occluded) == (
        2,
        VruType.MOTORCYCLIST,
        True,
        False,
    )
    box = row.bounding_box
    assert (box.x, box.y, box.width, box.height) == (0, 0, 50, 100)


def test_video_without_fps_needs_timestamps(video):
    no_fps = VideoInfo(id="v", filename="x.mp4", width=200, height=100, frame_count=6)
    upload = _coco(
        categories=[{"id": 1, "name": "pedestrian"}],
        images=[{"id": 1, "file_name": "frame_000000.jpg"}],
        annotations=[{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10]}],
    )

    with pytest.raises(AnnotationImportError, match="frame rate is unknown"):
        parse_annotations("coco", upload, no_fps)


@pytest.mark.parametrize("format_name", ["json", "coco", "yolo", "pascal_voc"])
def test_import_from_a_spooled_file_path(format_name, h, video, annotations, tmp_path):
    """Uploads are spooled to disk first; errors then name the file by its base name."""
    path = tmp_path / f"upload.{format_name}"
    path.write_bytes(h.export(format_name, video, annotations))

    result = parse_annotations(format_name, path, video)
    assert len(result.rows) == len(annotations)

    path.write_bytes(b"\x00garbage")
    with pytest.raises(AnnotationImportError) as caught:
        parse_annotations(format_name, str(path), video)
    assert caught.value.issues[0].location.file == path.name
