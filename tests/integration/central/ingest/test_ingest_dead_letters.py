"""Bad input never stops ingest: each refused message becomes a dead letter with its reason."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import text

from central.auth import Role
from central.db.models import DeadLetter, DetectionEvent
from protocol import MAX_MESSAGE_BYTES

Wait = Callable[..., Any]


def test_bad_messages_become_dead_letters_and_ingest_goes_on(
    client: TestClient,
    rig: Any,
    count_rows: Callable[..., int],
    auth_headers: dict[Role, dict[str, str]],
    wait_until: Wait,
) -> None:
    rig.status()
    records = rig.topics.records("rig-1")
    good = orjson.loads(rig.batch(range(3)))
    bad: list[tuple[str, bytes]] = [
        (records, b'{"v": 1, "rig_id": "rig-1", "stream": "s-1", "records": ['),
        (records, orjson.dumps({**good, "v": 2})),
        (records, orjson.dumps({**good, "records": [{**good["records"][0], "t_mono_ns": -1}]})),
        (records, b'{"pad": "' + b"x" * MAX_MESSAGE_BYTES + b'"}'),
        (records, rig.batch(range(3)).replace(b'"rig-1"', b'"rig-2"', 1)),
        (rig.topics.records("rig-7"), orjson.dumps({**good, "rig_id": "rig-7"})),
        (f"{rig.topics.prefix}/rigs/rig-1/telemetry", b"{}"),
    ]
    for topic, payload in bad:
        rig.publish(topic, payload)
    rig.records(range(3, 6))

    wait_until(lambda: count_rows(DeadLetter) == len(bad), what="every dead letter")
    wait_until(lambda: count_rows(DetectionEvent) == 3, what="the good batch")

    operator = auth_headers[Role.OPERATOR]
    letters = client.get("/api/dead-letters", headers=operator).json()
    assert len(letters) == len(bad)
    reasons = sorted(letter["reason"].split(":")[0] for letter in letters)
    assert reasons == sorted(
        [
            "malformed",
            "unsupported_version",
            "malformed",
            "oversized",
            "rig_mismatch",
            "unknown_rig",
            "unknown_topic",
        ]
    )
    by_reason = {letter["reason"].split(":")[0]: letter for letter in letters}
    assert any(  # the reason names the offending field
        letter["reason"].startswith("malformed: records.0.") and "t_mono_ns" in letter["reason"]
        for letter in letters
    )
    oversized = by_reason["oversized"]
    assert oversized["payloadSize"] > MAX_MESSAGE_BYTES
    assert oversized["topic"] == records
    assert by_reason["rig_mismatch"]["rigId"] == "rig-1"
    assert by_reason["unknown_rig"]["rigId"] == "rig-7"

    counts = client.get("/api/dead-letters/counts", headers=operator).json()
    assert counts == {
        "malformed": 2,
        "unsupported_version": 1,
        "oversized": 1,
        "rig_mismatch": 1,
        "unknown_rig": 1,
        "unknown_topic": 1,
    }
    ingestor = client.app.state.ingestor  # its counters follow the commit by a moment
    wait_until(lambda: ingestor.stats.dead_letters == counts, what="the dead letters counted")
    page = client.get("/api/dead-letters?limit=2&offset=0", headers=operator)
    assert len(page.json()) == 2 and page.headers["X-Total-Count"] == str(len(bad))
    only_rig_7 = client.get("/api/dead-letters?rigId=rig-7", headers=operator).json()
    assert [letter["rigId"] for letter in only_rig_7] == ["rig-7"]
    assert client.get("/api/dead-letters", headers=auth_headers[Role.VIEWER]).status_code == 403


_REFUSING_TRIGGER = {
    "sqlite": [
        (
            "CREATE TRIGGER refuse_channel BEFORE INSERT ON detection_events "
            "WHEN NEW.channel = 'refused' BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END"
        )
    ],
    "postgresql": [
        (
            "CREATE FUNCTION refuse_channel() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.channel = 'refused' THEN RAISE EXCEPTION 'refused by a trigger'; END IF; "
            "RETURN NEW; END $$"
        ),
        (
            "CREATE TRIGGER refuse_channel BEFORE INSERT ON detection_events "
            "FOR EACH ROW EXECUTE FUNCTION refuse_channel()"
        ),
    ],
}


def test_a_record_the_database_refuses_is_kept_as_a_dead_letter(
    client: TestClient,
    rig: Any,
    count_rows: Callable[..., int],
    auth_headers: dict[Role, dict[str, str]],
    wait_until: Wait,
) -> None:
    """Valid on the wire, refused by the database (what the protocol cannot foresee: a
    constraint, a trigger, a driver limit): the batch is split, the one record kept as a dead
    letter, the others stored."""
    with client.app.state.session_factory() as session, session.begin():
        for statement in _REFUSING_TRIGGER[session.get_bind().dialect.name]:
            session.execute(text(statement))
    rig.status()
    refused = orjson.loads(rig.batch(range(10, 11)))
    refused["records"][0]["channel"] = "refused"
    rig.publish(rig.topics.records("rig-1"), orjson.dumps(refused))
    rig.records(range(5))

    wait_until(lambda: count_rows(DetectionEvent) == 5, what="the good records")
    wait_until(lambda: count_rows(DeadLetter) == 1, what="the dead letter")
    letter = client.get("/api/dead-letters", headers=auth_headers[Role.OPERATOR]).json()[0]
    assert letter["reason"].startswith("database: ") and "refused by a trigger" in letter["reason"]
    assert orjson.loads(letter["payload"]) == refused
