"""Analytic mains waveforms, sampled in scan order and quantised like the ADC, for the analysis tests.

A waveform is a sum of harmonics, each given by its RMS value and phase, so what the
analysis must find is known in closed form (IEEE 1459-2010, single phase):

    Vrms² = Σ V_h²    Irms² = Σ I_h²    P = Σ V_h·I_h·cos(α_h − β_h)    S = Vrms·Irms
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from corcypower import settings
from corcypower.acquisition import Acquisition
from corcypower.adc.emulated import EmulatedChip, EmulatedSpiDevice
from corcypower.adc.mcp3xxx import MODELS
from corcypower.adc.spi import SpiTransport
from corcypower.analysis import ChannelStats, Samples, analyze
from corcypower.clock import FakeClock
from corcypower.settings import Channel

T0 = 1000.0  # seconds: monotonic times are large, as on a Pi that has been up a while
VREF = 3.3
MCP3008, MCP3208 = 1023, 4095  # the largest count of each chip
EXACT, UNQUANTISED = 1e-9, 1e-5  # relative tolerances: why, in tests/analysis/test_power.py
# the current harmonics of a switch-mode supply (a capacitor-input rectifier) drawing 0.55 A of
# fundamental: narrow pulses at the voltage's peaks, 1 A RMS in all, a crest factor of 3
SWITCH_MODE = (
    (3, 0.85, 180.0),
    (5, 0.65, 0.0),
    (7, 0.45, 180.0),
    (9, 0.28, 0.0),
    (11, 0.15, 180.0),
)


@dataclass(frozen=True)
class Wave:
    """√2·Σ r_h·sin(h·2πf·t + φ_h): `rms` and `phase_deg` of the fundamental, then harmonics."""

    rms: float
    hz: float
    phase_deg: float = 0.0
    harmonics: tuple[tuple[int, float, float], ...] = ()  # (order, rms, phase_deg)

    def parts(self) -> list[tuple[int, float, float]]:
        return [(1, self.rms, self.phase_deg), *self.harmonics]

    def __call__(self, t: np.ndarray) -> np.ndarray:
        w = 2 * np.pi * self.hz
        return sum(
            np.sqrt(2) * r * np.sin(h * w * np.asarray(t) + np.radians(p))
            for h, r, p in self.parts()
        )

    @property
    def total_rms(self) -> float:
        return float(np.sqrt(sum(r * r for _, r, _ in self.parts())))

    def shifted(self, deg: float) -> Wave:
        """The same wave `deg` degrees (of the fundamental) earlier: every harmonic h moves h·deg."""
        return Wave(
            self.rms,
            self.hz,
            self.phase_deg + deg,
            tuple((h, r, p + h * deg) for h, r, p in self.harmonics),
        )


def lag(v: Wave, pf: float, leading: bool = False) -> float:
    """The phase of a current at power factor `pf` against v's fundamental."""
    angle = np.degrees(np.arccos(pf))
    return v.phase_deg + (angle if leading else -angle)


def unbalanced(negative: float, angle_deg: float) -> list[Wave]:
    """L1, L2, L3 with a negative-sequence part `negative` of the positive one (the voltage
    unbalance factor) at `angle_deg`: sums of two phasors turning opposite ways."""
    out = []
    for k in range(3):
        z = 230.0 * np.exp(-2j * np.pi * k / 3) + 230.0 * negative * np.exp(
            1j * (np.radians(angle_deg) + 2 * np.pi * k / 3)
        )
        out.append(Wave(float(abs(z)), 50.0, float(np.degrees(np.angle(z)))))
    return out


UNBALANCE_LOADS = ((0.9, False), (1.0, False), (0.7, True))  # (PF, leading)


def unbalance_errors(negative: float, pf: float, leading: bool) -> tuple[float, float]:
    """The worst errors of P (relative) and PF (absolute) on L2 and L3 derived from L1
    (voltage_shift_deg 120 and 240) when the supply is unbalanced by `negative` (see
    unbalanced), over the unbalance's angle, for loads at `pf`; exact samples, one batch."""
    worst_p = worst_pf = 0.0
    for angle in range(0, 360, 30):
        l1, l2, l3 = unbalanced(negative, angle)
        i2, i3 = Wave(8.0, 50.0, lag(l2, pf, leading)), Wave(8.0, 50.0, lag(l3, pf, leading))
        inputs = [
            Input(voltage("v"), l1, 2048.0),
            Input(current("l2", voltage_shift_deg=120.0), i2, 2048.0),
            Input(current("l3", adc_channel=2, voltage_shift_deg=240.0), i3, 2048.0),
        ]
        got = by_name(inputs, scan(inputs, bits=None))
        for name, v, i in (("l2", l2, i2), ("l3", l3, i3)):
            p, s = real_power(v, i), apparent_power(v, i)
            worst_p = max(worst_p, rel(got[name].real_power_w, p))
            worst_pf = max(worst_pf, abs(got[name].power_factor - p / s))
    return worst_p, worst_pf


def real_power(v: Wave, i: Wave) -> float:
    """P = Σ V_h·I_h·cos(α_h − β_h): only harmonics present in both carry power."""
    volts = {h: (r, p) for h, r, p in v.parts()}
    return sum(
        volts[h][0] * r * np.cos(np.radians(volts[h][1] - p)) for h, r, p in i.parts() if h in volts
    )


def apparent_power(v: Wave, i: Wave) -> float:
    return v.total_rms * i.total_rms


def rel(got: float, want: float) -> float:
    return abs(got - want) / abs(want)


def by_name(
    inputs: list[Input], samples: dict[str, Samples], mains_hz=50.0, max_count=MCP3208
) -> dict[str, ChannelStats]:
    """The analysis of one batch of the inputs' samples, by channel name."""
    stats = analyze([x.channel for x in inputs], samples, max_count, mains_hz)
    return {s.name: s for s in stats}


def assert_power(r: ChannelStats, v: Wave, i: Wave, tol: float) -> None:
    """Irms, P, S, PF of a current channel against IEEE 1459; tol relative to S."""
    s = apparent_power(v, i)
    assert rel(r.irms, i.total_rms) <= tol
    assert abs(r.real_power_w - real_power(v, i)) <= tol * s
    assert abs(r.apparent_power_va - s) <= tol * s
    assert abs(r.power_factor - real_power(v, i) / s) <= 2 * tol  # P/S: both errors add


def adc_counts(x: np.ndarray, scale: float, bias: float, bits: int | None) -> np.ndarray:
    """What the ADC reads for x (volts or amps): `bias` + x/scale counts.

    With `bits`, as the chip converts the pin voltage: floor(2^bits · v / VREF), clipped to
    the rails; without, the exact value (floats), to test the analysis apart from quantisation.
    """
    exact = bias + np.asarray(x) / scale
    if bits is None:
        return exact
    pin = exact * VREF / (1 << bits)
    return np.clip(np.floor(pin * (1 << bits) / VREF), 0, (1 << bits) - 1).astype(np.int64)


@dataclass(frozen=True)
class Input:
    """One ADC input: the channel as configured, what it measures, and its bias in counts."""

    channel: Channel
    wave: Wave | None  # None: nothing connected (a flat line at the bias)
    bias: float


def scan(
    inputs: list[Input],
    seconds: float = 0.5,
    rate_hz: float = 2000.0,
    bits: int | None = 12,
    noise_lsb: float = 0.0,
    seed: int = 1,
    t0: float = T0,
) -> dict[str, Samples]:
    """Samples of every input as the acquisition takes them: a scan converts the inputs one
    after another, a frame apart (frame = 1 / (rate · inputs)), and scans repeat at rate_hz."""
    t, counts, frame = record(inputs, seconds, rate_hz, bits, noise_lsb, seed, t0=t0)
    return {
        x.channel.name: Samples(t + pos * frame, counts[:, pos]) for pos, x in enumerate(inputs)
    }


def voltage(name: str = "v", scale: float = 0.25, adc_channel: int = 0) -> Channel:
    return Channel(name, adc_channel, "voltage", scale)


def current(
    name: str = "i", scale: float = 0.02, voltage: str | float = "v", adc_channel: int = 1, **kw
) -> Channel:
    return Channel(name, adc_channel, "current", scale, voltage=voltage, **kw)


def lsb_bound(rms_counts: float) -> float:
    """The most quantisation can move an RMS value, relative to it.

    The chip truncates: e = floor(x) − x lies in (−1, 0], so e less its mean has an RMS of at
    most 0.5 count, and |rms(x + e) − rms(x)| <= rms(e − mean e) (Minkowski, with the
    positive weights of a time average): at most 0.5 count, whatever the signal.
    """
    return 0.5 / rms_counts


def power_bound(v_counts: float, i_counts: float) -> float:
    """The most quantisation can move P (or S), relative to S = Vrms·Irms.

    P' − P = mean(v·e_i) + mean(e_v·i) + mean(e_v·e_i), each bounded by Cauchy-Schwarz with
    rms(e) <= 0.5 count; the voltage's error passes through the interpolation onto the
    current's times, whose weights sum to at most 1.39 in absolute value (the Lebesgue
    constant of 6 equally spaced nodes, between the middle two).
    """
    ev = 1.39 * 0.5 / v_counts
    ei = 0.5 / i_counts
    return ev + ei + ev * ei


def turns(
    inputs: list[Input], chips: int, nominal_hz: float, seconds: float = 0.5, rate_hz=2000.0
) -> dict[str, Samples]:
    """Exact samples of one chip's inputs when `chips` chips take turns on the bus, as the
    acquisition does (acquisition.py, `_chip`): each turn is as many scans as come closest to
    one nominal mains cycle, then the other chips' turns leave a hole as long."""
    frame = 1.0 / (rate_hz * len(inputs) * chips)  # every channel of every chip shares the bus
    scan_s = frame * len(inputs)
    per_turn = round(1.0 / nominal_hz / scan_s)
    starts = T0 + np.arange(0.0, seconds, chips * per_turn * scan_s)
    t_scan = (starts[:, None] + np.arange(per_turn) * scan_s).ravel()
    return {
        x.channel.name: Samples(
            t_scan + pos * frame,
            adc_counts(x.wave(t_scan + pos * frame), x.channel.scale, x.bias, None),
        )
        for pos, x in enumerate(inputs)
    }


def acquire(config: dict, pins: dict[int, Callable], batches: int = 2) -> list:
    """Batches from the real chain: for each chip select, an emulated chip whose pins read
    `pins[cs](channels, times) -> volts`, behind the real SPI transport (its ioctl answered
    by the emulated spidev), cut into batches by the real acquisition on a fake clock."""
    cfg = settings.from_dict(config)
    clock = FakeClock()
    transports = {}
    for cs in cfg.chip_selects():
        bits = MODELS[cfg.chip_model].bits
        device = EmulatedSpiDevice(EmulatedChip(bits, pins[cs]), clock.monotonic)
        transports[cs] = SpiTransport(
            cfg["adc.spi_bus"],
            cs,
            cfg.spi_clock_hz,
            settings.frame_seconds(cfg),
            opener=lambda bus, dev, hz, device=device: device,
            ioctl=device.ioctl,
            clock=clock,
        )
    acquisition = Acquisition(cfg, transports, clock)
    out = []
    while len(out) < batches:
        out += acquisition.read_once()
    return cfg, out


def two_chips(v: Wave, i: Wave, v2: Wave, i2: Wave, batches: int, **adc):
    """Chunks of the real chain with two emulated MCP3208s taking turns, each with a voltage
    and a CT: v, i on CE0 (ch0, ch1), v2, i2 on CE1 (ch0, ch4)."""
    channels = [
        {"name": "v", "adc_channel": 0, "kind": "voltage", "scale": 0.25},
        {"name": "i", "adc_channel": 1, "kind": "current", "scale": 0.02, "voltage": "v"},
        {"name": "v2", "adc_channel": 0, "kind": "voltage", "scale": 0.25, "cs": 1},
        {"name": "i2", "adc_channel": 4, "kind": "current", "scale": 0.01, "cs": 1},
    ]
    channels[-1]["voltage"] = "v2"
    return acquire(
        {"adc": {"chip": "mcp3208", **adc}, "channels": channels},
        {
            0: pin_volts({0: (v, 0.25, 2048.0), 1: (i, 0.02, 2048.0)}, bits=12),
            1: pin_volts({0: (v2, 0.25, 2040.0), 4: (i2, 0.01, 2050.0)}, bits=12),
        },
        batches,
    )


def pin_volts(wires: dict[int, tuple[Wave | None, float, float]], bits: int):
    """An emulated chip's inputs: ADC channel -> (wave, scale, bias counts); others sit at mid-scale."""

    def pins(channels: np.ndarray, times: np.ndarray) -> np.ndarray:
        volts = np.full(len(times), VREF / 2)
        for ch, (wave, scale, bias) in wires.items():
            at = channels == ch
            x = wave(times[at]) if wave is not None else 0.0
            volts[at] = (bias + x / scale) * VREF / (1 << bits)
        return volts

    return pins


# --- recordings: seconds of scans, measured as the daemon measures them -------------------


def record(
    inputs: list[Input],
    seconds: float = 4.0,
    rate_hz: float = 2000.0,
    bits: int | None = 12,
    noise_lsb: float = 0.0,
    seed: int = 1,
    drift_counts: float = 0.0,
    t0: float = T0,
):
    """A recording as a capture file holds it: scan times, an (n_scans, inputs) array of
    counts in scan order, and the frame between conversions. An input's wave may be any
    function of time (a load switching); `drift_counts`: every bias moves by this much,
    linearly, over the recording."""
    frame = 1.0 / (rate_hz * len(inputs))
    t = t0 + np.arange(round(seconds * rate_hz)) / rate_hz
    rng = np.random.default_rng(seed)
    columns = []
    for pos, inp in enumerate(inputs):
        ts = t + pos * frame
        x = inp.wave(ts) if inp.wave is not None else np.zeros(len(ts))
        x = x + noise_lsb * inp.channel.scale * rng.standard_normal(len(ts))
        bias = inp.bias + drift_counts * (ts - t0) / seconds
        columns.append(adc_counts(x, inp.channel.scale, bias, bits))
    return t, np.column_stack(columns), frame


def measure(inputs: list[Input], mains_hz: float = 50.0, batch_s: float = 0.5, **record_kw):
    """A recording of the inputs measured as the daemon would (batches tiled on whole cycles,
    the noise floor tracked): the whole by channel name, and the batches."""
    from corcypower.offline import measure_scans

    bits = record_kw.get("bits", 12)
    t, counts, frame = record(inputs, **record_kw)
    channels = [x.channel for x in inputs]
    result = measure_scans(
        channels,
        t,
        counts,
        [c.name for c in channels],
        frame,
        (1 << (bits or 12)) - 1,
        mains_hz,
        batch_s,
    )
    return {s.name: s for s in result.summary}, result.batches


@dataclass(frozen=True)
class Step:
    """A load switching at `at` (seconds): `before` until then, `after` from then on."""

    before: Callable | None
    after: Callable | None
    at: float

    def __call__(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t)
        zero = np.zeros(len(t))
        before = self.before(t) if self.before is not None else zero
        after = self.after(t) if self.after is not None else zero
        return np.where(t >= self.at, after, before)


def write_capture(path, inputs: list[Input], chip: str = "mcp3208", **record_kw) -> None:
    """A recording of the inputs written as a capture file (`corcypower capture`'s format)."""
    from corcypower.capture import CaptureWriter

    t, counts, frame = record(inputs, **record_kw)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = CaptureWriter(f, chip, frame * 1e6, [x.channel.adc_channel for x in inputs])
        writer.write(t - t[0], counts)


HOUSE = (  # a capture of whole cycles (it loops seamlessly): 230 V, 6.5 A at PF 0.5 and harmonics
    Wave(230.0, 50.0, 0.0, ((3, 6.9, 10.0), (5, 4.6, -30.0))),
    Wave(6.5, 50.0, -60.0, ((3, 1.5, 200.0), (5, 0.8, 40.0))),
)


def house_capture(
    path, seconds: float = 4.0, rate_hz: float = 2000.0, load=HOUSE[1]
) -> list[Input]:
    """HOUSE as an MCP3208 capture: mains_v on ch1, then main on ch0, half a count of noise."""
    inputs = [
        Input(voltage("mains_v", adc_channel=1), HOUSE[0], 2048.0),
        Input(current("main", adc_channel=0, voltage="mains_v"), load, 2046.5),
    ]
    write_capture(path, inputs, seconds=seconds, rate_hz=rate_hz, noise_lsb=0.5)
    return inputs
