"""A synthetic household: what the emulated chip's pins see, and the same home's power per minute.

Mains is 230 V / 50 Hz (or 120 V / 60 Hz) with a little 3rd and 5th harmonic, a slowly
wandering frequency and noise. The loads follow a day: a fridge cycling, a kettle a few
times a day, an oven in the evening, a washing machine some mornings, lights in the
evening, electronics on standby, and solar panels exporting around midday. Each day's
schedule is drawn from the seed, so the same seed and the same day give the same home.

Circuits (what a current channel measures): "house" is the grid meter (all loads minus
solar), "solar" the panels' feed (negative: power flowing out), or one appliance alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

DAY_S = 86_400.0
# The grid's voltage harmonics: (order, amplitude relative to the fundamental, phase)
MAINS_HARMONICS = ((3, 0.02, math.pi), (5, 0.012, 0.0))
# the fundamental's share of the RMS voltage
MAINS_FUNDAMENTAL = 1 / math.sqrt(1 + sum(a * a for _, a, _ in MAINS_HARMONICS))


@dataclass(frozen=True)
class Appliance:
    """How one load draws current: displacement angle and harmonic content."""

    lag_deg: float  # current lags voltage by this (motors); negative leads
    harmonics: tuple[tuple[int, float], ...] = ()  # (order, amplitude relative to fundamental)


APPLIANCES = {
    "standby": Appliance(-15.0, ((3, 0.6), (5, 0.35), (7, 0.15))),  # switch-mode supplies
    "fridge": Appliance(41.0),  # compressor motor, PF ~0.75
    "kettle": Appliance(0.0),
    "oven": Appliance(0.0),
    "washer": Appliance(30.0, ((3, 0.05),)),
    "lighting": Appliance(-8.0, ((3, 0.3), (5, 0.15))),  # LED drivers
}


def _day_random(seed: int, day: np.ndarray, salt: int) -> np.ndarray:
    """A repeatable number in [0, 1) per (seed, day, salt): schedules differ per day, not per run."""
    x = (day.astype(np.int64) * 1_000_003 + salt * 7919 + seed * 104_729) & 0xFFFFFFFF
    x = (x ^ (x >> 16)) * 0x45D9F3B & 0xFFFFFFFF
    x = (x ^ (x >> 16)) * 0x45D9F3B & 0xFFFFFFFF
    return ((x ^ (x >> 16)) & 0xFFFFFF) / float(1 << 24)


def _window(hour: np.ndarray, start: np.ndarray | float, minutes: float) -> np.ndarray:
    return (hour >= start) & (hour < start + minutes / 60.0)


def appliance_watts(
    name: str, local_s: np.ndarray, seed: int = 1, solar_w: float = 3000.0
) -> np.ndarray:
    """Power of one load (W, >= 0) at local times `local_s` (seconds since the epoch, local)."""
    t = np.asarray(local_s, dtype=float)
    day = np.floor(t / DAY_S)
    hour = (t - day * DAY_S) / 3600.0
    r = lambda salt: _day_random(seed, day, salt)  # noqa: E731
    if name == "standby":
        return 55.0 + 10.0 * np.sin(2 * np.pi * t / 1800.0)
    if name == "fridge":
        # a 40-50 min cycle, 35 % of it running: the fridge's own, the same every day
        period = 2400.0 + 600.0 * _day_random(seed, np.zeros(1), 1)[0]
        phase = np.mod(t + 977.0 * seed, period) / period
        running = phase < 0.35
        inrush = phase * period < 2.0
        return np.where(running, np.where(inrush, 400.0, 110.0), 0.0)
    if name == "kettle":
        on = np.zeros_like(t, dtype=bool)
        for k, start in enumerate((7.1, 10.5, 15.75, 20.25)):
            on |= _window(hour, start + 0.6 * (r(10 + k) - 0.5), 3.0) & (r(20 + k) < 0.8)
        return np.where(on, 2200.0, 0.0)
    if name == "oven":
        start = 17.8 + 0.6 * r(30)
        cooking = _window(hour, start, 60.0) & (r(31) < 0.6)
        minute = (hour - start) * 60.0
        thermostat = (minute < 15.0) | (np.mod(minute, 10.0) < 6.0)
        return np.where(cooking & thermostat, 2000.0, 0.0)
    if name == "washer":
        runs = r(40) < 0.4
        minute = (hour - (9.0 + r(41))) * 60.0
        heating = (minute >= 0) & (minute < 15)
        washing = (minute >= 15) & (minute < 73)
        spinning = (minute >= 73) & (minute < 78)
        watts = np.where(heating, 2000.0, np.where(washing, 250.0, np.where(spinning, 500.0, 0.0)))
        return np.where(runs, watts, 0.0)
    if name == "lighting":
        evening = (hour >= 17.5 + 0.5 * r(50)) & (hour < 23.0)
        morning = (hour >= 6.5) & (hour < 7.5)
        return np.where(evening, 150.0, np.where(morning, 80.0, 0.0))
    if name == "solar":
        daylight = np.clip(np.sin(np.pi * (hour - 6.0) / 14.0), 0.0, None) ** 2
        clouds = 0.75 + 0.25 * np.sin(2 * np.pi * t / 1300.0 + 6.0 * r(60)) * np.sin(
            2 * np.pi * t / 310.0
        )
        return solar_w * daylight * np.where(r(61) < 0.3, 0.4 * clouds, clouds)
    raise ValueError(f"unknown load {name!r}")


def circuit_loads(circuit: str) -> list[tuple[str, float]]:
    """(load, sign) pairs that make up a circuit; solar counts negative (power flowing out)."""
    if circuit == "house":
        return [(name, 1.0) for name in APPLIANCES] + [("solar", -1.0)]
    if circuit == "solar":
        return [("solar", -1.0)]
    if circuit == "none":
        return []
    return [(circuit, 1.0)]


def circuit_watts(circuit: str, local_s, seed: int = 1, solar_w: float = 3000.0) -> np.ndarray:
    """Real power of a circuit (W; negative = exported) at local times."""
    t = np.asarray(local_s, dtype=float)
    total = np.zeros_like(t)
    for name, sign in circuit_loads(circuit):
        total += sign * appliance_watts(name, t, seed, solar_w)
    return total


def circuit_apparent(circuit: str, local_s, volts: float, seed: int = 1, solar_w: float = 3000.0):
    """(real W, apparent VA, Irms A) of a circuit on mains of `volts` RMS, as Household draws it.

    Each load's current is a phasor per harmonic order; the loads' phasors add (their
    harmonics are in step with the same mains), so Irms = sqrt(sum over orders |sum I_h|^2)
    and apparent power = volts * Irms (IEEE 1459: S = V I). Real power is circuit_watts.
    """
    t = np.asarray(local_s, dtype=float)
    phasors: dict[int, np.ndarray] = {}
    real = np.zeros_like(t)
    for name, sign in circuit_loads(circuit):
        watts = appliance_watts(name, t, seed, solar_w)
        real += sign * watts
        app = APPLIANCES.get(name, Appliance(0.0))
        i1 = watts * amps_per_watt(app, volts)
        for order, ratio in ((1, 1.0), *app.harmonics):
            angle = order * math.radians(app.lag_deg)
            phasors[order] = phasors.get(order, 0) + sign * i1 * ratio * np.exp(-1j * angle)
    irms = np.sqrt(sum(np.abs(p) ** 2 for p in phasors.values())) if phasors else np.zeros_like(t)
    return real, volts * irms, irms


def amps_per_watt(app: Appliance, volts: float) -> float:
    """RMS fundamental amps per watt a load draws on mains of `volts` RMS.

    Real power is V1 I1 cos(lag) plus, for each harmonic both have, Vh Ih cos(angle between
    them); solving for I1 makes the waveform's mean(v * i) equal the load's watts exactly.
    """
    lag = math.radians(app.lag_deg)
    k = math.cos(lag)
    for order, ratio in app.harmonics:
        for v_order, v_ratio, v_phase in MAINS_HARMONICS:
            if order == v_order:
                k += v_ratio * ratio * math.cos(v_phase + order * lag)
    return 1.0 / (volts * MAINS_FUNDAMENTAL * k)


class Mains:
    """The grid's voltage: nominal RMS and frequency, slowly wandering, with a few harmonics."""

    def __init__(self, volts: float, hz: float):
        self.volts, self.hz = volts, hz
        self.peak = volts * math.sqrt(2) * MAINS_FUNDAMENTAL  # so the RMS, harmonics in, is `volts`

    def phase(self, t: np.ndarray) -> np.ndarray:
        """Angle of the fundamental: the frequency wanders ±0.03 Hz over five minutes."""
        return 2 * np.pi * (self.hz * t - 0.03 * 300 / (2 * np.pi) * np.cos(2 * np.pi * t / 300))

    def voltage(self, t: np.ndarray) -> np.ndarray:
        theta = self.phase(t)
        wave = np.sin(theta)
        for order, amp, phi in MAINS_HARMONICS:
            wave = wave + amp * np.sin(order * theta + phi)
        return self.peak * wave


class Household:
    """Pin voltages of one chip wired to the synthetic home, as the emulated chip's inputs.

    `wires` maps an ADC channel to (kind, scale, invert, circuit[, supply]): what is wired to
    it and how many volts or amps one count stands for, so the counts come out as configured.
    `supply` is the voltage the circuit's loads draw from, as a phasor of the mains' (the
    voltage inputs'): e^(-j·120°) for loads on L2, 2 for a 240 V load across split-phase
    legs; 1 when left out.
    Times are monotonic seconds; `wall_offset_s + utc_offset_s` turns them into local time,
    which the loads follow. The home is the seed's; `noise_stream` tells apart the noise of
    two chips watching the same home.
    """

    def __init__(
        self,
        wires: dict[int, tuple[str, float, bool, str]],
        bits: int,
        vref: float,
        mains: Mains,
        wall_offset_s: float,
        utc_offset_s: float,
        seed: int = 1,
        solar_w: float = 3000.0,
        clip: Iterable[int] = (),
        flat: Iterable[int] = (),
        noise_stream: int = 0,
    ):
        self.wires, self.bits, self.vref, self.mains = wires, bits, vref, mains
        self.local_offset = wall_offset_s + utc_offset_s  # monotonic -> local seconds
        self.seed, self.solar_w = seed, solar_w
        self.clip, self.flat = set(clip), set(flat)
        self.lsb = vref / (1 << bits)
        self.mid = vref / 2 + 0.3 * self.lsb  # the bias divider: mid-scale, off the code edge
        self.rng = np.random.default_rng((seed, noise_stream))

    def current(self, circuit: str, t: np.ndarray, supply: complex = 1.0) -> np.ndarray:
        """Instantaneous amps of a circuit: each load at its angle with its harmonics, on the
        phase (and at the volts) of `supply`, the mains' phasor times a complex number."""
        theta = self.mains.phase(t) + float(np.angle(supply))
        local = t + self.local_offset
        amps = np.zeros_like(t)
        for name, sign in circuit_loads(circuit):
            watts = appliance_watts(name, local, self.seed, self.solar_w)
            if not watts.any():
                continue
            app = APPLIANCES.get(name, Appliance(0.0))
            lag = math.radians(app.lag_deg)
            peak = watts * math.sqrt(2) * amps_per_watt(app, self.mains.volts * abs(supply))
            wave = np.sin(theta - lag)
            for order, ratio in app.harmonics:
                wave = wave + ratio * np.sin(order * (theta - lag))
            amps += sign * peak * wave
        return amps

    def __call__(self, channels: np.ndarray, times: np.ndarray) -> np.ndarray:
        volts = np.empty(len(times))
        for ch in np.unique(channels):
            sel = channels == ch
            volts[sel] = self._pin(int(ch), times[sel])
        return volts

    def _pin(self, ch: int, t: np.ndarray) -> np.ndarray:
        if ch in self.flat or ch not in self.wires:
            return np.full(len(t), self.mid)  # nothing connected: the bias alone
        kind, scale, invert, circuit, *supply = self.wires[ch]
        value = self.mains.voltage(t) if kind == "voltage" else self.current(circuit, t, *supply)
        counts = (-value if invert else value) / scale
        if (
            ch in self.clip
        ):  # overdriven: 8x the signal, on a swing past both rails whatever the load
            counts = 8 * counts + 0.75 * (1 << self.bits) * np.sin(self.mains.phase(t))
        noise = self.rng.normal(0.0, 0.5, len(t))  # half an LSB of noise, as a quiet board has
        return self.mid + (counts + noise) * self.lsb
