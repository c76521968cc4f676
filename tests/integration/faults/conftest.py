"""Fault tests: the real rig agent, the real central and a Mosquitto of the test's own, which the
test may SIGKILL; every record is counted at the end (none lost, none doubled).

The database is PostgreSQL when 127.0.0.1:5432 answers (production's), else SQLite: one dialect
per test keeps these slow tests to one run each.
"""

from __future__ import annotations

import signal
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text

from central.config import CentralSettings
from central.db.models import DetectionEvent, RigStream
from tests.integration.central.conftest import (  # noqa: F401 - fixtures used by name
    _postgres_database,
    _postgres_migrations_sql,
    _sqlite_template,
    central_env,
    migrated_database,
)
from tests.integration.central.ingest.conftest import CentralProcess
from tests.integration.rig_agent.conftest import MOSQUITTO, PrivateMosquitto, RigHarness

EPHEMERAL_MOSQUITTO = (
    "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
    "max_queued_messages 100000\nmax_inflight_messages 100\n"
)
"""A broker that forgets everything, queues and retained messages, when it is killed."""


@pytest.fixture
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_available: bool
) -> Iterator[str]:
    dialect = "postgresql" if postgres_available else "sqlite"
    with migrated_database(request, tmp_path, dialect) as url:
        yield url


class Rigged:
    """One fault test's world: broker, central process, rig harness, and the stored records."""

    def __init__(self, tmp_path: Path, database_url: str, prefix: str) -> None:
        self.postgres = database_url.startswith("postgresql")
        self.application_name = f"central-fault-{uuid.uuid4().hex[:12]}"
        """Names central's PostgreSQL connections, so a test ends only its own backends."""
        self._engine = create_engine(database_url)
        if self.postgres:
            database_url += f"&application_name={self.application_name}"
        self.broker = PrivateMosquitto(tmp_path / "broker", EPHEMERAL_MOSQUITTO)
        self.broker.start()
        self.central = CentralProcess(
            CentralSettings(
                database_url=database_url,
                data_dir=tmp_path / "data",
                mqtt_url=f"mqtt://127.0.0.1:{self.broker.port}",
                topic_prefix=prefix,
            ),
            tmp_path / "central.log",
        )
        self.rig = RigHarness(tmp_path, "127.0.0.1", self.broker.port, prefix, private_broker=True)

    def kill_broker(self) -> None:
        """SIGKILL, then a fresh start on the same port with nothing remembered."""
        process = self.broker.process
        assert process is not None
        process.send_signal(signal.SIGKILL)
        process.wait(5)
        self.broker.start()

    def terminate_central_connections(self) -> int:
        """``pg_terminate_backend`` on central's connections (and no one else's)."""
        with self._engine.connect() as connection:
            ended = connection.scalars(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = :name AND pid <> pg_backend_pid()"
                ),
                {"name": self.application_name},
            ).all()
        return sum(bool(flag) for flag in ended)

    def stored_seqs(self) -> list[int]:
        with self._engine.connect() as connection:
            return sorted(
                connection.scalars(
                    select(DetectionEvent.seq).where(DetectionEvent.rig_id == self.rig.rig_id)
                )
            )

    def stored(self) -> int:
        with self._engine.connect() as connection:
            query = select(func.count()).where(DetectionEvent.rig_id == self.rig.rig_id)
            return int(connection.scalar(query) or 0)

    def received_count(self) -> int:
        with self._engine.connect() as connection:
            query = select(RigStream.received_count).where(RigStream.rig_id == self.rig.rig_id)
            return int(connection.scalar(query) or 0)

    def rig_view(self) -> dict[str, Any]:
        response = httpx.get(f"{self.central.url}/api/rigs/{self.rig.rig_id}", timeout=5)
        return dict(response.json()) if response.status_code == 200 else {}

    def close(self) -> None:
        self.rig.close()
        self.central.kill()
        self.broker.stop()
        self._engine.dispose()


@pytest.fixture
def rigged(
    request: pytest.FixtureRequest, tmp_path: Path, database_url: str, topic_prefix: str
) -> Iterator[Rigged]:
    if not Path(MOSQUITTO).exists():
        pytest.skip("mosquitto binary not installed")
    request.getfixturevalue("central_env")
    world = Rigged(tmp_path, database_url, topic_prefix)
    yield world
    world.close()


@pytest.fixture
def wait_until() -> Callable[..., None]:
    from tests.integration.rig_agent.conftest import wait_for

    def wait(predicate: Callable[[], Any], timeout: float = 15.0, what: str = "") -> None:
        wait_for(predicate, timeout, what or "the condition")

    return wait
