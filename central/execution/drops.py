"""Signals a rig's channels dropped while a session ran, told by the rig's status heartbeats.

Each channel in a rig's status carries ``drops``: what the kernel or the driver lost before the
agent saw it (a full socket queue, an overflowed GPIO event buffer, a serial overrun) plus what a
full spool refused. The counts are totals since the agent started, so a session's share is the
growth between the status before it started and the last one before it ended; a total that
shrinks means the agent restarted, and counting starts again from zero. A session whose channels
dropped anything did not see every signal of the system under test, so its verdict cannot be
trusted: :func:`invalid_reason` says so in words.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["DropWatch", "invalid_reason"]


def _totals(status: Mapping[str, Any]) -> dict[str, int]:
    """Channel -> drop total of one status (``rigs`` row shape: ``last_status.channels``)."""
    channels = (status.get("last_status") or {}).get("channels") or {}
    return {name: int(stats.get("drops") or 0) for name, stats in channels.items()}


class DropWatch:
    """Per running session, the drops of each channel since it started."""

    def __init__(self) -> None:
        self._latest: dict[str, dict[str, int]] = {}
        """Rig -> drop totals of its last status."""
        self._rig_of: dict[str, str] = {}
        self._dropped: dict[str, dict[str, int]] = {}

    def begin(self, session_id: str, rig_id: str) -> None:
        """Count from now: what the rig dropped before does not belong to this session."""
        self._rig_of[session_id] = rig_id
        self._dropped.setdefault(session_id, {})

    def observe(self, status: Mapping[str, Any]) -> None:
        """A rig status (as ingest hands it to listeners): add its new drops to the rig's
        running sessions."""
        rig_id = status.get("rig_id")
        if not isinstance(rig_id, str) or status.get("state") != "online":
            return
        totals = _totals(status)
        previous = self._latest.get(rig_id)
        self._latest[rig_id] = totals
        if previous is None:  # the first status heard of this rig is only a baseline
            return
        grown = {
            name: total - previous.get(name, 0) if total >= previous.get(name, 0) else total
            for name, total in totals.items()
        }
        for session_id, running_on in self._rig_of.items():
            if running_on != rig_id:
                continue
            dropped = self._dropped[session_id]
            for name, count in grown.items():
                if count > 0:
                    dropped[name] = dropped.get(name, 0) + count

    def end(self, session_id: str) -> dict[str, int]:
        """The session's drops per channel (only channels that dropped); stops counting it."""
        self._rig_of.pop(session_id, None)
        return self._dropped.pop(session_id, {})


def invalid_reason(dropped: Mapping[str, int]) -> str | None:
    """``"invalid: 3 signals dropped on channel gpio1 during the run"``, or None without drops."""
    parts = [
        f"{count} signal{'s' if count != 1 else ''} dropped on channel {name}"
        for name, count in sorted(dropped.items())
        if count > 0
    ]
    if not parts:
        return None
    return f"invalid: {', '.join(parts)} during the run"
