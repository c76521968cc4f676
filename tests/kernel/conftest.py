"""Fixtures of the kernel lane: a vcan interface and gpio-sim chips, made fresh for each test.

These tests need a kernel with vcan, can-raw, gpio-sim and configfs, and root: ``tests/kernel/run``
boots such a kernel under QEMU and runs them with ``RIG_KERNEL_LANE=1``. Anywhere else (the main
suite) they are collected and skipped with that reason.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.rig_agent.sources.conftest import (  # noqa: F401 - fixtures
    clock,
    sink,
    stalling_sink,
)

GPIO_SIM = Path("/sys/kernel/config/gpio-sim")
KERNEL_LANE = os.environ.get("RIG_KERNEL_LANE") == "1"
_HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason="kernel lane only: run tests/kernel/run (boots a VM)")
    for item in items:
        if _HERE in Path(item.fspath).parents:
            item.add_marker(pytest.mark.kernel)
            if not KERNEL_LANE:
                item.add_marker(skip)


def run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, text=True)


@pytest.fixture
def vcan() -> Iterator[str]:
    """A fresh, up vcan interface of the test's own."""
    name = f"vcan{uuid.uuid4().hex[:6]}"
    run("ip", "link", "add", "dev", name, "type", "vcan")
    run("ip", "link", "set", name, "up")
    try:
        yield name
    finally:
        run("ip", "link", "del", name)


class SimChip:
    """A gpio-sim chip made through configfs: its device node and each line's sysfs folder."""

    def __init__(self, device: Path, num_lines: int) -> None:
        self.device = device
        bank = device / "bank0"
        bank.mkdir()
        self.label = f"vru-{device.name}"
        (bank / "label").write_text(self.label)
        (bank / "num_lines").write_text(str(num_lines))
        for offset in range(num_lines):
            line = bank / f"line{offset}"
            line.mkdir()
            (line / "name").write_text(f"vru{offset}")
        self.num_lines = num_lines
        self.chip = ""
        self.lines: list[Path] = []
        self.set_live(True)

    def set_live(self, live: bool) -> None:
        """Register the chip (again: it may come back as another platform device) or remove it."""
        (self.device / "live").write_text("1" if live else "0")
        if not live:
            return
        chip_name = (self.device / "bank0" / "chip_name").read_text().strip()
        dev_name = (self.device / "dev_name").read_text().strip()
        self.chip = f"/dev/{chip_name}"
        sysfs = Path("/sys/devices/platform") / dev_name / chip_name
        self.lines = [sysfs / f"sim_gpio{offset}" for offset in range(self.num_lines)]
        deadline = time.monotonic() + 5
        while not Path(self.chip).exists() and time.monotonic() < deadline:
            time.sleep(0.01)

    def drive(self, offset: int, level: int) -> None:
        """Pull the simulated line up (1) or down (0): an edge for whoever listens.

        gpio-sim raises the line's interrupt from deferred work: a second change of the line
        before that work ran folds into one edge. Tests wait for each edge before the next
        change, as a real line would not toggle faster than its interrupt is served.
        """
        (self.lines[offset] / "pull").write_text("pull-up" if level else "pull-down")

    def value(self, offset: int) -> int:
        return int((self.lines[offset] / "value").read_text())


@pytest.fixture
def gpio_sim() -> Iterator[Callable[..., SimChip]]:
    """Makes gpio-sim chips whose lines have names (``vru0``, ``vru1``, ...)."""
    made: list[Path] = []

    def make(num_lines: int = 4) -> SimChip:
        device = GPIO_SIM / f"rig-{uuid.uuid4().hex[:8]}"
        device.mkdir()
        made.append(device)
        return SimChip(device, num_lines)

    yield make
    for device in made:
        if (device / "live").read_text().strip() == "1":
            (device / "live").write_text("0")
        for line in sorted((device / "bank0").glob("line*")):
            line.rmdir()
        (device / "bank0").rmdir()
        device.rmdir()
