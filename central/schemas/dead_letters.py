"""Messages central refused, kept with the reason so operators can see what a rig sent."""

from __future__ import annotations

from datetime import datetime

from pydantic import field_serializer

from central.schemas.base import CamelModel, Page

__all__ = ["DeadLetterPage", "DeadLetterPublic"]

PREVIEW_BYTES = 2048


class DeadLetterPage(Page):
    rig_id: str | None = None


class DeadLetterPublic(CamelModel):
    id: str
    received_at: datetime
    topic: str
    rig_id: str | None
    reason: str
    """``<kind>: <detail>``; kind is malformed, unsupported_version, oversized, unknown_topic,
    unknown_rig, rig_mismatch or database."""
    payload: bytes
    """The first bytes of the message, as text (undecodable bytes replaced)."""
    payload_size: int

    @field_serializer("payload")
    def _preview(self, payload: bytes) -> str:
        return payload[:PREVIEW_BYTES].decode("utf-8", errors="replace")
