"""Stored videos: accept an upload, list, find, delete; the file and its row live and die together.

Files sit in ``<data_dir>/videos`` under ``<video id><extension>``, the extension chosen from the
probed container. A new video's file is moved into place before its row is committed and removed
again if the commit fails; a deleted video's row goes first, then its file. A crash in between can
leave an orphan file, never a row without its file.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central.db.models import Project, TestSession, Video
from central.db.types import new_id
from central.events import DISCARD, EventSink
from central.services.errors import Conflict, NotFound
from central.services.uploads import ReceivedUpload
from central.services.video_probe import probe_video

__all__ = [
    "VIDEOS_DIRNAME",
    "delete_video",
    "display_name",
    "get_video",
    "list_videos",
    "require_project",
    "store_uploaded_video",
    "video_file",
    "videos_dir",
]

logger = logging.getLogger(__name__)

VIDEOS_DIRNAME = "videos"
_FILENAME_MAX = 255


def videos_dir(data_dir: Path) -> Path:
    return data_dir / VIDEOS_DIRNAME


def video_file(video: Video, data_dir: Path) -> Path:
    return videos_dir(data_dir) / video.stored_name


def display_name(client_filename: str | None) -> str:
    """The client's file name reduced to its last component, for display only."""
    name = PureWindowsPath(PurePosixPath(client_filename or "").name).name.strip()
    return name[:_FILENAME_MAX] or "upload"


def require_project(session: Session, project_id: str) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound("project", project_id)
    return project


def store_uploaded_video(
    session: Session,
    upload: ReceivedUpload,
    *,
    project_id: str | None,
    data_dir: Path,
    events: EventSink = DISCARD,
) -> Video:
    """Check and probe a received upload, then keep it as a video (of the project, if given).

    Blocking (PyAV, disk): call it from a worker thread. The upload's temporary file is gone
    afterwards whatever happens: moved into place, or removed on any error (415 not a video, 404
    unknown project, a failed commit).
    """
    final: Path | None = None
    try:
        if project_id is not None:
            require_project(session, project_id)
        metadata = probe_video(upload.path)
        video_id = new_id()
        stored_name = f"{video_id}{metadata.extension}"
        final = videos_dir(data_dir) / stored_name
        os.replace(upload.path, final)
        video = Video(
            id=video_id,
            project_id=project_id,
            filename=display_name(upload.filename),
            stored_name=stored_name,
            size_bytes=upload.size_bytes,
            content_type=metadata.content_type,
            duration_s=metadata.duration_s,
            fps=metadata.fps,
            frame_count=metadata.frame_count,
            width=metadata.width,
            height=metadata.height,
            codec=metadata.codec,
            status="uploaded",
        )
        session.add(video)
        session.commit()
    except BaseException:
        session.rollback()
        upload.path.unlink(missing_ok=True)
        if final is not None:
            final.unlink(missing_ok=True)
        raise
    logger.info("Stored video %s (%d bytes, %s)", video.id, video.size_bytes, video.codec)
    events.video_uploaded(video.id, video.filename, video.project_id)
    return video


def list_videos(
    session: Session,
    *,
    project_id: str | None = None,
    library_only: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[Sequence[Video], int]:
    """Videos, newest first, and how many there are in all: of one project, or of the library."""
    query = select(Video)
    if project_id is not None:
        require_project(session, project_id)
        query = query.where(Video.project_id == project_id)
    if library_only:
        query = query.where(Video.project_id.is_(None))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = query.order_by(Video.created_at.desc(), Video.id.desc()).offset(offset).limit(limit)
    return session.scalars(page).all(), total


def get_video(session: Session, video_id: str) -> Video:
    video = session.get(Video, video_id)
    if video is None:
        raise NotFound("video", video_id)
    return video


def delete_video(session: Session, video_id: str, *, data_dir: Path) -> None:
    """Delete a video with its annotations, sessions and links; refused while tests refer to it."""
    video = get_video(session, video_id)
    used_by = session.scalar(
        select(func.count()).select_from(TestSession).where(TestSession.video_id == video_id)
    )
    if used_by:
        raise Conflict(
            f"video {video_id!r} is used by {used_by} test session(s); delete them first"
        )
    path = video_file(video, data_dir)
    session.delete(video)
    session.commit()
    try:
        path.unlink(missing_ok=True)
    except OSError:
        logger.exception("Video %s deleted, but its file %s could not be removed", video_id, path)
