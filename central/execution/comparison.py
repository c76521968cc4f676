"""Compare two finished sessions on the same video, track by track (issue #12).

Reads both sessions' ``track_results`` rows and hands them to
:func:`central.matching.regression.compare_tracks`; tracks that count in only one of them
(annotations edited between the runs) are left out.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db.models import TrackResult
from central.execution.loading import load_session
from central.matching.regression import compare_tracks
from central.services.errors import Conflict

__all__ = ["compare_sessions"]

logger = logging.getLogger(__name__)


def _tracks(db: Session, session_id: str) -> dict[str, tuple[bool, float]]:
    t = TrackResult
    rows = db.execute(
        select(t.detection_id, t.never_detected, t.ttfd_ms).where(
            t.test_session_id == session_id, t.frames_counted > 0
        )
    )
    return {
        track: (not missed, np.nan if ttfd is None else float(ttfd)) for track, missed, ttfd in rows
    }


def compare_sessions(db: Session, a_id: str, b_id: str) -> dict[str, Any]:
    """The comparison of B against A, as the compare endpoint returns it.

    :raises NotFound: either session does not exist.
    :raises Conflict: the sessions ran on different videos, or one has no final results.
    """
    a, b = load_session(db, a_id), load_session(db, b_id)
    if a.video_id != b.video_id:
        raise Conflict(f"sessions {a_id!r} and {b_id!r} ran on different videos")
    for session in (a, b):
        if session.results is None:
            raise Conflict(f"session {session.id!r} has no final results yet")
    tracks_a, tracks_b = _tracks(db, a_id), _tracks(db, b_id)
    shared = np.asarray(sorted(tracks_a.keys() & tracks_b.keys()), dtype=object)
    found_a = np.asarray([tracks_a[t][0] for t in shared], dtype=np.bool_)
    found_b = np.asarray([tracks_b[t][0] for t in shared], dtype=np.bool_)
    ttfd_a = np.asarray([tracks_a[t][1] for t in shared], dtype=np.float64)
    ttfd_b = np.asarray([tracks_b[t][1] for t in shared], dtype=np.float64)
    outcome = compare_tracks(shared, found_a, found_b, ttfd_a, ttfd_b)
    logger.info("session %s against %s: %s", b_id, a_id, outcome.verdict)
    return {"sessionA": a_id, "sessionB": b_id, **outcome.to_dict()}
