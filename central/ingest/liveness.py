"""Whether a rig is online now: its last status said so and its heartbeat is recent.

A retained status says ``online`` for as long as the broker keeps it, which outlives the rig
when its last will never fired (a broker restarted from disk, a network that never closed the
connection). A rig is shown online only while its last heartbeat is younger than
:data:`STALE_AFTER_INTERVALS` of its heartbeat interval (``interval_s`` of its status; the rig
agent's default for older rigs). Heartbeat times are central's own arrival times, so a rig's
clock does not matter; a retained status replayed on subscribing is no heartbeat.

:class:`StaleWatch` turns the same rule into events: every status on its way to the listeners
gets its effective state, and a rig that falls silent gets one more status event saying
``offline``; its next heartbeat brings it back online.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "DEFAULT_INTERVAL_S",
    "STALE_AFTER_INTERVALS",
    "StaleWatch",
    "effective_state",
    "heartbeat_interval_s",
]

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 5.0
"""The rig agent's default ``[status] interval_s``, for statuses that do not state theirs."""
STALE_AFTER_INTERVALS = 3
_ONLINE = "online"
_OFFLINE = "offline"


def heartbeat_interval_s(last_status: Mapping[str, Any] | None) -> float:
    interval = (last_status or {}).get("interval_s")
    return (
        float(interval)
        if isinstance(interval, int | float) and interval > 0
        else DEFAULT_INTERVAL_S
    )


def effective_state(
    state: str,
    last_seen_at: datetime | None,
    last_status: Mapping[str, Any] | None,
    now: datetime | None = None,
) -> str:
    """``offline`` for an ``online`` rig whose last heartbeat is too old (or never came)."""
    if state != _ONLINE:
        return state
    if last_seen_at is None:
        return _OFFLINE
    now = now or datetime.now(UTC)
    seen = last_seen_at if last_seen_at.tzinfo else last_seen_at.replace(tzinfo=UTC)
    limit = STALE_AFTER_INTERVALS * heartbeat_interval_s(last_status)
    return _OFFLINE if (now - seen).total_seconds() > limit else state


StatusEmit = Callable[[dict[str, Any]], Awaitable[None]]


class StaleWatch:
    """On the event loop: effective states for status events, and an event when a rig goes quiet.

    ``emit`` sends one status event (the rig dict ingest gives its status listeners).
    """

    def __init__(self, emit: StatusEmit, *, check_every_s: float = 0.5) -> None:
        self._emit = emit
        self._check_every_s = check_every_s
        self._rigs: dict[str, dict[str, Any]] = {}
        self._heard: dict[str, float] = {}
        """Monotonic time of each rig's last heartbeat."""
        self._reported_offline: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch_forever(), name="rig-liveness")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    def seen(self, rig: dict[str, Any], heartbeat: bool) -> dict[str, Any]:
        """Note a stored status; return it with its effective state, for the listeners."""
        rig_id = rig["rig_id"]
        now = time.monotonic()
        if heartbeat and rig.get("state") == _ONLINE:
            self._heard[rig_id] = now
        self._rigs[rig_id] = rig
        if rig.get("state") == _ONLINE and self._stale(rig_id, now):
            self._reported_offline.add(rig_id)
            return {**rig, "state": _OFFLINE}
        self._reported_offline.discard(rig_id)
        return rig

    def _stale(self, rig_id: str, now: float) -> bool:
        heard = self._heard.get(rig_id)
        limit = STALE_AFTER_INTERVALS * heartbeat_interval_s(self._rigs[rig_id].get("last_status"))
        return heard is None or now - heard > limit

    async def _watch_forever(self) -> None:
        while True:
            await asyncio.sleep(self._check_every_s)
            now = time.monotonic()
            for rig_id, rig in list(self._rigs.items()):
                if rig.get("state") != _ONLINE or rig_id in self._reported_offline:
                    continue
                if self._stale(rig_id, now):
                    self._reported_offline.add(rig_id)
                    logger.warning(
                        "rig %s missed %d heartbeats: offline", rig_id, STALE_AFTER_INTERVALS
                    )
                    await self._emit({**rig, "state": _OFFLINE})
