"""Options and settings shared by the ``rig-central`` commands, so they never drift apart."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from central.config import CentralSettings

__all__ = [
    "CliError",
    "DataDir",
    "DatabaseUrl",
    "Host",
    "InstanceId",
    "MqttShareGroup",
    "MqttUrl",
    "NoAuth",
    "RedisUrl",
    "server_settings",
    "settings_from_flags",
]

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy or postgresql:// URL [env CENTRAL_DATABASE_URL; "
        "default: SQLite in the data dir]",
        show_default=False,
    ),
]
DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="database and uploads [env CENTRAL_DATA_DIR; default ./data]",
        show_default=False,
    ),
]
Host = Annotated[
    str | None, typer.Option(help="bind address [env CENTRAL_HOST; default 127.0.0.1]")
]
MqttUrl = Annotated[
    str | None,
    typer.Option(help="MQTT broker to ingest from [env CENTRAL_MQTT_URL; default: embedded]"),
]
InstanceId = Annotated[
    str | None,
    typer.Option(
        "--instance-id",
        help="this central among several: its own MQTT client id and session "
        "[env CENTRAL_INSTANCE_ID; default: the host name]",
        show_default=False,
    ),
]
MqttShareGroup = Annotated[
    str | None,
    typer.Option(
        "--mqtt-share-group",
        help="split the ingest with the other centrals of group NAME (MQTT shared "
        "subscription $share/NAME/...) [env CENTRAL_MQTT_SHARE_GROUP]",
        metavar="NAME",
        show_default=False,
    ),
]
RedisUrl = Annotated[
    str | None,
    typer.Option(
        "--redis-url",
        help="Redis behind Socket.IO, so every central reaches every dashboard "
        "[env CENTRAL_REDIS_URL]",
        show_default=False,
    ),
]
NoAuth = Annotated[
    bool,
    typer.Option(
        "--no-auth",
        help="every request acts as admin; only on a loopback host [env CENTRAL_NO_AUTH]",
    ),
]


class CliError(Exception):
    """A problem the user can fix; printed without a traceback, exit code 2."""


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"{where}: {message}" if where else message)
    return "invalid settings: " + "; ".join(lines)


def settings_from_flags(**overrides: Any) -> CentralSettings:
    """Settings from the environment, with the flags that were given on top."""
    try:
        return CentralSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise CliError(_describe(exc)) from exc


def server_settings(
    *,
    host: str | None,
    port: int | None,
    database_url: str | None,
    data_dir: Path | None,
    mqtt_url: str | None,
    no_auth: bool,
    instance_id: str | None = None,
    mqtt_share_group: str | None = None,
    redis_url: str | None = None,
) -> CentralSettings:
    """Settings of a command that runs the server (``serve``, ``demo``) from its flags."""
    return settings_from_flags(
        host=host,
        port=port,
        database_url=database_url,
        data_dir=data_dir,
        mqtt_url=mqtt_url,
        no_auth=True if no_auth else None,
        instance_id=instance_id,
        mqtt_share_group=mqtt_share_group,
        redis_url=redis_url,
    )
