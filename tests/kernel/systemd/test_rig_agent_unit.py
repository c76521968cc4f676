"""deploy/systemd/rig-agent.service under a real systemd: readiness, watchdog, crash recovery,
reload, drained stop, the journal, and hardening that leaves the sources working.

The tests share one installed agent and run in file order, as an operator's day would.
"""

from __future__ import annotations

import errno
import os
import re
import signal
import socket
import time

import pytest

from tests.integration.rig_agent.conftest import wait_for
from tests.kernel.systemd.conftest import (
    RELOADED_CHANNEL,
    UDP_PORT,
    UNIT,
    WATCHDOG_S,
    InstalledAgent,
    journal,
    messages,
    sh,
    show,
    write_config,
)

_RESTART_WITHIN_S = 20


def _records_of(agent: InstalledAgent, channel: str) -> list[dict[str, object]]:
    return [r for r in agent.subscriber.received.records if r["channel"] == channel]


def test_start_returns_once_spool_and_channels_are_up(installed: InstalledAgent) -> None:
    sh("systemctl", "start", UNIT)  # Type=notify: returns when the agent said READY=1
    state = show("Type", "ActiveState", "StatusText")
    assert (state["Type"], state["ActiveState"]) == ("notify", "active")
    entries = journal()
    started = [
        e for e in entries if re.search(r"channel \S+ \(\w+\) started", str(e.get("MESSAGE")))
    ]
    assert sorted(re.sub(r"^.*: ", "", str(e["MESSAGE"])) for e in started) == [
        "channel sim-detect (simulated) started",
        "channel udp-detect (network) started",
    ], messages(entries)
    # The moment start returned, the UDP channel's socket was bound and the spool was there.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe, pytest.raises(OSError) as taken:
        probe.bind(("127.0.0.1", UDP_PORT))
    assert taken.value.errno == errno.EADDRINUSE
    assert os.path.exists("/var/lib/rig-agent/spool.db")
    assert "capturing 2 channels" in state["StatusText"] or "spool" in state["StatusText"]


def test_sources_work_under_the_hardening_and_the_journal_names_channels(
    installed: InstalledAgent,
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for n in range(5):
            sender.sendto(f"udp-{n}".encode(), ("127.0.0.1", UDP_PORT))
    wait_for(lambda: len(_records_of(installed, "udp-detect")) >= 5, 10, "UDP records")
    wait_for(lambda: len(_records_of(installed, "sim-detect")) >= 5, 10, "simulated records")
    udp = _records_of(installed, "udp-detect")[0]
    assert udp["clock"] == "kernel_realtime", "the kernel stamp survives the sandbox"
    wait_for(
        lambda: any(
            s.channels["udp-detect"].count >= 5 for s in installed.subscriber.received.statuses
        ),
        10,
        "a status counting the UDP records",
    )
    status = installed.subscriber.received.statuses[-1]
    assert all(channel.drops == 0 for channel in status.channels.values())
    text = "\n".join(messages(journal()))
    assert "channel udp-detect (network) started" in text
    assert "rig lane-rig running: 2 channels" in text


def test_security_exposure_is_ok_or_better(installed: InstalledAgent) -> None:
    report = sh("systemd-analyze", "security", "--no-pager", UNIT, check=False)
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+) (\w+)", report)
    assert match, report
    assert match.group(2) in ("SAFE", "OK"), report
    print(f"systemd-analyze security {UNIT}: {match.group(1)} {match.group(2)}")


def test_reload_rereads_the_channels_in_the_same_process(installed: InstalledAgent) -> None:
    pid = installed.main_pid()
    write_config(RELOADED_CHANNEL)
    sh("systemctl", "reload", UNIT)
    wait_for(lambda: len(_records_of(installed, "sim-extra")) >= 2, 10, "the new channel's records")
    assert installed.main_pid() == pid
    assert any(m.endswith("reloaded: 3 channels") for m in messages(journal()))


def test_sigkill_restarts_with_the_spool_and_seq_continuing(installed: InstalledAgent) -> None:
    received = installed.subscriber.received
    wait_for(lambda: received.statuses and received.statuses[-1].stream is not None, 5, "status")
    stream = received.statuses[-1].stream
    pid, restarts = installed.main_pid(), installed.restarts()
    os.kill(pid, signal.SIGKILL)
    killed_ns = time.monotonic_ns()
    before = max(r["seq"] for r in received.records if r["stream"] == stream)
    installed.wait_active_with_new_pid(pid, _RESTART_WITHIN_S)
    assert installed.restarts() == restarts + 1, "Restart=on-failure brought it back"
    wait_for(
        lambda: any(r["t_mono_ns"] > killed_ns for r in received.records), 10, "records after it"
    )
    after = [r for r in received.records if r["t_mono_ns"] > killed_ns]
    assert {r["stream"] for r in after} == {stream}, "the same spool, so the same stream"
    assert min(r["seq"] for r in after) > before, "numbering goes on from the spool"


def test_a_hung_agent_misses_the_watchdog_and_is_restarted(installed: InstalledAgent) -> None:
    assert show("WatchdogUSec")["WatchdogUSec"] == f"{WATCHDOG_S}s"
    pid, restarts = installed.main_pid(), installed.restarts()
    cursor = journal()[-1]["__CURSOR"]
    os.kill(pid, signal.SIGSTOP)
    installed.wait_active_with_new_pid(pid, WATCHDOG_S + _RESTART_WITHIN_S)
    assert installed.restarts() == restarts + 1
    text = "\n".join(messages(journal(cursor)))
    assert "Watchdog timeout" in text or "watchdog" in text.lower(), text


def test_stop_drains_and_says_offline(installed: InstalledAgent) -> None:
    cursor = journal()[-1]["__CURSOR"]
    begin = time.monotonic()
    sh("systemctl", "stop", UNIT)
    took_s = time.monotonic() - begin
    state = show("ActiveState", "Result", "ExecMainStatus")
    assert (state["ActiveState"], state["Result"], state["ExecMainStatus"]) == (
        "inactive",
        "success",
        "0",
    )
    assert took_s < 5 + 5, "within shutdown_timeout_s and the writer's flush"
    text = "\n".join(messages(journal(cursor)))
    assert "signal SIGTERM: flushing and stopping" in text
    assert "stopped; 0 records spooled for later" in text, text
    wait_for(
        lambda: installed.subscriber.received.statuses[-1].state.value == "offline",
        5,
        "the offline status",
    )
