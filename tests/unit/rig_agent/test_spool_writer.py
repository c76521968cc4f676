"""The writer thread: captures are committed in order; a full spool refuses, counts and alarms."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from protocol import Clock, Source, decode_record
from rig_agent.errors import SpoolError
from rig_agent.records import ChannelInfo, RecordBuilder, SessionSpec
from rig_agent.sources import Capture, ChannelRole
from rig_agent.spool import Spool
from rig_agent.spool_writer import SpoolWriter, StartSession, StopSession

CHANNELS = {"det": ChannelInfo(ChannelRole.DETECTION, Source.SIMULATED)}


def capture(i: int, channel: str = "det") -> Capture:
    return Capture(channel, 1_000 + i, 2_000 + i, Clock.USER_MONOTONIC, str(i).encode(), True)


class Harness:
    def __init__(self, path: Path, max_bytes: int) -> None:
        self.spool = Spool(path, max_bytes)
        self.commits = threading.Semaphore(0)
        self.alarms: list[bool] = []
        self.writer = SpoolWriter(
            self.spool,
            RecordBuilder(CHANNELS, 10**9, self.spool.next_seq),
            on_commit=self.commits.release,
            on_alarm=lambda: self.alarms.append(self.writer.full),
        )
        self.writer.start()

    def records(self) -> list[object]:
        return [decode_record(data) for _, data in self.spool.read(0, 10_000)]


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path / "spool.db", 1 << 20)
    yield h
    h.writer.shutdown()
    h.spool.close()


def test_shutdown_commits_everything_queued_in_order(harness: Harness) -> None:
    for i in range(500):
        harness.writer.sink(capture(i))
    assert harness.writer.shutdown()
    records = harness.records()
    assert [r.seq for r in records] == list(range(500))  # type: ignore[attr-defined]
    assert [r.payload.raw_line for r in records] == [str(i) for i in range(500)]  # type: ignore[attr-defined]


def test_session_events_apply_between_the_captures_around_them(harness: Harness) -> None:
    spec = SessionSpec(
        "s1", start_ns=0, start_wall_ns=0, armed=frozenset({"det"}), sync_channel="det"
    )
    harness.writer.sink(capture(0))
    harness.writer.submit(StartSession(spec))
    harness.writer.sink(capture(1))
    harness.writer.submit(StopSession("s1", stop_ns=1_001))
    harness.writer.sink(capture(2))
    harness.writer.shutdown()
    sessions = [r.session_id for r in harness.records()]  # type: ignore[attr-defined]
    assert sessions == [None, "s1", None]


def test_full_spool_refuses_counts_and_alarms_once(tmp_path: Path) -> None:
    h = Harness(tmp_path / "spool.db", 2_000)
    try:
        for i in range(100):
            h.writer.sink(capture(i))
        h.writer.shutdown()
        kept = len(h.records())
        assert 0 < kept < 100
        assert h.writer.full and h.alarms == [True]
        assert h.writer.refused == {"det": 100 - kept} and h.writer.refused_total == 100 - kept
        assert h.writer.committed == {"det": kept}
        largest = max(len(data) for _, data in h.spool.read(0, 100))
        assert h.spool.held_bytes - largest < 2_000, (
            "at most the record that crossed the limit is over"
        )
        assert "spool full" in (h.writer.last_error or "")
    finally:
        h.spool.close()


def test_full_spool_accepts_again_once_drained(tmp_path: Path) -> None:
    h = Harness(tmp_path / "spool.db", 2_000)
    try:
        for i in range(100):
            h.writer.sink(capture(i))
        # Full, and done with all 100 (stored or refused): draining earlier would let the rest in.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not (
            h.writer.full and h.spool.next_seq + h.writer.refused_total == 100
        ):
            time.sleep(0.01)
        h.spool.remove([(0, h.spool.next_seq - 1, h.spool.held_bytes)])
        refused = h.writer.refused_total
        h.writer.sink(capture(1000))
        h.writer.shutdown()
        assert h.alarms == [True, False]
        assert [r.payload.raw_line for r in h.records()] == ["1000"]  # type: ignore[attr-defined]
        assert h.writer.refused_total == refused
    finally:
        h.spool.close()


def test_capture_on_unknown_channel_is_refused_and_counted(harness: Harness) -> None:
    harness.writer.sink(capture(0, channel="ghost"))
    harness.writer.sink(capture(1))
    harness.writer.shutdown()
    assert harness.writer.refused == {"ghost": 1}
    assert [r.seq for r in harness.records()] == [0]  # type: ignore[attr-defined]


def test_seq_continues_after_reopening(tmp_path: Path) -> None:
    first = Harness(tmp_path / "spool.db", 1 << 20)
    for i in range(3):
        first.writer.sink(capture(i))
    first.writer.shutdown()
    first.spool.remove([(0, 2, first.spool.held_bytes)])
    first.spool.close()
    second = Harness(tmp_path / "spool.db", 1 << 20)
    second.writer.sink(capture(3))
    second.writer.shutdown()
    assert [r.seq for r in second.records()] == [3]  # type: ignore[attr-defined]
    second.spool.close()


def test_capture_with_impossible_stamps_is_refused_not_fatal(harness: Harness) -> None:
    harness.writer.sink(Capture("det", 1, -1, Clock.USER_MONOTONIC, b"bad", True))
    harness.writer.sink(capture(1))
    assert harness.writer.shutdown()
    assert harness.writer.failure is None and harness.writer.refused == {"det": 1}
    assert harness.writer.committed == {"det": 1}
    assert "t_wall_ns" in (harness.writer.last_error or "")
    assert [r.seq for r in harness.records()] == [0]  # type: ignore[attr-defined]


class FailingOnce(Spool):
    """A spool whose first commit fails, as on a full disk."""

    failed = False

    def append(self, records: list[tuple[int, bytes]]) -> None:
        if not self.failed:
            self.failed = True
            raise SpoolError("cannot commit: database or disk is full")
        super().append(records)


def test_failed_commit_is_counted_and_leaves_no_seq_gap(tmp_path: Path) -> None:
    spool = FailingOnce(tmp_path / "spool.db", 1 << 20)
    writer = SpoolWriter(spool, RecordBuilder(CHANNELS, 10**9, 0), lambda: None, lambda: None)
    writer.sink(capture(0))
    writer.start()
    deadline = time.monotonic() + 5
    while not spool.failed and time.monotonic() < deadline:
        time.sleep(0.01)
    writer.sink(capture(1))
    assert writer.shutdown()
    assert writer.failure is None and writer.refused == {"det": 1}
    assert writer.committed == {"det": 1}
    records = [decode_record(data) for _, data in spool.read(0, 10)]
    assert [(r.seq, r.payload.raw_line) for r in records] == [(0, "1")]  # type: ignore[union-attr]
    assert "disk is full" in (writer.last_error or "")
    spool.close()


def test_full_capture_queue_refuses_and_counts_instead_of_growing(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.db", 1 << 20)
    alarms: list[str] = []
    writer = SpoolWriter(
        spool,
        RecordBuilder(CHANNELS, 10**9, 0),
        lambda: None,
        lambda: alarms.append("alarm"),
        max_queued=10,
    )
    for i in range(15):  # the writer is not running yet: as if stuck on a hung disk
        writer.sink(capture(i))
    assert writer.refused == {"det": 5} and alarms == ["alarm"]
    assert "capture queue full" in (writer.last_error or "")
    writer.start()
    assert writer.shutdown()
    assert writer.committed == {"det": 10} and alarms == ["alarm", "alarm"]
    assert [seq for seq, _ in spool.read(0, 100)] == list(range(10))
    spool.close()
