"""Ground truth in the MOTChallenge layout, as a zip archive (text format: :mod:`mot_text`).

Export: ``<video>/seqinfo.ini`` (frame rate, length and size, as TrackEval reads them),
``<video>/gt/gt.txt`` with one line per box, ordered by frame, then ``track_ids.json`` and
``export_report.json``. Unzipped, ``gt.txt`` is what py-motmetrics' ``io.loadtxt(path,
fmt="mot15-2D")`` and TrackEval's MOTChallenge reader take. The columns:

- ``frame``: our frame + 1; ``x, y``: our 0-based pixels + 1; ``w, h``: pixels (the box is
  clipped to the frame first, as in every export);
- ``id``: the track (``detectionId``), numbered 1, 2, ... in order of first appearance;
  ``track_ids.json`` maps each number back to the ``detectionId``;
- ``conf``: 1, or 0 for a ``difficult`` box (MOTChallenge's "not considered" flag: both mean
  the box is ignored in evaluation);
- ``class``: 1 pedestrian, 2 cyclist, 3 motorcyclist, 4 wheelchair user, 5 scooter rider (our
  COCO category ids; 1 and 2 agree with MOT17's pedestrian and person on vehicle);
- ``visibility``: 0.25 for an ``occluded`` box, else 1 (a flag, not a measured ratio).

Not carried (the report counts them): ``truncated``, ``validated``, ``notes``, ``annotator``,
and the timestamp (an import derives it from the frame rate).

Import: that zip, or a bare MOT text file. Ids become track ids through ``track_ids.json`` when
the archive has one, else as their number (``"7"``); boxes with id -1 get generated track ids.
``conf`` 0 means difficult; ``visibility`` below 0.5 means occluded (-1: unknown, not occluded);
class -1 or a file without the column means pedestrian (MOTChallenge's one class, warned); a
class beyond 5 is no VRU type and its boxes are dropped (reported).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from central.formats.collector import FoundBox, ImportResult, RowCollector
from central.formats.exporting import usable_box
from central.formats.limits import ImportLimits
from central.formats.model import Annotation, VideoInfo
from central.formats.mot_text import (
    TRACK_IDS_ENTRY,
    TrackNumbers,
    class_of,
    format_line,
    mot_archive,
    read_lines,
    read_upload,
    track_id_of,
    vru_of,
)
from central.formats.report import ExportReport, Location
from central.formats.source import Source

__all__ = ["OCCLUDED_VISIBILITY", "export_mot", "parse_mot", "sequence_name"]

#: the visibility written for an occluded box; an import reads below 0.5 as occluded
OCCLUDED_VISIBILITY = 0.25
_OCCLUDED_BELOW = 0.5
_NOT_CARRIED = ("truncated", "validated", "notes", "annotator")
_GROUND_TRUTH_ENTRY = "gt/gt.txt"


def sequence_name(video: VideoInfo) -> str:
    """The sequence folder: the video's file name without its extension, made path-safe."""
    stem = video.filename.rsplit(".", 1)[0]
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in stem).strip("._")
    return safe or "sequence"


def _seqinfo(video: VideoInfo, name: str) -> bytes:
    lines = ["[Sequence]", f"name={name}", "imDir=img1"]
    for key, value in (
        ("frameRate", video.fps),
        ("seqLength", video.frame_count),
        ("imWidth", video.width),
        ("imHeight", video.height),
    ):
        if value is not None:
            lines.append(f"{key}={value:g}" if isinstance(value, float) else f"{key}={value}")
    lines.append("imExt=.jpg")
    return ("\n".join(lines) + "\n").encode()


def export_mot(
    video: VideoInfo, annotations: Iterable[Annotation], report: ExportReport
) -> Iterator[bytes]:
    name = sequence_name(video)
    numbers = TrackNumbers()
    report.warn(
        f"MOT ids number the tracks from 1 in order of first appearance; {TRACK_IDS_ENTRY} "
        "maps them back to detection ids"
    )
    report.warn("timestamps are not carried: an import derives them from the frame rate")
    header = [(f"{name}/seqinfo.ini", _seqinfo(video, name))]
    lines = _gt_lines(video, annotations, numbers, report)
    return mot_archive(f"{name}/{_GROUND_TRUTH_ENTRY}", header, lines, numbers, report)


def _gt_lines(
    video: VideoInfo,
    annotations: Iterable[Annotation],
    numbers: TrackNumbers,
    report: ExportReport,
) -> Iterator[str]:
    frames: set[int] = set()
    for annotation in annotations:
        box = usable_box(annotation, video, report)
        if box is None:
            continue
        for field_name in _NOT_CARRIED:
            if getattr(annotation, field_name):
                report.not_carried(field_name)
        frames.add(annotation.frame_number)
        report.annotations += 1
        report.frames = len(frames)
        yield format_line(
            annotation.frame_number,
            numbers.number(annotation.detection_id),
            box,
            0.0 if annotation.difficult else 1.0,
            class_of(annotation.vru_type),
            OCCLUDED_VISIBILITY if annotation.occluded else 1.0,
        )


def parse_mot(source: Source, video: VideoInfo, label: str, limits: ImportLimits) -> ImportResult:
    collector = RowCollector(video, label, "mot", limits)
    upload = read_upload(source, label, limits, (_GROUND_TRUTH_ENTRY, "gt.txt"), collector.issue)
    if upload is None:
        return collector.finish()
    without_class = 0
    for line in read_lines(upload.text, upload.label, collector.issue):
        where = Location(upload.label, line=line.line)
        vru = vru_of(line)
        if vru is None:
            collector.drop_foreign(where, f"MOT class {line.class_id}")
            continue
        without_class += line.class_id == -1
        known, track = track_id_of(line, upload, collector.issue)
        if not known:
            continue
        collector.add(
            FoundBox(
                location=where,
                frame_number=line.frame,
                vru_type=vru,
                box=line.box,
                detection_id=track,
                difficult=line.conf == 0,
                occluded=0 <= line.visibility < _OCCLUDED_BELOW,
            )
        )
    if without_class:
        collector.report.warn(f"{without_class} boxes had no class (-1): read as pedestrians")
    return collector.finish()
