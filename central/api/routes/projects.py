"""``/api/projects``: operators write, admins delete, viewers read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from central.api.deps import EventsDep, SessionDep, require_role
from central.api.pagination import set_total
from central.auth import Role
from central.schemas.base import Page
from central.schemas.projects import ProjectCreate, ProjectPublic, ProjectUpdate
from central.services import projects

__all__ = ["router"]

router = APIRouter(prefix="/api/projects", tags=["projects"])


@router.post(
    "",
    response_model=ProjectPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require_role(Role.OPERATOR))],
)
def create_project(body: ProjectCreate, session: SessionDep, events: EventsDep) -> ProjectPublic:
    project = projects.create_project(session, body.model_dump(), events)
    return ProjectPublic.model_validate(project)


@router.get(
    "", response_model=list[ProjectPublic], dependencies=[Depends(require_role(Role.VIEWER))]
)
def list_projects(
    session: SessionDep, response: Response, page: Annotated[Page, Query()]
) -> list[ProjectPublic]:
    rows, total = projects.list_projects(session, limit=page.limit, offset=page.offset)
    set_total(response, total)
    return [ProjectPublic.model_validate(row) for row in rows]


@router.get(
    "/{project_id}", response_model=ProjectPublic, dependencies=[Depends(require_role(Role.VIEWER))]
)
def get_project(project_id: str, session: SessionDep) -> ProjectPublic:
    return ProjectPublic.model_validate(projects.get_project(session, project_id))


@router.put(
    "/{project_id}",
    response_model=ProjectPublic,
    dependencies=[Depends(require_role(Role.OPERATOR))],
)
def update_project(project_id: str, body: ProjectUpdate, session: SessionDep) -> ProjectPublic:
    changes = body.model_dump(exclude_unset=True)
    return ProjectPublic.model_validate(projects.update_project(session, project_id, changes))


@router.delete(
    "/{project_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(require_role(Role.ADMIN))],
)
def delete_project(project_id: str, session: SessionDep) -> None:
    projects.delete_project(session, project_id)
