"""The synthetic household: mains, loads through the day, and pins that measure them right."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from corcypower.adc.emulated import VREF, EmulatedChip
from corcypower.adc.household import (
    APPLIANCES,
    DAY_S,
    Household,
    Mains,
    appliance_watts,
    circuit_apparent,
    circuit_watts,
)

DAY0 = 20_454 * DAY_S  # 2026-01-01 00:00, local seconds since the epoch
V_SCALE, I_SCALE = 0.25, 0.02  # volts and amps per count, as examples/emulator.toml


def home(local_start: float, bits=12, volts=230.0, hz=50.0, seed=1, **kwargs) -> Household:
    """A home wired CH0 = current (house), CH1 = voltage, CH2 = solar; monotonic 0 is local_start."""
    wires = kwargs.pop(
        "wires",
        {
            0: ("current", I_SCALE, False, "house"),
            1: ("voltage", V_SCALE, False, ""),
            2: ("current", I_SCALE, False, "solar"),
        },
    )
    mains = Mains(volts, hz)
    return Household(wires, bits, VREF, mains, local_start, 0.0, seed=seed, **kwargs)


def counts(house: Household, channel: int, t: np.ndarray, bits=12) -> np.ndarray:
    """What the emulated chip converts at `channel` at times t."""
    return EmulatedChip(bits, house).code(house(np.full(len(t), channel), t))


def whole_cycles(hz: float, seconds: float, rate: float = 10_000.0) -> np.ndarray:
    return np.arange(round(seconds * rate)) / rate  # seconds * hz whole cycles


def measured(house: Household, current_ch: int, t: np.ndarray, bits=12):
    """(real W, apparent VA, Irms A, Vrms V) from the chip's counts over whole cycles."""
    v = counts(house, 1, t, bits) * house.wires[1][1]
    i = counts(house, current_ch, t, bits) * house.wires[current_ch][1]
    v, i = v - v.mean(), i - i.mean()
    vrms, irms = np.sqrt(np.mean(v * v)), np.sqrt(np.mean(i * i))
    return float(np.mean(v * i)), float(vrms * irms), float(irms), float(vrms)


def first_time(name: str, seed=1, days=30, where=lambda w: w > 0) -> float:
    """The first local time (s) in `days` days from DAY0 when a load's watts satisfy `where`."""
    t = DAY0 + np.arange(0, days * DAY_S, 30.0)
    hits = np.flatnonzero(where(appliance_watts(name, t, seed)))
    assert len(hits), f"{name} never on"
    return float(t[hits[0]])


def hours(t: np.ndarray) -> np.ndarray:
    return np.mod(t, DAY_S) / 3600


# --- mains ---------------------------------------------------------------------------


@pytest.mark.parametrize("volts, hz", [(230.0, 50.0), (120.0, 60.0)])
def test_mains_rms_and_frequency(volts, hz):
    mains = Mains(volts, hz)
    t = whole_cycles(hz, 1.0, rate=12_000)
    v = mains.voltage(t)
    assert np.sqrt(np.mean(v**2)) == pytest.approx(volts, rel=2e-3)
    t = np.arange(0, 20.0, 1 / 12_000)
    v = mains.voltage(t)
    rising = np.flatnonzero((v[:-1] < 0) & (v[1:] >= 0))
    crossings = t[rising] - v[rising] / (v[rising + 1] - v[rising]) * (t[1] - t[0])
    freq = (len(crossings) - 1) / (crossings[-1] - crossings[0])
    assert freq == pytest.approx(hz, abs=0.03)  # it wanders by ±0.03 Hz


@pytest.mark.parametrize("volts, hz", [(230.0, 50.0), (120.0, 60.0)])
def test_mains_harmonics_are_present_but_slight(volts, hz):
    t = whole_cycles(hz, 1.0, rate=10_000)
    spectrum = np.abs(np.fft.rfft(Mains(volts, hz).voltage(t)))
    fundamental = spectrum[int(hz)]
    ratio = {h: spectrum[int(h * hz)] / fundamental for h in range(2, 10)}
    assert ratio[3] == pytest.approx(0.02, abs=0.002)
    assert ratio[5] == pytest.approx(0.012, abs=0.002)
    assert all(ratio[h] < 0.002 for h in (2, 4, 6, 7, 8, 9))
    assert np.sqrt(ratio[3] ** 2 + ratio[5] ** 2) < 0.05  # THD: slight


# --- loads through the day ------------------------------------------------------------


def test_kettle_runs_at_its_times():
    t = DAY0 + np.arange(0, 60 * DAY_S, 10.0)
    on = appliance_watts("kettle", t) > 0
    assert set(np.unique(appliance_watts("kettle", t))) == {0.0, 2200.0}
    times = (7.1, 10.5, 15.75, 20.25)
    h = hours(t[on])
    near = np.min([np.abs(h - (x + 0.05)) for x in times], axis=0)
    assert np.all(near <= 0.3 + 0.05 + 1e-9)  # within its ±0.3 h window, 3-minute bursts
    days_with = {x: len(np.unique(np.floor(t[on][np.abs(h - x) < 0.4] / DAY_S))) for x in times}
    assert all(30 <= n <= 58 for n in days_with.values()), days_with  # ~80 % of 60 days
    burst = np.diff(np.flatnonzero(np.diff(on.astype(int)) != 0))[::2] * 10  # on-durations
    assert set(burst.tolist()) <= {170, 180, 190}


def test_fridge_cycles_all_day():
    t = DAY0 + np.arange(0, 10 * DAY_S, 1.0)
    w = appliance_watts("fridge", t)
    assert set(np.unique(w)) == {0.0, 110.0, 400.0}  # off, running, 2 s of inrush
    on = w > 0
    assert on.mean() == pytest.approx(0.35, abs=0.02)
    starts = np.flatnonzero(np.diff(on.astype(int)) == 1)
    per_day = len(starts) / 10
    assert 28 <= per_day <= 37  # a 40-50 minute cycle
    assert np.all(w[starts + 1] == 400.0) and np.all(w[starts + 3] == 110.0)


def test_evening_and_morning_loads():
    t = DAY0 + np.arange(0, 30 * DAY_S, 60.0)
    h = hours(t)
    for name, lo, hi in [("oven", 17.8, 19.4), ("washer", 9.0, 11.3), ("lighting", 6.5, 23.0)]:
        on = appliance_watts(name, t) > 0
        assert on.any(), name
        assert h[on].min() >= lo and h[on].max() <= hi, name
    assert np.all(appliance_watts("standby", t) >= 45)


def test_solar_exports_at_midday_and_sleeps_at_night():
    t = DAY0 + np.arange(0, 30 * DAY_S, 60.0)
    h = hours(t)
    solar = circuit_watts("solar", t)
    assert np.all(solar <= 0)  # the panels' feed: power flowing out
    assert np.all(solar[(h < 6) | (h > 20)] == 0)
    assert np.all(solar[(h > 11) & (h < 15)] < -300)  # even on a cloudy day
    house = circuit_watts("house", t)
    loads = sum(appliance_watts(name, t) for name in APPLIANCES)
    np.testing.assert_allclose(house, loads + solar)
    exporting = -solar > loads
    assert np.all(house[exporting] < 0) and exporting.any()
    assert np.all(house[~exporting] >= 0)
    assert np.all(house[(h < 6) | (h > 20)] > 0)
    assert np.all(circuit_watts("house", t, solar_w=0.0) > 0)


def test_same_seed_same_home_other_seed_other_home():
    t = DAY0 + np.arange(0, 3 * DAY_S, 30.0)
    np.testing.assert_array_equal(circuit_watts("house", t, seed=4), circuit_watts("house", t, 4))
    assert not np.array_equal(circuit_watts("house", t, seed=4), circuit_watts("house", t, 5))


def test_public_signatures_stay_stable():
    # the history simulator calls these by keyword
    assert list(inspect.signature(circuit_watts).parameters) == [
        "circuit",
        "local_s",
        "seed",
        "solar_w",
    ]
    assert list(inspect.signature(circuit_apparent).parameters) == [
        "circuit",
        "local_s",
        "volts",
        "seed",
        "solar_w",
    ]


def test_circuit_apparent_real_power_is_circuit_watts():
    t = DAY0 + np.arange(0, DAY_S, 60.0)
    for circuit in ("house", "solar", "fridge", "standby", "none"):
        real, va, irms = circuit_apparent(circuit, t, 230.0)
        np.testing.assert_allclose(real, circuit_watts(circuit, t))
        np.testing.assert_allclose(va, 230.0 * irms)
        assert np.all(va >= np.abs(real) - 1e-9)  # |P| <= S always


def test_circuit_apparent_of_one_resistive_load():
    t = np.array([first_time("kettle")])
    real, va, irms = circuit_apparent("kettle", t, 230.0)
    assert real[0] == 2200.0
    # a resistor draws no harmonics, but the mains' own fundamental is a little under 230 V
    assert irms[0] == pytest.approx(2200.0 / 230.0, rel=1e-3)


# --- the pins, through the emulated chip -----------------------------------------------

SCENES = {
    "night": lambda: DAY0 + 3 * 3600.0,
    "kettle": lambda: first_time("kettle"),
    "fridge_and_lights": lambda: DAY0 + 21.5 * 3600,
    "solar_export": lambda: first_time("solar", where=lambda w: w > 2500),
}


@pytest.mark.parametrize("scene", SCENES)
def test_real_power_from_the_waveforms_matches_circuit_watts(scene):
    local = SCENES[scene]()
    house = home(local)
    t = whole_cycles(50.0, 1.0)
    for ch, circuit in ((0, "house"), (2, "solar")):
        real, va, irms, vrms = measured(house, ch, t)
        p, s, i = (np.mean(x) for x in circuit_apparent(circuit, local + t, 230.0))
        assert vrms == pytest.approx(230.0, rel=0.005)
        if circuit == "solar" and p == 0:
            assert abs(real) < 2.0
            continue
        assert real == pytest.approx(np.mean(circuit_watts(circuit, local + t)), rel=0.01)
        assert real == pytest.approx(p, rel=0.01)
        assert va == pytest.approx(s, rel=0.01)
        assert irms == pytest.approx(i, rel=0.01)
    if scene == "solar_export":
        assert measured(house, 0, t)[0] < 0  # the house exports


def test_waveforms_without_noise_match_circuit_apparent_exactly():
    local = first_time("washer")  # a motor with harmonics, plus everything else
    house = home(local)
    t = whole_cycles(50.0, 2.0, rate=20_000)
    v = house.mains.voltage(t)
    i = house.current("house", t)
    p, s, irms = (np.mean(x) for x in circuit_apparent("house", local + t, 230.0))
    assert np.mean(v * i) == pytest.approx(p, rel=5e-4)
    assert np.sqrt(np.mean(i * i)) == pytest.approx(irms, rel=5e-4)


def test_120_v_60_hz_home_on_an_mcp3008():
    local = DAY0 + 21.5 * 3600
    # 170 V peak is 340 counts of 512; 20 A peak, 400
    wires = {0: ("current", 0.05, False, "house"), 1: ("voltage", 0.5, False, "")}
    house = home(local, bits=10, volts=120.0, hz=60.0, wires=wires)
    t = whole_cycles(60.0, 1.0)
    real, _, _, vrms = measured(house, 0, t, bits=10)
    assert vrms == pytest.approx(120.0, rel=0.01)
    assert real == pytest.approx(np.mean(circuit_watts("house", local + t)), rel=0.01)


def test_inverted_ct_reads_minus_the_power():
    local = DAY0 + 21.5 * 3600
    wires = {0: ("current", I_SCALE, True, "house"), 1: ("voltage", V_SCALE, False, "")}
    t = whole_cycles(50.0, 1.0)
    real = measured(home(local, wires=wires), 0, t)[0]
    assert real == pytest.approx(-np.mean(circuit_watts("house", local + t)), rel=0.01)


def test_noise_is_about_half_an_lsb():
    wires = {0: ("current", I_SCALE, False, "none")}  # a CT on a dead circuit
    c = counts(home(DAY0, wires=wires), 0, np.arange(50_000) * 1e-4)
    # a normal spread of 0.5 LSB, truncated to codes: sqrt(0.25 + 1/12) = 0.58
    assert c.std() == pytest.approx(0.58, abs=0.05)
    assert c.mean() == pytest.approx(2047.8, abs=0.05)  # mid-scale + 0.3, truncated


@pytest.mark.parametrize("bits", [10, 12])
def test_clip_channels_hit_both_rails_whatever_the_load(bits):
    wires = {
        0: ("current", I_SCALE, False, "none"),
        1: ("voltage", V_SCALE, False, ""),
    }
    house = home(DAY0 + 3 * 3600, bits=bits, wires=wires, clip=[0, 1])
    t = whole_cycles(50.0, 0.2)
    for ch in (0, 1):
        c = counts(house, ch, t, bits)
        assert c.min() == 0 and c.max() == (1 << bits) - 1


def test_flat_and_unwired_channels_are_a_constant_mid_scale_line():
    house = home(DAY0 + 12 * 3600, flat=[1])
    t = whole_cycles(50.0, 0.2)
    assert np.unique(counts(house, 1, t)).tolist() == [2048]  # wired, but flat
    assert np.unique(counts(house, 5, t)).tolist() == [2048]  # nothing wired


def test_same_seed_gives_the_same_pins():
    t = whole_cycles(50.0, 0.1)
    channels = np.tile([0, 1, 2], len(t) // 3 + 1)[: len(t)]
    a = home(DAY0 + 12 * 3600, seed=3)(channels, t)
    b = home(DAY0 + 12 * 3600, seed=3)(channels, t)
    c = home(DAY0 + 12 * 3600, seed=4)(channels, t)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_two_chips_watch_one_home_with_their_own_noise():
    t = whole_cycles(50.0, 0.1)
    channels = np.zeros(len(t), dtype=int)
    a = home(DAY0 + 7.5 * 3600, seed=3, noise_stream=0)(channels, t)
    b = home(DAY0 + 7.5 * 3600, seed=3, noise_stream=1)(channels, t)
    lsb = VREF / 4096
    assert not np.array_equal(a, b)
    assert np.max(np.abs(a - b)) < 5 * lsb  # the same loads; only the noise differs
