"""Malformed payloads made by hypothesis, published on rig topics through the real broker: every
one becomes a dead letter, none is stored as data, and ingest goes on."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from central.ingest._decode import decode_message
from protocol import Topics

Rig = Any  # the FakeRig of conftest.py
BIGINT = 2**63 - 1

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _dumps(value: Any) -> bytes:
    """The stdlib encoder: it writes integers of any size (and NaN, which is not JSON)."""
    return json.dumps(value).encode()


def _valid_batch(rig_id: str) -> dict[str, Any]:
    record = {
        "seq": 1,
        "session_id": None,
        "kind": "detection",
        "channel": "det",
        "source": "simulated",
        "t_mono_ns": 5,
        "t_wall_ns": 6,
        "clock": "user_monotonic",
        "t_video_ms": None,
        "payload": {"raw_hex": "0a", "vru_type": "cyclist", "bbox": [1, 2, 3, 4]},
    }
    return {"v": 1, "rig_id": rig_id, "stream": "fuzz", "records": [record]}


@st.composite
def mutated_batches(draw: st.DrawFn) -> bytes:
    """A valid batch with one field, at any depth, replaced, removed or made huge."""
    batch = _valid_batch("rig-1")
    node: Any = batch
    path = draw(st.sampled_from([(), ("records", 0), ("records", 0, "payload")]))
    for key in path:
        node = node[key]
    key = draw(st.sampled_from(sorted(node)))
    action = draw(st.sampled_from(["replace", "remove", "huge"]))
    if action == "remove":
        del node[key]
    elif action == "huge":
        node[key] = draw(st.integers(min_value=BIGINT + 1, max_value=2**70))
    else:
        node[key] = draw(json_values)
    return _dumps(batch)


payloads = st.one_of(
    st.binary(max_size=512),
    json_values.filter(lambda value: not isinstance(value, dict)).map(_dumps),
    st.dictionaries(st.text(max_size=8), json_values, max_size=5).map(_dumps),
    mutated_batches(),
)


def _storable(topics: Topics, topic: str, payload: bytes) -> bool:
    """Would this be stored as data? Then it is no malformed payload; hypothesis draws again.

    Decoding decides: an integer field past 64 bits is refused there, while a huge number where
    the protocol takes a float (``t_video_ms``) or free-form ``fields`` is data."""
    decoded = decode_message(topics, topic, payload)
    return decoded.refusal is None and (
        decoded.batch is not None or decoded.status is not None or decoded.reply is not None
    )


def test_every_malformed_payload_on_a_rig_topic_is_dead_lettered(
    client: TestClient, rig: Rig, wait_until: Callable[..., Any]
) -> None:
    ingestor = client.app.state.ingestor
    rig.status()
    wait_until(lambda: ingestor.stats.status_updates >= 1, what="the rig known")
    topics = rig.topics
    sent: list[tuple[str, bytes]] = []

    @settings(
        max_examples=150,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(kind=st.sampled_from(["records", "status", "replies"]), payload=payloads)
    def publish(kind: str, payload: bytes) -> None:
        topic = getattr(topics, kind)("rig-1")
        assume(payload and not _storable(topics, topic, payload))
        rig.publish(topic, payload)
        sent.append((topic, payload))

    before_messages = ingestor.stats.messages
    before_dead = sum(ingestor.stats.dead_letters.values())
    stored = ingestor.stats.records_stored
    publish()
    assert len(sent) >= 50, "hypothesis made too few malformed payloads to mean anything"
    wait_until(
        lambda: ingestor.stats.messages >= before_messages + len(sent),
        timeout=30,
        what="every fuzzed message handled",
    )
    assert sum(ingestor.stats.dead_letters.values()) - before_dead == len(sent)
    assert ingestor.stats.records_stored == stored, "nothing malformed is stored as data"
    rig.records(range(3))  # ingest still works
    wait_until(lambda: ingestor.stats.records_stored == stored + 3, what="records after the fuzz")
