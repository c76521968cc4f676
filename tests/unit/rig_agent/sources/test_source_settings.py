"""Channel settings of the hardware sources: what an operator may write and what they are told."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import Field, TypeAdapter, ValidationError

from protocol import Source
from rig_agent.sources import settings_class, source_class
from rig_agent.sources.can import CanSettings, CanSource
from rig_agent.sources.gpio import GpioSettings, GpioSource
from rig_agent.sources.network import NetworkSettings, NetworkSource, parse_listen
from rig_agent.sources.serial import SerialSettings, SerialSource

HARDWARE = {
    Source.GPIO: (GpioSettings, GpioSource),
    Source.CAN: (CanSettings, CanSource),
    Source.SERIAL: (SerialSettings, SerialSource),
    Source.NETWORK: (NetworkSettings, NetworkSource),
}


@pytest.mark.parametrize("kind", list(HARDWARE))
def test_registry_resolves_each_backend(kind: Source) -> None:
    assert settings_class(kind) is HARDWARE[kind][0]
    assert source_class(kind) is HARDWARE[kind][1]
    assert HARDWARE[kind][1].kind is kind


def test_settings_form_a_union_tagged_by_source() -> None:
    union: TypeAdapter[Any] = TypeAdapter(
        Annotated[
            GpioSettings | CanSettings | SerialSettings | NetworkSettings,
            Field(discriminator="source"),
        ]
    )
    channels = [
        {"name": "edge", "source": "gpio", "pin": 17, "edge": "falling", "pull": "up"},
        {
            "name": "bus",
            "source": "can",
            "interface": "virtual",
            "channel": "x",
            "filters": [{"id": 0x100}],
        },
        {
            "name": "uart",
            "source": "serial",
            "port": "/dev/ttyUSB0",
            "format": "csv",
            "columns": ["frame", "vru_type"],
        },
        {"name": "udp", "source": "network", "protocol": "udp", "listen": "127.0.0.1:9000"},
    ]
    parsed = [union.validate_python(channel) for channel in channels]
    assert [type(p) for p in parsed] == [GpioSettings, CanSettings, SerialSettings, NetworkSettings]
    assert parsed[0].edge == "falling" and parsed[0].pull == "up"
    assert parsed[3].address == ("127.0.0.1", 9000)


@pytest.mark.parametrize("cls", [GpioSettings, CanSettings, SerialSettings, NetworkSettings])
def test_unknown_keys_are_refused(cls: type) -> None:
    required = {
        GpioSettings: {"pin": 1},
        SerialSettings: {"port": "loop://"},
        NetworkSettings: {"listen": "127.0.0.1:0"},
        CanSettings: {},
    }[cls]
    with pytest.raises(ValidationError, match="baud_rate"):
        cls(name="x", baud_rate=9600, **required)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "backend 'gpiozero' needs pin"),
        ({"pin": 17, "line": 3}, "line is for backend 'gpiod'"),
        ({"backend": "gpiod"}, "backend 'gpiod' needs line"),
        ({"backend": "gpiod", "line": 3, "pin_factory": "mock"}, "pin and pin_factory are for"),
        ({"backend": "gpiod", "line": -1}, "line offset -1 is negative"),
        ({"pin": 17, "edge": "up"}, "Input should be 'rising', 'falling' or 'both'"),
        ({"pin": 17, "debounce_ms": -1}, "greater than or equal to 0"),
    ],
)
def test_gpio_settings_explain_what_is_wrong(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        GpioSettings(name="g", **settings)


@pytest.mark.parametrize(
    ("listen", "message"),
    [
        ("9000", "is not host:port"),
        ("localhost:http", "port 'http' is not a number"),
        ("127.0.0.1:70000", "outside 0-65535"),
        ("::1:9000", "IPv6 address in brackets"),
    ],
)
def test_network_listen_is_checked(listen: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        NetworkSettings(name="n", listen=listen)


def test_network_listen_accepts_ipv6_in_brackets() -> None:
    assert parse_listen("[::1]:0") == ("::1", 0)


def test_network_and_serial_share_the_line_format_rules() -> None:
    with pytest.raises(ValidationError, match="format 'regex' needs a pattern"):
        NetworkSettings(name="n", listen="127.0.0.1:0", format="regex")
    with pytest.raises(ValidationError, match="format 'csv' needs columns"):
        SerialSettings(name="s", port="loop://", format="csv")
    with pytest.raises(ValidationError, match="Input should be 'udp' or 'tcp'"):
        NetworkSettings(name="n", listen="127.0.0.1:0", protocol="sctp")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"filters": [{"id": 0x800}]}, "needs 29 bits: set extended = true"),
        (
            {"dbc": "a.dbc", "layout": [{"name": "a", "offset": 0, "type": "u8"}]},
            "either dbc or layout",
        ),
        ({"message": "Det"}, "give the dbc file too"),
        ({"signal_map": {"class": "A"}}, "are not detection fields"),
        (
            {"layout": [{"name": "a", "offset": 0, "type": "u8"}], "signal_map": {"frame": "b"}},
            "that the layout does not have",
        ),
        ({"layout": [{"name": "a", "offset": 0, "type": "u24"}]}, "Input should be 'u8'"),
        (
            {
                "layout": [
                    {"name": "a", "offset": 0, "type": "u8"},
                    {"name": "a", "offset": 1, "type": "u8"},
                ]
            },
            "layout field names repeat",
        ),
        ({"vru_codes": {1: "dog"}}, "Input should be 'pedestrian'"),
    ],
)
def test_can_settings_explain_what_is_wrong(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        CanSettings(name="c", **settings)


def test_serial_realtime_priority_is_for_device_paths_in_range() -> None:
    assert (
        SerialSettings(name="s", port="/dev/ttyUSB0", realtime_priority=20).realtime_priority == 20
    )
    with pytest.raises(ValidationError, match="'loop://' is a URL port"):
        SerialSettings(name="s", port="loop://", realtime_priority=20)
    with pytest.raises(ValidationError, match="less than or equal to 99"):
        SerialSettings(name="s", port="/dev/ttyUSB0", realtime_priority=100)


def test_serial_needs_a_port_and_a_sane_baudrate() -> None:
    with pytest.raises(ValidationError, match="port"):
        SerialSettings(name="s")
    with pytest.raises(ValidationError, match="greater than 0"):
        SerialSettings(name="s", port="loop://", baudrate=0)
