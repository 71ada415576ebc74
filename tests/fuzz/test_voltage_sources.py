"""Fuzzing a current's `voltage` and `voltage_shift_deg`: "NAME@DEGREES", ["A", "B@DEGREES"].

Generated values, mostly near the syntax and then bent (unknown names, odd degrees: "", "1e999",
"nan", "-0", "1_0", a second "@"; lists of the wrong length or with numbers, booleans, lists;
shifts beyond a cycle, NaN, infinities), go through the config's validation. Properties: a
one-line error naming the channel and the key, or a config whose voltages name this chip's
voltage channels with finite shifts, which the analysis then turns into finite numbers.
"""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from corcypower import settings
from corcypower.analysis import analyze
from corcypower.errors import ConfigError
from tests.analysis_signals import Input, Wave, scan
from tests.fuzz.test_capture import mostly

NAMES = ("l1_v", "l2_v")
VOLTAGES = [
    {"name": "l1_v", "adc_channel": 0, "kind": "voltage", "scale": 0.25},
    {"name": "l2_v", "adc_channel": 1, "kind": "voltage", "scale": 0.25},
]
degrees = mostly(
    st.floats(-360, 360).map(repr),
    st.sampled_from(["", "1e999", "nan", "-inf", "-0", "1_0", "120@5", " 90", "0x10", "360.0001"]),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)
name = mostly(
    st.sampled_from(NAMES), st.sampled_from(["", "l3_v", "http://pi#l1_v", "L1_V", "i"]), st.text()
)
one = st.one_of(
    name,
    st.builds(lambda n, d: f"{n}@{d}", name, degrees),
)
voltage = mostly(
    st.one_of(one, st.lists(one, min_size=2, max_size=2)),
    st.lists(one, max_size=4),
    st.lists(st.one_of(one, st.integers(), st.floats(), st.booleans(), st.lists(one)), max_size=3),
    st.none(),
    st.floats(),
)
shift = mostly(
    st.floats(-360, 360),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([True, "120", None, [120]]),
)


@given(value=voltage, shift_deg=shift)
def test_a_voltage_is_a_clean_error_or_finite_power(value, shift_deg):
    ct = {"name": "ct", "adc_channel": 2, "kind": "current", "scale": 0.02}
    if value is not None:
        ct["voltage"] = value
    if shift_deg is not None:
        ct["voltage_shift_deg"] = shift_deg
    try:
        config = settings.from_dict({"adc": {"chip": "mcp3208"}, "channels": [*VOLTAGES, ct]})
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith('<settings>: [[channels]] #3 ("ct").voltage'), message
        assert "\n" not in message
        return
    channel = config.channel("ct")
    for source in channel.sources:
        assert source.channel in NAMES and math.isfinite(source.shift_deg)
        assert abs(source.shift_deg) <= 720 and source.sign in (1, -1)
    l1 = Wave(230.0, 50.0, 0.0, ((3, 5.0, 10.0),))
    inputs = [
        Input(config.channel("l1_v"), l1, 2048.0),
        Input(config.channel("l2_v"), l1.shifted(-120.0), 2048.0),
        Input(channel, Wave(5.0, 50.0, -30.0), 2048.0),
    ]
    stats = analyze(config.channels, scan(inputs, seconds=0.1, bits=12), 4095, 50.0)
    for s in stats:
        for v in s.as_dict().values():
            assert not isinstance(v, float) or math.isfinite(v)
