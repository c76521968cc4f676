"""Rigs as central last heard of them, with per-stream received and lost record counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from central.schemas.base import CamelModel

__all__ = ["IngestStatsPublic", "RigPublic", "RigStreamPublic"]


class RigStreamPublic(CamelModel):
    stream: str
    first_seq: int | None
    """Lowest ``seq`` received; null while nothing of the stream arrived."""
    last_seq: int | None
    """Highest ``seq`` received; null while nothing of the stream arrived."""
    received: int
    lost: int
    """Records that never arrived: gaps, and the head and tail up to the last ``seq`` the rig
    says it spooled (so a stream none of whose records arrived is lost whole)."""


class RigPublic(CamelModel):
    id: str
    state: str
    """online, offline, or unknown (never reported)."""
    last_seen_at: datetime | None
    spool_depth: int | None
    version: str | None
    last_status: dict[str, Any] | None
    received: int
    lost: int
    streams: list[RigStreamPublic]
    created_at: datetime
    updated_at: datetime | None


class IngestStatsPublic(CamelModel):
    """Counters of this central process since it started (``running`` false without ingest)."""

    running: bool
    broker: str
    stats: dict[str, Any]
