"""Benchmark the final recompute of the matching engine (central.matching).

    .venv/bin/python bench/recompute.py [--records 1000000] [--events 100000] [--seed 1]
                                        [--frames 2000] [--repeat 3]

Temporal: one final recompute (``match``) of ``--records`` signals against ``--events``
ground-truth events. The events crowd the video the way a busy street does (about 5 VRUs in
view at any time, 0.5 to 5 s each), so nearly every window overlaps another; about 10 signals
per event (the first 30-250 ms after onset, then repeats while visible, 3 % of events never
signalled) plus 5 % stray signals. Baseline: a straightforward
pure-Python implementation of the same rules (a sweep with an active-event list, written below),
timed on a 1/100 slice (10,000 records against 1,000 events, same density) and scaled linearly
to the full size; the engine is also run on that slice and must agree with it record for record.

Provisional: live verdicts for the first 20,000 records in time order, in batches of 100,
printed as microseconds per record.

Spatial: AP and AP50 (``spatial_average_precision``) of about 20 detections a frame over
``--frames`` frames beside pycocotools' COCOeval (evaluate + accumulate + summarize) on the same
data; the two must give equal numbers. Goal: at least 5x faster than COCOeval.

Tracked (issue #12): a 10-minute 30 fps session, 50,000 ground-truth boxes in 1,000 tracks and
100,000 detections carrying tracker ids. The full final pass (``match``: verdicts, AP, tracks,
size bins, LAMR, confusion, CLEAR-MOT, IDF1, HOTA) beside py-motmetrics 1.4.0 (accumulator fed
frame by frame, then ``compute``) on the same frames; MOTA and IDF1 must agree. Goal: the full
pass in at most 2 s.

Times are the best of ``--repeat`` runs (the baseline and COCOeval run once: they are slow).
Nothing is asserted except agreement; the figures and ratios are printed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from central.matching import (
    VRU_TYPES,
    GroundTruth,
    MatchConfig,
    MatchMode,
    ProvisionalMatcher,
    Signals,
    match,
)
from central.matching.spatial import spatial_average_precision

TOLERANCE_MS = 100.0
CONCURRENT_VRUS = 5
FPS = 25.0


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


# --- temporal ---------------------------------------------------------------------------------


def temporal_session(n_events: int, n_records: int, seed: int) -> dict[str, np.ndarray]:
    """Events of 0.5-5 s spread so that about CONCURRENT_VRUS overlap; signals: most events
    get a detection after 30-250 ms and then repeats while visible, plus 5 % stray signals."""
    rng = np.random.default_rng(seed)
    duration = rng.uniform(500.0, 5000.0, n_events).round()
    video_ms = float(duration.mean()) * n_events / CONCURRENT_VRUS
    onset = rng.uniform(0.0, video_ms, n_events).round()
    offset = onset + duration
    n_stray = n_records // 20
    detected = np.flatnonzero(rng.random(n_events) >= 0.03)  # 3 % of VRUs are never signalled
    t_first = onset[detected] + rng.uniform(30.0, 250.0, detected.size)
    owner = rng.choice(detected, n_records - n_stray - detected.size)
    t_repeat = onset[owner] + rng.uniform(250.0, duration[owner] + 250.0)
    t_stray = rng.uniform(0.0, video_ms, n_stray)
    t = np.concatenate([t_first, t_repeat, t_stray]).round(3)
    return {
        "annotation_id": np.arange(2 * n_events),
        "detection_id": np.repeat(np.arange(n_events), 2),
        "frame": (np.stack([onset, offset], axis=1).ravel() * FPS / 1000).astype(np.int64),
        "t_ms": np.stack([onset, offset], axis=1).ravel(),
        "record_id": rng.permutation(n_records),
        "t_video_ms": t,
    }


def temporal_inputs(session: dict[str, np.ndarray]) -> tuple[GroundTruth, Signals]:
    n = session["annotation_id"].size
    gt = GroundTruth.from_arrays(
        annotation_id=session["annotation_id"],
        detection_id=session["detection_id"],
        frame=session["frame"],
        t_ms=session["t_ms"],
        vru_type=np.zeros(n, dtype=np.int8),
    )
    signals = Signals.from_arrays(record_id=session["record_id"], t_video_ms=session["t_video_ms"])
    return gt, signals


def pure_python_temporal(session: dict[str, np.ndarray], tol: float) -> dict[int, str]:
    """The rules written plainly: sweep signals in time order over an active-event list."""
    events: dict[int, list[float]] = {}
    for det, t in zip(session["detection_id"].tolist(), session["t_ms"].tolist(), strict=True):
        span = events.setdefault(det, [t, t])
        span[0], span[1] = min(span[0], t), max(span[1], t)
    ordered = sorted((on - tol, off + tol, det) for det, (on, off) in events.items())
    signals = sorted(
        zip(session["t_video_ms"].tolist(), session["record_id"].tolist(), strict=True)
    )
    matched: set[int] = set()
    active: list[tuple[float, float, int]] = []
    verdict: dict[int, str] = {}
    nxt = 0
    for t, rid in signals:
        while nxt < len(ordered) and ordered[nxt][0] <= t:
            active.append(ordered[nxt])
            nxt += 1
        active = [e for e in active if e[1] >= t]
        holding = False
        verdict[rid] = "FP"
        for _lo, _hi, det in active:
            holding = True
            if det not in matched:
                matched.add(det)
                verdict[rid] = "TP"
                break
        else:
            if holding:
                verdict[rid] = "repeat"
    return verdict


def bench_temporal(n_records: int, n_events: int, seed: int, repeat: int) -> None:
    config = MatchConfig(tolerance_ms=TOLERANCE_MS)
    session = temporal_session(n_events, n_records, seed)
    build_s, (gt, signals) = best_of(1, lambda: temporal_inputs(session))
    engine_s, result = best_of(repeat, lambda: match(gt, signals, config))
    r = result.results
    print(f"temporal: {n_records:,} records vs {n_events:,} events (tolerance {TOLERANCE_MS:g} ms)")
    print(f"  inputs from arrays (validation)  {build_s * 1000:9.1f} ms")
    print(f"  engine final recompute           {engine_s * 1000:9.1f} ms")
    print(
        f"  TP {r.true_positives:,}  FP {r.false_positives:,}  FN {r.false_negatives:,}  "
        f"repeats {r.repeats:,}  accuracy {r.accuracy:.4f}  p95 {r.latency.p95_ms:.1f} ms"
    )

    small = temporal_session(n_events // 100, n_records // 100, seed)
    baseline_s, expected = best_of(1, lambda: pure_python_temporal(small, TOLERANCE_MS))
    small_gt, small_signals = temporal_inputs(small)
    small_s, small_result = best_of(repeat, lambda: match(small_gt, small_signals, config))
    got = dict(
        zip(
            small_result.comparisons.record_id.tolist(),
            small_result.comparisons.match_type.tolist(),
            strict=True,
        )
    )
    scaled = baseline_s * 100
    print(
        f"  pure-Python baseline on 1/100 slice {baseline_s * 1000:9.1f} ms "
        f"(engine on the slice {small_s * 1000:.1f} ms; verdicts agree: {got == expected})"
    )
    print(f"  baseline scaled x100             {scaled * 1000:9.1f} ms")
    print(f"  ratio baseline / engine          {scaled / engine_s:9.1f}x")

    live_n = min(20_000, n_records)
    in_time = np.argsort(session["t_video_ms"])[:live_n]
    batches = [signals.take(in_time[i : i + 100]) for i in range(0, live_n, 100)]
    live = ProvisionalMatcher(gt, config)
    start = time.perf_counter()
    for batch in batches:
        live.add(batch)
    live_s = time.perf_counter() - start
    print(
        f"  provisional: {live_n:,} records in batches of 100 "
        f"{live_s / live_n * 1e6:9.1f} us per record"
    )


# --- spatial ----------------------------------------------------------------------------------


def spatial_session(n_frames: int, seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = np.random.default_rng(seed)
    gt_rows: list[dict[str, Any]] = []
    dets: list[dict[str, Any]] = []
    for frame in range(n_frames):
        for _ in range(int(rng.integers(5, 16))):
            box = [*rng.uniform(0, 1800, 2).tolist(), *rng.uniform(10, 200, 2).tolist()]
            cls = int(rng.integers(0, len(VRU_TYPES)))
            gt_rows.append(
                {
                    "annotation_id": len(gt_rows) + 1,
                    "frame": frame,
                    "vru_type": cls,
                    "bbox": box,
                    "difficult": bool(rng.random() < 0.05),
                }
            )
            if rng.random() < 0.85:
                jitter = rng.normal(0, 6, 4)
                det = [
                    box[0] + jitter[0],
                    box[1] + jitter[1],
                    max(2.0, box[2] + jitter[2]),
                    max(2.0, box[3] + jitter[3]),
                ]
                dets.append({"frame": frame, "vru_type": cls, "bbox": det})
        for _ in range(int(rng.integers(3, 10))):
            box = [*rng.uniform(0, 1800, 2).tolist(), *rng.uniform(10, 200, 2).tolist()]
            dets.append({"frame": frame, "vru_type": int(rng.integers(0, 5)), "bbox": box})
    for i, d in enumerate(dets):
        d["record_id"] = i
        d["confidence"] = float(rng.random())
    return gt_rows, dets


def pycocotools_ap(gt_rows: list[dict[str, Any]], dets: list[dict[str, Any]], n_frames: int):
    dataset = {
        "images": [{"id": f + 1} for f in range(n_frames)],
        "categories": [{"id": k + 1, "name": str(v)} for k, v in enumerate(VRU_TYPES)],
        "annotations": [
            {
                "id": g["annotation_id"],
                "image_id": g["frame"] + 1,
                "category_id": g["vru_type"] + 1,
                "bbox": g["bbox"],
                "area": g["bbox"][2] * g["bbox"][3],
                "iscrowd": int(g["difficult"]),
            }
            for g in gt_rows
        ],
    }
    results = [
        {
            "image_id": d["frame"] + 1,
            "category_id": d["vru_type"] + 1,
            "bbox": d["bbox"],
            "score": d["confidence"],
        }
        for d in dets
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = dataset
        coco_gt.createIndex()
        evaluation = COCOeval(coco_gt, coco_gt.loadRes(results), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return evaluation.stats[0], evaluation.stats[1]


def bench_spatial(n_frames: int, seed: int, repeat: int) -> None:
    gt_rows, dets = spatial_session(n_frames, seed)
    gt = GroundTruth.from_arrays(
        annotation_id=[g["annotation_id"] for g in gt_rows],
        detection_id=[g["annotation_id"] for g in gt_rows],
        frame=[g["frame"] for g in gt_rows],
        t_ms=[g["frame"] * 1000 / FPS for g in gt_rows],
        vru_type=np.array([g["vru_type"] for g in gt_rows], dtype=np.int8),
        bbox=[g["bbox"] for g in gt_rows],
        difficult=[g["difficult"] for g in gt_rows],
    )
    signals = Signals.from_arrays(
        record_id=[d["record_id"] for d in dets],
        vru_type=np.array([d["vru_type"] for d in dets], dtype=np.int8),
        bbox=[d["bbox"] for d in dets],
        confidence=[d["confidence"] for d in dets],
        frame=[d["frame"] for d in dets],
    )
    ours_s, ours = best_of(repeat, lambda: spatial_average_precision(gt, signals, None))
    full_s, _ = best_of(repeat, lambda: match(gt, signals, MatchConfig(mode=MatchMode.SPATIAL)))
    coco_s, (ap, ap50) = best_of(1, lambda: pycocotools_ap(gt_rows, dets, n_frames))
    print(f"spatial: {n_frames:,} frames, {len(gt_rows):,} boxes, {len(dets):,} detections")
    print(f"  engine AP + AP50                 {ours_s * 1000:9.1f} ms")
    print(f"  engine full match (rows + AP)    {full_s * 1000:9.1f} ms")
    print(f"  pycocotools COCOeval             {coco_s * 1000:9.1f} ms")
    print(f"  ratio COCOeval / engine AP       {coco_s / ours_s:9.1f}x  (goal >= 5x)")
    print(
        f"  AP {ours.ap!r} vs {ap!r}; AP50 {ours.ap50!r} vs {ap50!r}; "
        f"equal: {ours.ap == ap and ours.ap50 == ap50}"
    )


# --- tracked ----------------------------------------------------------------------------------

TRACK_FPS = 30.0


def tracked_session(seed: int) -> tuple[GroundTruth, Signals, dict[str, np.ndarray]]:
    """1,000 tracks of 50 frames each over 18,000 frames, moving boxes; 85 % of boxes detected
    (jittered, the tracker's id changing now and then), the rest of 100,000 detections false."""
    rng = np.random.default_rng(seed)
    n_frames, n_tracks, length, n_dets = 18_000, 1_000, 50, 100_000
    start = rng.integers(0, n_frames - length, n_tracks)
    track = np.repeat(np.arange(n_tracks), length)
    frame = start[track] + np.tile(np.arange(length), n_tracks)
    origin = rng.uniform(0, 1700, (n_tracks, 2))
    speed = rng.uniform(-4, 4, (n_tracks, 2))
    size = rng.uniform(20, 200, (n_tracks, 2))
    step = np.tile(np.arange(length), n_tracks)[:, None]
    gt_box = np.hstack([origin[track] + speed[track] * step, size[track]])
    seen = rng.random(track.size) < 0.85
    hyp = track * 10 + (np.tile(np.arange(length), n_tracks) // 20) * (rng.random(track.size) < 0.1)
    true_box = gt_box[seen] + np.hstack(
        [rng.normal(0, 4, (seen.sum(), 2)), np.zeros((seen.sum(), 2))]
    )
    # False tracks: 25 consecutive frames each at one spot (a pole, a sign), one id per track.
    n_false = n_dets - int(seen.sum())
    false_track = np.arange(n_false) // 25
    false_start = rng.integers(0, n_frames - 25, false_track[-1] + 1)
    false_spot = np.hstack(
        [rng.uniform(0, 1800, (false_start.size, 2)), rng.uniform(20, 200, (false_start.size, 2))]
    )
    dt_frame = np.concatenate([frame[seen], false_start[false_track] + np.arange(n_false) % 25])
    dt_box = np.vstack([true_box, false_spot[false_track]])
    dt_id = np.concatenate([hyp[seen], 100_000 + false_track])
    gt = GroundTruth.from_arrays(
        annotation_id=np.arange(track.size),
        detection_id=track,
        frame=frame,
        t_ms=frame * 1000.0 / TRACK_FPS,
        vru_type=np.zeros(track.size, dtype=np.int8),
        bbox=gt_box,
    )
    signals = Signals.from_arrays(
        record_id=np.arange(n_dets),
        t_video_ms=dt_frame * 1000.0 / TRACK_FPS + rng.uniform(20, 120, n_dets),
        vru_type=np.zeros(n_dets, dtype=np.int8),
        bbox=dt_box,
        confidence=rng.random(n_dets),
        frame=dt_frame,
        track_id=dt_id,
    )
    raw = {"gt_frame": frame, "gt_id": track, "gt_box": gt_box}
    raw |= {"dt_frame": dt_frame, "dt_id": dt_id, "dt_box": dt_box}
    return gt, signals, raw


def motmetrics_figures(raw: dict[str, np.ndarray]) -> dict[str, float]:
    import motmetrics as mm  # a test-only dependency (the ``test`` extra)

    if not hasattr(np, "asfarray"):  # py-motmetrics 1.4.0 calls it; NumPy 2 removed it
        np.asfarray = lambda a, dtype=np.float64: np.asarray(a, dtype=dtype)  # type: ignore[attr-defined]
    acc = mm.MOTAccumulator(auto_id=False)
    g_order = np.lexsort((raw["gt_id"], raw["gt_frame"]))
    d_order = np.argsort(raw["dt_frame"], kind="stable")
    g_frames, d_frames = raw["gt_frame"][g_order], raw["dt_frame"][d_order]
    for f in np.union1d(g_frames, d_frames).tolist():
        g = g_order[np.searchsorted(g_frames, f) : np.searchsorted(g_frames, f, side="right")]
        d = d_order[np.searchsorted(d_frames, f) : np.searchsorted(d_frames, f, side="right")]
        dist = mm.distances.iou_matrix(raw["gt_box"][g], raw["dt_box"][d], max_iou=0.5)
        acc.update(raw["gt_id"][g], raw["dt_id"][d], dist.reshape(g.size, d.size), frameid=f)
    summary = mm.metrics.create().compute(acc, metrics=["mota", "idf1", "num_switches"], name="s")
    return {k: float(summary[k].iloc[0]) for k in ("mota", "idf1", "num_switches")}


def bench_tracked(seed: int, repeat: int) -> None:
    gt, signals, raw = tracked_session(seed)
    config = MatchConfig(mode=MatchMode.SPATIAL, fps=TRACK_FPS, frame_count=18_000)
    ours_s, result = best_of(repeat, lambda: match(gt, signals, config))
    tracking = result.evaluation.track_metrics
    print(f"tracked: 18,000 frames, {len(gt):,} boxes in 1,000 tracks, {len(signals):,} detections")
    print(f"  engine full final pass           {ours_s * 1000:9.1f} ms  (goal <= 2000 ms)")
    try:
        mm_s, theirs = best_of(1, lambda: motmetrics_figures(raw))
    except ImportError:
        print("  py-motmetrics not installed (pip install -e '.[test]'): no baseline")
        return
    print(f"  py-motmetrics accumulate+compute {mm_s * 1000:9.1f} ms")
    print(f"  ratio py-motmetrics / engine     {mm_s / ours_s:9.1f}x")
    assert tracking is not None
    print(
        f"  MOTA {tracking.clear.mota!r} vs {theirs['mota']!r}; IDF1 {tracking.clear.idf1!r} vs "
        f"{theirs['idf1']!r}; IDSW {tracking.clear.id_switches} vs {theirs['num_switches']:.0f}; "
        f"HOTA {tracking.hota.hota:.4f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--only", choices=("temporal", "spatial", "tracked"), help="run one section only"
    )
    args = parser.parse_args()
    if args.only in (None, "temporal"):
        bench_temporal(args.records, args.events, args.seed, args.repeat)
    if args.only in (None, "spatial"):
        bench_spatial(args.frames, args.seed, args.repeat)
    if args.only in (None, "tracked"):
        bench_tracked(args.seed, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
