"""The spool's filesystem fills up mid-stream, then space returns: captures that cannot be
committed are refused and counted in the status, nothing already spooled is corrupted or lost,
and records flow again (the publisher used to die on "cannot delete acknowledged records: database
or disk is full", and nothing flowed after that)."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.rig_agent.conftest import RigHarness, wait_for

pytestmark = [pytest.mark.network, pytest.mark.slow]

FS_BYTES = 16 * 1024 * 1024
"""Room for SQLite's write-ahead log, about 4 MiB before each checkpoint, once space returns."""
ROOM_LEFT = 160 * 1024


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs of the test's own (needs root and a kernel that lets it mount)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small filesystem needs root and mount(8)")
    mount_point = tmp_path / "fs"
    mount_point.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={FS_BYTES}", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(directory: Path, leave: int) -> Path:
    filler = directory / "filler"
    free = shutil.disk_usage(directory).free
    with filler.open("wb") as file:
        file.write(b"\0" * max(0, free - leave))
    return filler


def test_a_full_disk_refuses_and_counts_then_resumes_without_damage(
    small_filesystem: Path, tmp_path: Path, mqtt_broker: Any, topic_prefix: str
) -> None:
    rig = RigHarness(tmp_path, mqtt_broker.host, mqtt_broker.port, topic_prefix)
    rig.spool = small_filesystem / "spool.db"
    total = 8_000
    rig.configure([{"name": "det", "source": "simulated", "rate_hz": 2_000, "count": total}])
    filler = _fill(small_filesystem, ROOM_LEFT)
    try:
        subscriber = rig.subscribe()
        agent = rig.agent()
        wait_for(
            lambda: any(s.refused_records for s in subscriber.received.statuses),
            15,
            "captures refused on the full disk",
        )
        filler.unlink()  # space returns
        at_return = len(subscriber.received.unique())
        wait_for(
            lambda: (
                bool(subscriber.received.statuses)
                and subscriber.received.statuses[-1].channels["det"].count
                + subscriber.received.statuses[-1].refused_records
                >= total
            ),
            20,
            "every capture committed or refused",
        )
        agent.signal(signal.SIGTERM)
        assert agent.wait() == 0, agent.log()
        last = subscriber.received.statuses[-1]
        committed, refused = last.channels["det"].count, last.refused_records
        assert committed + refused == total, "every capture is either spooled or counted"
        assert refused > 0 and last.channels["det"].drops == refused
        seqs = sorted(seq for _, _, seq in subscriber.received.unique())
        assert seqs == list(range(committed)), "every committed record, once"
        assert refused < total / 2, "once space returned, captures were committed again"
        assert committed > at_return, "records flowed again once space returned"
        assert "publisher thread died" not in agent.log()
        with sqlite3.connect(rig.spool) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert db.execute("SELECT COUNT(*) FROM records").fetchone() == (0,)
    finally:
        rig.close()
