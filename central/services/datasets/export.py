"""Dataset export: many videos in one zip archive, streamed.

A folder per video, named by the video's id, holds exactly the file the single-video export gives
(``<name>.json``, ``.coco.json``, ``.yolo.zip`` or ``.voc.zip``; zips are stored, not compressed
again), so every folder imports back into a video with the single-video import. COCO files are not
merged into one multi-video CocoVID document: per-video files keep image ids, instance ids and the
round trip the same as a single export. The archive ends with ``report.json``: per video its
folder, file and report counts (the full report, entries included, is inside each video's file),
and the totals.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from central.db.models import Video, VideoProjectLink
from central.formats import VideoInfo
from central.formats.streaming import stream_zip
from central.services.annotation_io import (
    ExportProgress,
    StreamedExport,
    count_annotations,
    prepare_export,
    read_annotations,
    video_info,
)
from central.services.errors import NotFound
from central.services.videos import require_project

__all__ = ["DATASET_REPORT", "DatasetSelection", "start_dataset_export"]

DATASET_REPORT = "report.json"

_V = Video


@dataclass(frozen=True, slots=True)
class DatasetSelection:
    """A project's videos (uploaded into it or linked), a list of videos, or every video."""

    project_id: str | None = None
    video_ids: Sequence[str] | None = None


# ----------------------------------------------------------------------------- dataset export


def _selected_videos(session: Session, selection: DatasetSelection) -> list[VideoInfo]:
    if selection.video_ids is not None:
        wanted = list(dict.fromkeys(selection.video_ids))
        found = {v.id: v for v in session.scalars(select(_V).where(_V.id.in_(wanted)))}
        missing = next((ident for ident in wanted if ident not in found), None)
        if missing is not None:
            raise NotFound("video", missing)
        return [video_info(found[ident]) for ident in wanted]
    query = select(_V).order_by(_V.created_at, _V.id)
    if selection.project_id is not None:
        require_project(session, selection.project_id)
        linked = select(VideoProjectLink.video_id).where(
            VideoProjectLink.project_id == selection.project_id
        )
        query = query.where(or_(_V.project_id == selection.project_id, _V.id.in_(linked)))
    return [video_info(video) for video in session.scalars(query)]


def start_dataset_export(
    factory: sessionmaker[Session], selection: DatasetSelection, format_name: str
) -> StreamedExport:
    """Check the selection (404) and that every video can be written in the format (409) before
    anything is streamed."""
    with factory() as session:
        videos = _selected_videos(session, selection)
        ids = [video.id for video in videos]
        narrowed = selection.project_id is not None or selection.video_ids is not None
        progress = ExportProgress(total=count_annotations(session, ids if narrowed else None))
    for video in videos:
        prepare_export(format_name, video, iter(()))
    export = StreamedExport(
        format=format_name,
        filename=f"dataset.{format_name}.zip",
        media_type="application/zip",
        chunks=iter(()),
        progress=progress,
        video_ids=ids,
        report_location=f"{DATASET_REPORT} in the archive, and each video's own file",
    )
    export.chunks = stream_zip(_dataset_entries(factory, videos, export))
    return export


def _dataset_entries(
    factory: sessionmaker[Session], videos: list[VideoInfo], export: StreamedExport
) -> Iterator[tuple[str, Iterable[bytes]]]:
    listed: list[dict[str, Any]] = []
    for video in videos:
        annotations = read_annotations(factory, video.id, export.progress)
        result = prepare_export(export.format, video, annotations)
        export.reports.append(result)
        path = f"{video.id}/{result.filename}"
        yield path, result.chunks
        report = result.report
        listed.append(
            {
                "videoId": video.id,
                "filename": video.filename,
                "path": path,
                "annotations": report.annotations,
                "frames": report.frames,
                "clipped": report.clipped,
                "dropped": report.dropped,
                "notRepresented": report.not_represented,
                "warnings": report.warnings,
            }
        )
    summary = {"format": export.format, "videos": listed, "totals": export.report_summary()}
    yield DATASET_REPORT, [orjson.dumps(summary, option=orjson.OPT_INDENT_2)]
