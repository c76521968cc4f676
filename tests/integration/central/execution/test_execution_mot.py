"""A session's detections as MOTChallenge text (issue 12, item 6): export for py-motmetrics and
TrackEval, import into a session without a rig.

Round trip: session A gets the scenario's boxes over HTTP; its MOT export, read by
py-motmetrics' ``io.loadtxt``, holds those boxes in 1-based frames; imported into session B it
gives B the same final results, and B's export is the same file.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import motmetrics as mm
import numpy as np
import orjson
import pytest

from central.auth import Role

from .conftest import SCENARIO, Api, config_body

if not hasattr(np, "asfarray"):  # py-motmetrics 1.4.0 calls it; NumPy 2 removed it (DESIGN.md)
    np.asfarray = lambda a, dtype=np.float64: np.asarray(a, dtype=dtype)  # type: ignore[attr-defined]

SEQUENCE_FILE = "data/scenario.txt"


def _boxes() -> list[dict[str, Any]]:
    return [
        {
            "frameNumber": s.frame,
            "vruType": str(s.vru_type),
            "confidence": s.confidence,
            "boundingBox": dict(zip(("x", "y", "width", "height"), s.bbox, strict=True)),
            "trackId": s.track or f"fa-{k}",
        }
        for k, s in enumerate(SCENARIO.signals)
    ]


def _start(api: Api, session_id: str) -> None:
    api.ok(
        "POST",
        f"/api/test-sessions/{session_id}/start",
        json=config_body(mode="spatial", minAccuracy=0.0),
    )


def _export(api: Api, session_id: str) -> dict[str, bytes]:
    response = api.call("GET", f"/api/test-sessions/{session_id}/detections/export", Role.VIEWER)
    assert response.status_code == 200, response.text
    assert orjson.loads(response.headers["X-Export-Report"])["reportIn"].startswith(
        "export_report.json"
    )
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _import(api: Api, session_id: str, content: bytes, name: str = "a.zip", **params: Any) -> Any:
    return api.call(
        "POST",
        f"/api/test-sessions/{session_id}/detections/import",
        params={"format": "mot", **params},
        files={"file": (name, content)},
    )


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _summary(results: dict[str, Any]) -> dict[str, Any]:
    keys = ("truePositives", "falsePositives", "falseNegatives", "ap50", "recordCount")
    return {
        **{key: results[key] for key in keys},
        "trackMetrics": results["evaluation"]["trackMetrics"],
    }


def test_export_reads_through_loadtxt_and_imports_into_a_session_without_a_rig(
    tmp_path: Path, api: Api, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    first = make_scenario_session()
    _start(api, first["id"])
    api.ok(
        "POST",
        f"/api/test-sessions/{first['id']}/detection-comparison",
        json={"detections": _boxes()},
    )
    results = api.ok("POST", f"/api/test-sessions/{first['id']}/stop")["results"]
    exported = _export(api, first["id"])
    assert set(exported) == {SEQUENCE_FILE, "track_ids.json", "export_report.json"}

    (tmp_path / "scenario.txt").write_bytes(exported[SEQUENCE_FILE])
    loaded = mm.io.loadtxt(str(tmp_path / "scenario.txt"), fmt="mot15-2D")
    track_ids = orjson.loads(exported["track_ids.json"])
    read = sorted(
        (frame - 1, track_ids[str(mot_id)], row.X, row.Y, row.Width, row.Height, row.Confidence)
        for (frame, mot_id), row in loaded.iterrows()
    )
    posted = sorted(
        (b["frameNumber"], b["trackId"], *b["boundingBox"].values(), b["confidence"])
        for b in _boxes()
    )
    assert [r[:2] for r in read] == [p[:2] for p in posted]
    for got, want in zip(read, posted, strict=True):
        assert got[2:] == pytest.approx(want[2:], abs=1e-9)

    # py-motmetrics on the two exported files gives the session's own track metrics.
    truth = api.call(
        "GET",
        f"/api/videos/{first['videoId']}/annotations/export",
        Role.VIEWER,
        params={"format": "mot"},
    )
    with zipfile.ZipFile(io.BytesIO(truth.content)) as archive:
        (tmp_path / "gt.txt").write_bytes(archive.read("scenario/gt/gt.txt"))
    gt = mm.io.loadtxt(str(tmp_path / "gt.txt"), fmt="mot15-2D", min_confidence=1)
    accumulator = mm.utils.compare_to_groundtruth(gt, loaded, "iou", distth=0.5)
    summary = mm.metrics.create().compute(
        accumulator, metrics=["mota", "idf1", "num_switches"], return_dataframe=False
    )
    ours = results["evaluation"]["trackMetrics"]
    assert ours["mota"] == pytest.approx(summary["mota"], abs=1e-9)
    assert ours["idf1"] == pytest.approx(summary["idf1"], abs=1e-9)
    assert ours["idSwitches"] == summary["num_switches"]

    second = make_scenario_session()
    _start(api, second["id"])
    response = _import(api, second["id"], _zip(exported))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["detections"], answer["tracks"]) == (len(posted), len(track_ids))
    assert answer["verdicts"]["TP"] == results["truePositives"]
    again = api.ok("POST", f"/api/test-sessions/{second['id']}/stop")["results"]
    assert _summary(again) == _summary(results)
    assert _export(api, second["id"])[SEQUENCE_FILE] == exported[SEQUENCE_FILE]


def test_a_dry_run_checks_the_file_before_the_session_runs_and_stores_nothing(
    api: Api, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    session = make_scenario_session()
    text = b"1,1,10,10,20,40,0.9,1,-1\n2,1,11,10,20,40,0.8,1,-1\n3,-1,50,50,9,9,-1,2,-1\n"
    response = _import(api, session["id"], text, "det.txt", dryRun="true")
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["dryRun"], answer["detections"], answer["frames"], answer["tracks"]) == (
        True,
        3,
        3,
        1,
    )
    assert answer["verdicts"] == {}
    refused = _import(api, session["id"], text, "det.txt")
    assert refused.status_code == 409 and "pending" in refused.json()["detail"]
    _start(api, session["id"])
    comparisons = api.ok("GET", f"/api/test-sessions/{session['id']}/detection-comparison")
    assert comparisons == []


def test_bad_lines_are_refused_with_their_line_and_store_nothing(
    api: Api, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    session = make_scenario_session()
    _start(api, session["id"])
    text = b"1,1,10,10,20,40,0.9,1,-1\n1,1,12,10,20,40,0.9,1,-1\n2,2,10,10,-4,40,2,1,-1\n"
    response = _import(api, session["id"], text, "det.txt")
    assert response.status_code == 422, response.text
    issues = response.json()["detail"]
    assert [(i["file"], i["line"], i["field"]) for i in issues] == [
        ("det.txt", 2, "id"),
        ("det.txt", 3, "w"),
    ]
    stopped = api.ok("POST", f"/api/test-sessions/{session['id']}/stop")["results"]
    assert stopped["recordCount"] == 0


def test_export_and_import_need_their_roles_and_a_known_session(
    api: Api, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    session = make_scenario_session()
    viewer = api.call(
        "POST",
        f"/api/test-sessions/{session['id']}/detections/import",
        Role.VIEWER,
        files={"file": ("det.txt", b"")},
    )
    assert viewer.status_code == 403
    unknown = api.call("GET", "/api/test-sessions/nope/detections/export", Role.VIEWER)
    assert unknown.status_code == 404
    other_format = api.call(
        "GET", f"/api/test-sessions/{session['id']}/detections/export?format=coco", Role.VIEWER
    )
    assert other_format.status_code == 422
