"""The rig agent as a real process against a real broker: nothing lost, nothing doubled."""

from __future__ import annotations

import signal
import sqlite3
from typing import Any

import pytest

from protocol import RigState

pytestmark = pytest.mark.network


def detections(count: int, rate_hz: float = 2_000, name: str = "det") -> dict[str, Any]:
    return {"name": name, "source": "simulated", "rate_hz": rate_hz, "count": count}


def consecutive(seqs: list[int]) -> bool:
    return sorted(set(seqs)) == list(range(min(seqs), max(seqs) + 1))


def committed_in_spool(path: Any) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT value FROM meta WHERE key = 'next_seq'").fetchone()[0])


def test_n_signals_in_n_records_out_with_consecutive_seq(rig: Any) -> None:
    n = 600
    rig.configure([detections(n)])
    subscriber = rig.subscribe()
    agent = rig.agent()
    rig.wait_for(lambda: len(subscriber.received.records) >= n, 15, f"{n} records")
    records = list(subscriber.received.records)
    assert [r["seq"] for r in records] == list(range(n))
    assert {r["stream"] for r in records} == {records[0]["stream"]}
    assert [r["payload"]["raw_line"] for r in records] == [str(i) for i in range(n)]
    assert all(r["session_id"] is None and r["kind"] == "detection" for r in records)
    stamps = [r["t_mono_ns"] for r in records]
    assert stamps == sorted(stamps)
    rig.wait_for(
        lambda: any(
            s.spool_depth == 0 and s.channels["det"].count == n
            for s in subscriber.received.statuses
        ),
        5,
        "a status with the spool drained",
    )
    agent.signal(signal.SIGTERM)
    assert agent.wait() == 0, agent.log()
    assert len(subscriber.received.records) == n, "nothing sent twice"
    final = subscriber.received.statuses[-1]
    assert final.state is RigState.OFFLINE and final.spool_depth == 0


def test_sigterm_flushes_every_captured_record_and_exits_zero(rig: Any) -> None:
    rig.configure([detections(1_000_000, rate_hz=5_000)])
    subscriber = rig.subscribe()
    agent = rig.agent()
    rig.wait_for(lambda: len(subscriber.received.records) >= 100, 15, "the first records")
    agent.signal(signal.SIGTERM)
    assert agent.wait() == 0, agent.log()
    rig.wait_for(lambda: subscriber.received.statuses[-1].state is RigState.OFFLINE, 5, "offline")
    final = subscriber.received.statuses[-1]
    captured = final.channels["det"].count
    assert final.spool_depth == 0 and final.channels["det"].drops == 0
    assert sorted(subscriber.received.seqs()) == list(range(captured))
    assert committed_in_spool(rig.spool) == captured


def test_commands_start_ping_stop_are_answered_and_shape_the_records(rig: Any) -> None:
    rig.configure(
        [
            detections(1_000_000, rate_hz=200),
            {"name": "photo", "role": "sync", "source": "simulated"},
        ]
    )
    subscriber = rig.subscribe()
    rig.agent()
    rig.wait_for(lambda: len(subscriber.received.records) >= 5, 15, "records before the session")

    subscriber.send_command(
        command="start", command_id="c-start", session_id="sess-1", channels=["det"]
    )
    start = subscriber.reply("c-start")
    assert start.ok and start.session_id == "sess-1" and start.rig_id == rig.rig_id
    assert start.sync_mono_ns is not None

    subscriber.send_command(command="ping", command_id="c-ping")
    ping = subscriber.reply("c-ping")
    assert ping.ok and ping.session_id == "sess-1"

    def in_session() -> list[dict[str, Any]]:
        return [r for r in list(subscriber.received.records) if r["session_id"] == "sess-1"]

    rig.wait_for(lambda: len(in_session()) >= 20, 10, "records inside the session")
    subscriber.send_command(command="stop", command_id="c-stop", session_id="sess-1")
    assert subscriber.reply("c-stop").ok

    subscriber.send_command(
        command="start", command_id="c-bad", session_id="sess-2", channels=["nope"]
    )
    bad = subscriber.reply("c-bad")
    assert not bad.ok and bad.error == "unknown channels: nope"

    count_at_stop = len(subscriber.received.records)
    rig.wait_for(
        lambda: len(subscriber.received.records) >= count_at_stop + 20, 10, "records after stop"
    )
    records = list(subscriber.received.records)
    sync = [r for r in records if r["kind"] == "sync"]
    assert len(sync) == 1 and sync[0]["session_id"] == "sess-1" and sync[0]["t_video_ms"] == 0.0
    assert sync[0]["t_mono_ns"] == start.sync_mono_ns
    session = [r for r in in_session() if r["kind"] == "detection"]
    for record in session:
        expected = (record["t_mono_ns"] - start.sync_mono_ns) / 1e6
        assert record["t_video_ms"] == pytest.approx(expected)
    between = [
        r
        for r in records
        if r["kind"] == "detection"
        and start.sync_mono_ns <= r["t_mono_ns"] <= session[-1]["t_mono_ns"]
    ]
    assert all(r["session_id"] == "sess-1" for r in between), "stamped after start: in the session"
    first_in, last_in = records.index(session[0]), records.index(session[-1])
    assert all(r["session_id"] is None for r in records[:first_in] if r["kind"] == "detection")
    assert all(r["session_id"] is None for r in records[last_in + 1 :])
    assert all(r["session_id"] == "sess-1" for r in records[first_in : last_in + 1])
    assert consecutive([r["seq"] for r in records]) and min(r["seq"] for r in records) == 0
    assert any(
        s.session_id == "sess-1" and s.channels["det"].armed for s in subscriber.received.statuses
    )


def test_full_spool_alarms_on_status_and_counts_what_it_refused(rig: Any) -> None:
    n = 2_000
    rig.configure(
        [detections(n, rate_hz=50_000)],
        spool_extra={"max_mb": 0.004},
        mqtt_extra={"batch_linger_ms": 300},
    )
    subscriber = rig.subscribe()
    agent = rig.agent()
    rig.wait_for(
        lambda: any(s.spool_full and s.refused_records > 0 for s in subscriber.received.statuses),
        15,
        "the spool-full alarm on the status topic",
    )
    rig.wait_for(
        lambda: any(
            s.channels["det"].count + s.channels["det"].drops == n and s.spool_depth == 0
            for s in subscriber.received.statuses
        ),
        10,
        "every signal accounted for",
    )
    agent.signal(signal.SIGTERM)
    assert agent.wait() == 0
    final = subscriber.received.statuses[-1]
    refused = final.refused_records
    assert refused > 0 and final.channels["det"].drops == refused
    assert len(subscriber.received.records) == final.channels["det"].count == n - refused
    assert consecutive(subscriber.received.seqs()), "refused captures take no seq: no gap"
    assert "spool full" in agent.log() and "refusing new records" in agent.log()


def test_sync_channel_duration_and_latency_pairing_over_the_wire(rig: Any) -> None:
    """The demo's path: a scripted rig with sync and stimulus channels, a timed session."""
    rig.configure(
        [
            {"name": "sync", "role": "sync", "source": "simulated"},
            {"name": "marker", "role": "stimulus", "source": "simulated"},
            {
                "name": "det",
                "source": "simulated",
                "sync_channel": "sync",
                "stimulus_channel": "marker",
                "repeat": 0,
                "period_ms": 200,
            },
        ]
    )
    # Steps go in as TOML sub-tables after the channel that owns them.
    with rig.config_path.open("a") as config:
        config.write(
            "\n[[channels.steps]]\nat_ms = 50\nlatency_ms = 20\nvru_type = 'cyclist'\n"
            "bbox = [1.0, 2.0, 30.0, 40.0]\nconfidence = 0.8\nframe = 3\n"
            "\n[[channels.steps]]\nat_ms = 120\ndetect = false\n"
        )
    subscriber = rig.subscribe()
    rig.agent()
    rig.wait_for(lambda: len(subscriber.received.records) >= 3, 15, "the script playing")
    subscriber.send_command(
        command="start", command_id="c1", session_id="demo-1", sync_channel="sync", duration_s=1.0
    )
    start = subscriber.reply("c1")
    assert start.ok and start.sync_mono_ns is None, "video time zero is still to come"
    rig.wait_for(
        lambda: (
            any(
                s.session_id is None and s.channels["det"].count > 0
                for s in subscriber.received.statuses[-2:]
            )
            and any(s.session_id == "demo-1" for s in subscriber.received.statuses)
        ),
        10,
        "the session to end by itself after its duration",
    )
    records = list(subscriber.received.records)
    in_session = [r for r in records if r["session_id"] == "demo-1"]
    syncs = [r for r in in_session if r["kind"] == "sync"]
    assert syncs and syncs[0]["channel"] == "sync" and syncs[0]["t_video_ms"] == 0.0
    sync_ns = syncs[0]["t_mono_ns"]
    detections = [r for r in in_session if r["kind"] == "detection" and r["channel"] == "det"]
    latencies = [r for r in in_session if r["kind"] == "latency"]
    assert 3 <= len(detections) <= 6, "about five 200 ms periods in one second"
    for record in detections + latencies:
        assert record["t_video_ms"] == pytest.approx((record["t_mono_ns"] - sync_ns) / 1e6)
    assert all(
        r["payload"]["vru_type"] == "cyclist" and r["payload"]["frame"] == 3 for r in detections
    )
    stimuli = [r for r in in_session if r["channel"] == "marker"]
    assert len(stimuli) >= 2 * len(detections) - 2, "each period has two stimuli, one miss"
    assert all(r["payload"]["fields"]["role"] == "stimulus" for r in stimuli)
    assert len(latencies) == len(detections)
    for latency in latencies:
        assert latency["stimulus_channel"] == "marker"
        assert latency["latency_ms"] == pytest.approx(20.0), "the scripted 20 ms, exactly"
        assert latency["latency_ms"] == pytest.approx(
            (latency["t_mono_ns"] - latency["stimulus_t_mono_ns"]) / 1e6
        )
    first = min(r["t_mono_ns"] for r in in_session)
    assert max(r["t_mono_ns"] for r in in_session) - first < 1.1e9
    later = [r for r in records if r["t_mono_ns"] > first + 1.2e9]
    assert all(r["session_id"] is None for r in later)
