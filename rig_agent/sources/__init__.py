"""Signal sources, one module per kind behind :class:`SignalSource`.

Backends are registered as lazy ``(module, settings class, source class)`` names, so importing
this package imports no driver; a backend module imports optional drivers (gpiod, lgpio) only
when a source is constructed.
"""

from __future__ import annotations

import importlib

from protocol import Source
from rig_agent.sources.base import (
    Capture,
    CaptureSink,
    ChannelRole,
    ChannelSettings,
    SignalSource,
    SourceError,
    SourceUnavailable,
)

__all__ = [
    "BACKENDS",
    "Capture",
    "CaptureSink",
    "ChannelRole",
    "ChannelSettings",
    "SignalSource",
    "SourceError",
    "SourceUnavailable",
    "settings_class",
    "source_class",
]

BACKENDS: dict[Source, tuple[str, str, str]] = {
    Source.GPIO: ("rig_agent.sources.gpio", "GpioSettings", "GpioSource"),
    Source.CAN: ("rig_agent.sources.can", "CanSettings", "CanSource"),
    Source.SERIAL: ("rig_agent.sources.serial", "SerialSettings", "SerialSource"),
    Source.NETWORK: ("rig_agent.sources.network", "NetworkSettings", "NetworkSource"),
    Source.SIMULATED: ("rig_agent.sources.simulated", "SimulatedSettings", "SimulatedSource"),
}


def settings_class(kind: Source) -> type[ChannelSettings]:
    module_name, class_name, _ = BACKENDS[kind]
    cls: type[ChannelSettings] = getattr(importlib.import_module(module_name), class_name)
    return cls


def source_class(kind: Source) -> type[SignalSource]:
    module_name, _, class_name = BACKENDS[kind]
    cls: type[SignalSource] = getattr(importlib.import_module(module_name), class_name)
    return cls
