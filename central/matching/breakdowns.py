"""Recall, precision, miss rate, latency and log-average miss rate per box-height bin and per flag.

Box height is the distance proxy of pedestrian benchmarks (Caltech's "reasonable" set is people
taller than 50 px). Bins are ``[edges[i], edges[i + 1])`` in pixels (default 0, 50, 100, 200,
inf; each session may set its own), labelled ``"50-100"``, ``"200-inf"``. Spatial mode only (a
temporal signal has no box).

Counting, on the session's own greedy assignment:

* ground truth falls in the bin of its box's height; ``difficult`` boxes never count (as in the
  verdict); a TP counts in its ground truth's bin and VRU type, and its latency with it;
* a FP counts in the bin of its *own* box height and the VRU type it claimed (a FP without a box
  only counts in the overall figures); so precision per bin is "of the detections of this size,
  how many were right";
* miss rate is ``FN / (TP + FN)``; latency p50/p95 are numpy's linear percentiles of the TPs'
  latencies;
* log-average miss rate (:mod:`central.matching.miss_rate`) per slice, when the session is
  spatial and some record carries a confidence: within a bin, detections matched to ground truth
  of another bin are left out (neither TP nor FP, as Caltech ignores ground truth outside the
  evaluated height range), and FPPI is over every frame of the video.

Flags (occluded, truncated, difficult) slice the ground truth only: a FP carries no flag, so
precision and LAMR per flag are None. In temporal mode the slices are events, as in ``byFlag``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from central.matching.assignment import Assignment, Verdict
from central.matching.inputs import VRU_TYPES, GroundTruth
from central.matching.miss_rate import log_average_miss_rate
from central.matching.outputs import camel_dict

__all__ = [
    "DEFAULT_SIZE_BIN_EDGES_PX",
    "SizeBins",
    "SliceStats",
    "bin_labels",
    "flag_breakdown",
    "height_bin",
    "size_bins",
]

DEFAULT_SIZE_BIN_EDGES_PX: tuple[float, ...] = (0.0, 50.0, 100.0, 200.0, float("inf"))


def bin_labels(edges: tuple[float, ...]) -> tuple[str, ...]:
    """``"lo-hi"`` per bin, ``inf`` written as such (``"200-inf"``)."""
    return tuple(f"{lo:g}-{hi:g}" for lo, hi in itertools.pairwise(edges))


def height_bin(height: NDArray[np.float64], edges: tuple[float, ...]) -> NDArray[np.intp]:
    """Bin index of each height, -1 outside every bin (or for a missing box)."""
    index = np.searchsorted(np.asarray(edges), height, side="right") - 1
    outside = (index >= len(edges) - 1) | np.isnan(height) | (height < edges[0])
    return np.where(outside, -1, index)


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


@dataclass(frozen=True, slots=True)
class SliceStats:
    ground_truth: int
    true_positives: int
    false_negatives: int
    false_positives: int | None
    recall: float | None
    precision: float | None
    miss_rate: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    log_average_miss_rate: float | None

    def to_dict(self) -> dict[str, Any]:
        return camel_dict(self)


@dataclass(frozen=True, slots=True)
class _Outcomes:
    """The assignment seen per GT unit, per TP and per FP record."""

    unit_counted: NDArray[np.bool_]
    unit_matched: NDArray[np.bool_]
    tp_unit: NDArray[np.intp]
    tp_record: NDArray[np.intp]
    """Canonical positions of the TP records."""
    tp_latency: NDArray[np.float64]
    tp_score: NDArray[np.float64]
    fp_score: NDArray[np.float64]
    fp_record: NDArray[np.intp]
    """Canonical positions of the FP records."""


def _outcomes(gt: GroundTruth, a: Assignment) -> _Outcomes:
    unit_of_row = np.full(len(gt), -1, dtype=np.intp)
    unit_of_row[a.unit_row] = np.arange(a.unit_row.size)
    tp = np.flatnonzero(a.verdict == Verdict.TP)
    fp = np.flatnonzero(a.verdict == Verdict.FP)
    confidence = a.signals.confidence[a.order]
    score = np.where(np.isnan(confidence), 1.0, confidence)
    return _Outcomes(
        unit_counted=a.unit_counted,
        unit_matched=a.unit_matched,
        tp_unit=unit_of_row[a.gt_row[tp]],
        tp_record=tp,
        tp_latency=a.difference_ms[tp],
        tp_score=score[tp],
        fp_score=score[fp],
        fp_record=fp,
    )


def _slice(
    o: _Outcomes,
    units: NDArray[np.bool_],
    fp: NDArray[np.bool_] | None,
    n_images: int | None,
) -> SliceStats:
    counted = units & o.unit_counted
    n_gt = int(np.count_nonzero(counted))
    tp = int(np.count_nonzero(counted & o.unit_matched))
    in_slice = counted[o.tp_unit]
    latency = o.tp_latency[in_slice]
    latency = latency[~np.isnan(latency)]
    p50 = p95 = None
    if latency.size:
        p50, p95 = (float(v) for v in np.percentile(latency, [50, 95]))
    n_fp = None if fp is None else int(np.count_nonzero(fp))
    lamr = None
    if fp is not None and n_images is not None:
        scores = np.concatenate([o.tp_score[in_slice], o.fp_score[fp]])
        hits = np.concatenate([np.ones(tp, dtype=np.bool_), np.zeros(n_fp or 0, dtype=np.bool_)])
        # Canonical order between TPs and FPs of equal score: record position.
        positions = np.concatenate([o.tp_record[in_slice], o.fp_record[fp]])
        order = np.argsort(positions, kind="stable")
        lamr = log_average_miss_rate(scores[order], hits[order], n_gt, n_images)
    return SliceStats(
        ground_truth=n_gt,
        true_positives=tp,
        false_negatives=n_gt - tp,
        false_positives=n_fp,
        recall=_ratio(tp, n_gt),
        precision=None if n_fp is None else _ratio(tp, tp + n_fp),
        miss_rate=_ratio(n_gt - tp, n_gt),
        latency_p50_ms=p50,
        latency_p95_ms=p95,
        log_average_miss_rate=lamr,
    )


@dataclass(frozen=True, slots=True)
class SizeBins:
    edges_px: tuple[float, ...]
    by_vru_type: dict[str, dict[str, SliceStats]]
    """``"all"`` and every VRU type -> bin label (plus ``"all"``: every size) -> figures."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "edgesPx": [None if np.isinf(e) else e for e in self.edges_px],
            "labels": list(bin_labels(self.edges_px)),
            "byVruType": {
                vru: {label: s.to_dict() for label, s in bins.items()}
                for vru, bins in self.by_vru_type.items()
            },
        }


def size_bins(
    gt: GroundTruth, a: Assignment, edges: tuple[float, ...], n_images: int | None
) -> SizeBins:
    """Figures per (VRU type, height bin) of a spatial assignment; see the module docstring.

    ``n_images`` is the number of frames for FPPI, None when no record carries a confidence
    (then no LAMR).
    """
    o = _outcomes(gt, a)
    gt_bin = height_bin(gt.bbox[a.unit_row, 3], edges)
    gt_type = a.unit_vru_type
    fp_box = a.signals.bbox[a.order[o.fp_record]]
    fp_bin = height_bin(fp_box[:, 3], edges)
    fp_type = a.signals.vru_type[a.order[o.fp_record]]
    types: dict[str, tuple[NDArray[np.bool_], NDArray[np.bool_]]] = {
        "all": (np.ones(gt_type.size, dtype=np.bool_), np.ones(fp_type.size, dtype=np.bool_))
    }
    for code, vru_type in enumerate(VRU_TYPES):
        types[str(vru_type)] = (gt_type == code, fp_type == code)
    labels = bin_labels(edges)
    out: dict[str, dict[str, SliceStats]] = {}
    for vru, (gt_of_type, fp_of_type) in types.items():
        bins = {"all": _slice(o, gt_of_type, fp_of_type, n_images)}
        for b, label in enumerate(labels):
            bins[label] = _slice(
                o, gt_of_type & (gt_bin == b), fp_of_type & (fp_bin == b), n_images
            )
        out[vru] = bins
    return SizeBins(edges_px=edges, by_vru_type=out)


def flag_breakdown(gt: GroundTruth, a: Assignment) -> dict[str, SliceStats]:
    """Recall, miss rate and latency of the ground truth carrying each flag."""
    o = _outcomes(gt, a)
    return {
        "occluded": _slice(o, a.unit_occluded, None, None),
        "truncated": _slice(o, a.unit_truncated, None, None),
        "difficult": _slice(o, a.unit_difficult, None, None),
    }
