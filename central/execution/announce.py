"""Announcing a session's final results: retained on MQTT and as ``test_completed``."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from central.events import EventSink
from central.execution.results import FinalResults
from protocol import SessionResults, Topics, encode

__all__ = ["ResultsAnnouncer", "ResultsPublisher"]

logger = logging.getLogger(__name__)


class ResultsPublisher(Protocol):
    async def publish(
        self, topic: str, payload: bytes, qos: int = 1, retain: bool = False
    ) -> None: ...


class ResultsAnnouncer:
    """Publishes final results on ``{prefix}/sessions/{id}/results`` (retained; skipped without
    a publisher) and emits ``test_completed``."""

    def __init__(
        self,
        publisher: ResultsPublisher | None,
        topics: Topics,
        events: EventSink,
        timeout_s: float,
    ) -> None:
        self._publisher = publisher
        self._topics = topics
        self._events = events
        self._timeout_s = timeout_s

    async def announce(self, final: FinalResults) -> None:
        await self._publish(final)
        self._events.test_completed(
            final.session_id,
            {
                "status": final.status,
                "passed": final.results.get("passed"),
                "failed_criteria": final.results.get("failedCriteria", []),
                # None: a session that failed before it had results.
                "metrics": final.results or None,
            },
        )

    async def _publish(self, final: FinalResults) -> None:
        if self._publisher is None:
            return
        message = SessionResults(
            session_id=final.session_id,
            status=final.status,
            passed=final.results.get("passed"),
            failed_criteria=final.results.get("failedCriteria", []),
            metrics=final.results,
            t_wall_ns=time.time_ns(),
        )
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._publisher.publish(
                    self._topics.results(final.session_id), encode(message), qos=1, retain=True
                )
        except (TimeoutError, RuntimeError, OSError) as exc:
            logger.warning("results of session %s not published: %s", final.session_id, exc)
