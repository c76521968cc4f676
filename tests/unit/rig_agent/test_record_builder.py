"""Captures become records: sessions, video time, latency pairing, and nothing lost on bad input."""

from __future__ import annotations

from typing import Any

import pytest

from protocol import (
    Clock,
    DetectionRecord,
    LatencyRecord,
    Source,
    SyncRecord,
    decode_record,
)
from rig_agent.records import (
    COMMAND_SYNC_CHANNEL,
    MAX_RAW_BYTES,
    ChannelInfo,
    RecordBuilder,
    SessionSpec,
)
from rig_agent.sources import Capture, ChannelRole

MS = 1_000_000
CHANNELS = {
    "det": ChannelInfo(ChannelRole.DETECTION, Source.SERIAL),
    "other": ChannelInfo(ChannelRole.DETECTION, Source.GPIO),
    "marker": ChannelInfo(ChannelRole.STIMULUS, Source.GPIO),
    "photo": ChannelInfo(ChannelRole.SYNC, Source.GPIO),
}


def capture(
    channel: str, t_ms: float, decoded: dict[str, Any] | None = None, text: bool = True
) -> Capture:
    t_ns = int(t_ms * MS)
    return Capture(
        channel=channel,
        t_mono_ns=t_ns,
        t_wall_ns=t_ns + 10**18,
        clock=Clock.KERNEL_MONOTONIC,
        raw=b'{"c":1}' if text else b"\x01\xff",
        raw_is_text=text,
        decoded=decoded or {},
    )


def spec(start_ms: float, **kwargs: Any) -> SessionSpec:
    values: dict[str, Any] = {
        "session_id": "s1",
        "start_ns": int(start_ms * MS),
        "start_wall_ns": 1,
        "armed": frozenset(CHANNELS),
    }
    values.update(kwargs)
    return SessionSpec(**values)


def decoded(pairs: list[tuple[int, bytes]]) -> list[Any]:
    return [decode_record(data) for _, data in pairs]


@pytest.fixture
def builder() -> RecordBuilder:
    return RecordBuilder(CHANNELS, window_ns=500 * MS, next_seq=40)


def test_outside_a_session_records_have_null_session_and_video_time(builder: RecordBuilder) -> None:
    (record,) = decoded(builder.build(capture("det", 5)))
    assert isinstance(record, DetectionRecord)
    assert record.session_id is None and record.t_video_ms is None
    assert record.seq == 40 and record.source is Source.SERIAL
    assert record.payload.raw_line == '{"c":1}'


def test_seq_is_consecutive_across_captures_and_records(builder: RecordBuilder) -> None:
    builder.build(capture("marker", 1))
    out = builder.build(capture("det", 2))  # detection + latency
    out += builder.build(capture("det", 3))
    assert [seq for seq, _ in out] == [41, 42, 43, 44]
    assert builder.next_seq == 45


def test_start_command_is_video_time_zero(builder: RecordBuilder) -> None:
    (sync,) = decoded(builder.start(spec(100)))
    assert isinstance(sync, SyncRecord)
    assert sync.channel == COMMAND_SYNC_CHANNEL and sync.t_video_ms == 0.0
    assert sync.session_id == "s1" and sync.t_mono_ns == 100 * MS
    (record,) = decoded(builder.build(capture("det", 350.5)))
    assert record.session_id == "s1" and record.t_video_ms == pytest.approx(250.5)


def test_sync_channel_sets_video_time_zero_at_its_next_signal(builder: RecordBuilder) -> None:
    assert builder.start(spec(100, sync_channel="photo")) == []
    (before,) = decoded(builder.build(capture("det", 150)))
    assert before.session_id == "s1" and before.t_video_ms is None
    (sync,) = decoded(builder.build(capture("photo", 200)))
    assert isinstance(sync, SyncRecord) and sync.t_video_ms == 0.0
    (after,) = decoded(builder.build(capture("det", 1200)))
    assert after.t_video_ms == pytest.approx(1000.0)
    (second_pulse,) = decoded(builder.build(capture("photo", 1300)))
    assert second_pulse.t_video_ms == pytest.approx(1100.0), "only the first pulse is time zero"


def test_unarmed_channels_and_early_stamps_stay_outside(builder: RecordBuilder) -> None:
    builder.start(spec(100, armed=frozenset({"det"})))
    (unarmed,) = decoded(builder.build(capture("other", 150)))
    (early,) = decoded(builder.build(capture("det", 99)))
    assert unarmed.session_id is None and early.session_id is None


def test_stop_keeps_late_arriving_captures_stamped_before_it(builder: RecordBuilder) -> None:
    builder.start(spec(100))
    builder.stop("s1", stop_ns=500 * MS)
    (late,) = decoded(builder.build(capture("det", 499)))
    (after,) = decoded(builder.build(capture("det", 500)))
    assert late.session_id == "s1" and after.session_id is None and after.t_video_ms is None


def test_duration_ends_the_session_at_its_stamp(builder: RecordBuilder) -> None:
    builder.start(spec(0, end_ns=1000 * MS))
    inside, outside = decoded(
        builder.build(capture("det", 999)) + builder.build(capture("det", 1000))
    )
    assert inside.session_id == "s1" and outside.session_id is None


def test_detection_within_window_after_stimulus_yields_latency(builder: RecordBuilder) -> None:
    (stimulus,) = decoded(builder.build(capture("marker", 1000)))
    assert isinstance(stimulus, DetectionRecord) and stimulus.payload.fields["role"] == "stimulus"
    detection, latency = decoded(builder.build(capture("det", 1080, {"vru_type": "cyclist"})))
    assert isinstance(detection, DetectionRecord) and isinstance(latency, LatencyRecord)
    assert latency.latency_ms == pytest.approx(80.0)
    assert latency.stimulus_t_mono_ns == 1000 * MS and latency.stimulus_channel == "marker"
    assert latency.payload == detection.payload and latency.channel == "det"


def test_pairing_uses_the_latest_stimulus_and_respects_the_window(builder: RecordBuilder) -> None:
    builder.build(capture("marker", 1000))
    builder.build(capture("marker", 1300))
    _, latency = decoded(builder.build(capture("det", 1350)))
    assert latency.latency_ms == pytest.approx(50.0)
    (alone,) = decoded(builder.build(capture("det", 1801)))
    assert isinstance(alone, DetectionRecord), "501 ms after the stimulus is outside the window"
    (before_any,) = decoded(RecordBuilder(CHANNELS, 500 * MS, 0).build(capture("det", 5)))
    assert isinstance(before_any, DetectionRecord)


def test_stimulus_stamped_after_the_detection_is_not_paired(builder: RecordBuilder) -> None:
    builder.build(capture("marker", 2000))
    (record,) = decoded(builder.build(capture("det", 1990)))
    assert isinstance(record, DetectionRecord)


def test_decoded_fields_reach_the_payload(builder: RecordBuilder) -> None:
    values = {
        "vru_type": "pedestrian",
        "bbox": [1, 2, 3, 4],
        "confidence": 0.9,
        "frame": 7,
        "id": 5,
    }
    (record,) = decoded(builder.build(capture("det", 1, values, text=False)))
    payload = record.payload
    assert payload.vru_type == "pedestrian" and payload.bbox == (1, 2, 3, 4)
    assert payload.confidence == 0.9 and payload.frame == 7 and payload.fields == {"id": 5}
    assert payload.raw_hex == "01ff" and payload.raw_line is None


def test_invalid_decoded_fields_keep_the_record_and_say_why(builder: RecordBuilder) -> None:
    (record,) = decoded(
        builder.build(capture("det", 1, {"confidence": 7.5, "bbox": [0, 0, -1, 2]}))
    )
    assert "decode_error" in record.payload.fields
    assert record.payload.fields["decoded"] == {"confidence": 7.5, "bbox": [0, 0, -1, 2]}
    assert record.payload.confidence is None and record.payload.raw_line == '{"c":1}'


def test_values_json_cannot_carry_are_kept_as_repr(builder: RecordBuilder) -> None:
    (record,) = decoded(builder.build(capture("det", 1, {"blob": object()})))
    assert record.payload.fields["decoded_repr"].startswith("{'blob': <object object")


def test_unconfigured_channel_is_a_key_error(builder: RecordBuilder) -> None:
    with pytest.raises(KeyError):
        builder.build(capture("ghost", 1))
    assert builder.next_seq == 40


def test_runaway_raw_input_is_cut_and_its_length_kept(builder: RecordBuilder) -> None:
    big = Capture("det", 1, 1, Clock.USER_MONOTONIC, b"a" * (MAX_RAW_BYTES * 3), True)
    (record,) = decoded(builder.build(big))
    assert record.payload.raw_line == "a" * MAX_RAW_BYTES
    assert record.payload.fields["raw_bytes"] == MAX_RAW_BYTES * 3


def test_a_capture_no_record_can_carry_uses_no_seq(builder: RecordBuilder) -> None:
    builder.build(capture("marker", 1))
    bad = Capture("det", 2 * MS, -5, Clock.USER_MONOTONIC, b"x", True)
    with pytest.raises(ValueError, match="t_wall_ns"):
        builder.build(bad)
    assert builder.next_seq == 41
