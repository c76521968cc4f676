"""``rig-central demo --exit`` on a fresh data dir: the README's main command, as a user runs it.

It starts its own embedded broker and SQLite, a real rig-agent process, runs the demo scenario
and prints the verdict the scenario is built to produce.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from central.demo.scenario import DEFAULT_SCENARIO

pytestmark = [pytest.mark.network, pytest.mark.slow]


def _row(output: str, name: str) -> str:
    match = re.search(rf"│ {re.escape(name)}\s*│\s*(.+?)\s*│", output)
    assert match is not None, f"no {name!r} row in:\n{output}"
    return match.group(1)


def test_demo_runs_a_session_end_to_end_and_prints_its_verdict(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRAL_")}
    env["COLUMNS"] = "120"
    data_dir = tmp_path / "fresh"
    # The rig-central console script, run by this interpreter.
    command = [
        sys.executable,
        "-c",
        "import sys; from central.cli.main import main; sys.exit(main())",
    ]
    done = subprocess.run(
        [*command, "demo", "--exit", "--data-dir", str(data_dir)],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    output = done.stdout
    assert done.returncode == 0, f"stdout:\n{output}\nstderr:\n{done.stderr}"

    expected = DEFAULT_SCENARIO.expected()
    assert _row(output, "true positives (TP)") == str(expected.true_positives)
    assert _row(output, "false positives (FP)") == str(expected.false_positives)
    assert _row(output, "false negatives (FN)") == str(expected.false_negatives)
    assert _row(output, "repeats") == str(expected.repeats)
    assert _row(output, "precision") == f"{expected.precision:.3f}"
    assert _row(output, "recall") == f"{expected.recall:.3f}"
    assert _row(output, "verdict") == "PASS"
    p95 = float(_row(output, "latency p95").removesuffix(" ms"))
    planned = sorted(expected.latencies_ms)
    assert planned[-2] <= p95 <= planned[-1] + 30, "p95 near the scripted latencies"
    assert (data_dir / "central.sqlite3").exists()
    assert (data_dir / "demo" / "rig-agent.log").exists()
