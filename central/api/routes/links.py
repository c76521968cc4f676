"""Project-video links (ROADMAP.md section 3): operators link and unlink, viewers read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from central.api.deps import PagerDep, SessionDep, require_role
from central.api.openapi import error_responses
from central.auth import Role
from central.schemas.base import Page
from central.schemas.links import VideoAssignmentPublic, VideoLinkRequest
from central.schemas.videos import VideoPublic, VideoQuery
from central.services import links, videos

__all__ = ["router"]

router = APIRouter(tags=["project video links"])

_VIEWER = [Depends(require_role(Role.VIEWER))]
_OPERATOR = [Depends(require_role(Role.OPERATOR))]


@router.get(
    "/api/ground-truth/videos/available", response_model=list[VideoPublic], dependencies=_VIEWER
)
def available_videos(
    session: SessionDep, pager: PagerDep, page: Annotated[VideoQuery, Query()]
) -> list[VideoPublic]:
    """Ground-truth library videos (uploaded without a project), which projects can link."""
    rows, total = videos.list_videos(
        session, library_only=True, limit=page.limit, offset=page.offset, sort=page.sort
    )
    pager.publish(page, total)
    return [VideoPublic.model_validate(row) for row in rows]


@router.post(
    "/api/projects/{project_id}/videos/link",
    response_model=list[VideoAssignmentPublic],
    status_code=status.HTTP_201_CREATED,
    dependencies=_OPERATOR,
    responses=error_responses(status.HTTP_409_CONFLICT),
)
def link_videos(
    project_id: str, body: VideoLinkRequest, session: SessionDep
) -> list[VideoAssignmentPublic]:
    """Link library videos to the project: all of them, or none (404 unknown, 409 linked)."""
    made = links.link_videos(session, project_id, body.video_ids, body.assignment_reason)
    return [VideoAssignmentPublic.model_validate(link) for link in made]


@router.get(
    "/api/projects/{project_id}/videos/linked",
    response_model=list[VideoPublic],
    dependencies=_VIEWER,
)
def linked_videos(
    project_id: str, session: SessionDep, pager: PagerDep, page: Annotated[Page, Query()]
) -> list[VideoPublic]:
    """The library videos linked to this project, most recently linked first."""
    rows, total = links.linked_videos(session, project_id, limit=page.limit, offset=page.offset)
    pager.publish(page, total)
    return [VideoPublic.model_validate(row) for row in rows]


@router.delete(
    "/api/projects/{project_id}/videos/{video_id}/unlink",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=_OPERATOR,
)
def unlink_video(project_id: str, video_id: str, session: SessionDep) -> None:
    links.unlink_video(session, project_id, video_id)
