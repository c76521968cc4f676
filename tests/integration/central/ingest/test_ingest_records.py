"""Records published by a rig end up stored exactly once, mapped to their test session, with seq
gaps counted as loss; status messages keep the rigs table current."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import paho.mqtt.client as paho
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select

from central.auth import Role
from central.db.models import DetectionEvent, LatencyMeasurement
from protocol import RigStatus, encode

Rig = Any  # the FakeRig of conftest.py
Wait = Callable[..., Any]


def test_redelivered_and_overlapping_batches_are_stored_once(
    client: TestClient,
    rig: Rig,
    count_rows: Callable[..., int],
    auth_headers: dict[Role, dict[str, str]],
    wait_until: Wait,
) -> None:
    rig.status(spool_depth=0)
    rig.records(range(100))
    rig.records(range(100))  # a QoS 1 redelivery, or a replay from the rig's spool
    rig.records(range(50, 150))

    wait_until(lambda: client.app.state.ingestor.stats.messages >= 4, what="four messages")
    assert count_rows(DetectionEvent) == 150
    with client.app.state.session_factory() as session:
        seqs = sorted(session.scalars(select(DetectionEvent.seq)))
    assert seqs == list(range(150))
    assert client.app.state.ingestor.stats.duplicates == 150
    body = client.get("/api/rigs/rig-1", headers=auth_headers[Role.VIEWER]).json()
    assert body["received"] == 150 and body["lost"] == 0


def test_gaps_in_seq_are_measured_loss_until_the_records_arrive(
    client: TestClient, rig: Rig, auth_headers: dict[Role, dict[str, str]], wait_until: Wait
) -> None:
    rig.status()
    rig.records(range(10))
    rig.records(range(15, 20))
    rig.records(range(5), stream="s-2")
    viewer = auth_headers[Role.VIEWER]

    def rig_view() -> dict[str, Any]:
        response = client.get("/api/rigs/rig-1", headers=viewer)
        return dict(response.json()) if response.status_code == 200 else {}

    wait_until(lambda: rig_view().get("received") == 20, what="20 records")
    view = rig_view()
    streams = {s["stream"]: s for s in view["streams"]}
    assert streams["s-1"] == {
        "stream": "s-1",
        "firstSeq": 0,
        "lastSeq": 19,
        "received": 15,
        "lost": 5,
    }
    assert streams["s-2"]["lost"] == 0
    assert view["lost"] == 5

    rig.records(range(10, 15))  # replayed from the rig's spool after a reconnect

    wait_until(lambda: rig_view().get("received") == 25, what="the late records")
    assert rig_view()["lost"] == 0


def test_records_join_their_test_session_and_latency_records_are_measured(
    client: TestClient,
    rig: Rig,
    count_rows: Callable[..., int],
    make_test_session: Callable[..., dict[str, Any]],
    wait_until: Wait,
) -> None:
    session_id = make_test_session()["id"]
    rig.status()
    rig.records(range(3), session_id=session_id)
    rig.records(range(3, 5), session_id=session_id, kind="latency")
    rig.records(range(5, 6), session_id=session_id, kind="sync")
    rig.records(range(6, 8), session_id="no-such-session")

    wait_until(lambda: count_rows(DetectionEvent) == 8, what="8 records")
    with client.app.state.session_factory() as session:
        rows = {e.seq: e for e in session.scalars(select(DetectionEvent))}
        latencies = list(session.scalars(select(LatencyMeasurement)))
    assert {seq for seq, e in rows.items() if e.test_session_id == session_id} == set(range(6))
    assert rows[6].test_session_id is None and rows[7].test_session_id is None
    assert rows[0].vru_type == "pedestrian" and rows[0].bbox == [10, 20, 30, 40]
    assert rows[5].kind == "sync"
    assert rows[3].payload["latency_ms"] == 42.0
    assert sorted(m.detection_event_id for m in latencies) == sorted([rows[3].id, rows[4].id])
    assert all(m.latency_ms == 42.0 and m.within_tolerance for m in latencies)
    # The counters follow the commit (the rows are visible a moment before they are counted).
    ingestor = client.app.state.ingestor
    wait_until(lambda: ingestor.stats.records_stored == 8, what="the records counted")
    assert ingestor.stats.records_of_unknown_sessions == 2


def test_status_keeps_the_rigs_table_current(
    client: TestClient, rig: Rig, auth_headers: dict[Role, dict[str, str]], wait_until: Wait
) -> None:
    viewer = auth_headers[Role.VIEWER]
    rig.status(spool_depth=7, version="1.2.3")

    rigs = wait_until(lambda: client.get("/api/rigs", headers=viewer).json(), what="a rig")
    assert [r["id"] for r in rigs] == ["rig-1"]
    assert rigs[0]["state"] == "online"
    assert rigs[0]["spoolDepth"] == 7 and rigs[0]["version"] == "1.2.3"
    seen = rigs[0]["lastSeenAt"]
    assert seen is not None

    rig.status(state="offline")  # what the rig's last will says

    def state() -> str:
        return str(client.get("/api/rigs/rig-1", headers=viewer).json().get("state"))

    wait_until(lambda: state() == "offline", what="offline")
    offline = client.get("/api/rigs/rig-1", headers=viewer).json()
    assert offline["spoolDepth"] == 7, "a status without spool_depth keeps the last known one"
    assert offline["lastSeenAt"] == seen, "an offline notice is not a sign of life"
    assert client.get("/api/rigs/rig-2", headers=viewer).status_code == 404
    assert client.get("/api/rigs").status_code == 401


def test_a_rig_that_vanishes_goes_offline_through_its_last_will(
    client: TestClient,
    rig: Rig,
    mqtt_broker: Any,
    topic_prefix: str,
    auth_headers: dict[Role, dict[str, str]],
    wait_until: Wait,
) -> None:
    status_topic = rig.topics.status("rig-9")
    mortal = paho.Client(
        callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"{topic_prefix}-rig-9"
    )
    mortal.will_set(status_topic, encode(RigStatus(rig_id="rig-9", state="offline")), qos=1)
    mortal.connect(mqtt_broker.host, mqtt_broker.port)
    mortal.loop_start()
    online = encode(RigStatus(rig_id="rig-9", state="online"))
    mortal.publish(status_topic, online, qos=1).wait_for_publish(5)
    viewer = auth_headers[Role.VIEWER]

    def state() -> str | None:
        response = client.get("/api/rigs/rig-9", headers=viewer)
        return response.json()["state"] if response.status_code == 200 else None

    wait_until(lambda: state() == "online", what="online")
    mortal.loop_stop()
    mortal.socket().close()  # the rig dies without a DISCONNECT: the broker sends its will

    wait_until(lambda: state() == "offline", what="the last will")


def test_records_the_rig_spooled_that_never_arrived_count_as_lost(
    client: TestClient, rig: Rig, auth_headers: dict[Role, dict[str, str]], wait_until: Wait
) -> None:
    """A gap at the tail has nothing after it: only the rig's status tells central of it."""
    viewer = auth_headers[Role.VIEWER]
    rig.status(stream="s-1", last_seq=9)
    rig.records(range(10))
    wait_until(
        lambda: client.get("/api/rigs/rig-1", headers=viewer).json().get("received") == 10,
        what="10 records",
    )
    assert client.get("/api/rigs/rig-1", headers=viewer).json()["lost"] == 0

    rig.status(stream="s-1", last_seq=1499)  # 1,490 records the broker lost on the way

    wait_until(
        lambda: client.get("/api/rigs/rig-1", headers=viewer).json()["lost"] == 1490,
        what="the tail counted as lost",
    )
    view = client.get("/api/rigs/rig-1", headers=viewer).json()
    assert view["streams"][0]["lost"] == 1490 and view["received"] == 10


def test_a_stream_none_of_whose_records_arrived_is_lost_whole(
    client: TestClient, rig: Rig, auth_headers: dict[Role, dict[str, str]], wait_until: Wait
) -> None:
    """The broker lost everything the rig sent: central has no row of the stream, only the rig's
    status saying it spooled 0..499. That is 500 lost records, not a rig with nothing to say."""
    viewer = auth_headers[Role.VIEWER]
    rig.status(stream="s-1", last_seq=499)

    wait_until(
        lambda: client.get("/api/rigs/rig-1", headers=viewer).json().get("lost") == 500,
        what="the whole stream counted as lost",
    )
    view = client.get("/api/rigs/rig-1", headers=viewer).json()
    assert view["received"] == 0
    assert view["streams"] == [
        {"stream": "s-1", "firstSeq": None, "lastSeq": None, "received": 0, "lost": 500}
    ]


def test_central_confirms_the_contiguous_records_on_the_rig_s_retained_acks_topic(
    client: TestClient, rig: Rig, mqtt_broker: Any, wait_until: Wait
) -> None:
    from protocol import decode_ack

    acks: list[Any] = []
    follower = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    follower.on_message = lambda _c, _u, message: acks.append(decode_ack(message.payload))
    follower.connect(mqtt_broker.host, mqtt_broker.port)
    follower.subscribe(rig.topics.acks(rig.rig_id), qos=1)
    follower.loop_start()
    try:
        rig.status()
        rig.records(range(10))
        rig.records(range(15, 20))  # 10..14 missing: the watermark stays at 9
        wait_until(lambda: client.app.state.ingestor.stats.records_stored == 15, what="records")
        wait_until(lambda: bool(acks) and acks[-1].committed_seq == 9, what="the ack of 0..9")
        rig.records(range(10, 15))
        wait_until(lambda: acks[-1].committed_seq == 19, what="the ack once the gap is filled")
        assert {(a.rig_id, a.stream) for a in acks} == {("rig-1", "s-1")}
    finally:
        follower.loop_stop()
        follower.disconnect()
        publisher = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        publisher.connect(mqtt_broker.host, mqtt_broker.port)
        publisher.loop_start()
        publisher.publish(rig.topics.acks(rig.rig_id), b"", qos=1, retain=True).wait_for_publish(5)
        publisher.loop_stop()
        publisher.disconnect()


def test_a_rig_that_never_states_its_seqs_is_never_asked_to_replay(
    client: TestClient, rig: Rig, mqtt_broker: Any, wait_until: Wait
) -> None:
    """An older agent cannot replay: a gap in its stream stays measured loss, no commands."""
    import time

    commands: list[bytes] = []
    follower = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    follower.on_message = lambda _c, _u, message: commands.append(message.payload)
    follower.connect(mqtt_broker.host, mqtt_broker.port)
    follower.subscribe(rig.topics.commands(rig.rig_id), qos=1)
    follower.loop_start()
    try:
        rig.status()  # no stream, no last_seq: what an agent before the acks topic sends
        rig.records(range(5))
        rig.records(range(10, 15))
        wait_until(lambda: client.app.state.ingestor.stats.records_stored == 10, what="records")
        deadline = time.monotonic() + 3.0  # past the 2 s after which a newer rig is asked
        while time.monotonic() < deadline:
            rig.status()  # heartbeats, each a chance to plan a replay
            time.sleep(0.5)
        assert commands == []
    finally:
        follower.loop_stop()
        follower.disconnect()
