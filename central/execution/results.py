"""The final verdict of a test session: one deterministic pass, stored in one transaction.

:func:`compute_final_results` reads the session's ground truth and every stored record, runs the
matcher (:func:`central.matching.match`), and replaces the session's comparison and
latency rows and its ``results`` JSON. The same inputs always give the same rows and numbers, so
``POST .../recompute`` may run any number of times. Each pass locks the session's row first, so
two passes (on two centrals) take turns instead of interleaving their deletes and inserts;
:func:`finalize` then ends a running session at most once: its status changes in the pass's
own transaction, and a pass that finds the session no longer running writes nothing.

Rows written:

- ``detection_comparisons``: one per record (TP, FP, repeat, ignored) and one per missed ground
  truth (FN). ``vru_type`` is the ground truth's class where there is one, else the class the
  record claimed.
- ``results``: the matcher's summary, plus ``droppedSignals`` (channel -> signals the rig's
  kernel or driver dropped while the session ran, :mod:`central.execution.drops`). Any drop makes
  the verdict invalid: ``passed`` is false and ``failedCriteria`` starts with ``"invalid: N
  signals dropped on channel X during the run"``, whatever the matcher said.
- ``track_results``: one per ground-truth track (:mod:`central.matching.tracks`).
- ``latency_measurements``: one per true positive, latency from the ground truth's onset (or
  frame) to the signal, timestamps in video seconds. Rows the rig measured itself (stimulus to
  response, written by ingest for ``latency`` records) are not the matcher's and stay as they
  are.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Table, delete, select
from sqlalchemy.orm import Session

from central.db.bulk_insert import insert_many
from central.db.models import (
    DetectionComparison,
    DetectionEvent,
    LatencyMeasurement,
    TrackResult,
)
from central.db.types import new_ids, utcnow
from central.execution.drops import invalid_reason
from central.execution.loading import SessionInputs, load_inputs, load_session
from central.matching import VRU_TYPES, MatchResult, match
from central.schemas.evaluation import EvaluationPublic

__all__ = ["FINISHED_STATUSES", "FinalResults", "compute_final_results", "finalize"]

logger = logging.getLogger(__name__)

_COMPARISONS: Table = DetectionComparison.__table__  # type: ignore[assignment]
_LATENCIES: Table = LatencyMeasurement.__table__  # type: ignore[assignment]
_TRACKS: Table = TrackResult.__table__  # type: ignore[assignment]

FINISHED_STATUSES = ("completed", "stopped")
"""Statuses of sessions that ran and have final results."""


@dataclass(frozen=True, slots=True)
class FinalResults:
    session_id: str
    status: str
    results: dict[str, Any]
    """``Results.to_dict()`` plus ``mode`` and ``recordCount``, as stored on the session."""


def _positions(inputs: SessionInputs, record_ids: NDArray[Any]) -> NDArray[np.intp]:
    """Where each of ``record_ids`` is in the session's signals (output rows come in record-id
    order, the inputs in load order)."""
    ids = inputs.signals.record_id
    order = np.argsort(ids, kind="stable")
    return order[np.searchsorted(ids, record_ids, sorter=order)]


def _comparison_rows(
    inputs: SessionInputs, outcome: MatchResult, now: datetime
) -> list[dict[str, Any]]:
    session_id = inputs.session.id
    gt = inputs.ground_truth
    comparisons = outcome.comparisons
    gt_type = dict(zip(gt.annotation_id.tolist(), _type_names(gt.vru_type), strict=True))
    claimed = inputs.claimed_types[_positions(inputs, comparisons.record_id)].tolist()
    rows = [
        {
            "test_session_id": session_id,
            "ground_truth_id": row["annotation_id"],
            "detection_event_id": row["record_id"],
            "match_type": row["match_type"],
            "vru_type": gt_type.get(row["annotation_id"], claimed_type),
            "confidence_score": row["confidence"],
            "temporal_difference_ms": row["temporal_difference_ms"],
            "spatial_iou": row["iou"],
            "created_at": now,
        }
        for row, claimed_type in zip(comparisons.to_rows(), claimed, strict=True)
    ]
    rows.extend(
        {
            "test_session_id": session_id,
            "ground_truth_id": miss["annotation_id"],
            "detection_event_id": None,
            "match_type": "FN",
            "vru_type": miss["vru_type"],
            "confidence_score": None,
            "temporal_difference_ms": None,
            "spatial_iou": None,
            "created_at": now,
        }
        for miss in outcome.misses.to_rows()
    )
    return rows


def _type_names(codes: np.ndarray) -> list[str]:
    return [str(VRU_TYPES[c]) for c in codes.tolist()]


def _latency_rows(
    inputs: SessionInputs, outcome: MatchResult, now: datetime
) -> list[dict[str, Any]]:
    """Ground-truth latency of each TP: from the event's onset (or the box's frame) to the signal."""
    latencies = outcome.latencies
    signals = inputs.signals
    t_signal_s = signals.t_video_ms[_positions(inputs, latencies.record_id)] / 1000.0
    t_truth_s = t_signal_s - latencies.latency_ms / 1000.0
    return [
        {
            "test_session_id": inputs.session.id,
            "detection_event_id": record_id,
            "detection_timestamp": t_sig,
            "signal_timestamp": t_gt,
            "latency_ms": latency,
            "within_tolerance": ok,
            "created_at": now,
        }
        for record_id, t_sig, t_gt, latency, ok in zip(
            latencies.record_id.tolist(),
            t_signal_s.tolist(),
            t_truth_s.tolist(),
            latencies.latency_ms.tolist(),
            latencies.within_tolerance.tolist(),
            strict=True,
        )
    ]


def _track_rows(inputs: SessionInputs, outcome: MatchResult, now: datetime) -> list[dict[str, Any]]:
    return [
        {
            **row,
            "detection_id": str(row["detection_id"]),
            "test_session_id": inputs.session.id,
            "created_at": now,
        }
        for row in outcome.evaluation.tracks.to_rows()
    ]


def _with_ids(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row, row_id in zip(rows, new_ids(len(rows)), strict=True):
        row["id"] = row_id
    return rows


def _replace_rows(db: Session, inputs: SessionInputs, outcome: MatchResult) -> None:
    session_id = inputs.session.id
    now = utcnow()
    rig_measured = select(DetectionEvent.id).where(
        DetectionEvent.test_session_id == session_id, DetectionEvent.kind == "latency"
    )
    db.execute(delete(DetectionComparison).where(DetectionComparison.test_session_id == session_id))
    db.execute(delete(TrackResult).where(TrackResult.test_session_id == session_id))
    db.execute(
        delete(LatencyMeasurement).where(
            LatencyMeasurement.test_session_id == session_id,
            (LatencyMeasurement.detection_event_id.is_(None))
            | LatencyMeasurement.detection_event_id.not_in(rig_measured),
        )
    )
    insert_many(db, _COMPARISONS, _with_ids(_comparison_rows(inputs, outcome, now)))
    insert_many(db, _LATENCIES, _with_ids(_latency_rows(inputs, outcome, now)))
    insert_many(db, _TRACKS, _with_ids(_track_rows(inputs, outcome, now)))


def compute_final_results(
    db: Session,
    session_id: str,
    *,
    status: str | None = None,
    failure_reason: str | None = None,
    dropped: Mapping[str, int] | None = None,
) -> FinalResults:
    """Match every stored record of the session, store the outcome and commit.

    ``status`` (when given) is set in the same transaction, with ``completed_at``. ``dropped``
    (channel -> signals dropped during the run) is kept in the results; a recompute without it
    keeps what the session's results already say.

    :raises NotFound: no such session.
    :raises ValueError: the session was never started, or its data cannot be matched.
    """
    inputs = load_inputs(db, session_id, lock=True)
    outcome = match(inputs.ground_truth, inputs.signals, inputs.config)
    session = inputs.session
    if dropped is None:
        dropped = (session.results or {}).get("droppedSignals") or {}
    summary = {
        **outcome.results.to_dict(),
        "mode": str(inputs.config.mode),
        "recordCount": len(inputs.signals),
        "evaluation": EvaluationPublic.model_validate(outcome.evaluation.to_dict()).model_dump(
            by_alias=True
        ),
        "droppedSignals": {name: count for name, count in sorted(dropped.items()) if count > 0},
    }
    reason = invalid_reason(dropped)
    if reason is not None:
        summary["passed"] = False
        summary["failedCriteria"] = [reason, *summary["failedCriteria"]]
    _replace_rows(db, inputs, outcome)
    session.results = summary
    if status is not None:
        session.status = status
        session.failure_reason = failure_reason
        session.completed_at = utcnow()
    if session.sync_mono_ns is None and inputs.sync_mono_ns is not None:
        session.sync_mono_ns = inputs.sync_mono_ns
    db.commit()
    logger.info(
        "session %s: TP %d FP %d FN %d over %d records (%s)",
        session_id,
        summary["truePositives"],
        summary["falsePositives"],
        summary["falseNegatives"],
        len(inputs.signals),
        "passed" if summary["passed"] else "failed",
    )
    return FinalResults(session_id=session_id, status=session.status, results=summary)


def finalize(
    db: Session, session_id: str, owner: str, status: str, dropped: Mapping[str, int] | None
) -> FinalResults | None:
    """The final pass of a running session owned by ``owner``, ending it with ``status``; None
    (and nothing written) when the session no longer runs (another pass finalized it first) or
    another central took it over.

    :raises NotFound: no such session.
    :raises ValueError: as :func:`compute_final_results`.
    """
    session = load_session(db, session_id, lock=True)
    if session.status != "running" or session.owner_id not in (None, owner):
        db.rollback()
        return None
    logger.info("session %s: final pass", session_id)
    return compute_final_results(db, session_id, status=status, dropped=dropped)
