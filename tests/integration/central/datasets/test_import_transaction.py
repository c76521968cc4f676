"""An import is one transaction (issue 5, item 2): when the database refuses a row in the middle of
the write, the deletes and updates already made are rolled back too.

The refusal is the database's own: a trigger that rejects a row with track id BOOM, installed in
the test's database (SQLite or PostgreSQL). The file passes every check before the write, so the
failure can only come from the write itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from central.db.models import Video
from tests.integration.central.datasets.conftest import box

SQLITE_TRIGGER = """
CREATE TRIGGER refuse_boom BEFORE INSERT ON ground_truth_annotations
WHEN NEW.detection_id = 'BOOM'
BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END
"""
POSTGRES_TRIGGER = (
    """
CREATE FUNCTION refuse_boom() RETURNS trigger AS $$
BEGIN
  IF NEW.detection_id = 'BOOM' THEN
    RAISE EXCEPTION 'refused by the test trigger' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql
""",
    """
CREATE TRIGGER refuse_boom BEFORE INSERT ON ground_truth_annotations
FOR EACH ROW EXECUTE FUNCTION refuse_boom()
""",
)


@pytest.fixture
def refusing_database(db_session: Session) -> None:
    dialect = db_session.get_bind().dialect.name
    for statement in (SQLITE_TRIGGER,) if dialect == "sqlite" else POSTGRES_TRIGGER:
        db_session.execute(text(statement))
    db_session.commit()


@pytest.mark.parametrize("policy", ["replace", "merge"])
def test_a_row_refused_mid_write_leaves_the_video_as_it_was(
    policy: str,
    refusing_database: None,
    client: TestClient,
    small_video: Callable[..., Video],
    annotate: Callable[..., None],
    annotator: dict[str, str],
    viewer: dict[str, str],
) -> None:
    video = small_video()
    annotate(video.id, [box("A", 0, 1, 1, 10, 10), box("B", 1, 2, 2, 10, 10)])

    def stored() -> list[Any]:
        rows = client.get(f"/api/videos/{video.id}/annotations", headers=viewer).json()
        return [(r["id"], r["detectionId"], r["boundingBox"], r["vruType"]) for r in rows]

    before = stored()
    upload = [
        box("A", 0, 5, 5, 20, 20, "cyclist"),
        box("C", 2, 1, 1, 5, 5),
        box("BOOM", 3, 1, 1, 5, 5),
    ]
    url = f"/api/videos/{video.id}/annotations/import"
    files = {"file": ("gt.json", orjson.dumps(upload))}

    dry = client.post(
        url, params={"onConflict": policy, "dryRun": "true"}, files=files, headers=annotator
    )
    assert dry.status_code == 200, "the file itself is valid"

    response = client.post(url, params={"onConflict": policy}, files=files, headers=annotator)
    assert response.status_code == 409, response.text
    assert "refused by the test trigger" in response.json()["detail"]
    assert stored() == before
