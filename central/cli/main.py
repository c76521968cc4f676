"""``rig-central``: run the central server and look after its database and API tokens.

Every command takes the database options of ``serve`` (``--database-url``, ``--data-dir``, or
``CENTRAL_DATABASE_URL`` / ``CENTRAL_DATA_DIR``), so they always act on the server's database.
``main()`` returns an exit code: 0 success, 1 a failed check, 2 bad usage or settings, 3 a
database problem. ``DEBUG=1`` shows full tracebacks.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from central.auth import Role
from central.cli.options import (
    CliError,
    DatabaseUrl,
    DataDir,
    Host,
    InstanceId,
    MqttShareGroup,
    MqttUrl,
    NoAuth,
    RedisUrl,
    server_settings,
    settings_from_flags,
)
from central.db import migrate
from central.demo.run import demo

__all__ = ["app", "main"]

logger = logging.getLogger(__name__)

app = typer.Typer(
    name="rig-central",
    help="Central server of the VRU test rigs: REST API, MQTT ingest, live events.",
    no_args_is_help=True,
    add_completion=False,
    # Help texts say "[env CENTRAL_...]": plain text, not rich markup that would swallow it.
    rich_markup_mode=None,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for the REST API.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(token_app, name="token")


@contextmanager
def _database_session(database_url: str | None, data_dir: Path | None) -> Iterator[Session]:
    """A session on the configured database, which must be migrated; the engine is disposed after."""
    from central.db.engine import make_engine, session_factory

    settings = settings_from_flags(database_url=database_url, data_dir=data_dir)
    migrate.ensure_ready(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


@app.command()
def serve(
    host: Host = None,
    port: Annotated[
        int | None, typer.Option(help="HTTP port [env CENTRAL_PORT; default 8000]")
    ] = None,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
    mqtt_url: MqttUrl = None,
    no_auth: NoAuth = False,
    instance_id: InstanceId = None,
    mqtt_share_group: MqttShareGroup = None,
    redis_url: RedisUrl = None,
) -> int:
    """Run the server (REST API, MQTT ingest and Socket.IO) until interrupted."""
    import uvicorn

    from central.app import create_app

    settings = server_settings(
        host=host,
        port=port,
        database_url=database_url,
        data_dir=data_dir,
        mqtt_url=mqtt_url,
        no_auth=no_auth,
        instance_id=instance_id,
        mqtt_share_group=mqtt_share_group,
        redis_url=redis_url,
    )
    if settings.no_auth:
        logger.warning("authentication is OFF: every request on %s acts as admin", settings.host)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None)
    return 0


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseUrl = None, data_dir: DataDir = None) -> int:
    """Migrate the database to the newest schema (safe to repeat)."""
    settings = settings_from_flags(database_url=database_url, data_dir=data_dir)
    migrate.upgrade(settings.database_url)
    print(f"database at revision {migrate.current_revision(settings.database_url)}")
    return 0


@db_app.command("check")
def db_check(database_url: DatabaseUrl = None, data_dir: DataDir = None) -> int:
    """Exit 1 unless the database is at the newest revision and matches the models."""
    settings = settings_from_flags(database_url=database_url, data_dir=data_dir)
    current, head = migrate.current_revision(settings.database_url), migrate.head_revision()
    if current != head:
        print(f"database at revision {current or 'none'}, newest is {head}")
        return 1
    differences = migrate.model_differences(settings.database_url)
    for difference in differences:
        print(f"differs from the models: {difference}")
    if differences:
        return 1
    print(f"database at revision {head}, matching the models")
    return 0


@token_app.command("create")
def token_create(
    role: Annotated[Role, typer.Option(help="what the token may do", case_sensitive=False)],
    name: Annotated[str, typer.Option(help="a label, e.g. who or what uses it")] = "",
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> int:
    """Create a token; the token itself is the last line printed (and is not stored)."""
    from central.services.tokens import create_token

    with _database_session(database_url, data_dir) as session:
        row, token = create_token(session, role, name)
    print(f"created {row.role} token {row.id} ({row.name}); it is shown only once:")
    print(token)
    return 0


@token_app.command("list")
def token_list(database_url: DatabaseUrl = None, data_dir: DataDir = None) -> int:
    """List tokens (never the tokens themselves: they are stored hashed)."""
    from central.services.tokens import list_tokens

    with _database_session(database_url, data_dir) as session:
        rows, _total = list_tokens(session)
    for row in rows:
        state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
        print(f"{row.id}  {row.role:<9}  {row.prefix}…  {state:<24}  {row.name}")
    return 0


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="the id shown by `token list`")],
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> int:
    """Revoke a token: requests with it get 401 from now on."""
    from central.services.errors import NotFound
    from central.services.tokens import revoke_token

    try:
        with _database_session(database_url, data_dir) as session:
            revoke_token(session, token_id)
    except NotFound as exc:
        raise CliError(exc.message) from exc
    print(f"revoked token {token_id}")
    return 0


@app.command()
def compare(
    session_a: Annotated[str, typer.Argument(help="the reference session (the last release)")],
    session_b: Annotated[str, typer.Argument(help="the session under test, same video")],
    fail_on_regression: Annotated[
        bool, typer.Option(help="exit 1 when B regressed against A, for CI release gates")
    ] = False,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> int:
    """Compare two finished sessions track by track and print the verdict (docs/metrics.md)."""
    from central.execution.comparison import compare_sessions
    from central.services.errors import ServiceError

    try:
        with _database_session(database_url, data_dir) as session:
            outcome = compare_sessions(session, session_a, session_b)
    except ServiceError as exc:
        raise CliError(exc.message) from exc
    p = outcome["mcnemarP"]
    interval = outcome["latencyInterval95Ms"]
    print(f"{outcome['tracks']} tracks in both sessions")
    print(
        f"found in A, missed in B: {len(outcome['foundInAMissedInB'])}  {outcome['foundInAMissedInB']}"
    )
    print(
        f"missed in A, found in B: {len(outcome['missedInAFoundInB'])}  {outcome['missedInAFoundInB']}"
    )
    print(f"McNemar exact p: {'n/a (no flip)' if p is None else f'{p:.4g}'}")
    if interval is not None:
        print(
            f"TTFD B - A: {outcome['latencyDifferenceMs']:+.1f} ms "
            f"(95 % interval {interval[0]:+.1f} .. {interval[1]:+.1f} ms)"
        )
    print(f"verdict: {outcome['verdict']}")
    return 1 if fail_on_regression and outcome["verdict"] == "regressed" else 0


app.command("demo")(demo)


def main(argv: list[str] | None = None) -> int:
    debug = bool(os.environ.get("DEBUG"))
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not debug:
        # Alembic narrates every step at INFO; the commands print their own outcome.
        logging.getLogger("alembic").setLevel(logging.WARNING)
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="rig-central", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.TyperException as exc:  # usage errors; typer gives them show() and exit_code
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            print(f"rig-central: {exc}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))
    except typer.Abort:
        print("rig-central: aborted", file=sys.stderr)
        return 1
    except (CliError, migrate.DatabaseNotMigrated) as exc:
        if debug:
            raise
        print(f"rig-central: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        if debug:
            raise
        print(f"rig-central: database error: {exc}", file=sys.stderr)
        return 3
    return result if isinstance(result, int) else 0
