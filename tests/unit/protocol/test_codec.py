import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import (
    MAX_MESSAGE_BYTES,
    CommandReply,
    DetectionRecord,
    LatencyRecord,
    MalformedMessage,
    PingCommand,
    RecordBatch,
    ReplayCommand,
    RigState,
    RigStatus,
    SessionResults,
    StartCommand,
    StopCommand,
    StreamAck,
    SyncRecord,
    UnsupportedVersion,
    assemble_batch,
    decode,
    decode_ack,
    decode_batch,
    decode_command,
    decode_record,
    decode_status,
    encode,
    encode_record,
)

ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,20}", fullmatch=True)
ns = st.integers(min_value=0, max_value=2**63 - 1)
finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9)
positive = st.floats(min_value=0.5, max_value=1e4, allow_nan=False)

payloads = st.fixed_dictionaries(
    {"raw_hex": st.binary(max_size=16).map(bytes.hex)},
    optional={
        "vru_type": st.sampled_from(
            ["pedestrian", "cyclist", "motorcyclist", "wheelchair_user", "scooter_rider"]
        ),
        "bbox": st.tuples(finite, finite, positive, positive).map(list),
        "confidence": st.floats(min_value=0, max_value=1),
        "frame": st.integers(min_value=0, max_value=10**7),
    },
)

common = {
    "seq": st.integers(min_value=0, max_value=2**63 - 1),
    "session_id": st.none() | ids,
    "channel": ids,
    "source": st.sampled_from(["gpio", "can", "serial", "network", "simulated"]),
    "t_mono_ns": ns,
    "t_wall_ns": ns,
    "clock": st.sampled_from(["kernel_monotonic", "kernel_realtime", "user_monotonic"]),
    "t_video_ms": st.none() | finite,
}

detections = st.builds(DetectionRecord, payload=payloads, **common)
syncs = st.builds(SyncRecord, **common)


@st.composite
def latencies(draw: st.DrawFn) -> LatencyRecord:
    stimulus = draw(st.integers(min_value=0, max_value=2**62))
    detected = stimulus + draw(st.integers(min_value=0, max_value=10**12))
    fields = {k: draw(v) for k, v in common.items() if k != "t_mono_ns"}
    return LatencyRecord(
        t_mono_ns=detected,
        stimulus_t_mono_ns=stimulus,
        latency_ms=(detected - stimulus) / 1e6,
        payload=draw(payloads),
        **fields,
    )


records = detections | syncs | latencies()


@given(rig_id=ids, stream=ids, batch=st.lists(records, min_size=1, max_size=20))
def test_record_batches_survive_a_round_trip(rig_id: str, stream: str, batch: list) -> None:
    original = RecordBatch(rig_id=rig_id, stream=stream, records=batch)
    assert decode_batch(encode(original)) == original


@given(rig_id=ids, stream=ids, batch=st.lists(records, min_size=1, max_size=20))
def test_assembled_batches_equal_encoded_batches(rig_id: str, stream: str, batch: list) -> None:
    assembled = assemble_batch(rig_id, stream, [encode_record(r) for r in batch])
    assert orjson.loads(assembled) == orjson.loads(
        encode(RecordBatch(rig_id=rig_id, stream=stream, records=batch))
    )


@given(record=records)
def test_single_records_round_trip_as_spooled(record: DetectionRecord) -> None:
    assert decode_record(encode_record(record)) == record


@given(
    command=st.one_of(
        st.builds(
            StartCommand,
            command_id=ids,
            session_id=ids,
            channels=st.none() | st.lists(ids, max_size=4),
            duration_s=st.none() | positive,
            sync_channel=st.none() | ids,
        ),
        st.builds(StopCommand, command_id=ids, session_id=st.none() | ids),
        st.builds(PingCommand, command_id=ids),
        st.builds(
            lambda command_id, stream, first, span: ReplayCommand(
                command_id=command_id, stream=stream, from_seq=first, to_seq=first + span
            ),
            ids,
            ids,
            st.integers(0, 2**40),
            st.integers(0, 10_000),
        ),
    )
)
def test_commands_round_trip_to_their_own_type(command: StartCommand) -> None:
    decoded = decode_command(encode(command))
    assert type(decoded) is type(command)
    assert decoded == command


def test_status_replies_and_results_round_trip() -> None:
    status = RigStatus(rig_id="r1", state=RigState.ONLINE, spool_depth=3, clock_offset_ns=-5)
    assert decode_status(encode(status)) == status
    reply = CommandReply(command_id="c1", ok=False, error="unknown channel 'x'")
    assert decode(encode(reply), CommandReply) == reply
    results = SessionResults(
        session_id="s1",
        status="completed",
        passed=False,
        failed_criteria=["accuracy 0.5 < 0.9"],
        metrics={"truePositives": 3},
    )
    assert decode(encode(results), SessionResults) == results


def test_acks_round_trip_and_a_replay_range_must_not_run_backwards() -> None:
    ack = StreamAck(rig_id="r1", stream="s1", committed_seq=1499)
    assert decode_ack(encode(ack)) == ack
    with pytest.raises(MalformedMessage, match="before from_seq"):
        decode_command(
            b'{"v":1,"command":"replay","command_id":"c","stream":"s","from_seq":9,"to_seq":3}'
        )


def test_a_status_without_the_ack_fields_is_what_an_older_rig_sends() -> None:
    status = decode_status(b'{"v": 1, "rig_id": "r1", "state": "online", "spool_depth": 4}')
    assert status.last_seq is None and status.acked_seq is None and status.evicted_records == 0


def test_the_last_will_needs_only_rig_and_state() -> None:
    status = decode_status(b'{"v": 1, "rig_id": "r1", "state": "offline"}')
    assert status.state is RigState.OFFLINE
    assert status.channels == {}


def _batch(**record_overrides: object) -> bytes:
    record = {
        "seq": 0,
        "kind": "detection",
        "channel": "c",
        "source": "gpio",
        "t_mono_ns": 1,
        "t_wall_ns": 1,
        "clock": "kernel_monotonic",
        "payload": {"raw_hex": "01"},
    }
    record.update(record_overrides)
    return orjson.dumps({"v": 1, "rig_id": "r1", "stream": "s1", "records": [record]})


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (_batch(seq=-1), "records.0.detection.seq"),
        (_batch(t_mono_ns="soon"), "records.0.detection.t_mono_ns"),
        (_batch(seq=2**63), "records.0.detection.seq"),  # past what a database column holds
        (
            _batch(t_wall_ns=1.9e19),
            "records.0.detection.t_wall_ns",
        ),  # past 2**64 orjson reads a float
        (_batch(kind="telepathy"), "records.0"),
        (_batch(source="pigeon"), "records.0.detection.source"),
        (_batch(payload={"vru_type": "pedestrian"}), "records.0.detection.payload"),
        (_batch(payload={"raw_hex": "zz"}), "records.0.detection.payload.raw_hex"),
        (_batch(payload={"raw_hex": "", "bbox": [0, 0, 0, 5]}), "records.0.detection.payload"),
        (b'{"v": 1, "rig_id": "r1", "stream": "s1", "records": []}', "records"),
        (b'{"v": 1, "rig_id": "a/b", "stream": "s1", "records": []}', "rig_id"),
        (b'{"rig_id": "r1"}', "v"),
    ],
)
def test_malformed_batches_name_the_field_at_fault(data: bytes, field: str) -> None:
    with pytest.raises(MalformedMessage) as caught:
        decode_batch(data)
    assert caught.value.field == field
    assert field in str(caught.value)


@pytest.mark.parametrize("data", [b"", b"not json", b"[1, 2]", b'"text"', b"\xff\xfe"])
def test_payloads_that_are_not_json_objects_are_malformed(data: bytes) -> None:
    with pytest.raises(MalformedMessage):
        decode_batch(data)


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity"])
def test_numbers_that_json_has_not_are_malformed(number: bytes) -> None:
    with pytest.raises(MalformedMessage, match="not valid JSON"):
        decode_batch(_batch(t_video_ms=1.5).replace(b"1.5", number))


@pytest.mark.parametrize("version", [0, 2, "1", None])
def test_other_wire_versions_are_refused(version: object) -> None:
    with pytest.raises(UnsupportedVersion) as caught:
        decode_batch(orjson.dumps({"v": version, "rig_id": "r1"}))
    assert caught.value.version == version


def test_oversized_payloads_are_refused_before_parsing() -> None:
    with pytest.raises(MalformedMessage, match="exceeds"):
        decode_batch(b" " * (MAX_MESSAGE_BYTES + 1))


def test_latency_must_agree_with_its_stamps() -> None:
    with pytest.raises(ValueError, match="disagrees"):
        LatencyRecord(
            seq=0,
            channel="c",
            source="gpio",
            t_mono_ns=3_000_000,
            t_wall_ns=0,
            clock="kernel_monotonic",
            payload={"raw_hex": ""},
            stimulus_t_mono_ns=1_000_000,
            latency_ms=5.0,
        )


def test_fields_from_newer_peers_are_ignored() -> None:
    batch = orjson.loads(_batch())
    batch["compression"] = "none"
    batch["records"][0]["humidity"] = 40
    assert decode_batch(orjson.dumps(batch)).records[0].seq == 0
