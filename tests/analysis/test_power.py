"""Analysis: every quantity against its analytic answer (IEEE 1459-2010, single phase).

Signals come from tests/analysis_signals.py: sums of harmonics sampled in scan order (the
current a frame after its voltage, as the multiplexer converts them) and, where the test is
about the ADC, quantised as the chip does. Tolerances, and why:

- EXACT (1e-9): the batch holds whole cycles on a sample grid commensurate with them (50 Hz
  at 2 kHz: 40 samples per cycle), where the straight lines through the samples integrate a
  sine's square exactly, and nothing else limits the result but rounding.
- UNQUANTISED (1e-5): non-integer cycles in the batch, fractional window edges, skew. The
  straight lines differ from a sine by (ωh)²/8 of its curvature over the one step cut by
  each window edge, ≈ (0.16)²/8 · (1 step / 1000 steps) ≈ 3e-6; the voltage interpolated
  onto the current's times by 6-point Lagrange is off by (ωh)^6 · 0.005 ≈ 1e-7.
- quantised: `lsb_bound` / `power_bound` (0.5 count of RMS error at most, whatever the
  signal): e.g. 5e-4 for 230 V at 0.25 V/count on an MCP3208; typical errors are 10x lower.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from corcypower.analysis import (
    FLAG_CLIPPED,
    FLAG_FLAT,
    FLAG_NAMES,
    FLAG_NO_CYCLES,
    Samples,
    analyze,
    flag_names,
)
from tests.analysis_signals import (
    EXACT,
    MCP3008,
    MCP3208,
    T0,
    UNQUANTISED,
    Input,
    Wave,
    acquire,
    assert_power,
    by_name,
    current,
    lsb_bound,
    pin_volts,
    power_bound,
    real_power,
    rel,
    scan,
    voltage,
)


def run(inputs: list[Input], max_count: int = MCP3208, mains_hz: float = 50.0, **scan_kw):
    """Analyse one batch of the inputs; the results by channel name."""
    return by_name(inputs, scan(inputs, **scan_kw), mains_hz, max_count)


def sample_moments(w: Wave, offset: float, n: int = 1000, rate: float = 2000.0):
    """Mean and standard deviation of a pure sine's n samples at T0 + (k + offset) / rate,
    in closed form: Σ sin(a + k·d) = sin(n·d/2) / sin(d/2) · sin(a + (n − 1)·d/2), and
    sin² = (1 − cos 2θ) / 2 with Σ cos(2a + 2k·d) = sin(n·d) / sin(d) · cos(2a + (n − 1)·d)."""
    d = 2 * np.pi * w.hz / rate
    a = 2 * np.pi * w.hz * (T0 + offset / rate) + np.radians(w.phase_deg)
    peak = np.sqrt(2) * w.rms
    mean = peak * np.sin(n * d / 2) / np.sin(d / 2) * np.sin(a + (n - 1) * d / 2) / n
    cos2 = np.sin(n * d) / np.sin(d) * np.cos(2 * a + (n - 1) * d) / n
    mean_square = peak**2 * (1 - cos2) / 2
    return float(mean), float(np.sqrt(mean_square - mean**2))


# --- the diagnostics of the original CorcyPower -----------------------------------------


def test_diagnostics_are_the_counts_mean_min_max_and_standard_deviation():
    # 25 whole cycles of 40 samples: the mean of the sine's samples is 0 and the mean of
    # its square 1/2, exactly, so mean = bias and rms = A / sqrt(2)
    bias, amplitude = 511.3, 300.2
    wave = Wave(amplitude / math.sqrt(2) * 0.27, 50.0)
    ch = current("main", scale=0.27, voltage=237.0)
    exact = run([Input(ch, wave, bias)], MCP3008, bits=None)["main"]
    assert exact.n == 1000
    assert rel(exact.mean, bias) <= EXACT
    assert rel(exact.rms, amplitude / math.sqrt(2)) <= EXACT

    counts = run([Input(ch, wave, bias)], MCP3008, bits=10)["main"]
    assert counts.n == 1000
    assert (counts.min, counts.max) == (211, 811)  # floor(511.3 ∓ 300.2): peaks are sampled
    assert bias - 1 <= counts.mean <= bias  # truncation lowers every sample by [0, 1)
    assert abs(counts.rms - amplitude / math.sqrt(2)) <= 0.5  # see lsb_bound
    assert counts.flags == 0


# --- voltage: Vrms and frequency ---------------------------------------------------------


@pytest.mark.parametrize(
    ("hz", "nominal", "tol"),
    [
        (50.0, 50, EXACT),
        (49.8, 50, UNQUANTISED),  # 24.9 cycles in the batch
        (50.2, 50, UNQUANTISED),
        (60.0, 60, UNQUANTISED),  # 33.3 samples per cycle: not commensurate
        (59.9, 60, UNQUANTISED),
    ],
)
def test_vrms_and_frequency(hz, nominal, tol):
    v = Wave(230.0, hz, 17.0)
    r = run([Input(voltage(), v, 2048)], mains_hz=nominal, bits=None)["v"]
    assert rel(r.vrms, 230.0) <= tol
    assert rel(r.frequency_hz, hz) <= tol
    assert r.irms is None and r.real_power_w is None and r.flags == 0


def test_vrms_includes_every_harmonic():
    # Vrms² = Σ V_h²: a flat-topped mains with 3rd, 5th and 7th harmonics
    v = Wave(230.0, 49.8, 0.0, ((3, 6.9, 180.0), (5, 4.6, 30.0), (7, 2.3, -75.0)))
    r = run([Input(voltage(), v, 2048)], bits=None)["v"]
    assert rel(r.vrms, v.total_rms) <= UNQUANTISED
    assert rel(r.frequency_hz, 49.8) <= UNQUANTISED


# --- current: Irms, real and apparent power, power factor --------------------------------


@pytest.mark.parametrize("current_first", [False, True], ids=["v-then-i", "i-then-v"])
def test_pf_half_with_multiplexing_skew(current_first):
    # 10 A lagging 60°: P = 230·10·cos 60° = 1150 W, S = 2300 VA, PF 0.5. The current is
    # converted a frame (250 µs = 4.5° at 50 Hz) after (or before) its voltage.
    v, i = Wave(230.0, 50.0), Wave(10.0, 50.0, -60.0)
    inputs = [Input(voltage(), v, 2048), Input(current(), i, 2048)]
    inputs = inputs[::-1] if current_first else inputs
    r = run(inputs, bits=None)["i"]
    assert_power(r, v, i, UNQUANTISED)
    assert r.real_power_w == pytest.approx(1150.0, rel=UNQUANTISED)
    assert r.power_factor == pytest.approx(0.5, abs=UNQUANTISED)


def test_without_the_skew_correction_the_error_would_be_visible():
    # The same batch, with the current's samples stamped at its voltage's times (what an
    # analysis that ignored the scan order would do): the current then looks 4.5° earlier,
    # PF reads cos(60° − 4.5°) = 0.566, 13 % high. So the correction is what makes it right.
    v, i = Wave(230.0, 50.0), Wave(10.0, 50.0, -60.0)
    inputs = [Input(voltage(), v, 2048), Input(current(), i, 2048)]
    samples = scan(inputs, bits=None)
    frame_deg = 360.0 * 50.0 / (2000.0 * 2)
    naive = Samples(samples["v"].t, samples["i"].counts)
    r = analyze([x.channel for x in inputs], {"v": samples["v"], "i": naive}, MCP3208)[1]
    assert r.power_factor == pytest.approx(math.cos(math.radians(60.0 - frame_deg)), abs=1e-5)
    assert r.power_factor - 0.5 > 1000 * UNQUANTISED


def test_harmonics_carry_power_only_where_both_have_them():
    # IEEE 1459: P = Σ V_h·I_h·cos θ_h; Irms includes every harmonic; S = Vrms·Irms. A
    # switch-mode load (strong odd harmonics in the current) on a slightly distorted mains;
    # the 9th harmonic of the current meets no voltage and carries no power.
    v = Wave(230.0, 50.0, 0.0, ((3, 6.9, 10.0), (5, 4.6, -30.0), (7, 2.3, 60.0)))
    i = Wave(2.0, 50.0, 15.0, ((3, 1.2, 200.0), (5, 0.7, 40.0), (7, 0.3, 250.0), (9, 0.15, 90.0)))
    r = run([Input(voltage(), v, 2048), Input(current(scale=0.002), i, 2048)], bits=None)
    # 6-point interpolation of the 7th harmonic (ωh = 1.1) is off by ~1 %, of a term that is
    # 0.15 % of S: 1e-4 of S bounds it
    assert_power(r["i"], v, i, 1e-4)
    assert rel(r["v"].vrms, v.total_rms) <= EXACT
    assert r["i"].power_factor < 0.9  # far from the fundamental's cos 15° = 0.966


@pytest.mark.parametrize(
    ("invert", "sign"), [(False, 1.0), (True, -1.0)], ids=["exported", "inverted"]
)
def test_export_is_negative_and_invert_flips_it(invert, sign):
    # Solar feeding the grid: the current is in antiphase (150° from the voltage), so
    # P = 230·8·cos 150° < 0 and PF = cos 150° = −0.866; a CT clamped the other way round
    # with `invert = true` reads the opposite.
    v, i = Wave(230.0, 50.0), Wave(8.0, 50.0, 150.0)
    ch = current(invert=invert)
    r = run([Input(voltage(), v, 2048), Input(ch, i, 2048)], bits=None)["i"]
    want = 230.0 * 8.0 * math.cos(math.radians(150.0))
    assert r.real_power_w == pytest.approx(sign * want, rel=UNQUANTISED)
    assert r.power_factor == pytest.approx(sign * math.cos(math.radians(150.0)), abs=UNQUANTISED)
    assert r.irms == pytest.approx(8.0, rel=UNQUANTISED)
    assert r.apparent_power_va == pytest.approx(1840.0, rel=UNQUANTISED)


def test_49_8_hz_with_24_9_cycles_in_the_batch_quantised():
    # 230 V at 0.25 V/count and 10 A at 0.02 A/count on an MCP3208, 24.9 cycles per batch
    v, i = Wave(230.0, 49.8, 33.0), Wave(10.0, 49.8, 33.0 - 25.0)
    r = run([Input(voltage(), v, 2048), Input(current(), i, 2048)], bits=12)
    v_counts, i_counts = 230.0 / 0.25, 10.0 / 0.02
    assert rel(r["v"].vrms, 230.0) <= lsb_bound(v_counts)
    assert rel(r["v"].frequency_hz, 49.8) <= 1e-5  # crossings move < 1 count / slope
    assert rel(r["i"].irms, 10.0) <= lsb_bound(i_counts)
    assert_power(r["i"], v, i, power_bound(v_counts, i_counts))


def test_60_hz_120_v_on_an_mcp3208():
    # North America: 120 V at 60 Hz (33.3 samples per cycle, 30 cycles per batch), 15 A at
    # PF 0.8 lagging; 0.1 V and 0.02 A per count
    v, i = Wave(120.0, 60.0), Wave(15.0, 60.0, -math.degrees(math.acos(0.8)))
    inputs = [Input(voltage(scale=0.1), v, 2048), Input(current(scale=0.02), i, 2048)]
    r = run(inputs, mains_hz=60, bits=12)
    assert rel(r["v"].vrms, 120.0) <= lsb_bound(1200.0)
    assert rel(r["v"].frequency_hz, 60.0) <= 1e-5
    assert_power(r["i"], v, i, power_bound(1200.0, 750.0))
    assert r["i"].real_power_w == pytest.approx(1440.0, rel=power_bound(1200.0, 750.0) / 0.8)


def test_a_small_0_4_a_load():
    # A 0.4 A load (a fridge's light, a router) on the EnergyMonitor's 100 A CT at 0.0244
    # A/count: 16 counts RMS. Quantisation allows 3 % on Irms; the test holds it to that
    # bound, and the error seen is far below it (see the report of errors in the module doc).
    v, i = Wave(230.0, 50.0), Wave(0.4, 50.0, -20.0)
    inputs = [Input(voltage(), v, 2048), Input(current(scale=0.0244), i, 2047)]
    r = run(inputs, bits=12, noise_lsb=0.5)["i"]  # a real input's noise dithers the steps
    bound = power_bound(920.0, 0.4 / 0.0244)
    assert_power(r, v, i, bound)
    assert r.real_power_w == pytest.approx(230 * 0.4 * math.cos(math.radians(20)), rel=bound)
    assert r.flags == 0


def test_a_ct_that_leads_is_corrected_by_phase_deg():
    # The CT's output leads the current it measures by 2°: it reads the current as if 2°
    # earlier. With phase_deg = 2 the true PF (cos 40° = 0.766) is restored; without, the
    # analysis sees cos 38°.
    v, true_i = Wave(230.0, 50.0), Wave(5.0, 50.0, -40.0, ((3, 1.0, 20.0),))
    ct_output = true_i.shifted(2.0)
    for phase_deg, want in ((2.0, true_i), (0.0, ct_output)):
        ch = current(phase_deg=phase_deg)
        r = run([Input(voltage(), v, 2048), Input(ch, ct_output, 2048)], bits=None)["i"]
        assert_power(r, v, want, UNQUANTISED)
    # what is at stake: cos 38° / cos 40° = 1.029
    assert real_power(v, ct_output) / real_power(v, true_i) - 1 > 0.02


@pytest.mark.parametrize("hz", [50.0, 49.8])
def test_fixed_voltage_the_corcypower_way(hz):
    # One CT on an MCP3008, 0.27 A/count, voltage = 237: S = 237 V · Irms is reported as P
    # too, and PF is unknown. For a pure sine over whole cycles the original's
    # kW = rms · 237 · 0.27 / 1000 holds, rms being the standard deviation of the counts.
    i = Wave(10.0, hz, 70.0)
    ch = current("main", scale=0.27, voltage=237.0)
    exact = run([Input(ch, i, 511.5)], MCP3008, bits=None)["main"]
    # the window is whole cycles of the current itself, so 49.8 Hz is no less exact
    assert rel(exact.irms, 10.0) <= UNQUANTISED
    assert exact.real_power_w == exact.apparent_power_va == pytest.approx(2370.0, rel=UNQUANTISED)
    assert exact.power_factor is None and exact.vrms is None
    if hz == 50.0:  # 25 whole cycles: the batch's standard deviation is the cycles' RMS
        assert exact.real_power_w / 1000 == pytest.approx(exact.rms * 237 * 0.27 / 1000, rel=EXACT)

    quantised = run([Input(ch, i, 511.5)], MCP3008, bits=10)["main"]
    bound = lsb_bound(10.0 / 0.27)  # 37 counts RMS: 1.4 %
    assert rel(quantised.real_power_w, 2370.0) <= bound
    assert rel(quantised.rms * 237 * 0.27, 2370.0) <= bound


def test_fixed_voltage_with_a_distorted_current_finds_its_own_cycles():
    # A switch-mode supply's current (strong odd harmonics) at 49.8 Hz: the window is its
    # own whole cycles, not 25 nominal ones (which would be off by up to 1.5e-3). Its zero
    # crossings lie on a curved stretch, so their interpolation errs more: 1e-4.
    i = Wave(1.0, 49.8, 20.0, ((3, 0.8, 180.0), (5, 0.6, 0.0), (7, 0.4, 180.0), (9, 0.2, 0.0)))
    ch = current("i", scale=0.002, voltage=230.0)
    r = run([Input(ch, i, 2048.0)], bits=None)["i"]
    assert rel(r.irms, i.total_rms) <= 1e-4
    assert r.real_power_w == r.apparent_power_va == pytest.approx(230.0 * i.total_rms, rel=1e-4)


def test_volts_override_a_voltage_channel():
    # The daemon passes remote (or nominal) volts by current channel name: that channel is
    # then computed as with a fixed voltage, the others as before.
    v, i = Wave(230.0, 50.0), Wave(10.0, 50.0, -60.0)
    inputs = [Input(voltage(), v, 2048), Input(current(), i, 2048)]
    channels = [x.channel for x in inputs]
    r = analyze(channels, scan(inputs, bits=None), MCP3208, 50.0, volts={"i": 231.0})[1]
    assert r.real_power_w == r.apparent_power_va == pytest.approx(2310.0, rel=EXACT)
    assert r.power_factor is None


@pytest.mark.parametrize(("bits", "biases"), [(12, (1500.0, 2600.0)), (10, (400.0, 650.0))])
def test_the_bias_is_removed_per_batch_wherever_it_sits(bits, biases):
    # The divider that biases an input is rarely at mid-scale; the answers must not move.
    v, i = Wave(230.0, 49.8), Wave(10.0, 49.8, -30.0)
    scale_v, scale_i = (0.25, 0.02) if bits == 12 else (1.0, 0.08)
    inputs = [
        Input(voltage(scale=scale_v), v, biases[0]),
        Input(current(scale=scale_i), i, biases[1]),
    ]
    exact = run(inputs, bits=None)
    # 24.9 cycles: the samples' mean is the bias plus the part-cycle's, and their standard
    # deviation not quite A/√2, both in closed form (the current is sampled half a step, one
    # frame, after the voltage)
    for name, wave, offset, scale, bias in (
        ("v", v, 0.0, scale_v, biases[0]),
        ("i", i, 0.5, scale_i, biases[1]),
    ):
        mean, std = sample_moments(wave, offset)
        assert rel(exact[name].mean, bias + mean / scale) <= EXACT
        assert rel(exact[name].rms, std / scale) <= EXACT  # rms: the counts' deviation
    assert rel(exact["v"].vrms, 230.0) <= UNQUANTISED
    assert_power(exact["i"], v, i, UNQUANTISED)
    quantised = run(inputs, MCP3208 if bits == 12 else MCP3008, bits=bits)
    v_counts, i_counts = 230.0 / scale_v, 10.0 / scale_i
    assert rel(quantised["v"].vrms, 230.0) <= lsb_bound(v_counts)
    assert_power(quantised["i"], v, i, power_bound(v_counts, i_counts))


def test_flag_names():
    assert flag_names(0) == []
    assert flag_names(FLAG_CLIPPED | FLAG_NO_CYCLES) == ["clipped", "no-cycles"]
    assert flag_names(FLAG_FLAT) == ["flat"]
    # the bits of every power.db keep their meaning; new flags take new bits
    assert FLAG_NAMES == {
        1: "clipped",
        2: "flat",
        4: "late",
        8: "no-cycles",
        16: "nominal-voltage",
        32: "below-noise",
        64: "voltage-clipped",
        128: "voltage-below-noise",
        256: "dead-read",
    }


# --- end to end: emulated chip → SPI transport → acquisition → analysis -------------------


def test_end_to_end_60_hz_on_an_emulated_mcp3208():
    # The real chain: the emulated chip answers the real transport's SPI_IOC_MESSAGE array
    # byte for byte, the acquisition cuts the blocks into batches and stamps each sample's
    # time, the analysis pairs the current with its voltage converted a frame earlier.
    v, i = Wave(120.0, 60.0, 10.0), Wave(12.0, 60.0, 10.0 - 60.0)
    channels = [
        {"name": "mains_v", "adc_channel": 3, "kind": "voltage", "scale": 0.1},
        {"name": "load", "adc_channel": 5, "kind": "current", "scale": 0.01, "voltage": "mains_v"},
    ]
    config, batches = acquire(
        {
            "adc": {"chip": "mcp3208", "sample_rate_hz": 2000},
            "mains": {"frequency_hz": 60},
            "channels": channels,
        },
        {0: pin_volts({3: (v, 0.1, 2048.3), 5: (i, 0.01, 2047.6)}, bits=12)},
    )
    bound = power_bound(1200.0, 1200.0)
    for batch in batches:
        r = {s.name: s for s in analyze(config.channels, batch.samples, MCP3208, 60.0)}
        assert r["mains_v"].n == r["load"].n == 1000
        assert rel(r["mains_v"].vrms, 120.0) <= lsb_bound(1200.0)
        assert rel(r["mains_v"].frequency_hz, 60.0) <= 1e-5
        assert_power(r["load"], v, i, bound)
        assert r["load"].power_factor == pytest.approx(0.5, abs=2 * bound)
        assert r["mains_v"].flags == r["load"].flags == 0
