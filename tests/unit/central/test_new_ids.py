"""Time-ordered ids made one at a time or in a batch: valid UUIDv7, unique, increasing."""

from __future__ import annotations

import time
import uuid

from central.db.types import ID_LENGTH, id_floor, new_id, new_ids


def test_single_and_batch_ids_interleave_in_increasing_order() -> None:
    ids = [new_id(), *new_ids(1000), new_id(), *new_ids(3), new_id()]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_every_id_is_a_uuid7_in_canonical_text() -> None:
    for text in [new_id(), *new_ids(100)]:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
        assert str(parsed) == text and len(text) == ID_LENGTH


def test_an_empty_batch_is_empty_and_takes_nothing() -> None:
    before = new_id()
    assert new_ids(0) == []
    assert new_id() > before


def test_the_floor_of_an_instant_is_below_every_id_made_from_then_and_above_older_ones() -> None:
    older = new_id()
    time.sleep(0.002)  # the floor is per millisecond: step past the one ``older`` was made in
    floor = id_floor(time.time_ns())
    newer = new_ids(100)
    assert older < floor < min(newer)
    assert len(floor) == ID_LENGTH
