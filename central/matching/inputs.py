"""Inputs of the matching engine: ground truth, detection signals and the session's criteria.

Each input is a frozen dataclass of equal-length numpy arrays, built from plain lists of dicts
(``from_dicts``) or from arrays (``from_arrays``); both check their input and raise
:class:`ValueError` with the offending row or field, so bad input never reaches the matcher.

Missing values are encoded in the arrays so the matcher stays vectorised: ``-1`` for a missing
VRU type or frame, ``NaN`` for a missing time, confidence or box.

Identifiers (annotation, track and record ids) may be integers or strings, but one kind per
array; they only need to be unique and sortable, because sorting by them is how every tie is
broken (see :mod:`central.matching.temporal` and :mod:`~.spatial`).
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from central.matching.criteria import Criterion
from protocol import VruType

__all__ = [
    "NO_CLASS",
    "VRU_TYPES",
    "GroundTruth",
    "MatchConfig",
    "MatchMode",
    "Signals",
    "vru_code",
]

logger = logging.getLogger(__name__)

VRU_TYPES: tuple[VruType, ...] = tuple(VruType)
"""The VRU classes in protocol order; a class's code is its index here (COCO id = code + 1)."""

NO_CLASS = -1
"""Code of a record that carries no VRU type."""

_CODES = {str(v): i for i, v in enumerate(VRU_TYPES)}


def vru_code(value: str | VruType | None) -> int:
    """The integer code of a VRU type name, ``NO_CLASS`` for None.

    :raises ValueError: the name is not a VRU type.
    """
    if value is None:
        return NO_CLASS
    try:
        return _CODES[str(value)]
    except KeyError:
        raise ValueError(f"unknown VRU type {value!r}; expected one of {sorted(_CODES)}") from None


class MatchMode(StrEnum):
    TEMPORAL = "temporal"
    """Signals without a box (a GPIO edge, a bare CAN flag) matched against events in time."""
    SPATIAL = "spatial"
    """Detections with frame or time, box, class and confidence matched per frame, as COCO does."""


@dataclass(frozen=True, slots=True)
class MatchConfig:
    """The session's matching rules and pass criteria (``TestExecutionConfig`` plus the video).

    ``fps`` is needed only in spatial mode, for records that carry a time but no frame.
    """

    mode: MatchMode = MatchMode.TEMPORAL
    tolerance_ms: float = 100.0
    max_latency_ms: float = 200.0
    min_accuracy: float = 0.90
    iou_threshold: float = 0.5
    fps: float | None = None
    frame_count: int | None = None
    """Frames of the video, for false positives per image; None: the frames that hold ground
    truth or a detection."""
    size_bin_edges_px: tuple[float, ...] = (0.0, 50.0, 100.0, 200.0, math.inf)
    """Box-height bin edges, increasing (see :mod:`central.matching.breakdowns`); when the last
    is finite, an open-ended last bin is implied (``inf`` is appended)."""
    criteria: tuple[Criterion, ...] = ()
    """Pass/fail criteria on slices, besides accuracy and p95 latency."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", MatchMode(self.mode))
        if not (math.isfinite(self.tolerance_ms) and self.tolerance_ms >= 0):
            raise ValueError(f"tolerance_ms must be a finite number >= 0, got {self.tolerance_ms}")
        if not math.isfinite(self.max_latency_ms):
            raise ValueError(f"max_latency_ms must be finite, got {self.max_latency_ms}")
        if not 0.0 <= self.min_accuracy <= 1.0:
            raise ValueError(f"min_accuracy must be within [0, 1], got {self.min_accuracy}")
        if not 0.0 < self.iou_threshold <= 1.0:
            raise ValueError(f"iou_threshold must be within (0, 1], got {self.iou_threshold}")
        if self.fps is not None and not (math.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"fps must be a finite number > 0, got {self.fps}")
        edges = tuple(float(e) for e in self.size_bin_edges_px)
        if edges and math.isfinite(edges[-1]):
            edges = (*edges, math.inf)
        object.__setattr__(self, "size_bin_edges_px", edges)
        criteria = tuple(
            c if isinstance(c, Criterion) else Criterion(**c)  # a model_dump() of the config
            for c in self.criteria
        )
        object.__setattr__(self, "criteria", criteria)
        if len(edges) < 2 or any(b <= a for a, b in itertools.pairwise(edges)):
            raise ValueError(f"size bin edges must be at least two increasing numbers, got {edges}")
        if edges[0] < 0 or math.isnan(edges[0]):
            raise ValueError(f"size bin edges must start at 0 or above, got {edges[0]}")


def _ids(values: ArrayLike, name: str, unique: bool) -> NDArray[Any]:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    # numpy would silently turn [1, "a"] into ["1", "a"], merging 1 and "1".
    if (
        arr.dtype.kind == "U"
        and not isinstance(values, np.ndarray)
        and any(not isinstance(v, str) for v in values)  # type: ignore[union-attr]
    ):
        raise ValueError(f"{name} must be all integers or all strings, not a mix")
    if arr.size and arr.dtype.kind not in "iuU":
        raise ValueError(f"{name} must be all integers or all strings, got dtype {arr.dtype}")
    if unique and arr.size > 1:
        ordered = np.sort(arr)
        dup = np.flatnonzero(ordered[1:] == ordered[:-1])
        if dup.size:
            raise ValueError(
                f"{name} must be unique; {ordered[dup[0]].item()!r} appears more than once"
            )
    return arr


def _column(values: ArrayLike | None, n: int, dtype: Any, fill: Any, name: str) -> NDArray[Any]:
    if values is None:
        return np.full(n, fill, dtype=dtype)
    arr = np.asarray(values, dtype=dtype)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {arr.shape}")
    return arr


def _boxes(values: ArrayLike | None, n: int, name: str) -> NDArray[np.float64]:
    if values is None:
        return np.full((n, 4), np.nan)
    arr = np.asarray(values, dtype=np.float64).reshape(-1, 4) if n else np.empty((0, 4))
    if arr.shape != (n, 4):
        raise ValueError(f"{name} must have shape ({n}, 4), got {arr.shape}")
    present = ~np.isnan(arr).any(axis=1)
    bad = present & ((arr[:, 2] <= 0) | (arr[:, 3] <= 0) | ~np.isfinite(arr).all(axis=1))
    if bad.any():
        raise ValueError(f"{name} row {int(np.flatnonzero(bad)[0])}: width and height must be > 0")
    return arr


def _codes(values: ArrayLike | None, n: int, name: str) -> NDArray[np.int8]:
    if values is None:
        return np.full(n, NO_CLASS, dtype=np.int8)
    arr = np.asarray(values)
    if arr.dtype.kind in "iu":
        if ((arr < NO_CLASS) | (arr >= len(VRU_TYPES))).any():
            raise ValueError(f"{name} codes must be within [-1, {len(VRU_TYPES) - 1}]")
        codes = arr.astype(np.int8)
    else:
        codes = np.fromiter((vru_code(v) for v in arr.tolist()), dtype=np.int8, count=arr.size)
    if codes.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {codes.shape}")
    return codes


def _track_ids(values: ArrayLike | None, n: int) -> NDArray[np.str_]:
    """Track ids as strings, ``""`` for a missing one (None)."""
    if values is None:
        return np.full(n, "", dtype="<U1")
    items = np.asarray(values, dtype=object).reshape(-1).tolist()
    arr = np.asarray(["" if t is None else str(t) for t in items], dtype=np.str_)
    if arr.shape != (n,):
        raise ValueError(f"track_id must have shape ({n},), got {arr.shape}")
    return arr


def _bbox_of(row: Mapping[str, Any], where: str) -> tuple[float, float, float, float] | None:
    box = row.get("bbox")
    if box is None:
        return None
    if isinstance(box, Mapping):
        box = [box.get("x"), box.get("y"), box.get("width"), box.get("height")]
    if not isinstance(box, Sequence) or len(box) != 4 or any(v is None for v in box):
        raise ValueError(f"{where}: bbox must be [x, y, w, h] or {{x, y, width, height}}")
    return (float(box[0]), float(box[1]), float(box[2]), float(box[3]))


def _require(row: Mapping[str, Any], key: str, where: str) -> Any:
    if row.get(key) is None:
        raise ValueError(f"{where}: {key!r} is required")
    return row[key]


@dataclass(frozen=True, slots=True)
class GroundTruth:
    """Ground-truth annotations of one video: one row per (track, frame) box.

    ``detection_id`` is the track: one VRU across frames, i.e. one temporal event.
    ``t_ms`` is the video time at which ``frame`` is shown.
    """

    annotation_id: NDArray[Any]
    detection_id: NDArray[Any]
    frame: NDArray[np.int64]
    t_ms: NDArray[np.float64]
    vru_type: NDArray[np.int8]
    bbox: NDArray[np.float64]
    occluded: NDArray[np.bool_]
    truncated: NDArray[np.bool_]
    difficult: NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.annotation_id.size)

    @classmethod
    def from_arrays(
        cls,
        annotation_id: ArrayLike,
        detection_id: ArrayLike,
        frame: ArrayLike,
        t_ms: ArrayLike,
        vru_type: ArrayLike,
        bbox: ArrayLike | None = None,
        occluded: ArrayLike | None = None,
        truncated: ArrayLike | None = None,
        difficult: ArrayLike | None = None,
    ) -> GroundTruth:
        """Check and wrap arrays; flags default to False, boxes to missing.

        :raises ValueError: shapes differ, ids repeat, a time is not finite, a frame is negative,
            a VRU type is unknown or missing, or a box is not positive.
        """
        ann = _ids(annotation_id, "annotation_id", unique=True)
        n = ann.size
        track = _ids(detection_id, "detection_id", unique=False)
        if track.shape != (n,):
            raise ValueError(f"detection_id must have shape ({n},), got {track.shape}")
        frames = _column(frame, n, np.int64, -1, "frame")
        times = _column(t_ms, n, np.float64, np.nan, "t_ms")
        if (frames < 0).any():
            raise ValueError(f"frame must be >= 0 (row {int(np.argmax(frames < 0))})")
        if not np.isfinite(times).all():
            raise ValueError(f"t_ms must be finite (row {int(np.argmax(~np.isfinite(times)))})")
        codes = _codes(vru_type, n, "vru_type")
        if (codes == NO_CLASS).any():
            raise ValueError(f"vru_type is required (row {int(np.argmax(codes == NO_CLASS))})")
        return cls(
            annotation_id=ann,
            detection_id=track,
            frame=frames,
            t_ms=times,
            vru_type=codes,
            bbox=_boxes(bbox, n, "bbox"),
            occluded=_column(occluded, n, np.bool_, False, "occluded"),
            truncated=_column(truncated, n, np.bool_, False, "truncated"),
            difficult=_column(difficult, n, np.bool_, False, "difficult"),
        )

    @classmethod
    def from_dicts(cls, rows: Iterable[Mapping[str, Any]], fps: float | None = None) -> GroundTruth:
        """Build from dicts with keys ``annotation_id``, ``detection_id``, ``frame``, ``t_ms``,
        ``vru_type``, ``bbox`` and the optional flags ``occluded``, ``truncated``, ``difficult``.

        ``t_ms`` may be left out when ``fps`` is given: it is then ``frame * 1000 / fps``.

        :raises ValueError: a required key is missing or a value is invalid (the row is named).
        """
        cols: dict[str, list[Any]] = {k: [] for k in GroundTruth.__slots__}
        for i, row in enumerate(rows):
            where = f"ground truth row {i}"
            frame = int(_require(row, "frame", where))
            t_ms = row.get("t_ms")
            if t_ms is None:
                if fps is None:
                    raise ValueError(f"{where}: 't_ms' is required when no fps is given")
                t_ms = frame * 1000.0 / fps
            box = _bbox_of(row, where)
            cols["annotation_id"].append(_require(row, "annotation_id", where))
            cols["detection_id"].append(_require(row, "detection_id", where))
            cols["frame"].append(frame)
            cols["t_ms"].append(float(t_ms))
            cols["vru_type"].append(vru_code(_require(row, "vru_type", where)))
            cols["bbox"].append(box if box is not None else (np.nan,) * 4)
            for flag in ("occluded", "truncated", "difficult"):
                cols[flag].append(bool(row.get(flag, False)))
        return cls.from_arrays(
            annotation_id=cols["annotation_id"],
            detection_id=cols["detection_id"],
            frame=np.asarray(cols["frame"], dtype=np.int64),
            t_ms=np.asarray(cols["t_ms"], dtype=np.float64),
            vru_type=np.asarray(cols["vru_type"], dtype=np.int8),
            bbox=np.asarray(cols["bbox"], dtype=np.float64),
            occluded=cols["occluded"],
            truncated=cols["truncated"],
            difficult=cols["difficult"],
        )


@dataclass(frozen=True, slots=True)
class Signals:
    """Detection records of one session, as decoded by the rig.

    ``t_video_ms`` is ``(t_mono_ns - sync_mono_ns) / 1e6`` (NaN before sync); ``frame`` is -1
    when the payload carries none; ``vru_type`` -1 and ``bbox``/``confidence`` NaN when absent;
    ``track_id`` (the tracker's identity of the detection, for track metrics) is ``""`` when
    absent.
    """

    record_id: NDArray[Any]
    t_video_ms: NDArray[np.float64]
    vru_type: NDArray[np.int8]
    bbox: NDArray[np.float64]
    confidence: NDArray[np.float64]
    frame: NDArray[np.int64]
    track_id: NDArray[np.str_]

    def __len__(self) -> int:
        return int(self.record_id.size)

    @classmethod
    def from_arrays(
        cls,
        record_id: ArrayLike,
        t_video_ms: ArrayLike | None = None,
        vru_type: ArrayLike | None = None,
        bbox: ArrayLike | None = None,
        confidence: ArrayLike | None = None,
        frame: ArrayLike | None = None,
        track_id: ArrayLike | None = None,
    ) -> Signals:
        """Check and wrap arrays; a column left out is missing for every record (a track id
        may be None, also missing).

        :raises ValueError: shapes differ, record ids repeat, a time is infinite, a confidence
            is outside [0, 1], a frame is below -1 or a box is not positive.
        """
        ids = _ids(record_id, "record_id", unique=True)
        n = ids.size
        times = _column(t_video_ms, n, np.float64, np.nan, "t_video_ms")
        if np.isinf(times).any():
            raise ValueError("t_video_ms must be finite or NaN (missing)")
        conf = _column(confidence, n, np.float64, np.nan, "confidence")
        if ((conf < 0) | (conf > 1)).any():
            raise ValueError("confidence must be within [0, 1]")
        frames = _column(frame, n, np.int64, -1, "frame")
        if (frames < -1).any():
            raise ValueError("frame must be >= 0, or -1 for missing")
        tracks = _track_ids(track_id, n)
        return cls(
            record_id=ids,
            t_video_ms=times,
            vru_type=_codes(vru_type, n, "vru_type"),
            bbox=_boxes(bbox, n, "bbox"),
            confidence=conf,
            frame=frames,
            track_id=tracks,
        )

    @classmethod
    def from_dicts(cls, rows: Iterable[Mapping[str, Any]]) -> Signals:
        """Build from dicts with ``record_id`` and any of ``t_video_ms``, ``vru_type``, ``bbox``,
        ``confidence``, ``frame``, ``track_id`` (None or absent means missing).

        :raises ValueError: a record id is missing or a value is invalid (the row is named).
        """
        ids: list[Any] = []
        times: list[float] = []
        codes: list[int] = []
        boxes: list[tuple[float, float, float, float]] = []
        conf: list[float] = []
        frames: list[int] = []
        tracks: list[Any] = []
        for i, row in enumerate(rows):
            where = f"record row {i}"
            ids.append(_require(row, "record_id", where))
            t = row.get("t_video_ms")
            times.append(np.nan if t is None else float(t))
            codes.append(vru_code(row.get("vru_type")))
            box = _bbox_of(row, where)
            boxes.append(box if box is not None else (np.nan,) * 4)
            c = row.get("confidence")
            conf.append(np.nan if c is None else float(c))
            f = row.get("frame")
            frames.append(-1 if f is None else int(f))
            tracks.append(row.get("track_id"))
        return cls.from_arrays(
            record_id=ids,
            t_video_ms=np.asarray(times, dtype=np.float64),
            vru_type=np.asarray(codes, dtype=np.int8),
            bbox=np.asarray(boxes, dtype=np.float64),
            confidence=np.asarray(conf, dtype=np.float64),
            frame=np.asarray(frames, dtype=np.int64),
            track_id=tracks,
        )

    def take(self, index: NDArray[np.intp]) -> Signals:
        """The records at ``index``, in that order (already checked, so no re-validation)."""
        return Signals(
            record_id=self.record_id[index],
            t_video_ms=self.t_video_ms[index],
            vru_type=self.vru_type[index],
            bbox=self.bbox[index],
            confidence=self.confidence[index],
            frame=self.frame[index],
            track_id=self.track_id[index],
        )
