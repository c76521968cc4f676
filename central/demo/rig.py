"""The demo's rig: a real ``rig-agent`` process playing the demo scenario on a simulated channel.

Central never imports the rig agent; it writes the agent's TOML config and runs it as a separate
process (``python -m rig_agent run``), exactly as an operator would on a rig.

The simulated detection channel plays the scenario's signals once, ``start_delay_ms`` after the
agent starts, preceded by a pulse on the ``video-sync`` channel. A session started with
``syncChannel = "video-sync"`` before that pulse takes it as video time zero, so the scripted
times are video times and the verdict is the scenario's.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from central.demo.scenario import DemoScenario

__all__ = [
    "DETECTION_CHANNEL",
    "SYNC_CHANNEL",
    "RigProcess",
    "rig_config_toml",
]

logger = logging.getLogger(__name__)

SYNC_CHANNEL = "video-sync"
DETECTION_CHANNEL = "detections"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def _table(header: str, values: dict[str, Any]) -> list[str]:
    return ["", header, *(f"{key} = {_toml(value)}" for key, value in values.items())]


def rig_config_toml(
    scenario: DemoScenario,
    *,
    rig_id: str,
    mqtt_url: str,
    topic_prefix: str,
    spool_path: Path,
    start_delay_ms: float,
    extra_channels: Sequence[Mapping[str, Any]] = (),
) -> str:
    """The agent's config: a sync channel and a detection channel that plays the scenario, then
    ``extra_channels`` (each a ``[[channels]]`` table of scalar and list values)."""
    lines = [f"rig_id = {_toml(rig_id)}"]
    lines += _table(
        "[mqtt]",
        {
            "url": mqtt_url,
            "topic_prefix": topic_prefix,
            "reconnect_min_s": 0.1,
            "reconnect_max_s": 1.0,
        },
    )
    lines += _table("[spool]", {"path": str(spool_path)})
    lines += _table("[status]", {"interval_s": 1.0, "shutdown_timeout_s": 5.0})
    lines += _table("[[channels]]", {"name": SYNC_CHANNEL, "role": "sync", "source": "simulated"})
    lines += _table(
        "[[channels]]",
        {
            "name": DETECTION_CHANNEL,
            "role": "detection",
            "source": "simulated",
            "sync_channel": SYNC_CHANNEL,
            "start_delay_ms": start_delay_ms,
            "repeat": 1,
        },
    )
    for step in scenario.signals:
        values: dict[str, Any] = {
            "at_ms": step.at_ms,
            "vru_type": str(step.vru_type),
            "confidence": step.confidence,
        }
        if step.bbox is not None:
            values["bbox"] = list(step.bbox)
        if step.frame is not None:
            values["frame"] = step.frame
        lines += _table("[[channels.steps]]", values)
    for channel in extra_channels:
        lines += _table("[[channels]]", dict(channel))
    return "\n".join(lines) + "\n"


class RigProcess:
    """``python -m rig_agent run --config FILE`` with its output in a log file."""

    def __init__(self, config_path: Path, log_path: Path) -> None:
        self.config_path = config_path
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "rig_agent", "run", "--config", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        finally:
            log.close()
        logger.info("rig agent started (pid %d), log in %s", self._process.pid, self.log_path)

    @property
    def exit_code(self) -> int | None:
        """None while it runs."""
        return self._process.poll() if self._process is not None else None

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM (the agent flushes its spool), then SIGKILL if it does not exit in time."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            logger.warning("rig agent did not stop in %.0f s; killing it", timeout_s)
            process.kill()
            process.wait(5)
