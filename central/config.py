"""Settings of the central server: every ``rig-central serve`` flag, also from ``CENTRAL_...``.

Precedence is the usual pydantic-settings one: explicit values (CLI flags) over environment
variables over defaults. After validation ``database_url`` is always a SQLAlchemy URL: empty means
the SQLite file ``<data_dir>/central.sqlite3``, and a plain ``postgresql://`` URL gets the psycopg
(v3) driver, the one installed.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from protocol import DEFAULT_PREFIX, validate_id

__all__ = [
    "SQLITE_FILENAME",
    "CentralSettings",
    "default_instance_id",
    "is_loopback",
    "normalise_database_url",
]

SQLITE_FILENAME = "central.sqlite3"

# Driverless or foreign-driver spellings of PostgreSQL URLs, mapped to psycopg 3.
_POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg2://")


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and any loopback address (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def default_instance_id() -> str:
    """This machine's host name, made fit for an MQTT client id (a run of other characters
    becomes one ``-``): stable across restarts, and different on every machine."""
    name = re.sub(r"[^A-Za-z0-9_.:-]+", "-", socket.gethostname()).strip("-._:")
    return name[:128] or "central"


def normalise_database_url(url: str) -> str:
    """Give a plain ``postgresql://`` URL the psycopg (v3) driver; leave other URLs alone."""
    for scheme in _POSTGRES_SCHEMES:
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


class CentralSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CENTRAL_", extra="forbid")

    host: str = Field("127.0.0.1", description="address the HTTP server binds to")
    port: int = Field(8000, ge=0, le=65535, description="HTTP port; 0 picks a free one")
    database_url: str = Field(
        "",
        description="SQLAlchemy or plain PostgreSQL URL; empty = SQLite file in the data dir",
    )
    data_dir: Path = Field(Path("data"), description="SQLite database and uploaded files")
    mqtt_url: str | None = Field(
        None, description="broker to ingest from, e.g. mqtt://127.0.0.1:1883; unset = embedded"
    )
    mqtt_ca_file: Path | None = Field(
        None,
        description="CA bundle that signed the broker's certificate (mqtts://); unset: system CAs",
    )
    mqtt_cert_file: Path | None = Field(
        None, description="central's client certificate, for a broker that requires one (mqtts://)"
    )
    mqtt_key_file: Path | None = Field(None, description="the key of mqtt_cert_file")
    ingest_enabled: bool = Field(
        True,
        description="run MQTT ingest (and the embedded broker when mqtt_url is unset); "
        "false serves the REST API alone, as API tests do",
    )
    topic_prefix: str = Field(DEFAULT_PREFIX, min_length=1)
    instance_id: str = Field(
        default_factory=default_instance_id,
        description="this central among several: its own MQTT client id and persistent session "
        "(default: the host name; give each process on one host its own)",
    )
    mqtt_share_group: str | None = Field(
        None,
        description="subscribe the rig topics as $share/NAME/..., so that the centrals of one "
        "group split the ingest between them",
    )
    redis_url: str | None = Field(
        None,
        description="Redis (redis://host:6379/0) behind Socket.IO, so that a dashboard on any "
        "central receives the events of every central (on the channel central-<topic prefix>)",
    )
    session_lease_s: float = Field(
        15.0,
        gt=0,
        description="a running test session whose owning central did not renew its lease for "
        "this long is taken over by another central (or by the same one restarted)",
    )
    session_renew_s: float = Field(
        3.0,
        gt=0,
        description="how often the owner renews a session's lease, and how often every central "
        "looks for expired leases to take over; well below session_lease_s",
    )
    session_poll_s: float = Field(
        0.5,
        gt=0,
        description="how often a session's owner looks for stop requests made at other centrals "
        "and, with a share group or Redis, for records other centrals ingested",
    )
    no_auth: bool = Field(
        False, description="every request acts as admin; refused unless host is loopback"
    )
    max_upload_mb: int = Field(2048, ge=1, description="largest accepted upload in MiB")
    cors_origins: list[str] = Field(
        default_factory=lambda: ["http://localhost:3000", "http://127.0.0.1:3000"],
        description="origins allowed to call the API from a browser",
    )

    @field_validator("instance_id", "mqtt_share_group")
    @classmethod
    def _topic_level(cls, value: str | None) -> str | None:
        # Both become part of an MQTT client id or topic filter: no '/', '+' or '#'.
        return None if value is None else validate_id(value, "name")

    @field_validator("database_url", mode="before")
    @classmethod
    def _none_is_default(cls, value: object) -> object:
        return "" if value is None else value

    @model_validator(mode="after")
    def _resolve(self) -> CentralSettings:
        if self.no_auth and not is_loopback(self.host):
            raise ValueError(
                f"no_auth is only allowed on a loopback address (127.0.0.1, ::1, localhost), "
                f"not on host {self.host!r}: anyone who can reach it would act as admin"
            )
        for name in ("mqtt_ca_file", "mqtt_cert_file", "mqtt_key_file"):
            path = getattr(self, name)
            if path is not None and not path.is_file():
                raise ValueError(f"{name}: file {str(path)!r} does not exist")
        if self.session_renew_s * 2 > self.session_lease_s:
            raise ValueError(
                f"session_renew_s ({self.session_renew_s:g}) must be at most half of "
                f"session_lease_s ({self.session_lease_s:g}): one late renewal must not lose "
                "the lease"
            )
        if (self.mqtt_cert_file is None) != (self.mqtt_key_file is None):
            raise ValueError("mqtt_cert_file and mqtt_key_file go together")
        if self.database_url:
            self.database_url = normalise_database_url(self.database_url)
        else:
            self.database_url = f"sqlite:///{self.sqlite_default_path}"
        return self

    @property
    def sqlite_default_path(self) -> Path:
        return self.data_dir.resolve() / SQLITE_FILENAME

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024
