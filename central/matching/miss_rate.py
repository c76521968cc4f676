"""Log-average miss rate (Caltech Pedestrians; Dollar et al., TPAMI 2012; CityPersons, CVPR 2017).

Detections of the slice are taken by descending confidence (ties: canonical record order); after
each, the miss rate ``1 - TP / n_gt`` and the false positives per image ``FP / n_images`` give
one point of the curve. At each of nine reference FPPI values log-spaced over [1e-2, 1e0]
(``10 ** -2, 10 ** -1.75, ..., 10 ** 0``) the miss rate is read at the last point whose FPPI is
at or below the reference; where none is, the miss rate is 1 (Caltech's ``bbGt('compRoc')``
prepends the point (FPPI -inf, recall 0)). The result is the geometric mean of the nine,
each floored at 1e-10 as Caltech's ``dbEval`` does.

Differs from the CityPersons Python code (``eval_MR_multisetup.py``) in one place on purpose:
where no point is at or below a reference FPPI, that code indexes ``recall[-1]`` (the final
recall) instead of using miss rate 1; Caltech's MATLAB original and the paper use 1.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["FPPI_REFERENCES", "log_average_miss_rate"]

FPPI_REFERENCES = np.logspace(-2.0, 0.0, 9)
"""The nine FPPI points, as Caltech's ``ref = 10.^(-2:.25:0)``."""

_FLOOR = 1e-10


def log_average_miss_rate(
    score: NDArray[np.float64],
    is_tp: NDArray[np.bool_],
    n_ground_truth: int,
    n_images: int,
) -> float | None:
    """LAMR of the slice's detections (TP or FP; ignored ones left out by the caller).

    ``score`` and ``is_tp`` are in canonical record order, which breaks equal scores.
    None without ground truth or without images.
    """
    if n_ground_truth == 0 or n_images == 0:
        return None
    order = np.argsort(-score, kind="stable")
    hits = is_tp[order]
    recall = np.cumsum(hits) / n_ground_truth
    fppi = np.cumsum(~hits) / n_images
    last = np.searchsorted(fppi, FPPI_REFERENCES, side="right") - 1
    recall_at = np.where(last >= 0, recall[np.maximum(last, 0)] if recall.size else 0.0, 0.0)
    miss = np.maximum(_FLOOR, 1.0 - recall_at)
    return float(np.exp(np.mean(np.log(miss))))
