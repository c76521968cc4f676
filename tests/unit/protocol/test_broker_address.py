"""Broker URLs, parsed the same way for the rig agent and central."""

from __future__ import annotations

import pytest

from protocol import BrokerAddress


def test_a_plain_url_gives_host_and_default_port() -> None:
    address = BrokerAddress.from_url("mqtt://broker.local")
    assert (address.host, address.port, address.tls) == ("broker.local", 1883, False)
    assert address.username is None and address.password is None


def test_mqtts_means_tls_on_8883_and_credentials_are_unquoted() -> None:
    address = BrokerAddress.from_url("mqtts://central:p%40ss%2Fword@10.0.0.5")
    assert (address.host, address.port, address.tls) == ("10.0.0.5", 8883, True)
    assert (address.username, address.password) == ("central", "p@ss/word")


def test_the_display_url_never_shows_the_password() -> None:
    address = BrokerAddress.from_url("mqtt://central:secret@127.0.0.1:1884")
    assert address.url == "mqtt://127.0.0.1:1884"
    assert "secret" not in repr(address)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:1883", "127.0.0.1:1883", "mqtt://:1883", "mqtt://h:99999", "mqtt://h/x"],
)
def test_urls_that_name_no_mqtt_broker_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="MQTT URL"):
        BrokerAddress.from_url(url)
