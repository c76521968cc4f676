"""HOTA and its parts equal TrackEval's on crowded random scenes."""

from __future__ import annotations

import numpy as np
import pytest

from central.matching.frame_pairs import frame_pairs
from central.matching.hota import hota

from .tracking_scenes import Scene, random_scene

trackeval = pytest.importorskip("trackeval")


def _trackeval(scene: Scene) -> dict[str, float]:
    _, obj = np.unique(scene.gt_id, return_inverse=True)
    _, hyp = np.unique(scene.dt_id, return_inverse=True)
    frames = int(max(scene.gt_frame.max(), scene.dt_frame.max())) + 1
    data: dict = {"gt_ids": [], "tracker_ids": [], "similarity_scores": []}
    for f in range(frames):
        g = np.flatnonzero(scene.gt_frame == f)
        g = g[np.argsort(obj[g], kind="stable")]
        d = np.flatnonzero(scene.dt_frame == f)
        data["gt_ids"].append(obj[g])
        data["tracker_ids"].append(hyp[d])
        data["similarity_scores"].append(
            trackeval.datasets._base_dataset._BaseDataset._calculate_box_ious(
                scene.gt_box[g].copy(), scene.dt_box[d].copy(), box_format="xywh"
            )
        )
    data.update(
        num_timesteps=frames,
        num_gt_ids=int(obj.max()) + 1,
        num_tracker_ids=int(hyp.max()) + 1,
        num_gt_dets=int(obj.size),
        num_tracker_dets=int(hyp.size),
    )
    res = trackeval.metrics.HOTA().eval_sequence(data)
    return {
        k: float(np.mean(res[k]))
        for k in ("HOTA", "DetA", "AssA", "DetRe", "DetPr", "AssRe", "AssPr", "LocA")
    }


@pytest.mark.parametrize("seed", range(12))
def test_hota_equals_trackeval(seed: int) -> None:
    scene = random_scene(seed)
    _, obj = np.unique(scene.gt_id, return_inverse=True)
    _, hyp = np.unique(scene.dt_id, return_inverse=True)
    pairs = frame_pairs(scene.gt_frame, scene.gt_box, scene.dt_frame, scene.dt_box)
    ours = hota(scene.gt_frame, obj, scene.dt_frame, hyp, np.arange(hyp.size), pairs).to_dict()
    theirs = _trackeval(scene)
    for name, key in [("hota", "HOTA"), ("detA", "DetA"), ("assA", "AssA"), ("detRe", "DetRe"),
                      ("detPr", "DetPr"), ("assRe", "AssRe"), ("assPr", "AssPr"), ("locA", "LocA")]:  # fmt: skip
        assert ours[name] == pytest.approx(theirs[key], abs=1e-9), name
