"""FastAPI dependencies, every ``Depends`` alias of the routes: settings, the database (a session
per request, or the factory for work in threads), the event sink, the session executor, and role
checks.

Services commit their own unit of work; the session is closed after the response, which rolls
back anything a failed request left uncommitted, so bad input never leaves a half-written row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from central.auth import Principal, Role
from central.config import CentralSettings
from central.events import EventSink
from central.execution.executor import SessionExecutor
from central.services import tokens

__all__ = [
    "EventsDep",
    "ExecutorDep",
    "FactoryDep",
    "SessionDep",
    "SettingsDep",
    "document_required_roles",
    "get_session_factory",
    "require_role",
    "required_role",
]

_bearer = HTTPBearer(auto_error=False, description="an API token from `rig-central token create`")


def get_settings(request: Request) -> CentralSettings:
    settings: CentralSettings = request.app.state.settings
    return settings


def get_session_factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


FactoryDep = Annotated[sessionmaker[Session], Depends(get_session_factory)]


def get_session(factory: FactoryDep) -> Iterator[Session]:
    with factory() as session:
        yield session


def get_events(request: Request) -> EventSink:
    """What routes hand to services so they can tell the dashboard (after their commit)."""
    events: EventSink = request.app.state.realtime
    return events


def get_executor(request: Request) -> SessionExecutor:
    executor: SessionExecutor = request.app.state.executor
    return executor


SettingsDep = Annotated[CentralSettings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
EventsDep = Annotated[EventSink, Depends(get_events)]
ExecutorDep = Annotated[SessionExecutor, Depends(get_executor)]

_NO_AUTH = Principal(role=Role.ADMIN, token_id=None, name="no-auth")


def require_role(needed: Role) -> Callable[..., Principal]:
    """A dependency that lets a request through only with a token of ``needed`` role or above.

    401 without a valid token, 403 with a token whose role is too low. With ``no_auth`` every
    request acts as admin.
    """

    def check(
        settings: SettingsDep,
        factory: FactoryDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        if settings.no_auth:
            return _NO_AUTH
        if credentials is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "an API token is required: Authorization: Bearer <token>",
                headers={"WWW-Authenticate": "Bearer"},
            )
        # Its own session, so recording the token's use never mixes with the request's writes.
        with factory() as session:
            row = tokens.authenticate(session, credentials.credentials)
        if row is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "unknown or revoked API token",
                headers={"WWW-Authenticate": "Bearer"},
            )
        principal = Principal(role=Role(row.role), token_id=row.id, name=row.name)
        if not principal.role.allows(needed):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"this needs the {needed.value} role or higher; the token's role is "
                f"{principal.role.value}",
            )
        return principal

    check_any: Any = check
    check_any.required_role = needed
    return check


def _roles(dependencies: Iterable[Any]) -> Iterator[Role]:
    """Roles asked for by ``dependencies`` (``Depends`` markers or resolved ``Dependant``s)."""
    for dependency in dependencies:
        call = getattr(dependency, "dependency", None) or getattr(dependency, "call", None)
        role = getattr(call, "required_role", None)
        if isinstance(role, Role):
            yield role
        yield from _roles(getattr(dependency, "dependencies", ()))


def required_role(router: APIRouter, route: APIRoute) -> Role | None:
    """The highest role that a :func:`require_role` of ``route`` or of its router asks for."""
    roles = [*_roles(router.dependencies), *_roles(route.dependant.dependencies)]
    return max(roles, key=lambda role: role.rank, default=None)


def document_required_roles(router: APIRouter) -> None:
    """Write each route's role into its OpenAPI operation (``x-required-role`` and the text).

    Call it before the router is included in the app.
    """
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        role = required_role(router, route)
        if role is None:
            continue
        route.openapi_extra = {**(route.openapi_extra or {}), "x-required-role": role.value}
        note = f"Requires the **{role.value}** role or higher."
        route.description = f"{route.description}\n\n{note}" if route.description else note
