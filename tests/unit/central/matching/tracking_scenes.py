"""Random tracking scenes for the track-metric oracle tests: crowded on purpose, so frames have
competing pairs, identity switches, fragments and false tracks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Scene:
    gt_frame: NDArray[np.int64]
    gt_id: NDArray[np.int64]
    gt_box: NDArray[np.float64]
    dt_frame: NDArray[np.int64]
    dt_id: NDArray[np.int64]
    dt_box: NDArray[np.float64]
    dt_score: NDArray[np.float64]


def random_scene(seed: int, frames: int = 40, objects: int = 8) -> Scene:
    rng = np.random.default_rng(seed)
    gt_f, gt_i, gt_b = [], [], []
    dt_f, dt_i, dt_b = [], [], []
    start = rng.uniform(0, 120, size=(objects, 2))
    speed = rng.uniform(-3, 3, size=(objects, 2))
    size = rng.uniform(20, 40, size=(objects, 2))
    life = np.sort(rng.integers(0, frames, size=(objects, 2)), axis=1)
    hyp_of = np.arange(objects) + 100
    for f in range(frames):
        if rng.random() < 0.15:  # an identity swap between two hypotheses
            a, b = rng.choice(objects, 2, replace=False)
            hyp_of[[a, b]] = hyp_of[[b, a]]
        if rng.random() < 0.1:  # a tracker restarts one track under a new id
            hyp_of[rng.integers(objects)] = 1000 + f
        for o in range(objects):
            if not life[o, 0] <= f <= life[o, 1]:
                continue
            box = np.r_[start[o] + speed[o] * f, size[o]]
            gt_f.append(f), gt_i.append(o + 1), gt_b.append(box)
            if rng.random() < 0.8:
                dt_f.append(f), dt_i.append(hyp_of[o])
                dt_b.append(box + np.r_[rng.normal(0, 4, 2), rng.normal(0, 3, 2)])
        for k in range(rng.poisson(0.7)):  # false alarms, short-lived false tracks
            dt_f.append(f), dt_i.append(5000 + (f // 3) * 10 + k)
            dt_b.append(np.r_[rng.uniform(0, 150, 2), rng.uniform(15, 40, 2)])
    dt_box = np.asarray(dt_b, dtype=np.float64).reshape(-1, 4)
    dt_box[:, 2:] = np.maximum(dt_box[:, 2:], 5.0)
    return Scene(
        gt_frame=np.asarray(gt_f, dtype=np.int64),
        gt_id=np.asarray(gt_i, dtype=np.int64),
        gt_box=np.asarray(gt_b, dtype=np.float64).reshape(-1, 4),
        dt_frame=np.asarray(dt_f, dtype=np.int64),
        dt_id=np.asarray(dt_i, dtype=np.int64),
        dt_box=dt_box,
        dt_score=rng.uniform(0.3, 1.0, size=len(dt_f)),
    )
