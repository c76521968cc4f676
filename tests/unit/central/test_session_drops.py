"""A session's drops from the rig's status heartbeats: growth during the run, restarts, wording."""

from __future__ import annotations

from typing import Any

from central.execution.drops import DropWatch, invalid_reason


def status(rig_id: str, state: str = "online", **drops: int) -> dict[str, Any]:
    channels = {
        name: {"role": "detection", "source": "gpio", "drops": n} for name, n in drops.items()
    }
    return {"rig_id": rig_id, "state": state, "last_status": {"channels": channels}}


def test_only_drops_during_the_run_count() -> None:
    watch = DropWatch()
    watch.observe(status("r1", edge=4))
    watch.begin("s1", "r1")
    watch.observe(status("r1", edge=4))
    watch.observe(status("r1", edge=6, can=1))
    watch.observe(status("r2", edge=50))  # another rig's channels are not this session's
    assert watch.end("s1") == {"edge": 2, "can": 1}
    watch.observe(status("r1", edge=9))
    assert watch.end("s1") == {}, "an ended session counts no more"


def test_an_agent_restart_during_the_run_starts_its_totals_again() -> None:
    watch = DropWatch()
    watch.observe(status("r1", edge=10))
    watch.begin("s1", "r1")
    watch.observe(status("r1", edge=12))
    watch.observe(status("r1", state="offline"))
    watch.observe(status("r1", edge=3))  # the new process counted 3 since it started
    assert watch.end("s1") == {"edge": 5}


def test_the_first_status_heard_of_a_rig_is_only_a_baseline() -> None:
    watch = DropWatch()
    watch.begin("s1", "r1")
    watch.observe(status("r1", edge=7))
    watch.observe(status("r1", edge=7))
    assert watch.end("s1") == {}


def test_invalid_reason_names_every_channel_that_dropped() -> None:
    assert invalid_reason({}) is None
    assert invalid_reason({"edge": 0}) is None
    assert invalid_reason({"edge": 1}) == "invalid: 1 signal dropped on channel edge during the run"
    assert invalid_reason({"gpio1": 3, "can": 12}) == (
        "invalid: 12 signals dropped on channel can, 3 signals dropped on channel gpio1 during the run"
    )
