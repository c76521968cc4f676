"""``GET /health``: is the database reachable, and how is the MQTT side doing. No auth, so load
balancers and systemd checks can call it; it reveals no data.

A database that cannot be reached is a 503: nothing works. A broker that ingest cannot reach is
``status: degraded`` with a 200: the REST API still serves, records wait in the rigs' spools.
"""

from __future__ import annotations

import logging
from typing import Literal

from fastapi import APIRouter, Request, Response, status
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from central.api.deps import get_session_factory
from central.schemas import CamelModel

__all__ = ["HealthPublic", "router"]

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])

BROKER_NOT_RUNNING = "not running"


class HealthPublic(CamelModel):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "error"]
    broker: str
    """What MQTT ingest reported in ``app.state.broker_state``; "not running" without ingest."""


def _database_state(request: Request) -> Literal["ok", "error"]:
    try:
        with get_session_factory(request)() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        logger.warning("health check: database unreachable: %s", exc)
        return "error"
    return "ok"


@router.get(
    "/health",
    response_model=HealthPublic,
    responses={
        status.HTTP_503_SERVICE_UNAVAILABLE: {
            "model": HealthPublic,
            "description": "The database is unreachable",
        }
    },
)
def health(request: Request, response: Response) -> HealthPublic:
    database = _database_state(request)
    broker_state = getattr(request.app.state, "broker_state", None)
    ingest_cut_off = broker_state is not None and not getattr(broker_state, "connected", True)
    if database != "ok":
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return HealthPublic(
        status="ok" if database == "ok" and not ingest_cut_off else "degraded",
        database=database,
        broker=str(broker_state or BROKER_NOT_RUNNING),
    )
