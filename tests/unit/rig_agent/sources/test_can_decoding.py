"""CAN frame decoding: a DBC file through cantools, or a byte layout, mapped to detection fields."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from rig_agent.sources.base import SourceUnavailable
from rig_agent.sources.can import CanSettings, FrameDecoder

DBC = """VERSION ""

NS_ :

BS_:

BU_: SUT

BO_ 256 VruDetection: 8 SUT
 SG_ Class : 0|8@1+ (1,0) [0|255] "" Vector__XXX
 SG_ Confidence : 8|8@1+ (0.01,0) [0|1] "" Vector__XXX
 SG_ Frame : 16|16@1+ (1,0) [0|65535] "" Vector__XXX
 SG_ Track : 32|8@1+ (1,0) [0|255] "" Vector__XXX

BO_ 512 Heartbeat: 1 SUT
 SG_ Alive : 0|8@1+ (1,0) [0|255] "" Vector__XXX

VAL_ 256 Class 1 "PEDESTRIAN" 2 "CYCLIST" 9 "UNKNOWN" ;
"""

MAPPING = {"vru_type": "Class", "confidence": "Confidence", "frame": "Frame"}


@pytest.fixture
def dbc(tmp_path: Path) -> Path:
    path = tmp_path / "sut.dbc"
    path.write_text(DBC)
    return path


def test_dbc_signals_map_to_detection_fields(dbc: Path) -> None:
    decoder = FrameDecoder(
        CanSettings(name="c", dbc=dbc, message="VruDetection", signal_map=MAPPING)
    )
    decoded = decoder.decode(256, bytes([2, 87, 0x10, 0x01, 5, 0, 0, 0]))
    assert decoded == {
        "can_id": 256,
        "vru_type": "cyclist",
        "confidence": 0.87,
        "frame": 0x110,
        "Track": 5,
    }


def test_dbc_message_sets_the_receive_filter_unless_filters_are_given(dbc: Path) -> None:
    by_message = FrameDecoder(CanSettings(name="c", dbc=dbc, message="VruDetection"))
    assert by_message.filters() == [{"can_id": 256, "can_mask": 0x7FF, "extended": False}]
    explicit = FrameDecoder(
        CanSettings(
            name="c", dbc=dbc, message="VruDetection", filters=[{"id": 0x100, "mask": 0x700}]
        )
    )
    assert explicit.filters() == [{"can_id": 0x100, "can_mask": 0x700, "extended": False}]


def test_frames_that_do_not_decode_say_why(dbc: Path) -> None:
    decoder = FrameDecoder(
        CanSettings(name="c", dbc=dbc, message="VruDetection", signal_map=MAPPING)
    )
    assert decoder.decode(512, b"\x01") == {
        "can_id": 512,
        "decode_error": "frame 0x200 is not DBC message 'VruDetection'",
    }
    short = decoder.decode(256, b"\x01")
    assert short["can_id"] == 256 and short["decode_error"].startswith(
        "frame 0x100 does not decode"
    )
    unknown_class = decoder.decode(256, bytes([9, 50, 0, 0, 0, 0, 0, 0]))
    assert unknown_class["invalid_vru_type"] == "UNKNOWN"
    assert unknown_class["confidence"] == 0.5
    assert "vru_type 'UNKNOWN'" in unknown_class["decode_error"]


def test_without_a_message_name_every_dbc_message_decodes(dbc: Path) -> None:
    decoder = FrameDecoder(CanSettings(name="c", dbc=dbc))
    assert decoder.filters() is None
    assert decoder.decode(512, b"\x07") == {"can_id": 512, "Alive": 7}
    assert decoder.decode(0x7FF, b"") == {
        "can_id": 0x7FF,
        "decode_error": "frame 0x7FF is not in the DBC file",
    }


def test_dbc_problems_are_reported_as_unavailable(dbc: Path, tmp_path: Path) -> None:
    with pytest.raises(SourceUnavailable, match="does not exist"):
        FrameDecoder(CanSettings(name="c", dbc=tmp_path / "missing.dbc"))
    with pytest.raises(
        SourceUnavailable,
        match=r"has no message 'Nope' \(it has: VruDetection, "
        r"Heartbeat\)",
    ):
        FrameDecoder(CanSettings(name="c", dbc=dbc, message="Nope"))
    with pytest.raises(SourceUnavailable, match=r"signal_map names \['Klass'\]"):
        FrameDecoder(CanSettings(name="c", dbc=dbc, signal_map={"vru_type": "Klass"}))
    garbage = tmp_path / "garbage.dbc"
    garbage.write_text("BO_ this is not a dbc")
    with pytest.raises(SourceUnavailable, match="cannot be read"):
        FrameDecoder(CanSettings(name="c", dbc=garbage))


def test_byte_layout_reads_scaled_fields_and_maps_class_codes() -> None:
    settings = CanSettings(
        name="c",
        layout=[
            {"name": "cls", "offset": 0, "type": "u8"},
            {"name": "conf", "offset": 1, "type": "u8", "scale": 0.01},
            {"name": "frame", "offset": 2, "type": "u16", "byte_order": "big"},
            {"name": "x", "offset": 4, "type": "i16"},
            {"name": "speed", "offset": 6, "type": "i16", "scale": 0.5, "bias": -10},
        ],
        signal_map={"vru_type": "cls", "confidence": "conf", "frame": "frame"},
        vru_codes={3: "wheelchair_user"},
    )
    data = bytes([3, 64]) + struct.pack(">H", 1234) + struct.pack("<hh", -20, 40)
    assert FrameDecoder(settings).decode(0x123, data) == {
        "can_id": 0x123,
        "vru_type": "wheelchair_user",
        "confidence": 0.64,
        "frame": 1234,
        "x": -20,
        "speed": 10.0,
    }


def test_byte_layout_reports_a_frame_too_short_for_it() -> None:
    settings = CanSettings(name="c", layout=[{"name": "v", "offset": 6, "type": "u32"}])
    assert FrameDecoder(settings).decode(1, bytes(8)) == {
        "can_id": 1,
        "decode_error": "field 'v' needs bytes 6..9 but the frame has 8",
    }


def test_no_decoding_configured_keeps_just_the_id() -> None:
    assert FrameDecoder(CanSettings(name="c")).decode(0x42, b"\x01\x02") == {"can_id": 0x42}
