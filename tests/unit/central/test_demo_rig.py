"""The rig config the demo writes is one the rig agent accepts, and it plays the scenario."""

from __future__ import annotations

from pathlib import Path

from central.demo.rig import DETECTION_CHANNEL, SYNC_CHANNEL, rig_config_toml
from central.demo.scenario import DEFAULT_SCENARIO
from rig_agent.config import load_config


def test_the_agent_loads_the_demo_config_with_the_scenario_as_its_script(tmp_path: Path) -> None:
    path = tmp_path / "rig.toml"
    path.write_text(
        rig_config_toml(
            DEFAULT_SCENARIO,
            rig_id="demo-rig",
            mqtt_url="mqtt://127.0.0.1:1883",
            topic_prefix="vru/v1",
            spool_path=tmp_path / 'spool "quoted".db',
            start_delay_ms=2500.0,
            extra_channels=[
                {"name": "udp", "source": "network", "listen": "127.0.0.1:9999", "format": "json"}
            ],
        )
    )
    config = load_config(path)
    assert config.rig_id == "demo-rig"
    assert config.spool.path == tmp_path / 'spool "quoted".db'
    channels = {channel.name: channel for channel in config.channels}
    assert set(channels) == {SYNC_CHANNEL, DETECTION_CHANNEL, "udp"}
    assert channels[SYNC_CHANNEL].role == "sync"
    script = channels[DETECTION_CHANNEL]
    assert script.sync_channel == SYNC_CHANNEL and script.repeat == 1
    assert script.start_delay_ms == 2500.0
    assert [step.at_ms for step in script.steps] == [s.at_ms for s in DEFAULT_SCENARIO.signals]
    assert [step.vru_type for step in script.steps] == [
        s.vru_type for s in DEFAULT_SCENARIO.signals
    ]
    assert script.steps[0].bbox == DEFAULT_SCENARIO.signals[0].bbox
