"""Sessions on a rig over the real broker: the start handshake, stops, results for MQTT subscribers.

Central runs with ingest on; the rig is a real MQTT client (CommandedRig) that answers commands
as the rig agent does, so each outcome of the handshake can be forced. Records reach central as
real record batches on the rig's records topic.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from central.config import CentralSettings
from central.execution.executor import ExecutionTimings
from protocol import (
    CommandReply,
    DetectionPayload,
    DetectionRecord,
    LatencyRecord,
    SyncRecord,
    assemble_batch,
    encode_record,
)
from tests.integration.central.conftest import poll_until

from .conftest import (
    SCENARIO,
    Api,
    CommandedRig,
    ResultsSubscriber,
    config_body,
)

pytestmark = pytest.mark.network

RIG_ID = "rig-exec"
SYNC_NS = 5_000_000_000
"""Video time zero of the rig in these tests, on its monotonic clock."""


@pytest.fixture
def settings(ingest_settings: CentralSettings) -> CentralSettings:
    return ingest_settings


@pytest.fixture
def rig(client: Any, api: Api, mqtt_broker: Any, topic_prefix: str) -> Iterator[CommandedRig]:
    """The rig, online (central knows rigs from their status); short timings for the tests."""
    client.app.state.executor.timings = ExecutionTimings(
        ack_timeout_s=1.0, quiet_s=0.2, max_settle_s=2.0
    )
    commanded = CommandedRig(mqtt_broker, topic_prefix, RIG_ID)
    commanded.sync_mono_ns = SYNC_NS
    commanded.status(None)
    poll_until(
        lambda: api.call("GET", f"/api/rigs/{RIG_ID}").json().get("state") == "online",
        what="central to know the rig online",
    )
    yield commanded
    commanded.close()


def _records(rig: CommandedRig, session_id: str, first_seq: int = 0) -> bytes:
    """The scenario's signals as the rig would send them: a sync record, then detections."""
    records: list[Any] = [
        SyncRecord(
            seq=first_seq,
            session_id=session_id,
            channel="command",
            source="network",
            t_mono_ns=SYNC_NS,
            t_wall_ns=time.time_ns(),
            clock="user_monotonic",
            t_video_ms=0.0,
        )
    ]
    for i, signal in enumerate(SCENARIO.signals, start=first_seq + 1):
        t_mono = SYNC_NS + int(signal.at_ms * 1e6)
        records.append(
            DetectionRecord(
                seq=i,
                session_id=session_id,
                channel="det",
                source="simulated",
                t_mono_ns=t_mono,
                t_wall_ns=time.time_ns(),
                clock="user_monotonic",
                t_video_ms=signal.at_ms,
                payload=DetectionPayload(vru_type=signal.vru_type, raw_line="det"),
            )
        )
    return assemble_batch(rig.rig_id, "stream-1", [encode_record(r) for r in records])


def judged_live(api: Api, session_id: str) -> dict[str, Any]:
    """The live score once every record of the scenario has been judged."""

    def live_score() -> dict[str, Any] | None:
        detail = api.ok("GET", f"/api/test-sessions/{session_id}/detailed-results")
        results: dict[str, Any] = detail["results"] or {}
        return results if results.get("records") == len(SCENARIO.signals) else None

    judged: dict[str, Any] = poll_until(live_score, what="the records to be judged live")
    return judged


def test_start_waits_for_the_rig_and_runs_on_its_acknowledgement(
    api: Api, rig: CommandedRig, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    session = make_scenario_session(RIG_ID)
    started = api.ok(
        "POST",
        f"/api/test-sessions/{session['id']}/start",
        json=config_body(signalType="GPIO", testDuration=30, channels=["det"]),
    )
    assert started["status"] == "running"
    assert started["syncMonoNs"] == SYNC_NS
    (command,) = rig.commands
    assert command.command == "start" and command.session_id == session["id"]
    assert command.channels == ["det"] and command.duration_s == 30
    assert command.sync_channel is None

    other = make_scenario_session(RIG_ID)
    busy = api.call("POST", f"/api/test-sessions/{other['id']}/start", json=config_body())
    assert busy.status_code == 409 and "is running" in busy.text


def test_a_rig_that_does_not_answer_fails_the_session_with_the_reason(
    api: Api, rig: CommandedRig, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    rig.answer = lambda _command: None
    session = make_scenario_session(RIG_ID)
    started = api.ok("POST", f"/api/test-sessions/{session['id']}/start", json=config_body())
    assert started["status"] == "failed"
    assert "did not answer start" in started["failureReason"]
    assert started["completedAt"] is not None


def test_a_rig_that_refuses_fails_the_session_with_its_error(
    api: Api, rig: CommandedRig, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    rig.answer = lambda command: CommandReply(
        command_id=command.command_id, ok=False, error="unknown channels: det"
    )
    session = make_scenario_session(RIG_ID)
    started = api.ok("POST", f"/api/test-sessions/{session['id']}/start", json=config_body())
    assert started["status"] == "failed"
    assert started["failureReason"] == f"rig {RIG_ID} refused to start: unknown channels: det"


def test_records_over_mqtt_are_judged_and_stop_publishes_the_results(
    api: Api,
    rig: CommandedRig,
    make_scenario_session: Callable[..., dict[str, Any]],
    results_subscriber: ResultsSubscriber,
) -> None:
    session = make_scenario_session(RIG_ID)
    api.ok("POST", f"/api/test-sessions/{session['id']}/start", json=config_body())
    rig.client.publish(rig.topics.records(RIG_ID), _records(rig, session["id"]), qos=1)

    live = judged_live(api, session["id"])
    assert (live["truePositives"], live["falsePositives"], live["repeats"]) == (4, 2, 1)

    stopped = api.ok("POST", f"/api/test-sessions/{session['id']}/stop")
    assert stopped["status"] == "stopped"
    assert [c.command for c in rig.commands] == ["start", "stop"]
    assert rig.commands[1].session_id == session["id"]
    results = stopped["results"]
    assert (results["truePositives"], results["falsePositives"], results["falseNegatives"]) == (
        4,
        2,
        1,
    )
    assert results["latency"]["maxMs"] == pytest.approx(150.0)

    published = poll_until(lambda: results_subscriber.received, what="results on MQTT")
    (message,) = published
    assert message.session_id == session["id"] and message.status == "stopped"
    assert message.passed is True and message.failed_criteria == []
    assert message.metrics["truePositives"] == 4 and message.metrics["falseNegatives"] == 1


def test_signals_dropped_during_the_run_make_the_verdict_invalid(
    api: Api, rig: CommandedRig, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    rig.status(None, drops={"gpio-edge": 2, "can-bus": 5})  # before the run: not the session's
    session = make_scenario_session(RIG_ID)
    api.ok("POST", f"/api/test-sessions/{session['id']}/start", json=config_body())
    rig.status(session["id"], drops={"gpio-edge": 2, "can-bus": 5})
    rig.status(session["id"], drops={"gpio-edge": 5, "can-bus": 5})  # 3 edges lost in the run

    def drops_seen() -> bool:
        channels = api.ok("GET", f"/api/rigs/{RIG_ID}")["lastStatus"]["channels"]
        return channels["gpio-edge"]["drops"] == 5

    poll_until(drops_seen, what="the status with the drops")
    rig.client.publish(rig.topics.records(RIG_ID), _records(rig, session["id"]), qos=1)
    judged_live(api, session["id"])
    results = api.ok("POST", f"/api/test-sessions/{session['id']}/stop")["results"]
    assert results["droppedSignals"] == {"gpio-edge": 3}
    assert results["passed"] is False
    assert (
        results["failedCriteria"][0]
        == "invalid: 3 signals dropped on channel gpio-edge during the run"
    )
    assert results["truePositives"] == 4, "the matcher's figures stay as they were"

    recomputed = api.ok("POST", f"/api/test-sessions/{session['id']}/recompute")
    assert recomputed["results"]["failedCriteria"] == results["failedCriteria"], "kept on recompute"


def test_a_rig_reporting_the_session_over_completes_it(
    api: Api, rig: CommandedRig, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    session = make_scenario_session(RIG_ID)
    api.ok("POST", f"/api/test-sessions/{session['id']}/start", json=config_body())
    rig.client.publish(rig.topics.records(RIG_ID), _records(rig, session["id"]), qos=1)
    rig.status(session["id"])
    rig.status(None)

    def finished() -> dict[str, Any] | None:
        row: dict[str, Any] = api.ok("GET", f"/api/test-sessions/{session['id']}")
        return row if row["status"] != "running" else None

    row = poll_until(finished, what="the rig's status to end the session")
    assert row["status"] == "completed"
    assert row["results"]["truePositives"] == 4
    assert [c.command for c in rig.commands] == ["start"], "the rig ended it: no stop needed"


def test_a_status_from_before_the_start_does_not_end_the_session(
    api: Api, rig: CommandedRig, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    session = make_scenario_session(RIG_ID)
    api.ok("POST", f"/api/test-sessions/{session['id']}/start", json=config_body())
    rig.status(None)
    time.sleep(0.5)
    assert api.ok("GET", f"/api/test-sessions/{session['id']}")["status"] == "running"


def test_start_refuses_a_rig_that_is_offline_or_unknown(
    api: Api, rig: CommandedRig, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    unknown = make_scenario_session("rig-nobody-knows")
    response = api.call("POST", f"/api/test-sessions/{unknown['id']}/start", json=config_body())
    assert response.status_code == 409 and "never reported" in response.text

    rig.status_offline()
    session = make_scenario_session(RIG_ID)
    poll_until(
        lambda: api.ok("GET", f"/api/rigs/{RIG_ID}")["state"] == "offline", what="rig offline"
    )
    response = api.call("POST", f"/api/test-sessions/{session['id']}/start", json=config_body())
    assert response.status_code == 409 and "is offline" in response.text
    assert api.ok("GET", f"/api/test-sessions/{session['id']}")["status"] == "pending"
    assert rig.commands == [], "no command goes to a rig that is not there"


def test_records_arriving_after_the_end_are_scored_by_a_recompute(
    api: Api,
    rig: CommandedRig,
    make_scenario_session: Callable[..., dict[str, Any]],
    results_subscriber: ResultsSubscriber,
) -> None:
    session = make_scenario_session(RIG_ID)
    api.ok("POST", f"/api/test-sessions/{session['id']}/start", json=config_body())
    rig.client.publish(rig.topics.records(RIG_ID), _records(rig, session["id"]), qos=1)
    judged_live(api, session["id"])
    stopped = api.ok("POST", f"/api/test-sessions/{session['id']}/stop")
    assert stopped["results"]["falseNegatives"] == 1

    # The rig's spool replays a detection it could not send in time: the wheelchair user, seen.
    wheelchair_onset_ms = SCENARIO.frame_time_ms(SCENARIO.track("wheel-1").first_frame)
    late = DetectionRecord(
        seq=100,
        session_id=session["id"],
        channel="det",
        source="simulated",
        t_mono_ns=SYNC_NS + int((wheelchair_onset_ms + 60) * 1e6),
        t_wall_ns=time.time_ns(),
        clock="user_monotonic",
        t_video_ms=wheelchair_onset_ms + 60,
        payload=DetectionPayload(vru_type="wheelchair_user", raw_line="late"),
    )
    batch = assemble_batch(RIG_ID, "stream-1", [encode_record(late)])
    rig.client.publish(rig.topics.records(RIG_ID), batch, qos=1)

    def rescored() -> dict[str, Any] | None:
        results: dict[str, Any] = api.ok("GET", f"/api/test-sessions/{session['id']}")["results"]
        return results if results["falseNegatives"] == 0 else None

    results = poll_until(rescored, what="the late record to be scored")
    assert (results["truePositives"], results["recordCount"]) == (5, 8)
    assert api.ok("GET", f"/api/test-sessions/{session['id']}")["status"] == "stopped"
    poll_until(
        lambda: any(m.metrics.get("truePositives") == 5 for m in results_subscriber.received),
        what="the new results on MQTT",
    )


def test_stimulus_markers_and_latency_pairs_are_not_judged_twice(
    api: Api, rig: CommandedRig, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    """A rig with a stimulus channel sends, per VRU, a stimulus marker, the detection and a
    latency record pairing them: one detection to judge, and the rig's own latency kept."""
    session = make_scenario_session(RIG_ID)
    api.ok("POST", f"/api/test-sessions/{session['id']}/start", json=config_body())
    onset_ms = SCENARIO.frame_time_ms(SCENARIO.track("ped-1").first_frame)
    stimulus_ns = SYNC_NS + int(onset_ms * 1e6)
    detection_ns = stimulus_ns + 80_000_000
    common: dict[str, Any] = {
        "session_id": session["id"],
        "source": "simulated",
        "t_wall_ns": time.time_ns(),
        "clock": "user_monotonic",
    }
    seen = DetectionPayload(vru_type="pedestrian", raw_line="ped")
    records = [
        SyncRecord(seq=0, channel="command", t_mono_ns=SYNC_NS, t_video_ms=0.0, **common),
        DetectionRecord(
            seq=1,
            channel="marker",
            t_mono_ns=stimulus_ns,
            t_video_ms=onset_ms,
            payload=DetectionPayload(raw_line="stimulus", fields={"role": "stimulus"}),
            **common,
        ),
        DetectionRecord(
            seq=2,
            channel="det",
            t_mono_ns=detection_ns,
            t_video_ms=onset_ms + 80,
            payload=seen,
            **common,
        ),
        LatencyRecord(
            seq=3,
            channel="det",
            t_mono_ns=detection_ns,
            t_video_ms=onset_ms + 80,
            payload=seen,
            stimulus_channel="marker",
            stimulus_t_mono_ns=stimulus_ns,
            latency_ms=80.0,
            **common,
        ),
    ]
    batch = assemble_batch(RIG_ID, "stream-1", [encode_record(r) for r in records])
    rig.client.publish(rig.topics.records(RIG_ID), batch, qos=1)
    poll_until(
        lambda: (
            (
                api.ok("GET", f"/api/test-sessions/{session['id']}/detailed-results")["results"]
                or {}
            ).get("records")
            == 1
        ),
        what="the detection to be judged",
    )
    results = api.ok("POST", f"/api/test-sessions/{session['id']}/stop")["results"]
    assert (results["truePositives"], results["falsePositives"], results["repeats"]) == (1, 0, 0)
    assert results["recordCount"] == 1
    metrics = api.ok("GET", f"/api/test-sessions/{session['id']}/latency-metrics")
    assert metrics["count"] == 1 and metrics["meanMs"] == pytest.approx(80.0)
    assert metrics["rigMeasured"]["count"] == 1
    assert metrics["rigMeasured"]["meanMs"] == pytest.approx(80.0)
    again = api.ok("POST", f"/api/test-sessions/{session['id']}/recompute")
    assert again["results"] == results
    metrics = api.ok("GET", f"/api/test-sessions/{session['id']}/latency-metrics")
    assert metrics["rigMeasured"]["count"] == 1, "a recompute keeps the rig's own measurements"


def test_a_session_whose_rig_went_offline_stops_without_commanding_it(
    api: Api, rig: CommandedRig, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    session = make_scenario_session(RIG_ID)
    api.ok("POST", f"/api/test-sessions/{session['id']}/start", json=config_body())
    rig.status_offline()
    poll_until(
        lambda: api.ok("GET", f"/api/rigs/{RIG_ID}")["state"] == "offline", what="rig offline"
    )
    stopped = api.ok("POST", f"/api/test-sessions/{session['id']}/stop")
    assert stopped["status"] == "stopped"
    assert stopped["results"]["falseNegatives"] == len(SCENARIO.tracks)
    assert [c.command for c in rig.commands] == ["start"]
