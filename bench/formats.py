"""Benchmark the annotation converters: 5,000 frames, 50,000 boxes, each format, vs datumaro.

    .venv/bin/python bench/formats.py [--frames 5000] [--boxes-per-frame 10] [--repeat 3]
                                      [--datumaro-python PATH]

Our side: export (all chunks joined, zip compression included) and import (parse and validate
from the exported bytes), best of ``--repeat`` runs. Goals: each export at most 1 s; VOC export
at least 10x faster than datumaro's.

Baseline: datumaro, measured in the same run on the same boxes, also best of ``--repeat``.
datumaro pulls in pandas, pyarrow and OpenCV (about 560 MB), so it is not a project dependency:
install it into a separate venv (``python -m venv /tmp/datumaro-venv &&
/tmp/datumaro-venv/bin/pip install datumaro``) and pass that interpreter with
``--datumaro-python`` or ``DATUMARO_PYTHON``; without it the bench prints 'datumaro not
installed' and skips the ratios. datumaro's export time is its ``Dataset.export`` alone (files
into a directory on /dev/shm, so no disk I/O; no zip), after the dataset was built in memory
(its build time is printed apart); its import time is ``Dataset.import_from`` of its own export
plus reading every annotation.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from central.services.formats import (
    Annotation,
    BoundingBox,
    VideoInfo,
    export_annotations,
    parse_annotations,
)
from protocol import VruType

FORMATS = ("json", "coco", "yolo", "pascal_voc")
DATUMARO_FORMATS = {
    "coco": "coco_instances",
    "yolo": "yolo_ultralytics",
    "pascal_voc": "voc_detection",
}
WIDTH, HEIGHT, FPS = 1920, 1080, 30.0


def make_annotations(frames: int, per_frame: int) -> list[Annotation]:
    """``per_frame`` tracks moving across every frame; a few boxes overhang the edge."""
    rng = random.Random(5)
    vru_types = list(VruType)
    tracks = []
    for index in range(per_frame):
        vru = vru_types[index % len(vru_types)]
        prefix = {"wheelchair_user": "WCH"}.get(vru.value, vru.value[:3].upper())
        tracks.append((f"DET_{prefix}_{index + 1:04d}", vru, rng.uniform(-40, WIDTH - 100),
                       rng.uniform(0, HEIGHT - 300), rng.uniform(-3, 3)))
    annotations = []
    for frame in range(frames):
        for track, vru, x0, y0, speed in sorted(tracks):
            x = (x0 + speed * frame) % (WIDTH + 40) - 40
            annotations.append(Annotation(
                id=f"{frame}-{track}", video_id="bench", detection_id=track, frame_number=frame,
                timestamp=frame / FPS, vru_type=vru,
                bounding_box=BoundingBox(round(x, 2), round(y0, 2), 80.5, 240.25),
                occluded=frame % 7 == 0, truncated=x < 0, difficult=False, validated=True,
            ))
    return annotations


def best_time(action: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - start)
    return best, result


DATUMARO_WORKER = textwrap.dedent('''
    import json, os, shutil, sys, time, logging
    logging.disable(logging.WARNING)
    import datumaro as dm
    from datumaro.components.annotation import AnnotationType, Bbox, LabelCategories
    from datumaro.components.dataset_base import DatasetItem
    from datumaro.components.media import Image

    source, workdir, formats = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    repeat = int(sys.argv[4])
    document = json.load(open(source))
    names = ["pedestrian", "cyclist", "motorcyclist", "wheelchair_user", "scooter_rider"]
    width, height = document["video"]["width"], document["video"]["height"]
    frames = document["video"]["frameCount"]
    start = time.perf_counter()
    by_frame = [[] for _ in range(frames)]
    for a in document["annotations"]:
        b = a["boundingBox"]
        by_frame[a["frameNumber"]].append(Bbox(
            b["x"], b["y"], b["width"], b["height"], label=names.index(a["vruType"]),
            attributes={"track_id": a["detectionId"], "occluded": a["occluded"],
                        "truncated": a["truncated"], "difficult": a["difficult"]}))
    split = int(frames * 0.8)  # yolo_ultralytics demands a train and a val subset
    items = [DatasetItem(id=f"frame_{f:06d}", subset="train" if f < split else "val",
                         media=Image.from_file(path=f"frame_{f:06d}.jpg", size=(height, width)),
                         annotations=boxes) for f, boxes in enumerate(by_frame)]
    dataset = dm.Dataset.from_iterable(
        items, categories={AnnotationType.label: LabelCategories.from_iterable(names)})
    results = {"build": time.perf_counter() - start}
    for ours, theirs in formats.items():
        out = os.path.join(workdir, theirs)
        extra = {"label_map": "source"} if theirs.startswith("voc") else {}
        results[ours + ".export"] = float("inf")
        for _ in range(repeat):
            shutil.rmtree(out, ignore_errors=True)
            start = time.perf_counter()
            dataset.export(out, theirs, save_media=False, **extra)
            results[ours + ".export"] = min(results[ours + ".export"], time.perf_counter() - start)
        results[ours + ".import"] = float("inf")
        try:
            for _ in range(repeat):
                start = time.perf_counter()
                loaded = dm.Dataset.import_from(
                    out, theirs.split("_")[0] if ours == "yolo" else theirs)
                boxes = sum(len(item.annotations) for item in loaded)
                results[ours + ".import"] = min(
                    results[ours + ".import"], time.perf_counter() - start)
        except Exception as exc:
            del results[ours + ".import"]
            results[ours + ".import_error"] = f"{type(exc).__name__}: {exc}"[:200]
    print(json.dumps(results))
''')


def find_datumaro(explicit: str | None) -> str | None:
    candidates = [explicit, os.environ.get("DATUMARO_PYTHON"), sys.executable]
    for python in filter(None, candidates):
        probe = subprocess.run([python, "-c", "import datumaro"], capture_output=True)
        if probe.returncode == 0:
            return python
    return None


def run_datumaro(python: str, json_export: bytes, repeat: int) -> dict[str, float]:
    # in memory where the system offers it, so datumaro's file writes cost no disk I/O either
    memory = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(dir=memory) as workdir:
        source = Path(workdir, "annotations.json")
        source.write_bytes(json_export)
        done = subprocess.run(
            [python, "-c", DATUMARO_WORKER, str(source), workdir, json.dumps(DATUMARO_FORMATS),
             str(repeat)],
            capture_output=True, text=True, timeout=1800,
        )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=5000)
    parser.add_argument("--boxes-per-frame", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--datumaro-python", default=None)
    args = parser.parse_args()

    annotations = make_annotations(args.frames, args.boxes_per_frame)
    video = VideoInfo(id="bench", filename="bench.mp4", width=WIDTH, height=HEIGHT, fps=FPS,
                      frame_count=args.frames)
    print(f"{args.frames} frames, {len(annotations)} boxes, best of {args.repeat}")
    print(f"{'format':<11} {'export s':>9} {'size MB':>8} {'import s':>9} {'boxes':>7}  report")
    ours: dict[str, float] = {}
    exported: dict[str, bytes] = {}
    for name in FORMATS:
        def export(name: str = name) -> tuple[bytes, object]:
            result = export_annotations(name, video, annotations)
            return b"".join(result.chunks), result.report

        export_s, (data, report) = best_time(export, args.repeat)
        def parse(name: str = name, data: bytes = data) -> object:
            return parse_annotations(name, io.BytesIO(data), video)

        import_s, imported = best_time(parse, args.repeat)
        exported[name] = data
        ours[name + ".export"], ours[name + ".import"] = export_s, import_s
        goal = "" if export_s <= 1.0 else "  (export goal 1 s missed)"
        print(f"{name:<11} {export_s:9.3f} {len(data) / 1e6:8.2f} {import_s:9.3f} "
              f"{len(imported.rows):7d}  clipped {report.clipped}, "
              f"not carried {report.not_represented}{goal}")

    python = find_datumaro(args.datumaro_python)
    if python is None:
        print("datumaro not installed: ratios skipped (see --datumaro-python)")
        return 0
    theirs = run_datumaro(python, exported["json"], args.repeat)
    print(f"\ndatumaro ({python}); dataset build from the same boxes: {theirs['build']:.3f} s")
    print(f"{'format':<11} {'datumaro export s':>18} {'ratio':>7} "
          f"{'datumaro import s':>18} {'ratio':>7}")
    for name in DATUMARO_FORMATS:
        export_ratio = theirs[name + ".export"] / ours[name + ".export"]
        if name + ".import" in theirs:
            import_text = (f"{theirs[name + '.import']:18.3f} "
                           f"{theirs[name + '.import'] / ours[name + '.import']:6.1f}x")
        else:
            import_text = f"  failed: {theirs.get(name + '.import_error')}"
        print(f"{name:<11} {theirs[name + '.export']:18.3f} {export_ratio:6.1f}x {import_text}")
    voc_ratio = theirs["pascal_voc.export"] / ours["pascal_voc.export"]
    print(f"\nVOC export {voc_ratio:.1f}x faster than datumaro (goal: at least 10x): "
          f"{'met' if voc_ratio >= 10 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
