"""The spool: FIFO by seq, survives reopening, never reuses a seq, knows its size."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from rig_agent.errors import SpoolError
from rig_agent.spool import Spool


def rows(first: int, count: int, size: int = 10) -> list[tuple[int, bytes]]:
    return [(seq, b"x" * size) for seq in range(first, first + count)]


def test_new_spool_has_a_stream_and_starts_at_zero(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db", 1 << 20)
    assert spool.next_seq == 0 and spool.depth == 0 and spool.held_bytes == 0
    assert len(spool.stream) == 32
    spool.close()


def test_append_read_remove_in_seq_order(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db", 1 << 20)
    spool.append(rows(0, 5))
    spool.append(rows(5, 3))
    assert [seq for seq, _ in spool.read(0, 100)] == list(range(8))
    assert [seq for seq, _ in spool.read(6, 100)] == [6, 7]
    spool.remove([(0, 2, 30), (3, 4, 20)])
    assert spool.depth == 3 and spool.held_bytes == 30 and spool.first_seq == 5
    spool.remove([(5, 7, 30)])
    assert spool.depth == 0 and spool.first_seq == 8
    spool.close()


def test_seq_must_continue(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db", 1 << 20)
    spool.append(rows(0, 2))
    with pytest.raises(SpoolError, match="do not continue from 2"):
        spool.append(rows(3, 1))
    spool.close()


def test_stream_seq_and_records_survive_reopen(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    spool = Spool(path, 1 << 20)
    stream = spool.stream
    spool.append(rows(0, 10))
    spool.remove([(0, 9, 100)])
    spool.append(rows(10, 2))
    spool.close()
    again = Spool(path, 1 << 20)
    assert again.stream == stream
    assert again.next_seq == 12, "seq continues even though earlier records were deleted"
    assert again.depth == 2 and again.first_seq == 10 and again.held_bytes == 20
    again.close()


def test_committed_records_survive_a_connection_that_is_never_closed(tmp_path: Path) -> None:
    """As after SIGKILL: the WAL holds the commit, a fresh connection sees it."""
    path = tmp_path / "s.db"
    spool = Spool(path, 1 << 20, durability="full")
    spool.append(rows(0, 3))
    other = Spool(path, 1 << 20)
    assert other.next_seq == 3 and other.depth == 3
    other.close()
    spool.close()


def test_has_room_counts_encoded_bytes(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db", 100)
    spool.append(rows(0, 9))
    assert spool.has_room(10)
    assert not spool.has_room(11)
    spool.close()


def test_unusable_path_is_a_spool_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(SpoolError, match="cannot open the spool"):
        Spool(blocker / "s.db", 100)


def test_corrupt_file_is_a_spool_error(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(SpoolError):
        Spool(path, 100)
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(path).execute("SELECT 1 FROM records")


def test_central_s_watermark_drops_what_it_covers_and_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    spool = Spool(path, 1 << 20)
    assert spool.acked_seq is None, "a new spool has heard no watermark"
    spool.append(rows(0, 10))
    spool.confirm(6)
    assert (spool.acked_seq, spool.depth, spool.held_bytes, spool.first_seq) == (6, 3, 30, 7)
    spool.confirm(4)  # an older watermark, redelivered late, changes nothing
    assert spool.acked_seq == 6 and spool.depth == 3
    spool.close()
    again = Spool(path, 1 << 20)
    assert (again.acked_seq, again.depth, again.first_seq, again.next_seq) == (6, 3, 7, 10)
    again.close()


def test_eviction_drops_the_oldest_acknowledged_records_only_as_far_as_allowed(
    tmp_path: Path,
) -> None:
    spool = Spool(tmp_path / "s.db", 100)
    spool.append(rows(0, 10))
    assert spool.evict(through_seq=3, needed_bytes=25) == 3, "three records free 30 bytes"
    assert (spool.first_seq, spool.depth, spool.held_bytes, spool.evicted) == (3, 7, 70, 3)
    assert spool.evict(through_seq=4, needed_bytes=1000) == 2, "never past through_seq"
    assert spool.first_seq == 5 and spool.evicted == 5
    assert spool.evict(through_seq=4, needed_bytes=10) == 0
    assert [seq for seq, _ in spool.read(0, 100)] == list(range(5, 10))
    spool.close()
