"""The offset (an input's bias) drifts within a batch: removed as a straight line, not a constant.

Removed as a constant, 40 counts of drift over a batch left a ramp of ±20 counts: it biased P
(−2 % on a 1 A load) and added to Irms.
"""

from __future__ import annotations

import numpy as np
import pytest

from corcypower.analysis import Window, analyze
from corcypower.analysis.offset import remove_offset
from tests.analysis_signals import (
    MCP3208,
    T0,
    Input,
    Wave,
    assert_power,
    current,
    real_power,
    rel,
    scan,
    voltage,
)


def drifting(samples, counts_per_batch: float):
    """The samples with each input's bias rising by `counts_per_batch` over the batch."""
    out = {}
    for name, s in samples.items():
        out[name] = type(s)(s.t, s.counts + counts_per_batch * (s.t - T0) / 0.5)
    return out


def test_a_straight_line_of_offset_is_removed_exactly_under_any_waveform():
    t = T0 + np.arange(1000) / 2000
    wave = Wave(10.0, 49.8, 20.0, ((3, 3.0, 0.0), (7, 1.0, 45.0)))
    window = Window(
        T0 + 0.005, T0 + 0.005 + 24 / 49.8, T0 + 0.005, T0 + 0.005 + 24 / 49.8, 24, 49.8
    )
    ac = remove_offset(t, 2048 + 37.0 * (t - T0) + wave(t), 1 / 2000, window)
    assert np.abs(ac - wave(t)).max() < 2e-3  # the straight lines' own error, of 14 A peaks


@pytest.mark.parametrize("drift", [12.0, 40.0])
def test_drift_within_a_batch_leaves_power_and_currents_right(drift):
    v, i = Wave(230.0, 49.8, 33.0), Wave(1.0, 49.8, 33.0 - 30.0)
    inputs = [Input(voltage(), v, 2048.0), Input(current(), i, 2048.0)]
    samples = drifting(scan(inputs, bits=None), drift)
    r = {s.name: s for s in analyze([x.channel for x in inputs], samples, MCP3208)}
    assert_power(r["i"], v, i, 2e-5)
    assert rel(r["v"].vrms, 230.0) <= 2e-5


def test_a_constant_offset_would_not_do(monkeypatch):
    # what the old analysis did: the offset as the mean over the window; the ramp left over
    # biases P (1 A at PF 0.87, 40 counts of drift)
    from corcypower.analysis import offset

    v, i = Wave(230.0, 49.8, 33.0), Wave(1.0, 49.8, 33.0 - 30.0)
    inputs = [Input(voltage(), v, 2048.0), Input(current(), i, 2048.0)]
    samples = drifting(scan(inputs, bits=None), 40.0)
    monkeypatch.setattr(offset, "MIN_DRIFT_CYCLES", 1000)  # never a line: a constant
    r = analyze([x.channel for x in inputs], samples, MCP3208)[1]
    assert abs(r.real_power_w / real_power(v, i) - 1) > 5e-3
