"""Rigs as central last heard of them, with per-stream received and lost record counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from central.schemas.base import CamelModel

__all__ = ["IngestStatsPublic", "RigPublic", "RigStreamPublic"]


class RigStreamPublic(CamelModel):
    stream: str
    first_seq: int
    last_seq: int
    received: int
    lost: int
    """Gaps in ``seq`` between the first and last record received: records that never arrived."""


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
