"""The rig agent's unit from deploy/systemd installed under systemd as PID 1.

``tests/kernel/run`` boots the machine's own userspace in a container (systemd-nspawn --boot,
a throwaway overlay, a network of its own) and runs these tests inside; they skip anywhere
systemd is not PID 1. The agent runs as the unit says (user rig-agent, its hardening, a venv in
/opt/rig-agent made from the system Python, as deploy/README.md installs it), publishing to a
Mosquitto of the container's own loopback.
"""

from __future__ import annotations

import json
import shutil
import site
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.rig_agent.conftest import Subscriber, wait_for

ROOT = Path(__file__).resolve().parents[3]
UNIT = "rig-agent.service"
CONFIG = Path("/etc/rig-agent/rig.toml")
VENV = Path("/opt/rig-agent")
BROKER_PORT = 18883
RIG_ID = "lane-rig"
PREFIX = "lane/v1"
UDP_PORT = 19500
WATCHDOG_S = 4

CHANNELS = """
[[channels]]
name = "sim-detect"
source = "simulated"
rate_hz = 20

[[channels]]
name = "udp-detect"
source = "network"
protocol = "udp"
listen = "127.0.0.1:{udp_port}"
format = "raw"
"""

RELOADED_CHANNEL = """
[[channels]]
name = "sim-extra"
source = "simulated"
rate_hz = 5
"""


_HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if Path("/run/systemd/system").is_dir() and Path("/proc/1/comm").read_text() == "systemd\n":
        return
    skip = pytest.mark.skip(reason="needs systemd as PID 1 (tests/kernel/run's container)")
    for item in items:
        if _HERE in Path(item.fspath).parents:
            item.add_marker(skip)


def sh(*command: str, check: bool = True) -> str:
    done = subprocess.run(command, check=check, capture_output=True, text=True)
    return done.stdout


def show(*properties: str) -> dict[str, str]:
    lines = sh("systemctl", "show", UNIT, *(f"--property={p}" for p in properties)).splitlines()
    return dict(line.split("=", 1) for line in lines)


def journal(since_cursor: str | None = None) -> list[dict[str, Any]]:
    command = ["journalctl", "--unit", UNIT, "--output=json", "--no-pager"]
    if since_cursor:
        command.append(f"--after-cursor={since_cursor}")
    return [json.loads(line) for line in sh(*command).splitlines() if line.strip()]


def messages(entries: list[dict[str, Any]]) -> list[str]:
    return [str(e.get("MESSAGE", "")) for e in entries]


def write_config(extra: str = "") -> None:
    CONFIG.parent.mkdir(parents=True, exist_ok=True)
    CONFIG.write_text(
        f"""rig_id = "{RIG_ID}"
[mqtt]
url = "mqtt://127.0.0.1:{BROKER_PORT}"
topic_prefix = "{PREFIX}"
[spool]
path = "/var/lib/rig-agent/spool.db"
[status]
interval_s = 1
shutdown_timeout_s = 5
"""
        + CHANNELS.format(udp_port=UDP_PORT)
        + extra
    )
    shutil.chown(CONFIG, "root", "rig-agent")
    CONFIG.chmod(0o640)


def _install_venv() -> None:
    """/opt/rig-agent as deploy/README.md makes it, from the system Python; its packages are
    this checkout's (a .pth file), so nothing is downloaded."""
    subprocess.run(["/usr/bin/python3", "-m", "venv", str(VENV)], check=True)
    packages = Path(site.getsitepackages()[0])
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    (VENV / "lib" / version / "site-packages" / "checkout.pth").write_text(
        f"import site; site.addsitedir({str(packages)!r})\n"
    )
    script = VENV / "bin" / "rig-agent"
    script.write_text(
        f"#!{VENV}/bin/python\nimport sys\nfrom rig_agent.cli import main\nsys.exit(main())\n"
    )
    script.chmod(0o755)


@dataclass
class InstalledAgent:
    subscriber: Subscriber

    def main_pid(self) -> int:
        return int(show("MainPID")["MainPID"])

    def restarts(self) -> int:
        return int(show("NRestarts")["NRestarts"])

    def wait_active_with_new_pid(self, old_pid: int, timeout_s: float) -> int:
        wait_for(
            lambda: (
                show("ActiveState")["ActiveState"] == "active"
                and self.main_pid() not in (0, old_pid)
            ),
            timeout_s,
            "systemd to restart the agent",
        )
        return self.main_pid()


@pytest.fixture(scope="session")
def installed() -> Iterator[InstalledAgent]:
    if sys.version_info[:2] != tuple(
        int(p)
        for p in sh(
            "/usr/bin/python3", "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"
        ).split()
    ):
        pytest.skip("the system Python differs from the checkout's: its packages cannot be reused")
    sh(
        "useradd",
        "--system",
        "--home-dir",
        "/var/lib/rig-agent",
        "--shell",
        "/usr/sbin/nologin",
        "rig-agent",
    )
    _install_venv()
    write_config()
    sh("systemd-run", "--unit=lane-broker", "/usr/sbin/mosquitto", "-p", str(BROKER_PORT))
    unit = (ROOT / "deploy" / "systemd" / UNIT).read_text()
    Path(f"/etc/systemd/system/{UNIT}").write_text(unit)
    # The changes to the unit under test: a short watchdog, so a hang is caught in seconds; and
    # the checkout /opt/rig-agent takes its packages from stays visible, wherever it lives
    # (PrivateTmp= and ProtectHome= would hide one under /tmp or /root; a deployment's packages
    # are in /opt/rig-agent itself).
    dropin = Path(f"/etc/systemd/system/{UNIT}.d")
    dropin.mkdir(parents=True, exist_ok=True)
    visible = sorted({str(ROOT), site.getsitepackages()[0]})
    (dropin / "lane.conf").write_text(
        f"[Service]\nWatchdogSec={WATCHDOG_S}s\n"
        + "".join(f"BindReadOnlyPaths={path}\n" for path in visible)
    )
    sh("systemctl", "daemon-reload")
    time.sleep(0.5)  # the broker binds
    subscriber = Subscriber("127.0.0.1", BROKER_PORT, PREFIX, RIG_ID, persistent=False)
    try:
        yield InstalledAgent(subscriber)
    finally:
        sh("systemctl", "stop", UNIT, check=False)
        subscriber.close()
