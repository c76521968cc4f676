"""``/api/rigs``: rigs as last heard of over MQTT (state, last seen, spool, per-stream loss), and
``/api/ingest``: this process's ingest counters."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from central.api.deps import PagerDep, SessionDep, require_role
from central.auth import Role
from central.ingest import queries as ingest_queries
from central.ingest.liveness import effective_state
from central.ingest.queries import RigView
from central.schemas.base import Page
from central.schemas.rigs import IngestStatsPublic, RigPublic, RigStreamPublic

__all__ = ["router"]

router = APIRouter(tags=["rigs"], dependencies=[Depends(require_role(Role.VIEWER))])


def _public(view: RigView) -> RigPublic:
    rig = view.rig
    return RigPublic(
        id=rig.id,
        state=effective_state(rig.state, rig.last_seen_at, rig.last_status),
        last_seen_at=rig.last_seen_at,
        spool_depth=rig.spool_depth,
        version=rig.version,
        last_status=rig.last_status,
        received=view.received,
        lost=view.lost,
        streams=[
            RigStreamPublic(
                stream=s.stream,
                first_seq=s.first_seq,
                last_seq=s.last_seq,
                received=s.received,
                lost=s.lost,
            )
            for s in view.streams
        ],
        created_at=rig.created_at,
        updated_at=rig.updated_at,
    )


@router.get("/api/rigs", response_model=list[RigPublic])
def list_rigs(
    session: SessionDep, pager: PagerDep, page: Annotated[Page, Query()]
) -> list[RigPublic]:
    """Every rig central has heard of, by id."""
    views, total = ingest_queries.list_rigs(session, limit=page.limit, offset=page.offset)
    pager.publish(page, total)
    return [_public(view) for view in views]


@router.get("/api/rigs/{rig_id}", response_model=RigPublic)
def get_rig(rig_id: str, session: SessionDep) -> RigPublic:
    return _public(ingest_queries.get_rig(session, rig_id))


@router.get("/api/ingest", response_model=IngestStatsPublic)
def ingest_stats(request: Request) -> IngestStatsPublic:
    ingestor = getattr(request.app.state, "ingestor", None)
    if ingestor is None:
        return IngestStatsPublic(running=False, broker="not running", stats={})
    return IngestStatsPublic(
        running=True, broker=ingestor.client.describe(), stats=ingestor.stats.snapshot()
    )
