"""The TOML config: valid files load, and each mistake names the key at fault."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from protocol import DEFAULT_PREFIX
from rig_agent.config import load_config, parse_config
from rig_agent.errors import ConfigError
from rig_agent.sources import ChannelRole
from rig_agent.sources.simulated import SimulatedSettings

EXAMPLE = Path(__file__).parents[3] / "deploy" / "rig-agent.example.toml"


def minimal(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "rig_id": "rig-01",
        "mqtt": {"url": "mqtt://127.0.0.1:1883"},
        "channels": [{"name": "det", "source": "simulated", "rate_hz": 10}],
    }
    data.update(overrides)
    return data


def problems(data: dict[str, object]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    return caught.value.problems


def test_minimal_config_gets_documented_defaults() -> None:
    config = parse_config(minimal())
    assert config.mqtt.topic_prefix == DEFAULT_PREFIX
    assert config.mqtt.address.port == 1883
    assert config.spool.durability == "normal"
    assert config.mqtt.batch_max_records == 100
    assert isinstance(config.channels[0], SimulatedSettings)
    assert config.channels[0].role is ChannelRole.DETECTION


def test_mqtts_defaults_to_port_8883() -> None:
    config = parse_config(minimal(mqtt={"url": "mqtts://broker.example"}))
    assert config.mqtt.address.tls and config.mqtt.address.port == 8883


def test_example_file_in_deploy_is_valid() -> None:
    config = load_config(EXAMPLE)
    assert {c.role for c in config.channels} == set(ChannelRole)


def test_unknown_top_level_key_is_named() -> None:
    assert problems(minimal(rigid="x")) == ["rigid: unknown key"]


def test_unknown_key_in_a_channel_names_the_channel() -> None:
    data = minimal(channels=[{"name": "det", "source": "simulated", "rate_hz": 10, "pinn": 4}])
    assert problems(data) == ["channels[0].pinn (channel 'det'): unknown key"]


def test_bad_value_is_named_with_its_reason() -> None:
    data = minimal(spool={"durability": "paranoid"})
    (problem,) = problems(data)
    assert problem.startswith("spool.durability: ") and "'normal' or 'full'" in problem


def test_missing_required_keys_are_each_listed() -> None:
    assert problems({"channels": minimal()["channels"]}) == [
        "rig_id: required key is missing",
        "mqtt: required key is missing",
    ]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://broker:1883", "must start with mqtt:// or mqtts://"),
        ("mqtt://", "names no host"),
        ("mqtt://host:99999", "out of range"),
    ],
)
def test_broker_url_is_checked(url: str, expected: str) -> None:
    (problem,) = problems(minimal(mqtt={"url": url}))
    assert problem.startswith("mqtt.url: ") and expected in problem


def test_unknown_source_lists_the_choices() -> None:
    (problem,) = problems(minimal(channels=[{"name": "x", "source": "carrier-pigeon"}]))
    assert problem.startswith("channels[0] (channel 'x'): source must be one of gpio, can, serial")


def test_rig_id_must_fit_in_a_topic_level() -> None:
    (problem,) = problems(minimal(rig_id="rig/01"))
    assert problem.startswith("rig_id: ") and "letters, digits" in problem


def test_duplicate_channel_names_are_refused() -> None:
    channel = {"name": "det", "source": "simulated"}
    (problem,) = problems(minimal(channels=[channel, channel]))
    assert "channel name 'det' is used twice" in problem


def test_simulated_stimulus_must_name_a_stimulus_channel() -> None:
    channels = [
        {"name": "det", "source": "simulated", "stimulus_channel": "marker"},
        {"name": "marker", "source": "simulated", "role": "detection"},
    ]
    (problem,) = problems(minimal(channels=channels))
    assert "emits on 'marker', which must be a configured channel with role stimulus" in problem


def test_tls_files_must_exist(tmp_path: Path) -> None:
    (problem,) = problems(minimal(mqtt={"url": "mqtts://h", "ca_file": str(tmp_path / "no.pem")}))
    assert problem.startswith("mqtt.ca_file: ") and "does not exist" in problem


def test_file_that_is_not_toml_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "rig.toml"
    path.write_text("rig_id = \n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.problems[0].startswith("not valid TOML")


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "absent.toml")
    assert caught.value.problems[0].startswith("cannot read the file")


def test_commented_hardware_examples_are_valid_when_uncommented() -> None:
    text = EXAMPLE.read_text()
    head, _, tail = text.partition("# ---- Hardware channels")
    uncommented = [
        line[2:] for line in tail.splitlines()[2:] if line.startswith("# ") or line == "#"
    ]
    config = parse_config(tomllib.loads(head + "\n".join(uncommented)))
    sources = {c.name: c.source for c in config.channels}
    assert {sources[name] for name in ("photodiode", "ecu-can", "pc-serial", "pc-udp")} == {
        "gpio",
        "can",
        "serial",
        "network",
    }
