"""``/api/projects/{id}/analytics``: sessions over time, trends, per-rig and per-video summaries."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from central.api.deps import SessionDep, require_role
from central.auth import Role
from central.schemas.analytics import ProjectAnalyticsPublic
from central.services.analytics import project_analytics

__all__ = ["router"]

router = APIRouter(
    prefix="/api/projects", tags=["analytics"], dependencies=[Depends(require_role(Role.VIEWER))]
)


@router.get("/{project_id}/analytics", response_model=ProjectAnalyticsPublic)
def get_project_analytics(project_id: str, session: SessionDep) -> ProjectAnalyticsPublic:
    return ProjectAnalyticsPublic.model_validate(project_analytics(session, project_id))
