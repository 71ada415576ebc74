"""Analysis when sampling is imperfect: gaps, uneven times, chips taking turns, flags,
noise, short batches. Answers are analytic (tests/analysis_signals.py); tolerances as in
test_analysis.py, with the reason for each one that differs next to it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from corcypower.analysis import (
    FLAG_BELOW_NOISE,
    FLAG_CLIPPED,
    FLAG_FLAT,
    FLAG_NO_CYCLES,
    FLAG_VOLTAGE_BELOW_NOISE,
    Samples,
    analyze,
    cycle_weights,
    interpolate,
    mains_cycles,
    rising_crossings,
)
from tests.analysis_signals import (
    MCP3008,
    MCP3208,
    T0,
    UNQUANTISED,
    Input,
    Wave,
    assert_power,
    by_name,
    current,
    lsb_bound,
    power_bound,
    real_power,
    rel,
    scan,
    turns,
    two_chips,
    voltage,
)


def check(r: dict, v: Wave, i: Wave, tol: float) -> None:
    """Vrms, frequency, Irms, P, S and PF of the pair ("v", "i") within tol (relative to S)."""
    assert rel(r["v"].vrms, v.total_rms) <= tol
    assert rel(r["v"].frequency_hz, v.hz) <= tol
    assert_power(r["i"], v, i, tol)


def pair(hz=49.8, phase=33.0, lag=60.0, harmonics=False):
    v = Wave(230.0, hz, phase, ((3, 6.9, 10.0), (5, 4.6, -30.0)) if harmonics else ())
    i = Wave(10.0, hz, phase - lag, ((3, 3.0, 200.0), (5, 1.5, 40.0)) if harmonics else ())
    return v, i, [Input(voltage(), v, 2048.0), Input(current(), i, 2048.0)]


def drop(samples: dict[str, Samples], *holes: tuple[float, float]) -> dict[str, Samples]:
    """The samples less those in each hole (seconds from the batch start)."""
    out = {}
    for name, s in samples.items():
        keep = np.ones(len(s.t), dtype=bool)
        for lo, hi in holes:
            keep &= (s.t < T0 + lo) | (s.t >= T0 + hi)
        out[name] = Samples(s.t[keep], s.counts[keep])
    return out


# --- gaps and uneven times ---------------------------------------------------------------


@pytest.mark.parametrize(
    "holes",
    [
        [(0.2, 0.206)],  # 6 ms: 12 samples, more than a quarter cycle
        [(0.2113, 0.2136)],  # 2.3 ms, across a rising zero crossing of the voltage
        [(0.1, 0.104), (0.3371, 0.3502)],  # two, one of them 13 ms
        [(0.0, 0.004)],  # at the start, before the first crossing
    ],
    ids=["6ms", "over-a-crossing", "two", "at-start"],
)
def test_a_hole_inside_a_batch_costs_no_accuracy(holes):
    # A gap is not bridged, and the partial cycles beside it are dropped, so the window is
    # whole cycles again: as exact as without the hole (a hole that averaged only the
    # phases it did not hide would be off by ~1e-3 here).
    v, i, inputs = pair(harmonics=True)
    r = by_name(inputs, drop(scan(inputs, bits=None), *holes))
    check(r, v, i, UNQUANTISED)
    assert r["v"].flags == r["i"].flags == 0  # "late" is the acquisition's to say


@pytest.mark.parametrize("jitter", [0.1, 0.3, 0.45])
def test_unevenly_spaced_sample_times(jitter):
    # Every sample up to ±jitter of a step off the regular grid (each keeps its true time).
    # A segment of length dt integrates f with an error of −dt³·f''/12; on a regular grid
    # these cancel over whole cycles, with steps h(1 + ε) they leave 3ε·h³·f''/12 each, at
    # random: for f = v² that is σ_ε·(ωh)²·0.71/√N of the mean, σ_ε = jitter·√(2/3): 2e-4
    # at ±0.45 step. Tolerance: 3 σ (measured over 5 seeds: P 2.4e-5, 1.3e-4, 2.6e-4).
    tol = 3 * jitter * math.sqrt(2 / 3) * (2 * math.pi * 49.8 / 2000) ** 2 * 0.71 / math.sqrt(1000)
    v, i, inputs = pair(harmonics=False)
    rng = np.random.default_rng(7)
    samples = {}
    for pos, x in enumerate(inputs):
        t = T0 + (np.arange(1000) + pos / 2 + rng.uniform(-jitter, jitter, 1000)) / 2000
        samples[x.channel.name] = Samples(t, 2048.0 + x.wave(t) / x.channel.scale)
    check(by_name(inputs, samples), v, i, tol)


def test_pauses_between_blocks_are_bridged():
    # A real SPI controller may pause between two ioctls: here 1.7 steps after every block
    # of 255 scans (shorter than a gap, so bridged by a straight line). A bridge of L = 2.7
    # steps errs by at most L³·max|f''|/12 of the integral of f = v² (or v·i), i.e.
    # L·(ωL)²/6 ≈ 0.03 L of the peak: over 3 pauses in 1000 steps, < 6e-4 of the mean.
    v, i, inputs = pair(hz=50.0)
    k = np.arange(1000)
    t = T0 + (k + (k // 255) * 1.7) / 2000
    samples = {
        x.channel.name: Samples(t + pos / 4000, 2048.0 + x.wave(t + pos / 4000) / x.channel.scale)
        for pos, x in enumerate(inputs)
    }
    check(by_name(inputs, samples), v, i, 6e-4)


@pytest.mark.parametrize(
    ("nominal", "hz"), [(50, 50.0), (50, 49.8), (50, 49.95), (50, 50.3), (60, 60.0), (60, 59.9)]
)
def test_two_chips_taking_turns(nominal, hz):
    # With a second chip on CE1 the chips take turns of about one mains cycle: each chip's
    # samples come in runs of a cycle with a cycle's hole between them. The frequency must
    # count the cycles hidden in the holes (it read half once), and each run is made a whole
    # cycle (cut down, or completed from the next run). What is left: the half step of time
    # each run's end sample stands for, O((ωh)²·h/T) per turn: measured at most 7e-5 over
    # 49.5..50.5 Hz and 59.4..60.6 Hz, with harmonics.
    v, i, inputs = pair(hz=hz, harmonics=True)
    r = by_name(inputs, turns(inputs, chips=2, nominal_hz=nominal), mains_hz=nominal)
    check(r, v, i, 2e-4)


def test_two_emulated_chips_end_to_end():
    # The same through the real chain, two emulated MCP3208s on CE0 and CE1, each with a
    # voltage and a current channel; quantised, so the LSB bounds apply.
    v, i, _ = pair(hz=49.9)
    v2, i2 = Wave(231.0, 49.9, v.phase_deg), Wave(4.0, 49.9, v.phase_deg + 170.0)
    config, batches = two_chips(v, i, v2, i2, batches=2)
    for batch in batches:
        r = {s.name: s for s in analyze(config.channels, batch.samples, MCP3208, 50.0)}
        for vn, iname, vw, iw, scale in (("v", "i", v, i, 0.02), ("v2", "i2", v2, i2, 0.01)):
            bound = power_bound(vw.rms / 0.25, iw.rms / scale) + 2e-4  # + the turns' own
            assert rel(r[vn].vrms, vw.rms) <= lsb_bound(vw.rms / 0.25) + 2e-4
            assert rel(r[vn].frequency_hz, 49.9) <= 1e-4
            assert rel(r[iname].irms, iw.rms) <= bound
            assert abs(r[iname].real_power_w - real_power(vw, iw)) <= bound * vw.rms * iw.rms
        assert r["i2"].real_power_w < 0  # 170°: exporting


# --- flags --------------------------------------------------------------------------------


def test_clipping_is_flagged_when_a_sample_sits_on_a_rail():
    v, i, inputs = pair(hz=50.0)
    samples = scan(inputs, bits=12)
    assert all(r.flags == 0 for r in by_name(inputs, samples).values())
    for rail in (0, MCP3208):
        counts = samples["i"].counts.copy()
        counts[500] = rail
        r = by_name(inputs, {"v": samples["v"], "i": Samples(samples["i"].t, counts)})
        assert r["i"].flags == FLAG_CLIPPED and r["v"].flags == 0
    # overdriven: a 10-bit input swung past both rails
    loud = [Input(current("i", scale=0.01, voltage=230.0), Wave(10.0, 50.0), 511.5)]
    r = by_name(loud, scan(loud, bits=10), max_count=MCP3008)["i"]
    assert r.flags & FLAG_CLIPPED and (r.min, r.max) == (0, MCP3008)


@pytest.mark.parametrize(("spread", "flat"), [(0, True), (1, True), (2, False)])
def test_flat_is_a_spread_of_at_most_one_count(spread, flat):
    counts = 2047 + np.arange(1000) % (spread + 1)
    ch = current("i", voltage=230.0)
    r = analyze([ch], {"i": Samples(T0 + np.arange(1000) / 2000, counts)}, MCP3208)[0]
    assert bool(r.flags & FLAG_FLAT) == flat
    assert (r.max - r.min, r.mean) == (spread, pytest.approx(2047 + spread / 2, abs=0.01))


def test_a_flat_voltage_has_no_cycles_and_its_currents_no_power():
    # The AC adapter unplugged: the voltage input sits at its bias, within its noise. It has
    # no cycles, no frequency, and reads 0 V; its current channels still measure Irms (over
    # whole cycles of their own fundamental, exact here at 50 Hz), but their power is
    # unknown, not zero, so it is None; they say why; nothing raises.
    i = Wave(10.0, 50.0, -30.0)
    inputs = [Input(voltage(), None, 2048.0), Input(current(), i, 2048.0)]
    for noise, flat in ((0.0, FLAG_FLAT), (1.0, 0)):  # exactly flat, or noisy by a few counts
        r = by_name(inputs, scan(inputs, bits=12, noise_lsb=noise))
        assert r["v"].flags == FLAG_NO_CYCLES | FLAG_BELOW_NOISE | flat
        assert r["v"].frequency_hz is None and r["v"].vrms == 0.0
        assert r["i"].flags == FLAG_NO_CYCLES | FLAG_VOLTAGE_BELOW_NOISE
        assert rel(r["i"].irms, 10.0) <= lsb_bound(500.0)
        assert r["i"].real_power_w is None and r["i"].power_factor is None


# --- noise and short batches --------------------------------------------------------------


@pytest.mark.parametrize("amplitude_counts", [1300.0, 40.0, 12.0])
def test_noise_does_not_make_extra_zero_crossings(amplitude_counts):
    # Gaussian noise of 0.5 LSB on a 12-bit input, on a full mains, on a weak one and on a
    # barely-there one. With the hysteresis every rising crossing is found once (24 in
    # 24.9 cycles starting at 33°), so the frequency stays within the crossings' jitter
    # (≈ noise / slope / span = 0.5 / (2π·50·40) / 0.48 s ≈ 1e-4 at 40 counts).
    scale = 230.0 * math.sqrt(2) / amplitude_counts
    v = Wave(230.0, 49.8, 33.0)
    inputs = [Input(voltage(scale=scale), v, 2048.0)]
    for seed in range(5):
        samples = scan(inputs, bits=12, noise_lsb=0.5, seed=seed)
        r = by_name(inputs, samples)["v"]
        assert rel(r.frequency_hz, 49.8) <= 2.5e-4 * 40.0 / amplitude_counts + 1e-5
        assert r.flags == 0
        x = samples["v"].counts - samples["v"].counts.mean()
        t = samples["v"].t
        assert len(rising_crossings(t, x, 0.25 * amplitude_counts, 1.5e-3)) == 24


def test_without_hysteresis_noise_would_add_crossings():
    # A 5-count wave in 0.5 LSB of noise: near zero it moves 0.8 count per sample, so the
    # noise makes it cross back and forth; the analysis's 3-count hysteresis does not.
    inputs = [Input(voltage(scale=1.0), Wave(5.0 / math.sqrt(2), 49.8, 33.0), 2048.0)]
    samples = scan(inputs, bits=12, noise_lsb=0.5, seed=3)
    x = samples["v"].counts - samples["v"].counts.mean()
    assert len(rising_crossings(samples["v"].t, x, 0.0, 1.5e-3)) > 24  # 24 cycles
    r = by_name(inputs, samples)["v"]
    assert rel(r.frequency_hz, 49.8) <= 2.5e-4 * 40.0 / 5.0


def test_a_batch_of_two_cycles():
    # 45 ms at 49.8 Hz: 2.24 cycles, two rising crossings, a one-cycle window. The crossings'
    # own interpolation error (third order in ωh) is now over one cycle, not 24: 1e-4.
    for phase in (0.0, 90.0, 200.0):
        v, i, inputs = pair(hz=49.8, phase=phase)
        r = by_name(inputs, scan(inputs, seconds=0.045, bits=None))
        check(r, v, i, 1e-4)
        assert r["v"].flags == 0


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 6, 7, 12, 40])
def test_very_short_batches_do_not_raise(n):
    # Whatever is computed is finite (the columns are REAL, NaN would be stored as NULL in a
    # NOT NULL column); what cannot be computed is None.
    inputs = [
        Input(voltage(), Wave(230.0, 50.0), 2048.0),
        Input(current(), Wave(10.0, 50.0, -30.0), 2048.0),
        Input(current("fixed", voltage=237.0, adc_channel=2), Wave(5.0, 50.0), 2048.0),
    ]
    with np.errstate(all="raise"):
        r = by_name(inputs, scan(inputs, seconds=n / 2000, bits=12))
    for stats in r.values():
        assert stats.n == n
        for value in stats.as_dict().values():
            assert value is None or isinstance(value, str) or math.isfinite(value)
    assert r["v"].frequency_hz is None  # < 2 cycles: no frequency (nor a no-cycles flag)
    assert not r["v"].flags & FLAG_NO_CYCLES
    if n == 0:
        assert all(s.flags == FLAG_FLAT and s.irms is None for s in r.values())


# --- the pieces, against their analytic answers -------------------------------------------


def test_cycle_weights_integrate_straight_lines_exactly():
    # For samples of a straight line, sum(w * f) is its exact integral over [a, b], edges
    # anywhere between samples; without holes sum(w) = b − a.
    t = T0 + np.arange(100) / 2000
    f = 3.0 + 7.0 * (t - T0)
    a, b = T0 + 0.00123, T0 + 0.04123  # two cycles at 50 Hz
    w = cycle_weights(t, a, b, 2, 1 / 2000)
    assert w.sum() == pytest.approx(b - a, rel=1e-12)
    exact = 3.0 * (b - a) + 3.5 * ((b - T0) ** 2 - (a - T0) ** 2)
    assert w @ f == pytest.approx(exact, rel=1e-12)


def test_interpolation_error_is_the_lagrange_remainder():
    # 6 nodes, halfway between two samples: x − p(x) = f⁽⁶⁾ · Π(x − x_k) / 6!, which for
    # sin(ωt) at the middle of the middle interval is (ωh)^6 · (2.5·1.5·0.5)² / 720 of the
    # amplitude: 7.4e-8 at 50 Hz, 2 kHz; 1e-3 for the 5th harmonic.
    for hz in (50.0, 250.0):
        t = T0 + np.arange(200) / 2000
        w = 2 * np.pi * hz
        tq = t[50:150] + 0.25 / 1000  # half a step
        got, valid = interpolate(t, np.sin(w * t), tq, 1 / 2000)
        assert valid.all()
        bound = (w / 2000) ** 6 * (2.5 * 1.5 * 0.5) ** 2 / 720
        err = np.abs(got - np.sin(w * tq)).max()
        assert 0.5 * bound < err <= 1.01 * bound


def test_interpolation_is_not_valid_across_a_gap_or_with_too_few_samples():
    t = T0 + np.concatenate([np.arange(20), np.arange(40, 60)]) / 2000
    x = np.sin(2 * np.pi * 50 * t)
    tq = T0 + np.array([5.5, 19.9, 21.5, 30.0, 38.5, 40.5]) / 2000
    _, valid = interpolate(t, x, tq, 1 / 2000)
    # up to one step past a run's end is extrapolated; deep in the gap is not
    assert valid.tolist() == [True, True, False, False, False, True]
    assert not interpolate(t[:5], x[:5], tq, 1 / 2000)[1].any()


def test_mains_frequency_counts_cycles_hidden_by_gaps_and_drops_glitches():
    def frequency(cycles, nominal=50):
        return mains_cycles(T0 + np.array(cycles) / 49.9, nominal)[1]

    assert frequency([0, 1, 2, 5, 6, 9]) == pytest.approx(49.9, rel=1e-12)  # 3-4, 7-8 hidden
    assert frequency([0, 2, 4, 6, 8]) == pytest.approx(49.9, rel=1e-12)  # chips in turns
    assert frequency([0, 1, 2, 2.7, 3, 4]) == pytest.approx(49.9, rel=1e-12)  # a glitch
    assert mains_cycles(T0 + np.array([0, 1, 2, 2.7, 3]) / 49.9, 50)[0].size == 4
    assert frequency([0.0, 1.0, 1.35]) is None  # not mains
    assert frequency([0.0, 0.4, 0.8, 1.2]) is None
    assert frequency([0.0]) is None


def test_a_glitch_in_one_sample_does_not_lose_the_cycles():
    # A bad read (the MSB flipped: +2048 counts) in the negative half-wave swings past the
    # hysteresis and looks like a rising crossing; the frequency is still found.
    v, i, inputs = pair(hz=49.8)
    samples = scan(inputs, bits=12)
    counts = samples["v"].counts.copy()
    k = int(np.argmin(counts[300:340])) + 300  # a trough
    counts[k] += 2048
    r = by_name(inputs, {"v": Samples(samples["v"].t, counts), "i": samples["i"]})
    assert rel(r["v"].frequency_hz, 49.8) <= 1e-5 and not r["v"].flags & FLAG_NO_CYCLES


def test_the_typical_step_is_the_median_of_all_steps():
    # a capture whose first blocks came in fits and starts (a busy machine) still has its
    # usual step: taken from the first scans alone it was 5 times too long, and the
    # crossings were refused
    from corcypower.analysis.samples import median, typical_step

    t = np.concatenate([np.arange(300) * 6e-4, 0.18 + np.arange(2000) * 1.25e-4])
    assert typical_step(t) == pytest.approx(1.25e-4)
    assert typical_step(np.array([1.0])) == 1.0 and median([3.0, 1.0, 2.0, 10.0]) == 2.5
