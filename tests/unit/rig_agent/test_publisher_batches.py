"""A record batch never exceeds the protocol's message size limit."""

from __future__ import annotations

from protocol import MAX_MESSAGE_BYTES
from rig_agent.publisher import _within_message_limit


def test_small_records_all_fit() -> None:
    rows = [(seq, b"x" * 300) for seq in range(100)]
    assert _within_message_limit(rows) == rows


def test_large_records_are_split_below_the_limit() -> None:
    rows = [(seq, b"x" * 300_000) for seq in range(5)]
    kept = _within_message_limit(rows)
    assert [seq for seq, _ in kept] == [0, 1, 2]
    assert sum(len(data) + 1 for _, data in kept) < MAX_MESSAGE_BYTES


def test_a_record_over_the_limit_still_leaves_alone() -> None:
    rows = [(0, b"x" * (MAX_MESSAGE_BYTES + 1)), (1, b"y")]
    assert _within_message_limit(rows) == rows[:1]
