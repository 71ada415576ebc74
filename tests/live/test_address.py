"""The remote-voltage address: parsing, and the config errors it gives."""

from __future__ import annotations

import pytest

from corcypower import settings
from corcypower.errors import ConfigError
from corcypower.live.address import RemoteVoltage, parse
from tests.live.helpers import CHANNELS


def test_a_full_address_names_the_state_api_and_the_channel():
    assert parse("http://garage-pi:8070/api/v1/state#mains_v") == RemoteVoltage(
        "http://garage-pi:8070/api/v1/state", "mains_v"
    )


def test_a_bare_host_means_its_state_api():
    assert parse("http://10.0.0.7:8070#v").url == "http://10.0.0.7:8070/api/v1/state"
    assert str(parse("https://pi.local/#v")) == "https://pi.local/api/v1/state#v"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("http://pi:8070/api/v1/state", "channel after '#'"),
        ("http://:8070#v", "with a host"),
        ("http://pi:70000#v", "port from 1 to 65535"),
        ("http://pi:0#v", "port from 1 to 65535"),
        ("http://pi:8070#no spaces", "channel name after '#'"),
    ],
)
def test_bad_addresses_say_what_was_expected(text, expected):
    with pytest.raises(ValueError, match=expected):
        parse(text)


def test_a_config_with_a_remote_voltage_keeps_the_nominal_volts_for_when_it_is_stale():
    channels = [
        {
            "name": "main",
            "adc_channel": 0,
            "kind": "current",
            "scale": 0.1,
            "voltage": "http://pi2:8070#mains_v",
        }
    ]
    config = settings.from_dict({"mains": {"voltage": 120.0}, "channels": channels})
    main = config.channel("main")
    assert main.remote_voltage == RemoteVoltage("http://pi2:8070/api/v1/state", "mains_v")
    assert main.voltage == 120.0


def test_a_bad_remote_voltage_in_a_config_names_the_channel_and_the_key():
    channels = [*CHANNELS[:1], CHANNELS[1] | {"voltage": "http://pi2:8070/api/v1/state"}]
    with pytest.raises(ConfigError) as err:
        settings.from_dict({"channels": channels}, source=None)
    assert str(err.value) == (
        '<settings>: [[channels]] #2 ("main").voltage = "http://pi2:8070/api/v1/state": '
        "expected the remote voltage channel after '#', as in http://HOST:8070/api/v1/state#CHANNEL"
    )


def test_a_voltage_channel_cannot_take_a_remote_voltage():
    channels = [CHANNELS[0] | {"voltage": "http://pi2:8070#v"}]
    with pytest.raises(ConfigError, match="only current channels take a voltage"):
        settings.from_dict({"channels": channels})
