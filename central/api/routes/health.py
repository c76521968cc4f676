"""``GET /health``: is the database reachable, and how is the MQTT side doing. No auth, so load
balancers and systemd checks can call it; it reveals no data."""

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


@router.get("/health", response_model=HealthPublic)
def health(request: Request, response: Response) -> HealthPublic:
    database = _database_state(request)
    broker = str(getattr(request.app.state, "broker_state", None) or BROKER_NOT_RUNNING)
    if database != "ok":
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return HealthPublic(
        status="ok" if database == "ok" else "degraded", database=database, broker=broker
    )
