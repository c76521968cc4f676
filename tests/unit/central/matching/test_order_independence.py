"""Final results are a pure function of (ground truth, records, config): the order in which
records arrive changes nothing, and recomputing gives the same rows and numbers."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from central.matching import (
    VRU_TYPES,
    GroundTruth,
    MatchConfig,
    MatchMode,
    MatchResult,
    Signals,
    match,
)

_TYPES = [str(v) for v in VRU_TYPES]


def _snapshot(result: MatchResult) -> tuple[Any, ...]:
    return (
        result.comparisons.to_rows(),
        result.misses.to_rows(),
        result.latencies.to_rows(),
        result.results.to_dict(),
    )


@st.composite
def _temporal_case(draw: st.DrawFn) -> tuple[GroundTruth, list[dict[str, Any]]]:
    rows = []
    for e in range(draw(st.integers(0, 8))):
        onset = draw(st.integers(0, 2000))
        for k, t in enumerate((onset, onset + draw(st.integers(0, 800)))):
            rows.append(
                {
                    "annotation_id": f"a{e}-{k}",
                    "detection_id": f"d{e}",
                    "frame": t // 10 + k,
                    "t_ms": float(t),
                    "vru_type": draw(st.sampled_from(_TYPES)),
                    "occluded": draw(st.booleans()),
                }
            )
    times = draw(st.lists(st.one_of(st.none(), st.integers(-100, 3000)), max_size=30))
    records = [{"record_id": f"r{i:03d}", "t_video_ms": t} for i, t in enumerate(times)]
    return GroundTruth.from_dicts(rows), records


@st.composite
def _spatial_case(draw: st.DrawFn) -> tuple[GroundTruth, list[dict[str, Any]]]:
    coord = st.integers(0, 40).map(float)
    size = st.integers(4, 20).map(float)
    rows = [
        {
            "annotation_id": i + 1,
            "detection_id": f"d{i}",
            "frame": draw(st.integers(0, 3)),
            "t_ms": 0.0,
            "vru_type": draw(st.sampled_from(_TYPES[:2])),
            "difficult": draw(st.booleans()),
            "bbox": [draw(coord), draw(coord), draw(size), draw(size)],
        }
        for i in range(draw(st.integers(0, 10)))
    ]
    records = [
        {
            "record_id": i,
            "frame": draw(st.integers(0, 3)),
            "vru_type": draw(st.sampled_from(_TYPES[:2])),
            "confidence": draw(st.sampled_from([0.3, 0.5, 0.9])),
            "bbox": [draw(coord), draw(coord), draw(size), draw(size)],
        }
        for i in range(draw(st.integers(0, 20)))
    ]
    return GroundTruth.from_dicts(rows), records


def _check(gt: GroundTruth, records: list[dict[str, Any]], config: MatchConfig, seed: int) -> None:
    reference = match(gt, Signals.from_dicts(records), config)
    shuffled = [records[i] for i in np.random.default_rng(seed).permutation(len(records))]
    assert _snapshot(match(gt, Signals.from_dicts(shuffled), config)) == _snapshot(reference)
    assert _snapshot(match(gt, Signals.from_dicts(records), config)) == _snapshot(reference)


@settings(max_examples=80, deadline=None)
@given(
    case=_temporal_case(),
    tolerance=st.sampled_from([0.0, 50.0, 100.0]),
    seed=st.integers(0, 2**32 - 1),
)
def test_temporal_results_do_not_depend_on_arrival_order(
    case: tuple[GroundTruth, list[dict[str, Any]]], tolerance: float, seed: int
) -> None:
    _check(*case, MatchConfig(tolerance_ms=tolerance), seed)


@settings(max_examples=80, deadline=None)
@given(case=_spatial_case(), seed=st.integers(0, 2**32 - 1))
def test_spatial_results_and_ap_do_not_depend_on_arrival_order(
    case: tuple[GroundTruth, list[dict[str, Any]]], seed: int
) -> None:
    _check(*case, MatchConfig(mode=MatchMode.SPATIAL), seed)
