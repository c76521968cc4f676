"""``rig-agent run`` and ``rig-agent check``.

Exit codes: 0 success, 1 a check failed or the daemon stopped on a failure, 2 a bad command line
or an invalid config. Set ``DEBUG=1`` for full tracebacks of unexpected errors.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from rig_agent.errors import ConfigError, RigAgentError

__all__ = ["app", "main"]

logger = logging.getLogger(__name__)

EXIT_CONFIG = 2

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="The rig agent: timestamps the system under test's signals and streams them over MQTT.",
)

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="the rig's TOML file", dir_okay=False)
]
LogLevel = Annotated[
    str,
    typer.Option("--log-level", help="debug, info, warning or error", case_sensitive=False),
]


def _setup_logging(level: str) -> None:
    # Under systemd, journald stamps each line itself; elsewhere the time helps.
    under_journald = "JOURNAL_STREAM" in os.environ
    fmt = "%(levelname)s %(name)s: %(message)s"
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stdout,
        format=fmt if under_journald else "%(asctime)s " + fmt,
        force=True,
    )


def _report_config_error(exc: ConfigError) -> int:
    typer.echo(f"{exc.path}: invalid configuration", err=True)
    for problem in exc.problems:
        typer.echo(f"  {problem}", err=True)
    return EXIT_CONFIG


@app.command()
def run(config: ConfigOption, log_level: LogLevel = "info") -> None:
    """Run the daemon until SIGTERM; SIGHUP reloads the channels."""
    from rig_agent.config import load_config
    from rig_agent.daemon import Daemon

    if log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise typer.BadParameter(f"unknown level {log_level!r}", param_hint="--log-level")
    _setup_logging(log_level)
    try:
        agent_config = load_config(config)
    except ConfigError as exc:
        raise typer.Exit(_report_config_error(exc)) from exc
    raise typer.Exit(Daemon(agent_config, config_path=config).run())


@app.command()
def check(
    config: ConfigOption,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the broker")] = 5.0,
) -> None:
    """Validate the config, probe every channel's device and connect to the broker."""
    from rig_agent.check import run_checks
    from rig_agent.config import load_config

    _setup_logging("warning")
    try:
        agent_config = load_config(config)
    except ConfigError as exc:
        raise typer.Exit(_report_config_error(exc)) from exc
    typer.echo(f"{config}: configuration valid (rig {agent_config.rig_id})")
    results = run_checks(agent_config, timeout)
    for result in results:
        typer.echo(f"  {'ok  ' if result.ok else 'FAIL'} {result.subject}: {result.detail}")
    failed = sum(not result.ok for result in results)
    if failed:
        typer.echo(f"{failed} of {len(results)} checks failed", err=True)
        raise typer.Exit(1)


def main(argv: list[str] | None = None) -> int:
    """Console entry point; returns the exit code (usage errors print their help, exit 2)."""
    try:
        app(args=argv, prog_name="rig-agent")
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        typer.echo(str(exc.code), err=True)
        return 1
    except RigAgentError as exc:
        if os.environ.get("DEBUG"):
            raise
        typer.echo(f"rig-agent: {exc}", err=True)
        return 1
    except Exception as exc:
        if os.environ.get("DEBUG"):
            raise
        typer.echo(f"rig-agent: unexpected error: {exc!r} (set DEBUG=1 for a traceback)", err=True)
        return 1
    return 0
