"""``/api/test-sessions``: the base object; operators create and delete, viewers read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from central.api.deps import PagerDep, SessionDep, require_role
from central.api.openapi import error_responses
from central.auth import Role
from central.schemas.test_sessions import (
    TestSessionCreate,
    TestSessionPublic,
    TestSessionQuery,
    TestSessionUpdate,
)
from central.services import test_sessions

__all__ = ["router"]

router = APIRouter(prefix="/api/test-sessions", tags=["test sessions"])


@router.post(
    "",
    response_model=TestSessionPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require_role(Role.OPERATOR))],
    responses=error_responses(status.HTTP_404_NOT_FOUND),
)
def create_test_session(body: TestSessionCreate, session: SessionDep) -> TestSessionPublic:
    config = body.execution_config.model_dump() if body.execution_config is not None else None
    row = test_sessions.create_test_session(
        session, body.model_dump(exclude={"execution_config"}), config
    )
    return TestSessionPublic.model_validate(row)


@router.get(
    "", response_model=list[TestSessionPublic], dependencies=[Depends(require_role(Role.VIEWER))]
)
def list_test_sessions(
    session: SessionDep, pager: PagerDep, query: Annotated[TestSessionQuery, Query()]
) -> list[TestSessionPublic]:
    rows, total = test_sessions.list_test_sessions(
        session,
        limit=query.limit,
        offset=query.offset,
        project_id=query.project_id,
        status=query.status,
        sort=query.sort,
    )
    pager.publish(query, total)
    return [TestSessionPublic.model_validate(row) for row in rows]


@router.get(
    "/{test_session_id}",
    response_model=TestSessionPublic,
    dependencies=[Depends(require_role(Role.VIEWER))],
)
def get_test_session(test_session_id: str, session: SessionDep) -> TestSessionPublic:
    return TestSessionPublic.model_validate(
        test_sessions.get_test_session(session, test_session_id)
    )


@router.put(
    "/{test_session_id}",
    response_model=TestSessionPublic,
    dependencies=[Depends(require_role(Role.OPERATOR))],
    responses=error_responses(status.HTTP_409_CONFLICT),
)
def update_test_session(
    test_session_id: str, body: TestSessionUpdate, session: SessionDep
) -> TestSessionPublic:
    """Rename, describe or reconfigure a session that is not running."""
    changes = body.model_dump(exclude_unset=True, exclude={"execution_config"})
    if "execution_config" in body.model_fields_set:
        config = body.execution_config
        # The whole config, defaults included: it replaces the stored one.
        changes["execution_config"] = config.model_dump() if config is not None else None
    row = test_sessions.update_test_session(session, test_session_id, changes)
    return TestSessionPublic.model_validate(row)


@router.delete(
    "/{test_session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(require_role(Role.OPERATOR))],
    responses=error_responses(status.HTTP_409_CONFLICT),
)
def delete_test_session(test_session_id: str, session: SessionDep) -> None:
    test_sessions.delete_test_session(session, test_session_id)
