"""Malformed and hostile uploads are refused as a whole, with errors that say where."""

from __future__ import annotations

import io
import stat
import zipfile

import orjson
import pytest

from central.formats import AnnotationImportError, ImportLimits, parse_annotations
from central.formats.collector import MAX_NOTES_LENGTH, MAX_TRACK_ID_LENGTH
from central.schemas.annotations import DETECTION_ID_MAX, NOTES_MAX

_VOC_HEAD = "<annotation><filename>frame_000000.jpg</filename>"
_PEDESTRIAN = (
    "<object><name>pedestrian</name><bndbox><xmin>1</xmin><ymin>1</ymin>"
    "<xmax>5</xmax><ymax>5</ymax></bndbox></object>"
)


def _refusal(format_name, upload, video, **kwargs) -> AnnotationImportError:
    with pytest.raises(AnnotationImportError) as caught:
        parse_annotations(format_name, upload, video, **kwargs)
    return caught.value


def _messages(error: AnnotationImportError) -> list[str]:
    return [str(issue) for issue in error.issues]


def test_one_bad_box_refuses_the_whole_file(video):
    """No partial import: three good boxes and one bad one give an error, not three rows."""
    good = {
        "frameNumber": 0,
        "vruType": "cyclist",
        "boundingBox": {"x": 0, "y": 0, "width": 5, "height": 5},
    }
    items = [dict(good, detectionId=f"DET_CYC_000{i}") for i in range(3)]
    items.append(dict(good, boundingBox={"x": 0, "y": 0, "width": "wide", "height": 5}))

    error = _refusal("json", io.BytesIO(orjson.dumps(items)), video, filename="gt.json")

    assert _messages(error) == [
        "gt.json annotations[3] field 'boundingBox': must be an object with numbers x, y, "
        "width and height"
    ]


def test_json_syntax_error_names_the_line(video):
    error = _refusal(
        "json", io.BytesIO(b'[\n{"frameNumber": 0,\n oops}\n]'), video, filename="gt.json"
    )

    (issue,) = error.issues
    assert (issue.location.file, issue.location.line) == ("gt.json", 3)


def test_deeply_nested_json_is_refused(video):
    (issue,) = _refusal("json", io.BytesIO(b"[" * 5000 + b"]" * 5000), video).issues

    assert issue.message.startswith("not valid JSON")


def test_json_field_errors(video):
    items = [
        {
            "frameNumber": -1,
            "vruType": "pedestrian",
            "boundingBox": {"x": 0, "y": 0, "width": 5, "height": 5},
        },
        {
            "frameNumber": 6,
            "vruType": "pedestrian",
            "boundingBox": {"x": 0, "y": 0, "width": 5, "height": 5},
        },
        {
            "frameNumber": 1.5,
            "vruType": "truck",
            "occluded": "maybe",
            "boundingBox": {"x": 0, "y": 0, "width": 5, "height": 5},
        },
        {
            "frameNumber": 1,
            "vruType": "cyclist",
            "detectionId": "X" * 65,
            "boundingBox": {"x": 0, "y": 0, "width": 5, "height": 5},
        },
        {
            "frameNumber": 1,
            "vruType": "cyclist",
            "annotator": "A" * 65,
            "boundingBox": {"x": 0, "y": 0, "width": 5, "height": 5},
        },
    ]

    messages = _messages(_refusal("json", io.BytesIO(orjson.dumps(items)), video, filename="f"))

    assert messages == [
        "f annotations[0] field 'frameNumber': Must be 0 or more.",
        "f annotations[1] field 'frameNumber': Frame 6 is past the video's last frame (5).",
        "f annotations[2] field 'frameNumber': must be an integer",
        "f annotations[2] field 'vruType': must be one of pedestrian, cyclist, motorcyclist, "
        "wheelchair_user, scooter_rider",
        "f annotations[2] field 'occluded': must be true or false",
        "f annotations[3]: track id is longer than 64 characters",
        "f annotations[4] field 'annotator': longer than 64 characters",
    ]


def test_text_limits_match_the_annotation_api():
    """An import must not hold a row the annotation API would refuse."""
    assert MAX_TRACK_ID_LENGTH == DETECTION_ID_MAX
    assert MAX_NOTES_LENGTH == NOTES_MAX


def test_json_timestamp_must_agree_with_the_frame(video):
    """The rules of annotations written through the API hold for imported ones too."""
    box = {
        "frameNumber": 2,
        "timestamp": 0.5,
        "vruType": "pedestrian",
        "boundingBox": {"x": 0, "y": 0, "width": 5, "height": 5},
    }

    error = _refusal("json", io.BytesIO(orjson.dumps([box])), video, filename="f")

    assert _messages(error) == [
        "f annotations[0] field 'timestamp': Timestamp 0.5 s is frame 5 at 10 fps, not 2."
    ]


def test_two_boxes_of_one_track_in_one_frame(video):
    box = {
        "frameNumber": 2,
        "vruType": "pedestrian",
        "detectionId": "DET_PED_0001",
        "boundingBox": {"x": 0, "y": 0, "width": 5, "height": 5},
    }

    error = _refusal("json", io.BytesIO(orjson.dumps([box, box])), video, filename="f")

    assert _messages(error) == [
        "f annotations[1]: track 'DET_PED_0001' already has a box in frame 2 (at f annotations[0])"
    ]


def test_coco_structure_errors(video):
    document = {
        "videos": [{"id": 1}, {"id": 2}],
        "categories": [{"id": 1, "name": "pedestrian"}, {"id": 1, "name": "cyclist"}],
        "images": [
            {"id": 1, "file_name": "frame_000000.jpg", "width": 640, "height": 480},
            {"id": 2, "file_name": "cover.jpg"},
        ],
        "annotations": [{"id": 5, "image_id": 42, "category_id": 1, "bbox": [0, 0, 1]}],
    }

    messages = _messages(
        _refusal("coco", io.BytesIO(orjson.dumps(document)), video, filename="c.json")
    )

    assert messages == [
        "c.json field 'videos': the file holds 2 videos; import one video's annotations at a time",
        "c.json categories[1]: category id 1 appears twice",
        "c.json images[0]: image size 640x480 differs from the video's 200x100",
        "c.json images[1] field 'file_name': cannot tell the frame: no integer frame_id and the "
        "file name is not frame_000123.jpg or 000123.jpg",
        "c.json annotations[0] (id 5) field 'image_id': no image has id 42",
        "c.json annotations[0] (id 5) field 'bbox': must be a list of four numbers "
        "[x, y, width, height]",
    ]


def test_coco_missing_lists(video):
    messages = _messages(_refusal("coco", io.BytesIO(b'{"images": {}}'), video, filename="c"))

    assert messages == [
        "c field 'categories': missing, or not a list",
        "c field 'images': missing, or not a list",
        "c field 'annotations': missing, or not a list",
    ]


def test_yolo_row_errors_name_file_and_line(h, video):
    upload = h.zip(
        {
            "data.yaml": "names: {0: pedestrian}\n",
            "labels/frame_000000.txt": "0 0.5 0.5 0.1 0.1\n0 0.5 0.5 0.1\n",
            "labels/frame_000001.txt": "x 0.5 0.5 0.1 0.1\n3 0.5 0.5 0.1 0.1\n0 0.5 nan 0.1 0.1\n",
            "labels/cover.txt": "",
        }
    )

    messages = _messages(_refusal("yolo", upload, video))

    assert messages == [
        "labels/frame_000000.txt:2: expected 5 values 'class cx cy w h', found 4 (polygons and "
        "scores are not ground-truth boxes)",
        "labels/frame_000001.txt:1 field 'class': not an integer",
        "labels/frame_000001.txt:2 field 'class': class 3 is not in the class names",
        "labels/frame_000001.txt:3 field 'cy': not a number",
        "labels/cover.txt: cannot tell the frame: name it frame_000123.txt or 000123.txt",
    ]


def test_yolo_without_class_names_or_with_bad_yaml(h, video):
    missing = _refusal("yolo", h.zip({"labels/frame_000000.txt": ""}), video, filename="y.zip")
    bad_yaml = _refusal(
        "yolo", h.zip({"data.yaml": "names: [a, b\n", "labels/0.txt": ""}), video, filename="y.zip"
    )

    assert _messages(missing) == [
        "y.zip: no data.yaml (or classes.txt) naming the classes in the archive"
    ]
    (issue,) = bad_yaml.issues
    assert issue.location.element == "data.yaml" and "not valid YAML" in issue.message


def test_yolo_data_yaml_size_is_bounded(h, video):
    upload = h.zip({"data.yaml": "names: [pedestrian]\n" + "#" * 1024**2, "0.txt": ""})

    error = _refusal("yolo", upload, video, filename="y.zip")

    assert _messages(error) == ["y.zip data.yaml: larger than 1048576 bytes"]


def test_voc_errors_name_the_element(h, video):
    upload = h.zip(
        {
            "Annotations/frame_000000.xml": _VOC_HEAD + "<object><name>pedestrian</name><bndbox>"
            "<xmin>1</xmin><ymin>1</ymin><xmax>five</xmax><ymax>5</ymax></bndbox></object>"
            "</annotation>",
            "Annotations/frame_000001.xml": "<annotation><filename>frame_000001.jpg</filename>"
            "<size><width>640</width><height>480</height></size></annotation>",
            "Annotations/frame_000002.xml": "<annotation>\n<object>\n</annotation>",
            "Annotations/frame_000003.xml": "<root/>",
        }
    )

    messages = _messages(_refusal("pascal_voc", upload, video))

    assert messages[0] == (
        "Annotations/frame_000000.xml object[1]/bndbox/xmax: missing or not a number"
    )
    assert messages[1] == (
        "Annotations/frame_000001.xml annotation/size: size 640x480 differs "
        "from the video's 200x100"
    )
    assert messages[2].startswith("Annotations/frame_000002.xml:3: not valid XML")
    assert messages[3] == "Annotations/frame_000003.xml root: the root element must be <annotation>"


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<annotation><filename>&lol3;</filename></annotation>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE annotation [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<annotation><filename>frame_000000.jpg</filename>
<object><name>&secret;</name></object></annotation>"""


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["entities", "external"])
def test_voc_refuses_dtds_and_entities(h, video, xml):
    upload = h.zip({"Annotations/frame_000000.xml": xml})

    (issue,) = _refusal("pascal_voc", upload, video).issues

    assert issue.location.file == "Annotations/frame_000000.xml"
    assert issue.message.startswith("refused")


def _zip_with_info(*infos: tuple[zipfile.ZipInfo, bytes]) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for info, content in infos:
            archive.writestr(info, content)
    buffer.seek(0)
    return buffer


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("../evil.xml", "path leaving the archive ('..') refused"),
        ("Annotations/../../evil.xml", "path leaving the archive ('..') refused"),
        ("/etc/cron.d/evil.xml", "absolute path refused"),
        ("C:/Windows/evil.xml", "absolute path refused"),
        ("..\\evil.xml", "path leaving the archive ('..') refused"),
    ],
)
def test_zip_paths_leaving_the_archive_are_refused(h, video, name, message):
    upload = _zip_with_info(
        (
            zipfile.ZipInfo("Annotations/frame_000000.xml"),
            (_VOC_HEAD + _PEDESTRIAN + "</annotation>").encode(),
        ),
        (zipfile.ZipInfo(name), b"<annotation/>"),
    )

    error = _refusal("pascal_voc", upload, video, filename="voc.zip")

    assert _messages(error) == [f"voc.zip {name}: {message}"]


def _mark_encrypted(archive: bytes, name: bytes) -> bytes:
    """Sets the "encrypted" bit of ``name`` in the central directory (zipfile cannot encrypt)."""
    data = bytearray(archive)
    start = data.find(b"PK\x01\x02")
    while start != -1:
        name_length = int.from_bytes(data[start + 28 : start + 30], "little")
        if data[start + 46 : start + 46 + name_length] == name:
            data[start + 8] |= 0x1
        start = data.find(b"PK\x01\x02", start + 4)
    return bytes(data)


def test_zip_symlinks_and_encrypted_entries_are_refused(video):
    link = zipfile.ZipInfo("labels/frame_000000.txt")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = _zip_with_info(
        (link, b"/etc/passwd"), (zipfile.ZipInfo("data.yaml"), b"names: [pedestrian]")
    )
    upload = io.BytesIO(_mark_encrypted(archive.getvalue(), b"data.yaml"))

    messages = _messages(_refusal("yolo", upload, video, filename="y.zip"))

    assert messages == [
        "y.zip labels/frame_000000.txt: symbolic link refused",
        "y.zip data.yaml: encrypted entry refused",
    ]


def test_zip_limits(h, video):
    entries = {f"labels/frame_{i:06d}.txt": "0 0.5 0.5 0.1 0.1\n" for i in range(5)}
    entries["data.yaml"] = "names: [pedestrian]\n"
    upload = h.zip(entries).getvalue()

    def refused(**limits) -> list[str]:
        return _messages(
            _refusal(
                "yolo", io.BytesIO(upload), video, filename="y.zip", limits=ImportLimits(**limits)
            )
        )

    assert refused(max_zip_entries=4) == [
        "y.zip: the archive has 6 entries, more than the limit of 4"
    ]
    assert refused(max_entry_bytes=19)[0] == (
        "y.zip data.yaml: unpacks to 20 bytes, more than the limit of 19"
    )
    assert refused(max_uncompressed_bytes=50) == [
        "y.zip: the archive unpacks to 110 bytes, more than the limit of 50"
    ]
    assert refused(max_file_bytes=100) == ["y.zip: larger than the limit of 100 bytes"]
    assert refused(max_boxes=3) == ["y.zip: more than 3 boxes"]


def test_zip_bomb_is_refused_before_inflating(video):
    """A 64 MiB entry compresses to about 64 KiB; its declared size refuses it unread."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("labels/frame_000000.txt", b"0" * (64 * 1024**2))
    buffer.seek(0)

    error = _refusal("yolo", buffer, video, filename="bomb.zip")

    assert "more than the limit" in error.issues[0].message


def test_not_a_zip_and_too_large_json(video):
    not_zip = _refusal("pascal_voc", io.BytesIO(b"just text"), video, filename="voc.zip")
    large = _refusal(
        "json",
        io.BytesIO(b"[" + b" " * 200 + b"]"),
        video,
        filename="gt.json",
        limits=ImportLimits(max_file_bytes=100),
    )

    assert _messages(not_zip)[0].startswith("voc.zip: not a readable zip archive")
    assert _messages(large) == ["gt.json: file is larger than the limit of 100 bytes"]


def test_issue_list_is_capped(video):
    items = [
        {
            "frameNumber": "x",
            "vruType": "pedestrian",
            "boundingBox": {"x": 0, "y": 0, "width": 5, "height": 5},
        }
    ] * 30

    error = _refusal(
        "json", io.BytesIO(orjson.dumps(items)), video, limits=ImportLimits(max_issues=10)
    )

    assert len(error.issues) == 10 and error.more_issues == 20
    assert str(error).endswith("and 25 more")


def test_json_from_a_video_of_another_size(h, video, annotations):
    exported = h.export("json", video, annotations)
    smaller = type(video)(
        id="v2", filename="small.mp4", width=100, height=50, fps=10.0, frame_count=6
    )

    error = _refusal("json", io.BytesIO(exported), smaller, filename="gt.json")

    assert _messages(error) == [
        "gt.json field 'video': boxes were drawn on a 200x100 video, this one is 100x50"
    ]
