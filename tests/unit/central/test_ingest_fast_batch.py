"""The fast decode of a record batch (msgspec) stores what pydantic's would, refuses all that
pydantic refuses, and leaves the refusal and its message to pydantic."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from central.ingest._decode import decode_message
from central.ingest._fast_batch import FastBatch, decode_fast_batch
from central.ingest._rows import DeadLetterReason, detection_event_row
from protocol import MAX_MESSAGE_BYTES, ProtocolError, RecordBatch, Topics, decode_batch

TOPICS = Topics("vru/v1")
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
COMMON = {
    "channel": "det",
    "source": "can",
    "t_mono_ns": 5_000_000,
    "t_wall_ns": 9,
    "clock": "kernel_realtime",
}


def _batch() -> dict[str, Any]:
    payload = {
        "vru_type": "cyclist",
        "bbox": [1, 2, 3.5, 4],
        "confidence": 0.5,
        "frame": 3,
        "track_id": 42,
        "raw_hex": "0a",
        "fields": {"speed": 3},
    }
    return {
        "v": 1,
        "rig_id": "rig-1",
        "stream": "s-1",
        "records": [
            {"seq": 1, "kind": "detection", "session_id": "ts-1", **COMMON, "payload": payload},
            {
                "seq": 2,
                "kind": "latency",
                **COMMON,
                "t_video_ms": 12,
                "payload": {"raw_line": "x"},
                "stimulus_channel": "led",
                "stimulus_t_mono_ns": 4_000_000,
                "latency_ms": 1.0,
            },
            {"seq": 3, "kind": "sync", **COMMON, "unknown_field": "ignored"},
        ],
    }


def test_a_batch_decoded_the_fast_way_makes_the_rows_pydantic_makes() -> None:
    payload = orjson.dumps(_batch())
    fast = decode_fast_batch(payload)
    assert isinstance(fast, FastBatch)
    slow = decode_batch(payload)
    for fast_record, slow_record in zip(fast.records, slow.records, strict=True):
        fast_row = detection_event_row("id", "rig-1", "s-1", fast_record, "ts-1", NOW)
        slow_row = detection_event_row("id", "rig-1", "s-1", slow_record, "ts-1", NOW)
        assert fast_row == slow_row
        assert orjson.dumps(fast_row["payload"]) == orjson.dumps(slow_row["payload"])
    assert fast.records[0].payload.track_id == "42"


def _changed(path: tuple[Any, ...], value: Any) -> bytes:
    batch = _batch()
    node: Any = batch
    for key in path[:-1]:
        node = node[key]
    if value is _REMOVED:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return json.dumps(batch).encode()  # the stdlib writes integers of any size


_REMOVED = object()
REFUSED = [
    (("v",), 2),
    (("v",), _REMOVED),
    (("rig_id",), "rig-1\n"),
    (("stream",), "a/b"),
    (("records",), []),
    (("records", 0, "kind"), "other"),
    (("records", 0, "seq"), -1),
    (("records", 0, "seq"), 2**63),
    (("records", 0, "t_wall_ns"), 2**70),
    (("records", 0, "session_id"), "not an id"),
    (("records", 0, "channel"), ""),
    (("records", 0, "channel"), "c" * 129),
    (("records", 0, "source"), "telepathy"),
    (("records", 0, "payload", "raw_hex"), "0a\n"),
    (("records", 0, "payload", "raw_hex"), "0"),
    (("records", 0, "payload", "raw_hex"), _REMOVED),
    (("records", 0, "payload", "bbox"), [1, 2, 0, 4]),
    (("records", 0, "payload", "bbox"), [1, 2, 3]),
    (("records", 0, "payload", "confidence"), 1.5),
    (("records", 0, "payload", "frame"), -1),
    (("records", 0, "payload", "track_id"), ""),
    (("records", 0, "payload", "track_id"), "t" * 65),
    (("records", 0, "payload", "track_id"), True),
    (("records", 0, "payload", "vru_type"), "horse"),
    (("records", 1, "latency_ms"), 2.0),
    (("records", 1, "stimulus_t_mono_ns"), _REMOVED),
]


@pytest.mark.parametrize(("path", "value"), REFUSED, ids=[str(p) for p, _ in REFUSED])
def test_what_pydantic_refuses_is_left_to_pydantic_and_refused_with_its_message(
    path: tuple[Any, ...], value: Any
) -> None:
    payload = _changed(path, value)
    assert decode_fast_batch(payload) is None
    decoded = decode_message(TOPICS, TOPICS.records("rig-1"), payload)
    assert decoded.batch is None and decoded.refusal is not None
    with pytest.raises(ProtocolError) as refused:
        decode_batch(payload)
    assert decoded.refusal.detail == str(refused.value)


def test_what_pydantic_takes_and_the_fast_way_does_not_is_stored_the_pydantic_way() -> None:
    payload = _changed(("records", 0, "seq"), "7")  # a number as text: pydantic's lax mode
    assert decode_fast_batch(payload) is None
    decoded = decode_message(TOPICS, TOPICS.records("rig-1"), payload)
    assert isinstance(decoded.batch, RecordBatch) and decoded.batch.records[0].seq == 7


def test_a_well_formed_batch_over_the_size_limit_is_refused_as_oversized() -> None:
    batch = _batch()
    batch["records"][0]["payload"]["raw_line"] = "x" * MAX_MESSAGE_BYTES
    payload = orjson.dumps(batch)
    assert decode_fast_batch(payload) is None
    decoded = decode_message(TOPICS, TOPICS.records("rig-1"), payload)
    assert decoded.refusal is not None
    assert decoded.refusal.reason is DeadLetterReason.OVERSIZED
