"""Simulated history: days of the synthetic household, stored through the daemon's own write path.

Sampling days of waveforms would take days, so each batch's statistics are synthesised
directly from the household model (adc/household.py), the way the daemon's analysis would
report them: real and apparent power, Irms and power factor from each load's current, Vrms
and frequency of the wandering mains, and ADC counts (mean, min, max, rms) consistent with
the channel's scale. Batches tile time exactly, ending now; the rows then go through
`write_rows`, so spans, rollups and retention are exactly what the daemon would have left.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from corcypower.adc.chips import circuit_of, supply
from corcypower.adc.household import circuit_apparent
from corcypower.adc.mcp3xxx import MODELS
from corcypower.analysis import FLAG_CLIPPED, FLAG_FLAT
from corcypower.settings import Channel, Config
from corcypower.store.batches import MEASURES, Batches
from corcypower.store.database import Database
from corcypower.store.retention import Retention, expired, prune
from corcypower.store.writer import register_channels, write_rows

DAY_MS = 86_400_000
CHUNK_MS = 6 * 3_600_000  # one transaction per six hours of batches
QUARTER_MS = 900_000  # local-time offsets change on quarter hours at most


def local_seconds(ts_ms: np.ndarray) -> np.ndarray:
    """Local time (seconds since the epoch, as the household's clock reads it) at UTC ms."""
    quarter = ts_ms // QUARTER_MS
    keys, inverse = np.unique(quarter, return_inverse=True)
    offsets = np.array([time.localtime(int(k) * QUARTER_MS / 1000).tm_gmtoff for k in keys])
    return ts_ms / 1000 + offsets[inverse]


def _counts(value: np.ndarray, scale: float, max_count: int, rng) -> dict[str, np.ndarray]:
    """ADC diagnostics of a sine of RMS `value` around mid-scale, with half an LSB of noise."""
    mid = (max_count + 1) / 2 + 0.3
    rms = np.sqrt((np.nan_to_num(value) / scale) ** 2 + 0.25)
    peak = rms * np.sqrt(2) * 1.05 + 1.5  # a little harmonic crest and noise
    lo = np.clip(np.floor(mid - peak), 0, max_count).astype(np.int64)
    hi = np.clip(np.ceil(mid + peak), 0, max_count).astype(np.int64)
    flags = np.where((lo <= 0) | (hi >= max_count), FLAG_CLIPPED, 0)
    flags |= np.where(hi - lo <= 1, FLAG_FLAT, 0)
    return {
        "mean": mid + rng.normal(0.0, 0.05, len(value)),
        "min": lo,
        "max": hi,
        "rms": rms,
        "flags": flags,
    }


class Simulator:
    """Batch rows of the configured channels for any stretch of time, seeded and repeatable."""

    def __init__(self, config: Config, channel_ids: dict[str, int]):
        self.config = config
        self.ids = channel_ids
        self.batch_ms = round(config["adc.batch_seconds"] * 1000)
        self.n = round(config["adc.sample_rate_hz"] * config["adc.batch_seconds"])
        self.max_count = MODELS[config.chip_model].max_count
        self.hz = config["mains.frequency_hz"]
        self.volts = config["emulator.mains_volts"] or (230.0 if self.hz == 50 else 120.0)
        self.seed = config["emulator.seed"]

    def batches(self, ends: np.ndarray) -> Batches:
        """The rows of every channel for batches ending at `ends` (ms UTC)."""
        rng = np.random.default_rng([self.seed, int(ends[0])])
        mid = ends - self.batch_ms / 2
        t = mid / 1000
        local = local_seconds(mid.astype(np.int64))
        vrms = {}
        parts = []
        for ch in self.config.channels:  # voltages first: currents use them
            if ch.kind == "voltage":
                # evening sag of ~1 %, and a little noise, around the nominal volts
                v = self.volts * (1 - 0.01 * np.sin(np.pi * ((local / 3600) % 24 - 12) / 12) ** 2)
                vrms[ch.name] = v + rng.normal(0.0, 0.2, len(t))
                freq = self.hz + 0.03 * np.sin(2 * np.pi * t / 300) + rng.normal(0, 0.002, len(t))
                parts.append(
                    self._rows(ch, ends, vrms[ch.name], rng, vrms=vrms[ch.name], frequency_hz=freq)
                )
        for ch in self.config.channels:
            if ch.kind == "current":
                parts.append(self._current(ch, ends, local, vrms, rng))
        cols = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
        return Batches.from_arrays(**cols)

    def _current(self, ch: Channel, ends, local, vrms, rng) -> dict[str, np.ndarray]:
        measured = isinstance(ch.voltage, str) and ch.voltage in vrms
        volts = vrms[ch.voltage] if measured else float(ch.voltage or self.volts)
        if measured:  # another phase's, or between two: the loads draw from that voltage
            volts = volts * abs((supply(ch) or (1,))[0])
        real, apparent, irms = circuit_apparent(
            circuit_of(self.config, ch.name),
            local,
            volts,
            self.seed,
            self.config["emulator.solar_w"],
        )
        irms = np.sqrt(irms**2 + (0.5 * ch.scale) ** 2 / 12)  # the ADC's quantisation noise floor
        if measured:
            apparent = np.maximum(apparent, volts * irms)
            pf = np.where(apparent > 0, real / np.where(apparent > 0, apparent, 1), np.nan)
        else:  # fixed volts: the daemon reports S as P (no waveform to multiply with)
            apparent = volts * irms
            real, pf = apparent, np.full(len(ends), np.nan)
        return self._rows(
            ch,
            ends,
            irms,
            rng,
            irms=irms,
            real_power_w=real,
            apparent_power_va=apparent,
            power_factor=pf,
        )

    def _rows(self, ch: Channel, ends, rms_value, rng, **values) -> dict[str, np.ndarray]:
        k = len(ends)
        return {
            "ts": ends,
            "channel_id": np.full(k, self.ids[ch.name], dtype=np.int64),
            "duration_ms": np.full(k, self.batch_ms, dtype=np.int64),
            "n": np.full(k, self.n, dtype=np.int64),
            **_counts(rms_value, ch.scale, self.max_count, rng),
            **{name: values.get(name, np.full(k, np.nan)) for name in MEASURES},
        }


def simulate(
    db: Database,
    config: Config,
    days: float,
    end_ms: int | None = None,
    retention: Retention | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Store `days` of simulated batches ending at end_ms (now); returns rows stored.

    Time already covered in the database is skipped, so running it twice adds nothing.
    `progress` is called with the ms of simulated time done after each transaction.
    """
    retention = retention or Retention.from_config(config)
    end_ms = round(time.time() * 1000) if end_ms is None else end_ms
    ids = register_channels(db, config.channels, config["adc.chip"], end_ms, config.grid_channels)
    sim = Simulator(config, ids)
    total = round(days * DAY_MS) // sim.batch_ms
    per = max(1, CHUNK_MS // sim.batch_ms)
    stored = 0
    for first in range(0, total, per):  # batch k ends at end_ms - (total - 1 - k) batches
        k = np.arange(first, min(first + per, total), dtype=np.int64)
        ends = end_ms - (total - 1 - k) * sim.batch_ms
        with db.atomic() as conn:
            stored += write_rows(conn, sim.batches(ends), end_ms, retention)
        if progress:
            progress(len(k) * sim.batch_ms)
    while True:  # what the new rows pushed past retention, a chunk per transaction
        with db.atomic() as conn:
            if not expired(conn, retention, end_ms):
                break
            prune(conn, retention, end_ms)
    return stored
