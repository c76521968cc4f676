"""Errors of the rig agent, by the phase they belong to.

    RigAgentError
    ├── ConfigError          the TOML file is missing, unreadable or does not validate
    ├── SpoolError           the spool database cannot be opened or written
    └── BrokerUnreachable    the broker refused or did not answer (``rig-agent check``)

Source errors live with the sources (:mod:`rig_agent.sources.base`).
"""

from __future__ import annotations

__all__ = ["BrokerUnreachable", "ConfigError", "RigAgentError", "SpoolError"]


class RigAgentError(Exception):
    """Base class of the daemon's own errors; each carries a message an operator can act on."""


class ConfigError(RigAgentError):
    """The configuration is invalid; ``problems`` lists one line per offending key."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems))


class SpoolError(RigAgentError):
    """The spool database cannot be opened, read or written."""


class BrokerUnreachable(RigAgentError):
    """The MQTT broker refused the connection or did not answer in time."""
