"""MQTT topic names of the contract, under a configurable prefix (default ``vru/v1``).

{prefix}/rigs/{rig_id}/status           retained rig status; the last will says offline
{prefix}/rigs/{rig_id}/records          batches of records, QoS 1
{prefix}/rigs/{rig_id}/commands         central to rig, QoS 1
{prefix}/rigs/{rig_id}/replies          rig to central, answers to commands
{prefix}/rigs/{rig_id}/acks             retained, central to rig: committed seq watermark
{prefix}/sessions/{session_id}/results  final results, for any subscriber
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from protocol.errors import UnknownTopic

__all__ = ["DEFAULT_PREFIX", "ID_REGEX", "ParsedTopic", "TopicKind", "Topics", "validate_id"]

DEFAULT_PREFIX = "vru/v1"

# Ids become topic levels, so they must not carry MQTT wildcards or separators. The same text is
# a JSON Schema pattern (ECMA-262), for the API's description of an id.
ID_REGEX = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
_ID_PATTERN = re.compile(ID_REGEX)


def validate_id(value: str, what: str = "id") -> str:
    """Return ``value`` if it can stand as one topic level, else raise ``ValueError``."""
    # fullmatch: a trailing newline, which ``$`` lets through, is no part of an id.
    if not _ID_PATTERN.fullmatch(value):
        raise ValueError(
            f"{what} {value!r} must be 1-128 characters of letters, digits, '_', '.', ':' or '-',"
            " starting with a letter or digit"
        )
    return value


class TopicKind(StrEnum):
    STATUS = "status"
    RECORDS = "records"
    COMMANDS = "commands"
    REPLIES = "replies"
    RESULTS = "results"
    ACKS = "acks"


_RIG_KINDS = (
    TopicKind.STATUS,
    TopicKind.RECORDS,
    TopicKind.COMMANDS,
    TopicKind.REPLIES,
    TopicKind.ACKS,
)


@dataclass(frozen=True, slots=True)
class ParsedTopic:
    kind: TopicKind
    rig_id: str | None = None
    session_id: str | None = None


@dataclass(frozen=True, slots=True)
class Topics:
    """Builds and parses the topics of one deployment's prefix."""

    prefix: str = DEFAULT_PREFIX

    def __post_init__(self) -> None:
        if not self.prefix or self.prefix.startswith("/") or self.prefix.endswith("/"):
            raise ValueError(f"topic prefix {self.prefix!r} must be non-empty, without edge '/'")
        if any(c in self.prefix for c in "#+\0"):
            raise ValueError(f"topic prefix {self.prefix!r} must not contain '#', '+' or NUL")

    def _rig(self, rig_id: str, kind: TopicKind) -> str:
        return f"{self.prefix}/rigs/{validate_id(rig_id, 'rig id')}/{kind}"

    def status(self, rig_id: str) -> str:
        return self._rig(rig_id, TopicKind.STATUS)

    def records(self, rig_id: str) -> str:
        return self._rig(rig_id, TopicKind.RECORDS)

    def commands(self, rig_id: str) -> str:
        return self._rig(rig_id, TopicKind.COMMANDS)

    def replies(self, rig_id: str) -> str:
        return self._rig(rig_id, TopicKind.REPLIES)

    def acks(self, rig_id: str) -> str:
        return self._rig(rig_id, TopicKind.ACKS)

    def results(self, session_id: str) -> str:
        return f"{self.prefix}/sessions/{validate_id(session_id, 'session id')}/{TopicKind.RESULTS}"

    def all_rigs(self, kind: TopicKind) -> str:
        """Subscription filter for one kind of rig topic across all rigs."""
        if kind not in _RIG_KINDS:
            raise ValueError(f"{kind} is not a rig topic")
        return f"{self.prefix}/rigs/+/{kind}"

    def parse(self, topic: str) -> ParsedTopic:
        """Split a concrete topic into its kind and id; raise ``UnknownTopic`` otherwise."""
        head = self.prefix + "/"
        if not topic.startswith(head):
            raise UnknownTopic(f"topic {topic!r} is outside prefix {self.prefix!r}")
        parts = topic[len(head) :].split("/")
        if len(parts) == 3 and parts[0] == "rigs" and parts[2] in _RIG_KINDS:
            return ParsedTopic(kind=TopicKind(parts[2]), rig_id=parts[1])
        if len(parts) == 3 and parts[0] == "sessions" and parts[2] == TopicKind.RESULTS:
            return ParsedTopic(kind=TopicKind.RESULTS, session_id=parts[1])
        raise UnknownTopic(f"topic {topic!r} is not a topic of the contract")
