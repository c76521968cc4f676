"""Start, stop and ping as the rig answers them, including QoS 1 repeats and bad payloads."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from rig_agent.commands import SessionControl
from rig_agent.spool_writer import StartSession, StopSession

S = 1_000_000_000


def payload(**fields: Any) -> bytes:
    return orjson.dumps({"v": 1, **fields})


@pytest.fixture
def control() -> SessionControl:
    return SessionControl("rig-01", ["det", "photo", "marker"])


def test_start_with_defaults_arms_all_and_syncs_on_the_command(control: SessionControl) -> None:
    reply, event = control.handle(
        payload(command="start", command_id="c1", session_id="s1"), 5 * S, 77
    )
    assert reply is not None and reply.ok and reply.error is None
    assert reply.rig_id == "rig-01" and reply.session_id == "s1" and reply.sync_mono_ns == 5 * S
    assert isinstance(event, StartSession)
    assert event.spec.armed == {"det", "photo", "marker"} and event.spec.sync_channel is None
    assert event.spec.start_ns == 5 * S and event.spec.start_wall_ns == 77


def test_start_with_sync_channel_arms_it_and_leaves_time_zero_open(control: SessionControl) -> None:
    reply, event = control.handle(
        payload(
            command="start",
            command_id="c1",
            session_id="s1",
            channels=["det"],
            sync_channel="photo",
            duration_s=2.5,
        ),
        S,
        0,
    )
    assert reply is not None and reply.ok and reply.sync_mono_ns is None
    assert isinstance(event, StartSession)
    assert event.spec.armed == {"det", "photo"} and event.spec.end_ns == S + int(2.5 * S)


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"channels": ["det", "nope"]}, "unknown channels: nope"),
        ({"sync_channel": "nope"}, "unknown sync channel: nope"),
        ({"channels": []}, "no channel to arm"),
    ],
)
def test_start_refuses_unknown_channels(
    control: SessionControl, extra: dict[str, Any], error: str
) -> None:
    reply, event = control.handle(
        payload(command="start", command_id="c", session_id="s", **extra), 0, 0
    )
    assert reply is not None and not reply.ok and reply.error == error and event is None
    assert control.current is None


def test_second_start_is_refused_while_a_session_runs(control: SessionControl) -> None:
    control.handle(payload(command="start", command_id="c1", session_id="s1"), 0, 0)
    reply, event = control.handle(payload(command="start", command_id="c2", session_id="s2"), 1, 0)
    assert reply is not None and not reply.ok and "s1 is running" in (reply.error or "")
    assert event is None


def test_repeated_command_id_gets_the_same_answer_and_no_new_event(control: SessionControl) -> None:
    first, _ = control.handle(payload(command="start", command_id="c1", session_id="s1"), 0, 0)
    again, event = control.handle(payload(command="start", command_id="c1", session_id="s1"), 9, 0)
    assert again == first and event is None


def test_stop_ends_the_running_session_at_the_command_stamp(control: SessionControl) -> None:
    control.handle(payload(command="start", command_id="c1", session_id="s1"), 0, 0)
    reply, event = control.handle(payload(command="stop", command_id="c2", session_id="s1"), 7, 0)
    assert reply is not None and reply.ok and reply.session_id == "s1"
    assert event == StopSession("s1", 7) and control.current is None


def test_stop_of_another_session_or_of_nothing_is_refused(control: SessionControl) -> None:
    reply, _ = control.handle(payload(command="stop", command_id="c0"), 0, 0)
    assert reply is not None and not reply.ok and reply.error == "no session is running"
    control.handle(payload(command="start", command_id="c1", session_id="s1"), 0, 0)
    reply, event = control.handle(payload(command="stop", command_id="c2", session_id="s9"), 0, 0)
    assert reply is not None and not reply.ok and event is None and control.current is not None


def test_ping_reports_the_running_session(control: SessionControl) -> None:
    control.handle(payload(command="start", command_id="c1", session_id="s1"), 0, 0)
    reply, event = control.handle(payload(command="ping", command_id="p"), 0, 0)
    assert reply is not None and reply.ok and reply.session_id == "s1" and event is None


def test_duration_expiry_stops_at_the_planned_instant(control: SessionControl) -> None:
    control.handle(payload(command="start", command_id="c1", session_id="s1", duration_s=1), S, 0)
    assert control.expire(2 * S - 1) is None
    assert control.expire(3 * S) == StopSession("s1", 2 * S)
    assert control.current is None


def test_malformed_command_with_an_id_is_answered(control: SessionControl) -> None:
    reply, event = control.handle(payload(command="start", command_id="c1"), 0, 0)
    assert reply is not None and not reply.ok and event is None
    assert "session_id" in (reply.error or "")


@pytest.mark.parametrize("data", [b"not json", b"[]", orjson.dumps({"v": 1, "command": "start"})])
def test_malformed_command_without_an_id_is_ignored(control: SessionControl, data: bytes) -> None:
    assert control.handle(data, 0, 0) == (None, None)


def test_a_replay_is_handed_over_once_and_answered_with_what_could_not_be_sent() -> None:
    asked: list[tuple[str, int, int]] = []

    def replay(command: Any) -> str | None:
        asked.append((command.stream, command.from_seq, command.to_seq))
        return None if command.from_seq >= 10 else "records 0..9 are no longer held"

    control = SessionControl("rig-01", ["det"], replay=replay)
    command = payload(command="replay", command_id="r1", stream="s", from_seq=10, to_seq=19)
    reply, event = control.handle(command, S, 1)
    assert reply is not None and reply.ok and reply.command == "replay" and event is None
    again, _ = control.handle(command, 2 * S, 2)  # a QoS 1 repeat
    assert again == reply and asked == [("s", 10, 19)], "a repeat sends nothing twice"
    refused, _ = control.handle(
        payload(command="replay", command_id="r2", stream="s", from_seq=0, to_seq=19), S, 1
    )
    assert refused is not None and not refused.ok
    assert refused.error == "records 0..9 are no longer held"
