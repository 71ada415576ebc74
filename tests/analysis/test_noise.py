"""The noise floor: estimated, removed in quadrature, and a signal within it reads zero.

With no load at all, 1 to 2 counts of ADC noise once gave 32-36 VA of apparent power, and 37 W
of "real" power in the fixed-voltage mode (the original CorcyPower wiring, and the default);
Irms at small loads was inflated by the noise (+27 % at 0.2 A on 10 bits).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from corcypower.analysis import (
    FLAG_BELOW_NOISE,
    FLAG_NO_CYCLES,
    FLAG_VOLTAGE_BELOW_NOISE,
    NoiseFloor,
    analyze,
    residual_noise,
    whole_cycles_window,
)
from corcypower.analysis.samples import Samples
from tests.analysis_signals import (
    MCP3008,
    Input,
    Step,
    Wave,
    current,
    measure,
    record,
    rel,
    scan,
    voltage,
)


def flat(t):
    return np.zeros(len(t))


@pytest.mark.parametrize("noise", [1.0, 2.0])
def test_no_load_reads_zero_with_a_voltage_channel(noise):
    # every batch: |P| <= 1 W, S <= 2 VA, Irms 0, PF unknown, flagged below-noise
    inputs = [Input(voltage(), Wave(230.0, 50.0), 2048.0), Input(current(), flat, 2047.0)]
    _, batches = measure(inputs, noise_lsb=noise)
    for _, (v, i) in batches:
        assert abs(i.real_power_w) <= 1.0 and i.apparent_power_va <= 2.0
        assert i.irms == 0.0 and i.power_factor is None
        assert i.flags == FLAG_BELOW_NOISE and v.flags == 0


@pytest.mark.parametrize("noise", [1.0, 2.0])
def test_no_load_reads_zero_at_a_fixed_237_v(noise):
    # the original wiring: one CT on an MCP3008 at 0.27 A/count, voltage = 237; 2 counts of
    # noise are 0.54 A, 128 W, if taken for a current
    ch = current("main", scale=0.27, voltage=237.0)
    _, batches = measure([Input(ch, flat, 511.0)], noise_lsb=noise, bits=10)
    assert len(batches) == 8
    for _, (s,) in batches:
        assert s.real_power_w <= 2.0 and s.flags == FLAG_BELOW_NOISE


@pytest.mark.parametrize("fixed", [True, False], ids=["fixed-237-V", "voltage-channel"])
def test_a_0_2_a_load_on_10_bits(fixed):
    # 0.2 A at 0.27 A/count is 0.74 count RMS; with half a count of noise (and the chip's
    # truncation: 0.33 count² in all) the counts' RMS is 27 % too high. Removed: within 3 %.
    i = Wave(0.2, 50.0, -20.0)
    ch = current("i", scale=0.27, voltage=237.0 if fixed else "v")
    inputs = [Input(ch, i, 511.3)]
    if not fixed:
        inputs.insert(0, Input(voltage(scale=1.0), Wave(230.0, 50.0), 511.5))
    r, batches = measure(inputs, noise_lsb=0.5, bits=10)
    assert rel(r["i"].irms, 0.2) <= 0.03
    assert r["i"].rms * 0.27 / 0.2 - 1 == pytest.approx(0.27, abs=0.06)  # the raw counts'
    assert not any(s.flags & FLAG_BELOW_NOISE for _, stats in batches for s in stats)


def test_noise_is_removed_in_quadrature_from_a_small_current():
    # 20 counts RMS with 4 counts of noise: the counts read sqrt(400 + 16 + 1/12) = +2 %. The
    # noise also spreads the mean square at random, by sqrt(4·I²·σ² + 2·σ⁴)/√N: 2.3e-3 of
    # Irms over 4 s at 2 kHz; within 3 of those once the noise is taken out.
    v, i = Wave(230.0, 50.0), Wave(0.4, 50.0, -30.0)
    inputs = [Input(voltage(), v, 2048.0), Input(current(), i, 2048.0)]
    r, _ = measure(inputs, noise_lsb=4.0)
    assert r["i"].rms * 0.02 / 0.4 - 1 == pytest.approx(0.02, abs=0.005)  # the raw counts'
    assert rel(r["i"].irms, 0.4) <= 7e-3
    assert r["i"].apparent_power_va == pytest.approx(230 * 0.4, rel=7e-3)


def test_a_measured_noise_replaces_the_estimate():
    from dataclasses import replace

    i = Wave(0.3, 50.0, 0.0)
    ch = current("i", voltage=230.0)
    inputs = [Input(ch, i, 2048.0)]
    t, counts, _ = record(inputs, seconds=0.5, noise_lsb=2.0)
    samples = {"i": Samples(t, counts[:, 0])}
    estimated = analyze([ch], samples, 4095)[0].irms
    wrong = analyze([replace(ch, noise_counts=4.0)], samples, 4095)[0].irms  # an over-estimate
    assert rel(estimated, 0.3) <= 2e-3
    assert wrong**2 == pytest.approx(estimated**2 - (16 - 4 - 1 / 12) * 0.02**2, rel=0.02)


def test_residual_noise_finds_white_noise_under_any_waveform():
    rng = np.random.default_rng(3)
    t = 1000.0 + np.arange(1000) / 2000
    for wave in (Wave(10.0, 49.8, 10.0, ((3, 4.0, 0.0), (5, 3.0, 90.0), (11, 1.0, 0.0))), None):
        x = (wave(t) if wave else 0.0) + 0.7 * rng.standard_normal(1000)
        ch = current("i", scale=1.0, voltage=230.0)
        window = whole_cycles_window([ch], {"i": Samples(t, x)}, 50.0)
        assert window.cycles >= 23
        got = residual_noise(t, x - x.mean(), 1 / 2000, window)
        assert got == pytest.approx(0.49, rel=0.15)


def test_noise_floor_is_the_median_of_recent_estimates():
    floor = NoiseFloor(keep=5)
    assert floor.get("i") is None
    for x in (1.0, 1.1, 50.0, 0.9, 1.0):  # one batch a load disturbed
        floor.add("i", x)
    assert floor.get("i") == 1.0
    for x in (2.0, 2.0, 2.0):  # the oldest fall out
        floor.add("i", x)
    assert floor.get("i") == 2.0


def test_a_load_switching_in_a_batch_does_not_look_like_noise():
    # a kettle switching on in the middle of a batch is not periodic, but the noise estimate
    # is the median of stretches of the batch (and of recent batches): the batch's Irms is
    # the RMS of what flowed, not less
    v = Wave(230.0, 50.0)
    kettle = Step(None, Wave(9.0, 50.0), 1000.0 + 1.26)
    inputs = [Input(voltage(), v, 2048.0), Input(current(), kettle, 2048.0)]
    _, batches = measure(inputs, seconds=2.0, noise_lsb=1.0)
    for batch, (_, i) in batches:
        on = min(max(batch.end - 1001.26, 0.0), batch.end - batch.start)
        truth = 9.0 * math.sqrt(on / (batch.end - batch.start))
        assert i.irms == pytest.approx(truth, abs=2e-3 * 9.0)


def test_an_unplugged_ac_adapter_is_below_noise_and_its_currents_have_no_power():
    inputs = [Input(voltage(), None, 2048.0), Input(current(), Wave(3.0, 50.0), 2048.0)]
    r, batches = measure(inputs, noise_lsb=1.0)
    for _, (v, i) in batches:
        assert v.flags & FLAG_BELOW_NOISE and v.vrms == 0.0 and v.frequency_hz is None
        assert i.flags & FLAG_VOLTAGE_BELOW_NOISE and i.flags & FLAG_NO_CYCLES
        assert i.real_power_w is None and rel(i.irms, 3.0) <= 2e-3


def test_a_lone_batch_estimates_its_own_noise():
    # analyze() without a NoiseFloor (calibrate, one batch) takes its own estimate
    inputs = [Input(current("i", voltage=230.0, scale=0.27), flat, 511.0)]
    r = analyze([inputs[0].channel], scan(inputs, bits=10, noise_lsb=1.5), MCP3008)[0]
    assert r.irms == 0.0 and r.real_power_w == 0.0 and r.flags & FLAG_BELOW_NOISE
