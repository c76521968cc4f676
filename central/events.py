"""What any part of central may tell the dashboard: :class:`EventSink`.

Services, ingest and execution take an ``EventSink`` and never name a Socket.IO event or room.
:class:`central.realtime.emitter.RealtimeEmitter` implements it over Socket.IO; the base class
tells nobody, and :data:`DISCARD` is one for where nobody listens (the CLI, unit tests).

Every method returns at once and may be called from the event loop or from any worker thread: an
emit never blocks a database transaction and never fails the work that caused it. Call it after
the commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["DISCARD", "EventSink"]


class EventSink:
    """Tells nobody; :class:`~central.realtime.emitter.RealtimeEmitter` overrides every method."""

    def project_created(self, project_id: str, name: str) -> None:
        pass

    def video_uploaded(self, video_id: str, filename: str, project_id: str | None) -> None:
        pass

    def annotation_changed(self, video_id: str, action: str, annotation: Mapping[str, Any]) -> None:
        """``action`` is ``created``, ``updated`` or ``deleted``; the annotation as REST shows it."""

    def annotations_bulk_created(self, video_id: str, count: int) -> None:
        """A bulk write: too many rows to send one by one; clients refetch."""

    def import_progress(self, video_id: str, progress: Mapping[str, Any]) -> None:
        """Throttled: repeats of one ``stage`` are thinned out, every stage change arrives."""

    def export_progress(self, video_id: str, progress: Mapping[str, Any]) -> None:
        """Throttled like :meth:`import_progress`."""

    def rig_status(self, rig: Mapping[str, Any]) -> None:
        """A rig's row as ingest stored it (``rig_id``, ``state``, ``last_status``, ...)."""

    def detections(self, test_session_id: str, events: Sequence[Mapping[str, Any]]) -> None:
        """Judged records of a running session; coalesced into few ``detection_event``\\ s."""

    def session_progress(self, test_session_id: str, progress: Mapping[str, Any]) -> None:
        pass

    def test_completed(self, test_session_id: str, results: Mapping[str, Any]) -> None:
        pass


DISCARD = EventSink()
