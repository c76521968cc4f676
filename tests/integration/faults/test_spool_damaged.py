"""A spool file truncated or overwritten: the agent refuses to start on it, with one message
that says what is wrong and how to recover, and ``rig-agent check`` says the same."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rig_agent.spool import Spool
from tests.integration.rig_agent.conftest import AgentProcess, wait_for, write_config

pytestmark = [pytest.mark.network]


def _truncate(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def _overwrite_a_page(path: Path) -> None:
    with path.open("r+b") as file:
        file.seek(path.stat().st_size // 2)
        file.write(b"\xff" * 4096)


@pytest.mark.parametrize("damage", [_truncate, _overwrite_a_page], ids=["truncated", "overwritten"])
def test_a_damaged_spool_stops_the_agent_with_the_way_out(
    tmp_path: Path, mqtt_broker: Any, topic_prefix: str, damage: Callable[[Path], None]
) -> None:
    spool_path = tmp_path / "spool.db"
    spool = Spool(spool_path, 1 << 30)
    for first in range(0, 2_000, 100):
        spool.append([(seq, b"r" * 200) for seq in range(first, first + 100)])
    spool.close()
    damage(spool_path)
    config = write_config(
        tmp_path / "rig.toml",
        url=mqtt_broker.url,
        prefix=topic_prefix,
        rig_id="rig-damaged",
        spool=spool_path,
        channels=[{"name": "det", "source": "simulated", "rate_hz": 10}],
    )

    agent = AgentProcess(config, tmp_path / "agent.log").start()
    assert agent.wait(20) == 1, "the agent must not run on a damaged spool"
    log = agent.log()
    assert f"the spool '{spool_path}' is damaged" in log
    assert f"mv {spool_path} {spool_path}.damaged" in log and ".recover" in log

    check = subprocess.run(
        [sys.executable, "-m", "rig_agent", "check", "--config", str(config), "--timeout", "3"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert check.returncode == 1
    (line,) = [line for line in check.stdout.splitlines() if "FAIL" in line]
    assert f"spool {spool_path}: the spool '{spool_path}' is damaged" in line
    assert f"mv {spool_path} {spool_path}.damaged" in line

    os.rename(spool_path, f"{spool_path}.damaged")  # what the message says to do
    again = AgentProcess(config, tmp_path / "again.log").start()
    try:
        wait_for(lambda: "running" in again.log(), 15, "the agent to start on a new spool")
    finally:
        again.stop()
    assert again.wait() == 0, again.log()
