"""The rig's status message: what an operator or central needs to see at a glance."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from protocol import ChannelStats, RigState, RigStatus
from rig_agent.records import SessionSpec
from rig_agent.sources import ChannelSettings, SignalSource
from rig_agent.spool import Spool
from rig_agent.spool_writer import SpoolWriter

__all__ = ["StatusInputs", "build_status"]


@dataclass(frozen=True, slots=True)
class StatusInputs:
    rig_id: str
    version: str
    uptime_s: float
    interval_s: float
    channels: list[ChannelSettings]
    sources: Mapping[str, SignalSource]
    session: SessionSpec | None
    spool: Spool
    writer: SpoolWriter
    last_error: str | None
    clock_offset_ns: int
    t_wall_ns: int


def build_status(inputs: StatusInputs, state: RigState = RigState.ONLINE) -> RigStatus:
    counts = inputs.writer.committed
    refused = inputs.writer.refused
    armed = inputs.session.armed if inputs.session is not None else frozenset()
    channels: dict[str, ChannelStats] = {}
    for settings in inputs.channels:
        source = inputs.sources.get(settings.name)
        channels[settings.name] = ChannelStats(
            role=settings.role.value,
            source=settings.source,
            count=counts.get(settings.name, 0),
            drops=(source.drops if source is not None else 0) + refused.get(settings.name, 0),
            armed=settings.name in armed,
        )
    return RigStatus(
        rig_id=inputs.rig_id,
        state=state,
        version=inputs.version,
        uptime_s=round(inputs.uptime_s, 3),
        interval_s=inputs.interval_s,
        session_id=inputs.session.session_id if inputs.session is not None else None,
        stream=inputs.spool.stream,
        spool_depth=inputs.spool.depth,
        spool_bytes=inputs.spool.held_bytes,
        spool_full=inputs.writer.full,
        refused_records=inputs.writer.refused_total,
        last_seq=inputs.spool.next_seq - 1 if inputs.spool.next_seq else None,
        spool_first_seq=inputs.spool.first_seq,
        acked_seq=inputs.spool.acked_seq,
        evicted_records=inputs.spool.evicted,
        channels=channels,
        last_error=inputs.last_error,
        clock_offset_ns=inputs.clock_offset_ns,
        t_wall_ns=inputs.t_wall_ns,
    )
