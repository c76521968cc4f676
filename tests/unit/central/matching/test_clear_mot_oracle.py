"""CLEAR-MOT and identity metrics equal py-motmetrics 1.4.0 on crowded random scenes."""

from __future__ import annotations

import numpy as np
import pytest

from central.matching import GroundTruth, MatchConfig, MatchMode, Signals, match
from central.matching.clear_mot import ClearMot, clear_mot
from central.matching.frame_pairs import frame_pairs

from .tracking_scenes import Scene, random_scene

mm = pytest.importorskip("motmetrics")

if not hasattr(np, "asfarray"):  # py-motmetrics 1.4.0 calls it; NumPy 2 removed it (DESIGN.md)
    np.asfarray = lambda a, dtype=np.float64: np.asarray(a, dtype=dtype)  # type: ignore[attr-defined]


def _ours(scene: Scene, iou_threshold: float) -> ClearMot:
    _, obj = np.unique(scene.gt_id, return_inverse=True)
    _, hyp = np.unique(scene.dt_id, return_inverse=True)
    pairs = frame_pairs(scene.gt_frame, scene.gt_box, scene.dt_frame, scene.dt_box)
    return clear_mot(
        scene.gt_frame,
        scene.gt_box,
        obj,
        scene.dt_frame,
        scene.dt_box,
        hyp,
        np.arange(scene.dt_id.size),
        pairs,
        iou_threshold,
    )


def _motmetrics(scene: Scene, iou_threshold: float) -> dict[str, float]:
    acc = mm.MOTAccumulator(auto_id=False)
    frames = np.union1d(scene.gt_frame, scene.dt_frame)
    for f in frames.tolist():
        g = np.flatnonzero(scene.gt_frame == f)
        g = g[np.argsort(scene.gt_id[g], kind="stable")]
        d = np.flatnonzero(scene.dt_frame == f)
        dist = mm.distances.iou_matrix(
            scene.gt_box[g], scene.dt_box[d], max_iou=1.0 - iou_threshold
        )
        acc.update(scene.gt_id[g], scene.dt_id[d], dist.reshape(g.size, d.size), frameid=f)
    names = [
        "mota", "motp", "idf1", "idp", "idr", "num_switches", "num_fragmentations",
        "mostly_tracked", "partially_tracked", "mostly_lost", "num_false_positives",
        "num_misses", "num_matches",
    ]  # fmt: skip
    summary = mm.metrics.create().compute(acc, metrics=names, name="s")
    return {k: float(summary[k].iloc[0]) for k in names}


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("iou_threshold", [0.5, 0.3])
def test_clear_mot_equals_py_motmetrics(seed: int, iou_threshold: float) -> None:
    scene = random_scene(seed)
    ours = _ours(scene, iou_threshold)
    theirs = _motmetrics(scene, iou_threshold)
    assert ours.mota == pytest.approx(theirs["mota"], abs=1e-9)
    assert 1.0 - ours.motp == pytest.approx(theirs["motp"], abs=1e-9)
    assert ours.idf1 == pytest.approx(theirs["idf1"], abs=1e-9)
    assert ours.idp == pytest.approx(theirs["idp"], abs=1e-9)
    assert ours.idr == pytest.approx(theirs["idr"], abs=1e-9)
    assert ours.id_switches == theirs["num_switches"]
    assert ours.fragmentations == theirs["num_fragmentations"]
    assert (ours.mostly_tracked, ours.partially_tracked, ours.mostly_lost) == (
        theirs["mostly_tracked"],
        theirs["partially_tracked"],
        theirs["mostly_lost"],
    )
    assert (ours.false_positives, ours.misses, ours.matches + ours.id_switches * 0) == (
        theirs["num_false_positives"],
        theirs["num_misses"],
        theirs["num_matches"] + theirs["num_switches"],
    )


def test_scenes_exercise_switches_and_contested_frames() -> None:
    totals = [_ours(random_scene(seed), 0.5) for seed in range(12)]
    assert sum(t.id_switches for t in totals) > 10
    assert sum(t.fragmentations for t in totals) > 10


def _session_inputs(scene: Scene) -> tuple[GroundTruth, Signals]:
    gt = GroundTruth.from_arrays(
        annotation_id=np.arange(scene.gt_id.size),
        detection_id=scene.gt_id,
        frame=scene.gt_frame,
        t_ms=scene.gt_frame * 100.0,
        vru_type=np.zeros(scene.gt_id.size, dtype=np.int8),
        bbox=scene.gt_box,
    )
    signals = Signals.from_arrays(
        record_id=np.arange(scene.dt_id.size),
        vru_type=np.zeros(scene.dt_id.size, dtype=np.int8),
        bbox=scene.dt_box,
        confidence=scene.dt_score,
        frame=scene.dt_frame,
        track_id=scene.dt_id,
    )
    return gt, signals


def test_a_spatial_session_with_track_ids_reports_motmetrics_figures() -> None:
    scene = random_scene(3)
    gt, signals = _session_inputs(scene)
    config = MatchConfig(mode=MatchMode.SPATIAL, fps=10.0)
    tracking = match(gt, signals, config).evaluation.to_dict()["trackMetrics"]
    theirs = _motmetrics(scene, 0.5)
    assert tracking["mota"] == pytest.approx(theirs["mota"], abs=1e-9)
    assert tracking["idf1"] == pytest.approx(theirs["idf1"], abs=1e-9)
    assert tracking["idSwitches"] == theirs["num_switches"]
    assert 0.0 < tracking["hota"] < 1.0


def test_no_track_ids_or_a_repeated_one_give_no_track_metrics() -> None:
    gt, signals = _session_inputs(random_scene(4))
    config = MatchConfig(mode=MatchMode.SPATIAL, fps=10.0)
    untracked = Signals.from_arrays(
        record_id=signals.record_id,
        vru_type=signals.vru_type,
        bbox=signals.bbox,
        frame=signals.frame,
    )
    assert match(gt, untracked, config).evaluation.track_metrics is None
    repeated = Signals.from_arrays(
        record_id=[1, 2],
        vru_type=[0, 0],
        bbox=[[0, 0, 10, 10], [50, 50, 10, 10]],
        frame=[0, 0],
        track_id=["a", "a"],
    )
    assert match(gt, repeated, config).evaluation.track_metrics is None
