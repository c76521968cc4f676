"""The rig agent's one TOML file, validated with pydantic.

Every section forbids unknown keys, so a typo is an error naming the key instead of a setting
silently left at its default. ``[[channels]]`` is a discriminated union on ``source``: each entry
is validated by that backend's own settings class from the registry in
:mod:`rig_agent.sources`. A backend whose module cannot be imported on this machine is left out of
the union, and the error for a channel that names it says why.
"""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SecretStr,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from protocol import DEFAULT_PREFIX, BrokerAddress, Source, Topics, validate_id
from rig_agent.errors import ConfigError
from rig_agent.sources import ChannelRole, ChannelSettings, settings_class
from rig_agent.sources.simulated import SimulatedSettings

__all__ = [
    "AgentConfig",
    "ChannelConfig",
    "MqttConfig",
    "PairingConfig",
    "SpoolConfig",
    "StatusConfig",
    "load_config",
    "parse_config",
]

logger = logging.getLogger(__name__)

DEFAULT_SPOOL_PATH = Path("/var/lib/rig-agent/spool.db")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MqttConfig(_Section):
    url: str = Field(description="mqtt://host[:port] or mqtts://host[:port]")
    topic_prefix: str = DEFAULT_PREFIX
    username: str | None = None
    password: SecretStr | None = None
    ca_file: Path | None = Field(default=None, description="CA bundle for mqtts://")
    cert_file: Path | None = Field(default=None, description="client certificate (mutual TLS)")
    key_file: Path | None = Field(default=None, description="client key (mutual TLS)")
    client_id: str | None = Field(default=None, description="default: rig-agent-{rig_id}")
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    batch_max_records: int = Field(default=100, ge=1, le=1000)
    batch_linger_ms: float = Field(default=50.0, ge=0, le=10_000)
    max_inflight_batches: int = Field(default=32, ge=1, le=1000)
    reconnect_min_s: float = Field(default=0.5, gt=0, le=60)
    reconnect_max_s: float = Field(default=30.0, gt=0, le=3600)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if BrokerAddress.from_url(value).username is not None:
            raise ValueError(f"{value!r}: give only scheme, host and port (credentials go in keys)")
        return value

    @field_validator("topic_prefix")
    @classmethod
    def _check_prefix(cls, value: str) -> str:
        Topics(value)
        return value

    @field_validator("ca_file", "cert_file", "key_file")
    @classmethod
    def _check_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"file {str(value)!r} does not exist")
        return value

    @model_validator(mode="after")
    def _check_pairs(self) -> MqttConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        if self.password is not None and self.username is None:
            raise ValueError("password given without username")
        if self.reconnect_min_s > self.reconnect_max_s:
            raise ValueError("reconnect_min_s is larger than reconnect_max_s")
        return self

    @property
    def address(self) -> BrokerAddress:
        """The broker (its credentials are the ``username`` and ``password`` keys)."""
        return BrokerAddress.from_url(self.url)


class SpoolConfig(_Section):
    path: Path = DEFAULT_SPOOL_PATH
    max_mb: float = Field(
        default=512.0, gt=0, description="records held before new ones are refused"
    )
    durability: Literal["normal", "full"] = Field(
        default="normal",
        description="normal survives a crash of the daemon; full also survives power loss (slower)",
    )

    @property
    def max_bytes(self) -> int:
        return int(self.max_mb * 1024 * 1024)


class PairingConfig(_Section):
    window_ms: float = Field(
        default=1000.0, gt=0, description="a detection this long after a stimulus is paired with it"
    )


class StatusConfig(_Section):
    interval_s: float = Field(default=5.0, ge=0.5, le=3600)
    shutdown_timeout_s: float = Field(
        default=5.0, ge=0, le=300, description="how long a stop waits for the spool to drain"
    )


def _source_tag(value: Any) -> str | None:
    raw = value.get("source") if isinstance(value, dict) else getattr(value, "source", None)
    return str(raw) if raw is not None else None


def _channel_union() -> Any:
    """The union of every importable backend's settings class, tagged by ``source``."""
    members: list[Any] = []
    missing: list[str] = []
    for kind in Source:
        try:
            cls = settings_class(kind)
        except ImportError as exc:
            missing.append(f"{kind.value} ({exc})")
            continue
        members.append(Annotated[cls, Tag(kind.value)])
    message = "source must be one of " + ", ".join(s.value for s in Source)
    if missing:
        message += "; not available on this machine: " + ", ".join(missing)
    return Annotated[
        Union[tuple(members)],  # noqa: UP007 - built at run time from the registry
        Discriminator(
            _source_tag, custom_error_type="unknown_source", custom_error_message=message
        ),
    ]


if TYPE_CHECKING:
    ChannelConfig = ChannelSettings
else:
    ChannelConfig = _channel_union()


class AgentConfig(_Section):
    rig_id: str
    mqtt: MqttConfig
    spool: SpoolConfig = SpoolConfig()
    pairing: PairingConfig = PairingConfig()
    status: StatusConfig = StatusConfig()
    channels: list[ChannelConfig] = Field(min_length=1)

    @field_validator("rig_id")
    @classmethod
    def _check_rig_id(cls, value: str) -> str:
        return validate_id(value, "rig_id")

    @model_validator(mode="after")
    def _check_channels(self) -> AgentConfig:
        seen: set[str] = set()
        for channel in self.channels:
            if channel.name in seen:
                raise ValueError(f"channel name {channel.name!r} is used twice")
            seen.add(channel.name)
        roles = self.roles
        for channel in self.channels:
            if isinstance(channel, SimulatedSettings):
                for linked, role in channel.linked_channels().items():
                    if roles.get(linked) != role:
                        raise ValueError(
                            f"channel {channel.name!r} emits on {linked!r}, which must be a"
                            f" configured channel with role {role.value}"
                        )
        return self

    @property
    def roles(self) -> dict[str, ChannelRole]:
        return {channel.name: channel.role for channel in self.channels}

    @property
    def topics(self) -> Topics:
        return Topics(self.mqtt.topic_prefix)

    def channel(self, name: str) -> ChannelSettings | None:
        return next((c for c in self.channels if c.name == name), None)


def _describe(error: Any, data: dict[str, Any]) -> str:
    """One line for one pydantic error: the dotted key, then what is wrong with it."""
    loc = list(error["loc"])
    where = ""
    parts: list[str] = []
    index = 0
    node: Any = data
    while index < len(loc):
        part = loc[index]
        if isinstance(part, int) and parts:
            parts[-1] += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if parts[0].startswith("channels[") and len(parts) == 1 and isinstance(node, dict):
                name = node.get("name")
                where = f" (channel {name!r})" if isinstance(name, str) else ""
                # A discriminated union puts the tag after the index; the user never wrote it.
                if index + 1 < len(loc) and loc[index + 1] == node.get("source"):
                    index += 1
        else:
            parts.append(str(part))
            node = node.get(part) if isinstance(node, dict) else None
        index += 1
    key = ".".join(parts) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        message = "unknown key"
    elif kind == "missing":
        message = "required key is missing"
    else:
        message = error["msg"].removeprefix("Value error, ")
    return f"{key}{where}: {message}"


def parse_config(data: dict[str, Any], origin: str = "<config>") -> AgentConfig:
    """Validate already-parsed TOML; raise :class:`ConfigError` listing every problem."""
    try:
        return AgentConfig.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(error, data) for error in exc.errors(include_url=False)]
        raise ConfigError(origin, problems) from exc


def load_config(path: Path | str) -> AgentConfig:
    """Read and validate a TOML file.

    :raises ConfigError: when the file is missing, not TOML, or does not validate.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot read the file: {exc.strerror or exc}"]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), [f"not UTF-8 text: {exc}"]) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), [f"not valid TOML: {exc}"]) from exc
    return parse_config(data, str(path))
