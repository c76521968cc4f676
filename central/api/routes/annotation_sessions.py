"""``/api/annotation-sessions``: annotators write, viewers read; totals are counted when served."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from central.api.deps import PagerDep, SessionDep, require_role
from central.api.openapi import error_responses
from central.auth import Role
from central.schemas.annotation_sessions import (
    AnnotationSessionCreate,
    AnnotationSessionPublic,
    AnnotationSessionUpdate,
)
from central.schemas.base import Page
from central.services import annotation_sessions

__all__ = ["router"]

router = APIRouter(prefix="/api/annotation-sessions", tags=["annotation sessions"])

_VIEWER = [Depends(require_role(Role.VIEWER))]
_ANNOTATOR = [Depends(require_role(Role.ANNOTATOR))]


@router.post(
    "",
    response_model=AnnotationSessionPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=_ANNOTATOR,
    responses=error_responses(status.HTTP_404_NOT_FOUND),
)
def create_session(body: AnnotationSessionCreate, session: SessionDep) -> AnnotationSessionPublic:
    return AnnotationSessionPublic.model_validate(annotation_sessions.create_session(session, body))


@router.get("", response_model=list[AnnotationSessionPublic], dependencies=_VIEWER)
def list_sessions(
    session: SessionDep,
    pager: PagerDep,
    page: Annotated[Page, Query()],
    video_id: Annotated[str | None, Query(alias="videoId")] = None,
) -> list[AnnotationSessionPublic]:
    """Annotation sessions, newest first (of one video, with ``videoId``)."""
    rows, total = annotation_sessions.list_sessions(
        session, video_id=video_id, limit=page.limit, offset=page.offset
    )
    pager.publish(page, total)
    return [AnnotationSessionPublic.model_validate(row) for row in rows]


@router.get("/{session_id}", response_model=AnnotationSessionPublic, dependencies=_VIEWER)
def get_session(session_id: str, session: SessionDep) -> AnnotationSessionPublic:
    row = annotation_sessions.get_session_with_totals(session, session_id)
    return AnnotationSessionPublic.model_validate(row)


@router.put("/{session_id}", response_model=AnnotationSessionPublic, dependencies=_ANNOTATOR)
def update_session(
    session_id: str, body: AnnotationSessionUpdate, session: SessionDep
) -> AnnotationSessionPublic:
    """Change the fields sent; ``totalDetections``/``validatedDetections`` are derived, ignored."""
    row = annotation_sessions.update_session(session, session_id, body)
    return AnnotationSessionPublic.model_validate(row)


@router.delete("/{session_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=_ANNOTATOR)
def delete_session(session_id: str, session: SessionDep) -> None:
    annotation_sessions.delete_session(session, session_id)
