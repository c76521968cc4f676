"""What ingest makes of each MQTT message: a batch, a status, a reply, or a dead-letter reason;
and the rows it writes for them."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from central.db.models import DEAD_LETTER_PAYLOAD_CAP
from central.ingest._decode import decode_message
from central.ingest._rows import (
    DeadLetterReason,
    dead_letter_row,
    detection_event_row,
    latency_measurement_row,
    rig_values,
)
from protocol import (
    MAX_MESSAGE_BYTES,
    CommandReply,
    DetectionPayload,
    DetectionRecord,
    LatencyRecord,
    RigStatus,
    SyncRecord,
    Topics,
    assemble_batch,
    encode,
    encode_record,
)

TOPICS = Topics("vru/v1")
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
COMMON = {
    "seq": 7,
    "channel": "det",
    "source": "can",
    "t_mono_ns": 5_000_000,
    "t_wall_ns": 9,
    "clock": "kernel_realtime",
    "t_video_ms": 12.5,
}
PAYLOAD = DetectionPayload(
    vru_type="cyclist",
    bbox=(1, 2, 3, 4),
    confidence=0.5,
    frame=3,
    raw_hex="0a",
    fields={"speed": 3},
)


def batch_bytes(rig_id: str = "rig-1") -> bytes:
    record = DetectionRecord(**COMMON, payload=PAYLOAD)
    return assemble_batch(rig_id, "s-1", [encode_record(record)])


def test_a_record_batch_on_its_rigs_topic_decodes() -> None:
    decoded = decode_message(TOPICS, TOPICS.records("rig-1"), batch_bytes())
    assert decoded.refusal is None and decoded.batch is not None
    assert decoded.batch.records[0].seq == 7


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        (TOPICS.records("rig-1"), b"{not json", DeadLetterReason.MALFORMED),
        (TOPICS.records("rig-1"), b"[]", DeadLetterReason.MALFORMED),
        (TOPICS.records("rig-1"), b'{"v": 9}', DeadLetterReason.UNSUPPORTED_VERSION),
        (TOPICS.records("rig-1"), b" " * (MAX_MESSAGE_BYTES + 1), DeadLetterReason.OVERSIZED),
        (TOPICS.records("rig-2"), batch_bytes("rig-1"), DeadLetterReason.RIG_MISMATCH),
        (
            TOPICS.status("rig-2"),
            encode(RigStatus(rig_id="rig-1", state="online")),
            DeadLetterReason.RIG_MISMATCH,
        ),
        (
            TOPICS.replies("rig-2"),
            encode(CommandReply(command_id="c", ok=True, rig_id="rig-1")),
            DeadLetterReason.RIG_MISMATCH,
        ),
        ("vru/v1/rigs/rig-1/telemetry", b"{}", DeadLetterReason.UNKNOWN_TOPIC),
        ("elsewhere/rigs/rig-1/records", batch_bytes(), DeadLetterReason.UNKNOWN_TOPIC),
        (TOPICS.results("s-1"), b"{}", DeadLetterReason.UNKNOWN_TOPIC),
    ],
)
def test_bad_messages_get_their_reason(topic: str, payload: bytes, reason: str) -> None:
    decoded = decode_message(TOPICS, topic, payload)
    assert decoded.refusal is not None and decoded.refusal.reason == reason
    assert decoded.batch is None and decoded.status is None and decoded.reply is None


def test_a_rig_mismatch_is_blamed_on_the_topics_rig() -> None:
    decoded = decode_message(TOPICS, TOPICS.records("rig-2"), batch_bytes("rig-1"))
    assert decoded.refusal is not None and decoded.refusal.rig_id == "rig-2"
    assert "'rig-2'" in str(decoded.refusal) and "'rig-1'" in str(decoded.refusal)


def test_a_cleared_retained_status_and_a_command_are_skipped_quietly() -> None:
    for topic, payload in ((TOPICS.status("rig-1"), b""), (TOPICS.commands("rig-1"), b"{}")):
        decoded = decode_message(TOPICS, topic, payload)
        assert (decoded.batch, decoded.status, decoded.reply, decoded.refusal) == (None,) * 4


def test_a_reply_without_a_rig_id_is_taken_from_its_topic() -> None:
    payload = encode(CommandReply(command_id="c-1", ok=False, error="busy"))
    decoded = decode_message(TOPICS, TOPICS.replies("rig-1"), payload)
    assert decoded.reply is not None and decoded.rig_id == "rig-1"


def test_a_detection_row_has_the_columns_and_the_payload_it_was_decoded_from() -> None:
    record = DetectionRecord(**COMMON, payload=PAYLOAD)
    row = detection_event_row("id-1", "rig-1", "s-1", record, "ts-1", NOW)
    assert row == {
        "id": "id-1",
        "test_session_id": "ts-1",
        "rig_id": "rig-1",
        "stream": "s-1",
        "seq": 7,
        "kind": "detection",
        "channel": "det",
        "source": "can",
        "clock": "kernel_realtime",
        "t_mono_ns": 5_000_000,
        "t_wall_ns": 9,
        "t_video_ms": 12.5,
        "vru_type": "cyclist",
        "bbox": [1, 2, 3, 4],
        "confidence": 0.5,
        "frame_number": 3,
        "payload": {
            "vru_type": "cyclist",
            "bbox": [1, 2, 3, 4],
            "confidence": 0.5,
            "frame": 3,
            "raw_hex": "0a",
            "fields": {"speed": 3},
        },
        "received_at": NOW,
    }
    assert row["payload"] == PAYLOAD.model_dump(mode="json", exclude_defaults=True)


def test_latency_and_sync_rows_keep_their_own_fields() -> None:
    latency = LatencyRecord(
        **COMMON,
        payload=DetectionPayload(raw_line="x"),
        stimulus_channel="stim",
        stimulus_t_mono_ns=3_000_000,
        latency_ms=2.0,
    )
    row = detection_event_row("id-2", "rig-1", "s-1", latency, "ts-1", NOW)
    assert row["kind"] == "latency" and row["payload"] == {
        "raw_line": "x",
        "stimulus_channel": "stim",
        "stimulus_t_mono_ns": 3_000_000,
        "latency_ms": 2.0,
    }
    measurement = latency_measurement_row(latency, "id-2", "ts-1", 1.5, NOW)
    assert measurement["latency_ms"] == 2.0 and measurement["within_tolerance"] is False
    assert (measurement["detection_timestamp"], measurement["signal_timestamp"]) == (0.005, 0.003)

    sync = detection_event_row("id-3", "rig-1", "s-1", SyncRecord(**COMMON), None, NOW)
    assert sync["kind"] == "sync" and sync["payload"] == {} and sync["vru_type"] is None


def test_a_dead_letter_keeps_the_start_of_a_large_message_and_its_full_size() -> None:
    decoded = decode_message(TOPICS, TOPICS.records("rig-1"), b"x" * (MAX_MESSAGE_BYTES + 10))
    assert decoded.refusal is not None
    row = dead_letter_row(decoded.topic, decoded.payload, decoded.refusal, NOW)
    assert len(row["payload"]) == DEAD_LETTER_PAYLOAD_CAP
    assert row["payload_size"] == MAX_MESSAGE_BYTES + 10
    assert row["reason"].startswith("oversized: ") and row["rig_id"] == "rig-1"


def test_an_offline_status_is_not_a_sign_of_life_and_keeps_unsent_fields() -> None:
    online = rig_values(RigStatus(rig_id="r", state="online", spool_depth=4, version="2"), NOW)
    assert online["last_seen_at"] == NOW and online["spool_depth"] == 4
    assert online["version"] == "2"
    offline = rig_values(RigStatus(rig_id="r", state="offline"), NOW)
    assert offline["state"] == "offline"
    assert {"last_seen_at", "spool_depth", "version"}.isdisjoint(offline)
    assert orjson.loads(orjson.dumps(offline["last_status"]))["state"] == "offline"


def test_a_detections_track_id_is_kept_as_text_in_its_payload() -> None:
    payload = DetectionPayload(vru_type="pedestrian", track_id=42, raw_hex="0a")
    record = DetectionRecord(**COMMON, payload=payload)
    row = detection_event_row("id-1", "rig-1", "s-1", record, "ts-1", NOW)
    assert row["payload"]["track_id"] == "42"
    assert row["payload"] == payload.model_dump(mode="json", exclude_defaults=True)
