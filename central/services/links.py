"""Links between ground-truth library videos and projects (ROADMAP.md section 3).

A library video (one uploaded without a project) can serve many projects; a link says it serves
one. Only library videos can be linked: a video uploaded into a project already belongs to it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central.db.models import Video, VideoProjectLink
from central.services.errors import Conflict, InvalidInput, NotFound
from central.services.videos import require_project

__all__ = ["link_videos", "linked_videos", "unlink_video"]

logger = logging.getLogger(__name__)


def link_videos(
    session: Session, project_id: str, video_ids: Sequence[str], reason: str | None
) -> list[VideoProjectLink]:
    """Link every video of ``video_ids`` to the project, all or none."""
    require_project(session, project_id)
    seen: set[str] = set()
    for index, video_id in enumerate(video_ids):
        if video_id in seen:
            raise InvalidInput(f"Video {video_id!r} is listed twice.", field=f"videoIds.{index}")
        seen.add(video_id)
    videos = {v.id: v for v in session.scalars(select(Video).where(Video.id.in_(seen)))}
    for video_id in video_ids:
        video = videos.get(video_id)
        if video is None:
            raise NotFound("video", video_id)
        if video.project_id is not None:
            raise Conflict(
                f"video {video_id!r} was uploaded into project {video.project_id!r}; "
                "only ground-truth library videos can be linked"
            )
    already = session.scalars(
        select(VideoProjectLink.video_id).where(
            VideoProjectLink.project_id == project_id, VideoProjectLink.video_id.in_(seen)
        )
    ).all()
    if already:
        raise Conflict(f"already linked to project {project_id!r}: {', '.join(sorted(already))}")
    links = [
        VideoProjectLink(
            project_id=project_id,
            video_id=video_id,
            assignment_reason=reason,
            video=videos[video_id],
        )
        for video_id in video_ids
    ]
    session.add_all(links)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(f"some of these videos were just linked to project {project_id!r}") from exc
    logger.info("Linked %d video(s) to project %s", len(links), project_id)
    return links


def linked_videos(
    session: Session, project_id: str, *, limit: int | None = None, offset: int = 0
) -> tuple[Sequence[Video], int]:
    """The videos linked to a project, most recently linked first, and how many in all."""
    require_project(session, project_id)
    of_project = VideoProjectLink.project_id == project_id
    total = session.scalar(select(func.count()).select_from(VideoProjectLink).where(of_project))
    query = (
        select(Video)
        .join(VideoProjectLink, VideoProjectLink.video_id == Video.id)
        .where(of_project)
        .order_by(VideoProjectLink.created_at.desc(), VideoProjectLink.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return session.scalars(query).all(), total or 0


def unlink_video(session: Session, project_id: str, video_id: str) -> None:
    require_project(session, project_id)
    link = session.scalar(
        select(VideoProjectLink).where(
            VideoProjectLink.project_id == project_id, VideoProjectLink.video_id == video_id
        )
    )
    if link is None:
        raise NotFound("link of video to project", f"{video_id} -> {project_id}")
    session.delete(link)
    session.commit()
