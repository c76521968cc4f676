"""The MOTChallenge text format: one box per line, as py-motmetrics' ``io.loadtxt`` reads it.

    frame,id,x,y,w,h,conf,class,visibility

``frame`` counts from 1 (our frame 0 is MOT frame 1); ``x, y`` are 1-based pixels (MATLAB's
convention: the top-left pixel is (1, 1), so our 0-based ``x`` is written as ``x + 1``);
``w, h`` are pixels. ``id`` is a positive integer, or -1 for a box of no track (MOTChallenge's
public detections). Reading splits on commas and/or white space, like loadtxt; 7 columns (no
class or visibility), 9, or 10 (MOT15's extra column, ignored) are accepted.

Shared by the ground-truth converter (:mod:`central.formats.mot`) and the session-detections
converter (:mod:`central.formats.mot_detections`). Both ship the text in a zip together with
``track_ids.json`` (MOT id -> our track id, since MOT ids are integers and ours are text) and
``export_report.json``; both also import the bare text file.
"""

from __future__ import annotations

import math
import os
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

import orjson

from central.formats.categories import category_from_coco_id, coco_category_id
from central.formats.collector import MAX_TRACK_ID_LENGTH
from central.formats.exporting import report_entry
from central.formats.limits import ImportLimits
from central.formats.model import BoundingBox
from central.formats.report import ExportReport, Location
from central.formats.safe_zip import SafeZip
from central.formats.source import Source, read_limited
from central.formats.streaming import rechunk, stream_zip
from protocol import VruType

__all__ = [
    "NO_TRACK",
    "TRACK_IDS_ENTRY",
    "MotLine",
    "MotUpload",
    "TrackNumbers",
    "class_of",
    "format_line",
    "mot_archive",
    "read_lines",
    "read_upload",
    "track_id_of",
    "vru_of",
]

NO_TRACK = -1
"""The MOT id of a box that belongs to no track."""
TRACK_IDS_ENTRY = "track_ids.json"

_SEPARATORS = re.compile(r"[,\s]+")
_COLUMN_COUNTS = (7, 9, 10)
_INTEGER_COLUMNS = ("frame", "id", "class")
_COLUMNS = ("frame", "id", "x", "y", "w", "h", "conf", "class", "visibility")
_ZIP_MAGIC = b"PK\x03\x04"

Complain = Callable[[Location, str], None]


def class_of(vru: VruType | None) -> int:
    """The MOT class column of a VRU type: our COCO category id, -1 for none."""
    return -1 if vru is None else coco_category_id(vru)


@dataclass(frozen=True, slots=True)
class MotLine:
    """One line read: ``frame`` is ours (0-based), ``box`` our 0-based pixels; ``class_id``
    and ``visibility`` are -1 when the file has no such column."""

    line: int
    frame: int
    track: int
    box: BoundingBox
    conf: float
    class_id: int
    visibility: float


def _number(value: float) -> str:
    """Shortest text of ``value`` to 1e-6 px, integers without a decimal point."""
    value = round(value, 6) + 0.0  # + 0.0 turns -0.0 into 0.0
    return str(int(value)) if value.is_integer() else repr(value)


def format_line(
    frame: int,
    track: int,
    box: BoundingBox,
    conf: float,
    class_id: int,
    visibility: float,
) -> str:
    """One line for our 0-based ``frame`` and ``box``."""
    return (
        f"{frame + 1},{track},{_number(box.x + 1)},{_number(box.y + 1)},"
        f"{_number(box.width)},{_number(box.height)},{_number(conf)},{class_id},"
        f"{_number(visibility)}\n"
    )


def _parse_values(tokens: list[str], where: Location, complain: Complain) -> list[float] | None:
    values: list[float] = []
    for name, token in zip(_COLUMNS, tokens, strict=False):
        field_where = Location(where.file, where.line, field=name)
        try:
            value = float(token)
        except ValueError:
            complain(field_where, f"{token!r} is not a number")
            return None
        if not math.isfinite(value):
            complain(field_where, f"{token!r} is not a finite number")
            return None
        if name in _INTEGER_COLUMNS and not value.is_integer():
            complain(field_where, f"{token!r} is not an integer")
            return None
        values.append(value)
    return values


def _check_line(values: list[float], where: Location, complain: Complain) -> bool:
    frame, track, _, _, w, h = values[:6]

    def bad(name: str, message: str) -> bool:
        complain(Location(where.file, where.line, field=name), message)
        return False

    if frame < 1:
        return bad("frame", f"frame {frame:g} is before the first frame (MOT frames count from 1)")
    if track < 1 and track != NO_TRACK:
        return bad("id", f"id {track:g} is not a positive integer (or -1 for no track)")
    if w <= 0:
        return bad("w", f"width {w:g} is not more than 0")
    if h <= 0:
        return bad("h", f"height {h:g} is not more than 0")
    return True


def read_lines(text: str, label: str, complain: Complain) -> Iterator[MotLine]:
    """The file's lines, checked; a bad line is reported (with its number) and skipped.

    Refused: a column count other than 7, 9 or 10, a value that is not a finite number (or not
    an integer for frame, id and class), a frame before 1, an id below 1 other than -1, a width
    or height not above 0, and a second box of one id in one frame.
    """
    first_line: dict[tuple[int, int], int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped:
            continue
        where = Location(label, line=number)
        tokens = _SEPARATORS.split(stripped)
        if len(tokens) not in _COLUMN_COUNTS:
            complain(
                where,
                f"expected 9 values 'frame,id,x,y,w,h,conf,class,visibility' (or 7, or 10), "
                f"found {len(tokens)}",
            )
            continue
        values = _parse_values(tokens, where, complain)
        if values is None or not _check_line(values, where, complain):
            continue
        frame, track = int(values[0]), int(values[1])
        if track != NO_TRACK:
            earlier = first_line.setdefault((frame, track), number)
            if earlier != number:
                complain(
                    Location(label, line=number, field="id"),
                    f"id {track} already has a box in frame {frame} (line {earlier})",
                )
                continue
        x, y, w, h, conf = values[2:7]
        yield MotLine(
            line=number,
            frame=frame - 1,
            track=track,
            box=BoundingBox(round(x - 1, 6) + 0.0, round(y - 1, 6) + 0.0, w, h),
            conf=conf,
            class_id=int(values[7]) if len(values) > 7 else -1,
            visibility=values[8] if len(values) > 8 else -1.0,
        )


class TrackNumbers:
    """MOT ids for our track ids, numbered from 1 in order of first appearance."""

    def __init__(self) -> None:
        self._numbers: dict[str, int] = {}

    def number(self, track_id: str) -> int:
        found = self._numbers.get(track_id)
        if found is None:
            found = self._numbers[track_id] = len(self._numbers) + 1
        return found

    def to_json(self) -> bytes:
        """``{"1": "DET_PED_0001", ...}``, the content of :data:`TRACK_IDS_ENTRY`."""
        by_number = {str(n): track for track, n in self._numbers.items()}
        return orjson.dumps(by_number, option=orjson.OPT_INDENT_2)


def mot_archive(
    text_entry: str,
    header: Iterable[tuple[str, bytes]],
    lines: Iterable[str],
    numbers: TrackNumbers,
    report: ExportReport,
) -> Iterator[bytes]:
    """The zip of a MOT export: ``header`` entries, the text (streamed), then the track id map
    and the report (both final only once the text is written)."""

    def entries() -> Iterator[tuple[str, bytes | Iterable[bytes]]]:
        yield from header
        yield text_entry, rechunk(line.encode() for line in lines)
        yield TRACK_IDS_ENTRY, numbers.to_json()
        yield report_entry(report)

    return stream_zip(entries())


@dataclass(frozen=True, slots=True)
class MotUpload:
    """The MOT text of an upload, where it came from, and the track id map if it had one."""

    text: str
    label: str
    track_ids: dict[int, str] | None


def _is_zip(source: Source) -> bool:
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as file:
            return file.read(4) == _ZIP_MAGIC
    position = source.tell()
    head = source.read(4)
    source.seek(position)
    return head == _ZIP_MAGIC


def _decode(data: bytes, where: Location, complain: Complain) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        complain(where, "not UTF-8 text")
        return None


def read_upload(
    source: Source,
    label: str,
    limits: ImportLimits,
    preferred: tuple[str, ...],
    complain: Complain,
) -> MotUpload | None:
    """A bare MOT text file, or a zip holding one: the entry named like one of ``preferred``
    (``gt/gt.txt`` ...), else its only ``.txt`` file; ``track_ids.json`` is read when present.

    :raises AnnotationImportError: the upload is too large, or a zip archive is unsafe.
    """
    if not _is_zip(source):
        data = read_limited(source, limits.max_file_bytes, label)
        text = _decode(data, Location(label), complain)
        return None if text is None else MotUpload(text, label, None)
    with SafeZip(source, label, limits) as archive:
        texts = [i for i in archive.files if i.filename.lower().endswith(".txt")]
        chosen = [i for i in texts if i.filename.endswith(preferred)] or texts
        if len(chosen) != 1:
            names = ", ".join(sorted(i.filename for i in chosen)) or "none"
            complain(
                Location(label),
                f"expected one MOT text file ({' or '.join(preferred)}) in the archive, "
                f"found: {names}",
            )
            return None
        entry = chosen[0]
        text = _decode(archive.read(entry), Location(entry.filename), complain)
        maps = [i for i in archive.files if PurePosixPath(i.filename).name == TRACK_IDS_ENTRY]
        track_ids = _read_track_ids(archive, maps[0], complain) if len(maps) == 1 else None
    if text is None:
        return None
    return MotUpload(text, entry.filename, track_ids)


def _read_track_ids(
    archive: SafeZip, info: zipfile.ZipInfo, complain: Complain
) -> dict[int, str] | None:
    where = Location(info.filename)
    try:
        document = orjson.loads(archive.read(info))
    except orjson.JSONDecodeError as exc:
        complain(where, f"not valid JSON: {exc}")
        return None
    fine = isinstance(document, dict) and all(
        key.isdigit() and int(key) >= 1 and isinstance(value, str) and value.strip()
        for key, value in document.items()
    )
    if not fine:
        complain(where, "must map each MOT id (a positive integer) to a track id (text)")
        return None
    if len(set(document.values())) != len(document):
        complain(where, "maps two MOT ids to one track id")
        return None
    return {int(key): value for key, value in document.items()}


def track_id_of(line: MotLine, upload: MotUpload, complain: Complain) -> tuple[bool, str | None]:
    """``(True, track id)`` of a line (None for id -1), or ``(False, None)`` after reporting an
    id the archive's track id map lacks or maps to a track id that is too long."""
    if line.track == NO_TRACK:
        return True, None
    if upload.track_ids is None:
        return True, str(line.track)
    found = upload.track_ids.get(line.track)
    where = Location(upload.label, line.line, field="id")
    if found is None:
        complain(where, f"id {line.track} is not in {TRACK_IDS_ENTRY}")
        return False, None
    if len(found) > MAX_TRACK_ID_LENGTH:
        complain(
            where,
            f"{TRACK_IDS_ENTRY} maps id {line.track} to a track id longer than "
            f"{MAX_TRACK_ID_LENGTH} characters",
        )
        return False, None
    return True, found


def vru_of(line: MotLine) -> VruType | None:
    """The VRU type of a line's class: -1 (MOTChallenge's one class, or no class column) reads
    as pedestrian; None for a class that names no VRU type."""
    return VruType.PEDESTRIAN if line.class_id == -1 else category_from_coco_id(line.class_id)
