"""Derived phase voltages and line-to-line loads against analytic answers.

One voltage channel on L1 (or leg 1) serves every phase: a CT on L2 multiplies L1's waveform
120° later, on L3 240° later, on split-phase leg 2 180° later; a load between two phases
multiplies their difference. 4 s recordings measured as the daemon measures them (batches
tiled on whole cycles), 12 bits, 1 count RMS of noise on every input, as test_accuracy.py:
P, Irms within 0.1 % (the issue asks 0.5 %), PF within ±0.002 (it asks ±0.01).
"""

from __future__ import annotations

import numpy as np
import pytest

from corcypower.analysis import Samples, analyze
from corcypower.settings import sources
from tests.analysis.test_tiling import energy, truth
from tests.analysis_signals import (
    T0,
    UNBALANCE_LOADS,
    Input,
    Step,
    Wave,
    apparent_power,
    current,
    lag,
    measure,
    real_power,
    rel,
    scan,
    unbalance_errors,
    voltage,
)

TOL = 1e-3
PF_TOL = 0.002
L1 = Wave(230.0, 49.9, 10.0, ((3, 6.9, 40.0), (5, 4.6, -30.0)))  # 3 % 3rd, 2 % 5th


def check(r, name: str, v: Wave, i: Wave, tol=TOL, pf_tol=PF_TOL):
    """A current channel's Irms, P and PF against v·i (v: the voltage the load really sees)."""
    p, s = real_power(v, i), apparent_power(v, i)
    assert rel(r[name].irms, i.total_rms) <= tol
    assert rel(r[name].real_power_w, p) <= tol
    assert abs(r[name].power_factor - p / s) <= pf_tol
    assert r[name].flags == 0


def across(name: str, value, adc_channel: int, **kw):
    """A current channel whose `voltage` is written as in a config file."""
    parsed = sources.parse(value)
    return (
        current(name, voltage=parsed[0].channel, adc_channel=adc_channel, **kw)
        if parsed is None
        else current(
            name, voltage=parsed[0].channel, adc_channel=adc_channel, voltage_sources=parsed, **kw
        )
    )


def test_three_phases_from_one_voltage_channel():
    # CTs on L1, L2, L3 at PF 0.9 lagging, 1.0 and 0.7 leading, harmonics on the voltage and
    # on two of the currents; L2 and L3 are L1 delayed by 120° and 240°, harmonics and all
    l2, l3 = L1.shifted(-120.0), L1.shifted(-240.0)
    i1 = Wave(10.0, 49.9, lag(L1, 0.9), ((3, 1.5, 40.0 + 25.0),))
    i2 = Wave(6.0, 49.9, lag(l2, 1.0))
    i3 = Wave(8.0, 49.9, lag(l3, 0.7, leading=True), ((5, 0.9, l3.harmonics[1][2] - 10.0),))
    inputs = [
        Input(voltage("l1_v"), L1, 2048.0),
        Input(current("l1", voltage="l1_v", adc_channel=1), i1, 2047.3),
        Input(current("l2", voltage="l1_v", adc_channel=2, voltage_shift_deg=120.0), i2, 2049.0),
        Input(current("l3", voltage="l1_v", adc_channel=3, voltage_shift_deg=240.0), i3, 2046.1),
    ]
    r, batches = measure(inputs, noise_lsb=1.0)
    for name, v, i in (("l1", L1, i1), ("l2", l2, i2), ("l3", l3, i3)):
        check(r, name, v, i)
    # and batch by batch, the first and last (cut where sampling started and stopped) too:
    # each batch's P is the mean of v·i over its own interval
    for b, stats in batches:
        t = np.linspace(b.start, b.end, 100_001)
        want = np.trapezoid(l3(t) * i3(t), t) / (b.end - b.start)
        assert rel(stats[3].real_power_w, want) <= 2e-3


@pytest.mark.parametrize("shift", [-120.0, 240.0, 600.0 - 360.0])
def test_a_shift_and_the_same_shift_less_a_cycle_are_one_voltage(shift):
    l3 = L1.shifted(-240.0)
    i3 = Wave(8.0, 49.9, lag(l3, 0.8))
    inputs = [
        Input(voltage("v"), L1, 2048.0),
        Input(current("i", voltage_shift_deg=shift), i3, 2047.0),
    ]
    r, _ = measure(inputs, noise_lsb=1.0)
    check(r, "i", l3, i3)


def test_a_lone_batch_pairs_every_current_sample_with_a_derived_voltage():
    # one batch of samples, as `analyze` sees a capture: at its ends the nearer delay has no
    # voltage samples, so the farther one (a whole cycle away) stands in
    l2 = L1.shifted(-120.0)
    i2 = Wave(5.0, 49.9, lag(l2, 0.9))
    inputs = [
        Input(voltage("v"), L1, 2048.0),
        Input(current("i", voltage_shift_deg=120.0), i2, 2048.0),
    ]
    samples = scan(inputs, bits=None)
    stats = {s.name: s for s in analyze([x.channel for x in inputs], samples, 4095, 50.0)}
    assert rel(stats["i"].real_power_w, real_power(l2, i2)) <= 1e-4


def test_split_phase_60_hz_with_a_240_v_load_between_the_legs():
    # one adapter on leg 1; leg 2 is leg 1 180° later; the dryer sits across both legs
    leg1 = Wave(120.0, 60.0, 5.0, ((3, 3.6, 20.0), (5, 2.4, 70.0)))
    leg2 = leg1.shifted(-180.0)
    # leg1 − leg2: odd harmonics move by an odd multiple of 180°, so the difference is 2·leg1
    across_legs = Wave(240.0, 60.0, 5.0, ((3, 7.2, 20.0), (5, 4.8, 70.0)))
    dryer = Wave(20.0, 60.0, lag(across_legs, 0.95))
    fridge = Wave(3.0, 60.0, lag(leg2, 0.7))
    inputs = [
        Input(voltage("leg1_v", scale=0.1), leg1, 2048.0),
        Input(across("dryer", ["leg1_v", "leg1_v@180"], 1, scale=0.025), dryer, 2047.0),
        Input(across("fridge", "leg1_v@180", 2, scale=0.005), fridge, 2049.0),
    ]
    r, _ = measure(inputs, mains_hz=60.0, noise_lsb=1.0)
    check(r, "dryer", across_legs, dryer)
    check(r, "fridge", leg2, fridge)


def test_a_400_v_load_between_two_measured_phases():
    # two adapters, L1 and L2 measured; a heat pump between them: V = L1 − L2, √3 × 230 V
    l2 = L1.shifted(-120.0)
    line = Wave(230.0 * np.sqrt(3), 49.9, L1.phase_deg + 30.0)  # the fundamental of L1 − L2
    pump = Wave(7.0, 49.9, lag(line, 0.85))
    inputs = [
        Input(voltage("l1_v"), Wave(230.0, 49.9, 10.0), 2048.0),
        Input(voltage("l2_v", adc_channel=1), Wave(230.0, 49.9, l2.phase_deg), 2047.0),
        Input(across("pump", ["l1_v", "l2_v"], 2), pump, 2048.0),
    ]
    r, _ = measure(inputs, noise_lsb=1.0)
    check(r, "pump", line, pump)


def test_a_load_switching_on_is_counted_once_across_batches_with_a_derived_voltage():
    # Σ P·duration over the batches is ∫ v_L3·i dt: the half-cycle margin a derived voltage
    # needs neither drops nor doubles the samples at the batches' edges
    l3 = L1.shifted(-240.0)
    for at in (1.008, 1.2345):
        kettle = Step(None, Wave(10.0, 49.9, lag(l3, 1.0)), T0 + at)
        inputs = [
            Input(voltage("v"), L1, 2048.0),
            Input(current("i", scale=0.05, voltage_shift_deg=240.0), kettle, 2048.0),
        ]
        _, batches = measure(inputs, noise_lsb=0.5)
        want = truth(l3, kettle, batches[0][0].start, batches[-1][0].end)
        assert abs(energy(batches) / want - 1) <= 2e-3


def test_two_percent_voltage_unbalance_errs_at_most_as_much_as_it_moves_the_voltage():
    # derived L2 differs from the true L2 by √3 × 2 % of the voltage (the negative sequence
    # turns the other way); P's error is at most that over the PF
    # (measured: 3.9 % at PF 0.9 lagging, 3.5 % at 1, 4.9 % at 0.7 leading; PF off by up to
    # 0.016, 0.0006, 0.025), relative to the true voltage, which may be 2 % low
    worst = {load: unbalance_errors(0.02, *load) for load in UNBALANCE_LOADS}
    for (pf, _), (p_error, pf_error) in worst.items():
        bound = np.sqrt(3) * 0.02 / (1 - 0.02) / pf
        assert 0.01 < p_error <= bound  # it does err: a derived phase assumes balance
        assert pf_error <= 0.03
    assert unbalance_errors(0.0, 0.7, True)[0] <= 1e-4  # balanced, it does not


def test_samples_of_a_derived_voltage_are_those_of_its_channel():
    # the derived voltage is made from the voltage channel's samples: no samples, no power
    inputs = [
        Input(voltage("v"), L1, 2048.0),
        Input(current("i", voltage_shift_deg=120.0), L1, 2048.0),
    ]
    samples = scan(inputs, bits=None)
    samples["v"] = Samples(np.empty(0), np.empty(0, dtype=np.int64))
    stats = {s.name: s for s in analyze([x.channel for x in inputs], samples, 4095, 50.0)}
    assert stats["i"].real_power_w is None and stats["i"].irms > 0
