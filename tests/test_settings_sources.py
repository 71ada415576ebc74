"""A current's measured voltage in the config: "v", "v@120", ["a", "b@180"], voltage_shift_deg
(corcypower/settings/sources.py): what each means, and every error naming channel and key."""

from __future__ import annotations

import pytest

from corcypower.settings.sources import VoltageSource
from tests.test_settings import error_of, load_text

VOLTS = (
    '[[channels]]\nname = "leg1_v"\nadc_channel = 0\nkind = "voltage"\nscale = 0.1\n'
    '[[channels]]\nname = "leg2_v"\nadc_channel = 1\nkind = "voltage"\nscale = 0.1\n'
)


def ct(extra: str, name: str = "dryer", adc: int = 2, cs: int = 0) -> str:
    return (
        f'[[channels]]\nname = "{name}"\nadc_channel = {adc}\ncs = {cs}\nkind = "current"\n'
        f"scale = 0.02\n{extra}"
    )


@pytest.mark.parametrize(
    ("line", "sources", "text"),
    [
        ('voltage = "leg1_v"\n', (VoltageSource("leg1_v"),), "leg1_v"),
        ('voltage = "leg1_v@180"\n', (VoltageSource("leg1_v", 180.0),), "leg1_v@180"),
        (
            'voltage = "leg1_v"\nvoltage_shift_deg = -120\n',
            (VoltageSource("leg1_v", -120.0),),
            "leg1_v@-120",
        ),
        (
            'voltage = ["leg1_v", "leg1_v@180"]\n',
            (VoltageSource("leg1_v"), VoltageSource("leg1_v", 180.0, -1)),
            "leg1_v - leg1_v@180",
        ),
        (
            'voltage = ["leg1_v", "leg2_v"]\nvoltage_shift_deg = 30\n',
            (VoltageSource("leg1_v", 30.0), VoltageSource("leg2_v", 30.0, -1)),
            "leg1_v@30 - leg2_v@30",
        ),
    ],
)
def test_a_voltage_names_channels_each_delayed_by_degrees(tmp_path, line, sources, text):
    channel = load_text(tmp_path, VOLTS + ct(line)).channel("dryer")
    assert channel.sources == sources
    assert channel.voltage == "leg1_v"  # the first source: what single-voltage code names
    assert channel.voltage_text == text


def test_fixed_and_remote_volts_have_no_sources(tmp_path):
    config = load_text(
        tmp_path,
        ct("voltage = 230\n", "a", 0) + ct('voltage = "http://pi:8070#mains_v"\n', "b", 1),
    )
    assert config.channel("a").sources == () and config.channel("a").voltage_text == "230.0"
    assert config.channel("b").sources == ()
    assert config.channel("b").voltage_text == "http://pi:8070/api/v1/state#mains_v"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            'voltage = ["leg1_v"]\n',
            '[[channels]] #3 ("dryer").voltage = ["leg1_v"]: expected two voltages, the load '
            'between them: a voltage channel\'s name, "NAME@DEGREES", or two of them',
        ),
        ('voltage = ["leg1_v", "leg2_v", "leg1_v@90"]\n', "expected two voltages"),
        ("voltage = []\n", "expected two voltages"),
        ('voltage = ["leg1_v", 230]\n', "230 is not text"),
        ('voltage = ["leg1_v", "leg1_v"]\n', "the two voltages are the same"),
        ('voltage = ["leg1_v@0", "leg1_v"]\n', "the two voltages are the same"),
        ('voltage = ["leg1_v@360", "leg1_v"]\n', "the two voltages are the same"),
        (
            'voltage = ["leg1_v", "leg3_v"]\n',
            '("dryer").voltage = "leg3_v": expected the name of a voltage channel ("leg1_v", '
            '"leg2_v") or a number of volts',
        ),
        ('voltage = "leg1_v@"\n', '"leg1_v@": expected degrees from -360 to 360 after "@"'),
        ('voltage = "leg1_v@north"\n', 'expected degrees from -360 to 360 after "@"'),
        ('voltage = "leg1_v@400"\n', '"leg1_v@400": expected degrees from -360 to 360'),
        ('voltage = "leg1_v@nan"\n', "expected degrees from -360 to 360"),
        ('voltage = "leg1_v@inf"\n', "expected degrees from -360 to 360"),
        ('voltage = "@120"\n', '"@120" names no channel'),
        (
            'voltage = ["leg1_v", "http://pi:8070#mains_v"]\n',
            "a remote voltage has no waveform to shift or subtract",
        ),
        (
            "voltage_shift_deg = 400\n",
            '("dryer").voltage_shift_deg = 400: expected a number from -360.0 to 360.0',
        ),
        ('voltage_shift_deg = "120"\n', 'voltage_shift_deg = "120": expected a number'),
        (
            "voltage = 230\nvoltage_shift_deg = 120\n",
            '("dryer").voltage_shift_deg = 120: needs a voltage channel\'s waveform to shift, '
            "and this channel's voltage is fixed volts",
        ),
        (
            'voltage = "http://pi:8070#v"\nvoltage_shift_deg = 120\n',
            "this channel's voltage is remote volts",
        ),
    ],
)
def test_every_voltage_error_names_the_channel_and_key(tmp_path, extra, expected):
    message = error_of(tmp_path, VOLTS + ct(extra))
    assert message.startswith(str(tmp_path / "c.toml") + ": ")
    assert expected in message
    assert "\n" not in message


def test_shifting_a_voltage_channel_or_one_on_another_chip_is_an_error(tmp_path):
    shifted_voltage = VOLTS.replace("scale = 0.1\n[[", "scale = 0.1\nvoltage_shift_deg = 90\n[[")
    assert '("leg1_v").voltage_shift_deg: only current channels' in error_of(
        tmp_path, shifted_voltage
    )
    assert '("leg1_v").voltage: only current channels take a voltage' in error_of(
        tmp_path, VOLTS.replace("scale = 0.1\n[[", 'scale = 0.1\nvoltage = "leg2_v@180"\n[[')
    )
    other_chip = ct('voltage = ["leg1_v", "leg1_v@180"]\n', cs=1)
    assert "that voltage channel is on chip select 0, this current channel on 1" in error_of(
        tmp_path, VOLTS + other_chip
    )
