"""Windows of whole cycles: the reference voltage's crossings, else the fitted fundamental of
the strongest current (a fixed-voltage wiring), never a pulsed current's raw crossings."""

from __future__ import annotations

import numpy as np
import pytest

from corcypower.analysis import find_cycles, fundamental_hz, reference
from corcypower.analysis.samples import Samples
from tests.analysis_signals import T0, Input, Wave, current, measure, rel, voltage

# a switch-mode supply's current: pulses at the voltage's peaks, near zero between them
PULSED = ((3, 0.95, 180.0), (5, 0.85, 0.0), (7, 0.7, 180.0), (9, 0.5, 0.0), (11, 0.3, 180.0))


@pytest.mark.parametrize("hz", [47.5, 49.8, 50.0, 52.0])
def test_the_fundamental_of_a_pulsed_current_is_fitted(hz):
    # near zero between its pulses, with a count of noise, the current crosses zero where
    # the noise says: its crossings jitter by milliseconds; its fundamental does not
    rng = np.random.default_rng(5)
    t = T0 + np.arange(1000) / 2000
    x = Wave(1.0, hz, 0.0, PULSED)(t) / 0.02 + rng.standard_normal(1000)
    assert fundamental_hz(t, x, 1 / 2000, 50.0) == pytest.approx(hz, abs=2e-3)


def test_no_steady_fundamental_is_none():
    rng = np.random.default_rng(5)
    t = T0 + np.arange(1000) / 2000
    assert fundamental_hz(t, rng.standard_normal(1000), 1 / 2000, 50.0) is None
    assert fundamental_hz(t[:50], np.sin(t[:50]), 1 / 2000, 50.0) is None  # < 3 cycles


def test_fixed_voltage_windows_follow_the_fitted_fundamental():
    # the original wiring (one CT, voltage = 237) on mains at 49.8 Hz with a pulsed load:
    # every batch is whole cycles of 49.8 Hz, so each batch's Irms is the load's
    i = Wave(1.0, 49.8, 20.0, PULSED)
    ch = current("main", scale=0.02, voltage=237.0)
    r, batches = measure([Input(ch, i, 2048.0)], noise_lsb=1.0)
    for batch, (s,) in batches[1:-1]:
        assert batch.window.hz == pytest.approx(49.8, abs=5e-3)
        assert rel(s.irms, i.total_rms) <= 2e-3
    assert rel(r["main"].real_power_w, 237.0 * i.total_rms) <= 1e-3


def test_the_reference_is_the_first_voltage_with_cycles_else_the_strongest_current():
    t = T0 + np.arange(1000) / 2000
    mains, load = Wave(230.0, 49.9), Wave(5.0, 49.9, -30.0)
    v, dead, i = voltage("v"), voltage("dead", adc_channel=3), current("i")
    live = {
        "v": Samples(t, 2048 + mains(t) / 0.25),
        "dead": Samples(t, np.full(1000, 2048.0)),
        "i": Samples(t, 2048 + load(t) / 0.02),
    }
    ref = reference([dead, v, i], live, 50.0)
    assert ref.source == "voltage" and ref.hz == pytest.approx(49.9, abs=1e-4)
    assert np.allclose(ref.crossings, find_cycles(t, live["v"].counts * 0.25, 0.25, 5e-4, 50)[0])
    ref = reference([dead, i], live, 50.0)
    assert ref.source == "fitted" and ref.hz == pytest.approx(49.9, abs=1e-3)
    quiet = {"dead": live["dead"], "i": Samples(t, np.full(1000, 2048.0))}
    assert reference([dead, i], quiet, 50.0).source == "nominal"
