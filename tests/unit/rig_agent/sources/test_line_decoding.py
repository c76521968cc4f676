"""Text line formats shared by the serial and network sources, and the detection field checks."""

from __future__ import annotations

import pytest

from protocol import Clock
from rig_agent.sources._fields import normalise_detection
from rig_agent.sources._lines import LineDecoder, LineFormatSettings, line_capture
from rig_agent.sources._stamps import Stamp


def decoder(**settings: object) -> LineDecoder:
    return LineDecoder(LineFormatSettings.model_validate(settings))


def test_json_line_gives_detection_fields_and_passes_others_through() -> None:
    decoded = decoder(format="json").decode(
        '{"vru_type": "Pedestrian", "bbox": [10, 20, 30.5, 40], "confidence": 0.87, '
        '"frame": 12, "track": 7}'
    )
    assert decoded == {
        "vru_type": "pedestrian",
        "bbox": [10.0, 20.0, 30.5, 40.0],
        "confidence": 0.87,
        "frame": 12,
        "track": 7,
    }


def test_json_that_is_not_an_object_is_reported_not_raised() -> None:
    assert decoder(format="json").decode("[1, 2]") == {
        "decode_error": "JSON line is a list, not an object"
    }
    assert decoder(format="json").decode("{oops")["decode_error"].startswith("not JSON")


def test_csv_line_maps_columns_and_joins_bbox_parts() -> None:
    csv = decoder(
        format="csv",
        columns=["frame", "vru_type", "confidence", "bbox_x", "bbox_y", "bbox_w", "bbox_h", "note"],
    )
    assert csv.decode("5,cyclist,0.5,1,2,3,4,left lane") == {
        "frame": 5,
        "vru_type": "cyclist",
        "confidence": 0.5,
        "bbox": [1.0, 2.0, 3.0, 4.0],
        "note": "left lane",
    }


def test_csv_respects_delimiter_and_quoting() -> None:
    csv = decoder(format="csv", columns=["vru_type", "note"], delimiter=";")
    assert csv.decode('scooter_rider;"a;b"') == {"vru_type": "scooter_rider", "note": "a;b"}


def test_csv_with_the_wrong_number_of_values_says_so() -> None:
    decoded = decoder(format="csv", columns=["frame", "vru_type"]).decode("1,pedestrian,extra")
    assert decoded == {"decode_error": "csv line has 3 values, expected 2 (frame, vru_type)"}


def test_regex_named_groups_become_values() -> None:
    regex = decoder(
        format="regex",
        pattern=r"DET (?P<vru_type>\w+) c=(?P<confidence>[\d.]+)"
        r"(?: f=(?P<frame>\d+))?",
    )
    assert regex.decode("t=1 DET motorcyclist c=0.75") == {
        "vru_type": "motorcyclist",
        "confidence": 0.75,
    }
    assert regex.decode("DET pedestrian c=1 f=9") == {
        "vru_type": "pedestrian",
        "confidence": 1.0,
        "frame": 9,
    }
    assert regex.decode("HEARTBEAT") == {"decode_error": "line does not match the pattern"}


def test_raw_format_decodes_nothing() -> None:
    assert decoder(format="raw").decode('{"vru_type": "pedestrian"}') == {}


def test_invalid_detection_values_are_kept_aside_with_the_reason() -> None:
    decoded = normalise_detection(
        {"vru_type": "dog", "confidence": 1.5, "frame": -1, "bbox": [0, 0, 0, 5], "id": 3}
    )
    assert decoded["id"] == 3
    assert decoded["invalid_vru_type"] == "dog"
    assert decoded["invalid_confidence"] == 1.5
    assert decoded["invalid_frame"] == -1
    assert "bbox" not in decoded and "vru_type" not in decoded
    for reason in (
        "vru_type 'dog'",
        "confidence 1.5 is outside [0, 1]",
        "frame -1",
        "positive width and height",
    ):
        assert reason in decoded["decode_error"]


def test_incomplete_bbox_parts_are_reported() -> None:
    decoded = normalise_detection({"bbox_x": 1, "bbox_y": 2})
    assert decoded["decode_error"] == "bbox is incomplete: bbox_w, bbox_h missing"
    assert decoded["bbox_x"] == 1


def test_line_capture_keeps_text_and_stamp() -> None:
    stamp = Stamp(123, 456, Clock.USER_MONOTONIC)
    capture = line_capture("ch", b'{"frame": 1}', stamp, decoder(format="json"))
    assert (capture.channel, capture.t_mono_ns, capture.t_wall_ns, capture.clock) == (
        "ch",
        123,
        456,
        Clock.USER_MONOTONIC,
    )
    assert capture.raw == b'{"frame": 1}' and capture.raw_is_text
    assert capture.decoded == {"frame": 1}


def test_line_that_is_not_utf8_keeps_its_bytes() -> None:
    stamp = Stamp(1, 2, Clock.USER_MONOTONIC)
    capture = line_capture(
        "ch",
        b"\xff\xfe pedestrian",
        stamp,
        decoder(format="regex", pattern=r"(?P<vru_type>pedestrian)"),
    )
    assert capture.raw == b"\xff\xfe pedestrian"
    assert not capture.raw_is_text
    assert capture.decoded["vru_type"] == "pedestrian"
    assert capture.decoded["decode_error"].startswith("not UTF-8")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"format": "csv"}, "format 'csv' needs columns"),
        ({"format": "csv", "columns": ["a", "a"]}, "csv columns repeat a name"),
        ({"format": "json", "columns": ["a"]}, "columns are only used with format 'csv'"),
        ({"format": "regex"}, "format 'regex' needs a pattern"),
        ({"format": "regex", "pattern": "(unclosed"}, "is not a valid regex"),
        ({"format": "regex", "pattern": r"\d+"}, "has no named group"),
        ({"format": "raw", "pattern": "(?P<a>.)"}, "pattern is only used with format 'regex'"),
        ({"format": "xml"}, "Input should be 'json', 'csv', 'regex' or 'raw'"),
    ],
)
def test_line_format_settings_explain_what_is_wrong(
    settings: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        LineFormatSettings.model_validate(settings)
