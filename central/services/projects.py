"""Projects: create, list, read, update, delete.

Deleting a project deletes its test sessions (and their results) and its video links; videos
uploaded into it stay, in the ground-truth library (``project_id`` becomes null).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central.db.models import Project
from central.events import DISCARD, EventSink
from central.services.errors import Conflict, InvalidInput, NotFound

__all__ = ["create_project", "delete_project", "get_project", "list_projects", "update_project"]

logger = logging.getLogger(__name__)

# Columns that must never become null through an update.
_REQUIRED = frozenset({"name", "status"})


def _name_taken(session: Session, name: str, except_id: str | None = None) -> bool:
    query = select(Project.id).where(Project.name == name)
    if except_id is not None:
        query = query.where(Project.id != except_id)
    return session.scalars(query).first() is not None


def _commit_or_conflict(session: Session, name: str) -> None:
    try:
        session.commit()
    except IntegrityError as exc:
        # Lost a race with another request creating the same name.
        session.rollback()
        raise Conflict(f"a project named {name!r} already exists") from exc


def create_project(
    session: Session, fields: dict[str, Any], events: EventSink = DISCARD
) -> Project:
    if _name_taken(session, fields["name"]):
        raise Conflict(f"a project named {fields['name']!r} already exists")
    project = Project(**fields)
    session.add(project)
    _commit_or_conflict(session, fields["name"])
    logger.info("created project %s (%s)", project.id, project.name)
    events.project_created(project.id, project.name)
    return project


def list_projects(session: Session, *, limit: int, offset: int) -> tuple[list[Project], int]:
    """A page of projects, newest first, and the total count."""
    total = session.scalar(select(func.count()).select_from(Project)) or 0
    page = session.scalars(
        select(Project)
        .order_by(Project.created_at.desc(), Project.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(page), total


def get_project(session: Session, project_id: str) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound("project", project_id)
    return project


def update_project(session: Session, project_id: str, changes: dict[str, Any]) -> Project:
    """Apply ``changes`` (only the fields the client sent)."""
    project = get_project(session, project_id)
    for field in _REQUIRED & changes.keys():
        if changes[field] is None:
            raise InvalidInput(f"{field} cannot be null", field=field)
    name = changes.get("name")
    if name is not None and _name_taken(session, name, except_id=project_id):
        raise Conflict(f"a project named {name!r} already exists")
    for field, value in changes.items():
        setattr(project, field, value)
    _commit_or_conflict(session, project.name)
    return project


def delete_project(session: Session, project_id: str) -> None:
    project = get_project(session, project_id)
    session.delete(project)
    session.commit()
    logger.info("deleted project %s (%s)", project_id, project.name)
