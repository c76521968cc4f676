"""One owner per running session (central.execution.lease): two centrals on one database, each
the real app with its own instance id. The lease is taken once, renewed, taken over when it
expires or its owner shuts down; a stop at the central that does not own the session is carried
out by the owner; the final pass ends a session once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, Self

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from central.app import create_app
from central.auth import Role
from central.config import CentralSettings
from central.db.engine import make_engine, session_factory
from central.db.models import DetectionComparison, DetectionEvent, TestSession
from central.db.types import new_id, utcnow
from central.execution import lease
from central.execution.loading import load_session
from central.execution.results import finalize
from central.services.tokens import create_token
from tests.integration.central.conftest import poll_until

from .conftest import SCENARIO, Api, config_body, create_scenario_session, scenario_detections

EXPECTED = SCENARIO.expected()
LEASE_S = 1.0


def _settings(settings: CentralSettings, instance_id: str) -> CentralSettings:
    return settings.model_copy(
        update={
            "instance_id": instance_id,
            "session_lease_s": LEASE_S,
            "session_renew_s": 0.2,
            "session_poll_s": 0.05,
        }
    )


class Central:
    """One central of the pair: its app under a test client, and the operator's API."""

    def __init__(self, settings: CentralSettings, instance_id: str, token: str) -> None:
        self.app = create_app(_settings(settings, instance_id))
        self.client = TestClient(self.app)
        self.api = Api(self.client, {Role.OPERATOR: {"Authorization": f"Bearer {token}"}})

    def __enter__(self) -> Self:
        self.client.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.__exit__(*exc)


@pytest.fixture
def db(settings: CentralSettings) -> Iterator[Session]:
    from central.db import migrate

    migrate.ensure_ready(settings.database_url)
    engine = make_engine(settings.database_url)
    with session_factory(engine)() as session:
        yield session
    engine.dispose()


@pytest.fixture
def token(db: Session) -> str:
    return create_token(db, Role.OPERATOR, "lease")[1]


@contextmanager
def centrals(settings: CentralSettings, token: str, *names: str) -> Iterator[list[Central]]:
    with ExitStack() as stack:
        yield [stack.enter_context(Central(settings, name, token)) for name in names]


def _running_session(api: Api, video: Path) -> str:
    """A started HTTP session (60 s) with the scenario's detections posted."""
    session = create_scenario_session(api, video)
    api.ok("POST", f"/api/test-sessions/{session['id']}/start", json=config_body())
    api.ok(
        "POST",
        f"/api/test-sessions/{session['id']}/detection-comparison",
        json={"detections": scenario_detections()},
    )
    return str(session["id"])


@pytest.fixture
def left_running(settings: CentralSettings, token: str, scenario_video: Path) -> str:
    """A running HTTP session with the scenario's detections, whose central (a) shut down."""
    with centrals(settings, token, "a") as (a,):
        return _running_session(a.api, scenario_video)


def _postgres_only(settings: CentralSettings, reason: str) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip(reason)


def _row(db: Session, session_id: str) -> TestSession:
    db.expire_all()
    row = db.get(TestSession, session_id)
    assert row is not None
    return row


def _comparisons(db: Session, session_id: str) -> int:
    query = select(func.count()).where(DetectionComparison.test_session_id == session_id)
    return int(db.scalar(query) or 0)


def test_the_lease_is_taken_once_renewed_and_taken_over_once_it_expires(
    settings: CentralSettings, token: str, db: Session, scenario_video: Path
) -> None:
    with centrals(settings, token, "a") as (a,):
        session_id = _running_session(a.api, scenario_video)
        assert _row(db, session_id).owner_id == "a"
        assert not lease.take(db, session_id, "b", LEASE_S, "running"), "a holds the lease"
        assert lease.check(db, session_id, "a", LEASE_S).held
        assert not lease.check(db, session_id, "b", LEASE_S).held
    # Central a shut down: its lease ended with it; the session still runs in the database.
    row = _row(db, session_id)
    assert (row.status, row.owner_id) == ("running", "a")
    assert row.lease_expires_at is not None and row.lease_expires_at <= utcnow()

    assert lease.take(db, session_id, "b", 30.0, "running")
    assert not lease.take(db, session_id, "a", 30.0, "running"), "b's lease has not expired"
    assert lease.take(db, session_id, "b", 30.0, "running"), "an owner takes its own again"
    assert lease.request_stop(db, session_id)
    assert lease.check(db, session_id, "b", None) == (True, True)

    db.execute(
        update(TestSession)
        .where(TestSession.id == session_id)
        .values(lease_expires_at=utcnow() - timedelta(seconds=1))
    )
    db.commit()
    assert lease.adoptable(db, "c") == [session_id]
    assert lease.take(db, session_id, "c", 30.0, "running"), "an expired lease is free"
    assert not lease.check(db, session_id, "b", 30.0).held, "b lost it: its renewal fails"


def test_the_final_pass_ends_a_session_once(db: Session, left_running: str) -> None:
    session_id = left_running
    assert finalize(db, session_id, "b", "stopped", None) is None, "b does not own the session"
    final = finalize(db, session_id, "a", "stopped", None)
    assert final is not None and final.status == "stopped"
    assert (final.results["truePositives"], final.results["falsePositives"]) == (4, 2)
    rows = _comparisons(db, session_id)
    assert rows == len(SCENARIO.signals) + 1  # every record, and the missed wheelchair user
    assert finalize(db, session_id, "a", "completed", None) is None, "finalized already"
    assert _comparisons(db, session_id) == rows
    assert _row(db, session_id).status == "stopped"


@pytest.mark.postgres
def test_two_final_passes_at_once_end_the_session_once(
    settings: CentralSettings, db: Session, left_running: str
) -> None:
    _postgres_only(settings, "SQLite is one process's database: its passes never run side by side")
    session_id = left_running
    engine = make_engine(settings.database_url)
    factory = session_factory(engine)
    outcomes: list[Any] = []
    gate = threading.Barrier(2)

    def run() -> None:
        with factory() as own:
            gate.wait()
            outcomes.append(finalize(own, session_id, "a", "stopped", None))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    engine.dispose()
    assert sorted(outcome is None for outcome in outcomes) == [False, True]
    assert _comparisons(db, session_id) == len(SCENARIO.signals) + 1, "no row doubled"


def test_a_stop_at_the_other_central_is_carried_out_by_the_owner(
    settings: CentralSettings, token: str, db: Session, scenario_video: Path
) -> None:
    with centrals(settings, token, "a", "b") as (a, b):
        session_id = _running_session(a.api, scenario_video)
        stopped = b.api.ok("POST", f"/api/test-sessions/{session_id}/stop")
        assert stopped["status"] == "stopped"
        results = stopped["results"]
        assert (results["truePositives"], results["falsePositives"]) == (4, 2)
        assert results["falseNegatives"] == 1 and results["repeats"] == 1
        row = _row(db, session_id)
        assert (row.status, row.owner_id) == ("stopped", "a"), "the owner ran the final pass"
        assert row.stop_requested_at is not None
        assert _comparisons(db, session_id) == len(SCENARIO.signals) + 1
        again = b.api.call("POST", f"/api/test-sessions/{session_id}/stop")
        assert again.status_code == 409 and "stopped, not running" in again.text


def test_the_other_central_takes_over_a_session_whose_owner_is_gone(
    settings: CentralSettings, token: str, db: Session, scenario_video: Path
) -> None:
    with centrals(settings, token, "b") as (b,):
        with centrals(settings, token, "a") as (a,):
            session_id = _running_session(a.api, scenario_video)
            assert _row(db, session_id).owner_id == "a"
        # a shut down; b takes the session at its next look for free leases.
        poll_until(lambda: _row(db, session_id).owner_id == "b", 10, "b to take the session")
        late = b.api.ok(
            "POST",
            f"/api/test-sessions/{session_id}/detection-comparison",
            json={"detections": [{"tVideoMs": 7900.0, "vruType": "pedestrian"}]},
        )
        # b's live matcher replayed what a judged: one more false alarm on top of them.
        assert [v["matchType"] for v in late] == ["FP"]
        progress = b.api.ok("GET", f"/api/test-sessions/{session_id}/detailed-results")
        assert progress["results"]["falsePositives"] == 3

        # And a central that stops renewing without a word: its lease runs out, b takes over.
        db.execute(
            update(TestSession)
            .where(TestSession.id == session_id)
            .values(owner_id="ghost", lease_expires_at=utcnow() + timedelta(seconds=LEASE_S))
        )
        db.commit()
        poll_until(lambda: _row(db, session_id).owner_id == "b", 10, "b to take it from ghost")
        stopped = b.api.ok("POST", f"/api/test-sessions/{session_id}/stop")
    assert stopped["status"] == "stopped"
    assert (stopped["results"]["truePositives"], stopped["results"]["falsePositives"]) == (4, 3)


@pytest.mark.postgres
def test_a_final_pass_holding_the_session_row_does_not_hold_up_ingest(
    settings: CentralSettings, db: Session, left_running: str
) -> None:
    _postgres_only(settings, "SQLite takes no row locks")
    session_id = left_running
    engine = make_engine(settings.database_url)
    record = {
        "id": new_id(),
        "test_session_id": session_id,
        "rig_id": "rig-late",
        "stream": "s",
        "seq": 1,
        "kind": "detection",
        "channel": "det",
        "source": "simulated",
        "clock": "user_monotonic",
        "t_mono_ns": 1,
        "t_wall_ns": 1,
        "payload": {},
        "received_at": utcnow(),
    }
    try:
        with session_factory(engine)() as pass_:
            load_session(pass_, session_id, lock=True)  # as the final pass holds it
            with engine.connect() as ingest:
                # The insert checks its foreign key to the session's row: it must not wait.
                ingest.execute(text("SET lock_timeout = '3s'"))
                ingest.execute(insert(DetectionEvent).values(record))
                ingest.commit()
            pass_.rollback()
    finally:
        engine.dispose()
    query = select(func.count()).where(DetectionEvent.rig_id == "rig-late")
    assert db.scalar(query) == 1
