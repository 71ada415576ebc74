"""Batches that tile time: every sample is analysed in exactly one batch, over whole cycles.

The acquisition hands over chunks of `adc.batch_seconds` of samples. A chunk rarely ends on a
whole mains cycle, and a batch that kept only the whole cycles inside it would drop the
part-cycles at both ends: energy never counted (up to 27 % of a batch's power when a kettle
switches in one). So each batch ends at the reference voltage's last rising zero crossing
before the chunk's end (or after whole periods of the fitted or nominal frequency, with no
voltage), and the part-cycle after it is carried into the next batch, which starts exactly
there. Consecutive batches share their boundary; the straight segment across it is split
between them (integration.py), so the integrals over the batches add up to the integral over
the recording.

A hole in the sampling (a block read late, an SPI fault) ends a run of batches: the last
batch ends where the samples end, whatever the phase, and is flagged late; the next run
starts where sampling resumes. Nothing is bridged; the hole stays a hole between two rows.

Boundaries are monotonic seconds. A batch's `duration_ms` is the difference of its two
boundaries rounded to whole milliseconds, so the integer durations of a run add up to its
length exactly, and its wall-clock stamp is its end boundary plus the acquisition's offset
between the two clocks: consecutive stamps differ by exactly the duration.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from corcypower.analysis.cycles import Reference, Window, make_window, reference, whole_periods
from corcypower.analysis.derived import reach_deg
from corcypower.analysis.flags import FLAG_LATE, FLAG_VOLTAGE_FALLBACK
from corcypower.analysis.noise import NoiseFloor
from corcypower.analysis.power import ChannelStats, analyze
from corcypower.analysis.samples import Samples, typical_step
from corcypower.settings import Channel

MARGIN_STEPS = 8  # samples kept beyond each boundary: segments and interpolation nodes
CONTIGUOUS_S = 1e-6  # a chunk starting farther than this from the last one's end: a hole


@dataclass
class Batch:
    """One analysed interval [start, end) of monotonic time and the samples around it."""

    start: float
    end: float
    end_wall_ms: int  # the wall clock at `end`, ms UTC
    samples: dict[str, Samples]  # with a margin on both sides; the window says what counts
    window: Window
    late: bool  # it ends at a hole in the sampling
    gap_before: bool  # it starts where sampling (re)started

    @property
    def start_ms(self) -> int:
        return round(self.start * 1000)

    @property
    def duration_ms(self) -> int:
        return round(self.end * 1000) - self.start_ms


class Tiler:
    """Cuts chunks of samples into batches on whole cycles, carrying the part-cycle over.

    A chunk has `start`, `end` (monotonic s), `end_wall_ms`, `samples` (by channel name),
    `late`, `gap_before` and `final` (sampling stops after it), as acquisition.RawBatch.
    """

    def __init__(self, channels: Sequence[Channel], mains_hz: float):
        self.channels, self.mains_hz = list(channels), mains_hz
        # how far from a current sample its voltage is taken: the CT's lead, a derived phase
        reach = [reach_deg(c) for c in self.channels if c.kind == "current"]
        self.lead_s = max(reach, default=0.0) / (360.0 * mains_hz * 0.9)  # at 10 % slow mains
        self.boundary: float | None = None  # where the next batch starts; None: no run
        self.on_crossing = False  # the boundary is a crossing of the reference voltage
        self.samples: dict[str, Samples] = {}  # the carry, then the carry and the new chunk
        self.chunk_end = 0.0
        self.offset_ms = 0  # wall clock ms − monotonic ms, from the last chunk
        self.gap_before = True
        self.late = False

    def cut(self, chunk) -> list[Batch]:
        """The batches a chunk completes: one as a rule, none when it is too short to hold a
        cycle (its samples wait for the next), two when it shows the last one was lost."""
        out = []
        if self.boundary is not None and (
            chunk.gap_before or abs(chunk.start - self.chunk_end) > CONTIGUOUS_S
        ):
            out += self._close(late=True)  # a chunk went missing: what was carried ends here
        if self.boundary is None:  # a run starts, on a whole millisecond (see _close)
            self.boundary, self.samples = round(chunk.start * 1000) / 1000, {}
            self.gap_before, self.late, self.on_crossing = True, False, False
        self.samples = _joined(self.samples, chunk.samples)
        self.chunk_end = chunk.end
        self.offset_ms = chunk.end_wall_ms - round(chunk.end * 1000)
        self.late |= chunk.late
        if chunk.final:
            return out + self._close(self.late)
        ref = reference(self.channels, self.samples, self.mains_hz)
        margin = self._margin()
        end, on_crossing = next_boundary(ref, self.boundary, chunk.end - margin)
        if end is not None:
            out.append(self._batch(ref, end, self.late, margin, on_crossing))
            self.samples = {n: s.between(end - margin, np.inf) for n, s in self.samples.items()}
            self.boundary, self.on_crossing = end, on_crossing
            self.gap_before, self.late = False, False
        return out

    def _margin(self) -> float:
        steps = [typical_step(s.t) for s in self.samples.values() if len(s.t) > 1]
        return self.lead_s + MARGIN_STEPS * (max(steps) if steps else 0.0)

    def _close(self, late: bool) -> list[Batch]:
        """The run ends: a last batch up to the end of its samples, whatever the phase.

        A run starts and ends on whole milliseconds (within half of one of its samples), so
        its rounded length is its length: only boundaries inside a run are cycles'.
        """
        start, end = self.boundary, round(self.chunk_end * 1000) / 1000
        if end <= start or not any(len(s.between(start, end).t) for s in self.samples.values()):
            self.boundary = None
            return []
        ref = reference(self.channels, self.samples, self.mains_hz)
        batch = self._batch(ref, end, late, self._margin(), end_on_crossing=False)
        self.boundary = None
        return [batch]

    def _batch(
        self, ref: Reference, end: float, late: bool, margin: float, end_on_crossing: bool
    ) -> Batch:
        """The batch from the boundary to `end`."""
        start = self.boundary
        samples = {n: s.between(start - margin, end + margin) for n, s in self.samples.items()}
        return Batch(
            start,
            end,
            round(end * 1000) + self.offset_ms,
            samples,
            make_window(ref, start, end, (self.on_crossing, end_on_crossing)),
            late,
            self.gap_before,
        )


def next_boundary(ref: Reference, start: float, limit: float) -> tuple[float | None, bool]:
    """Where a batch from `start` ends, and whether that is a crossing: the reference's last
    crossing before `limit` (at least half a cycle on), else the last whole period of its
    frequency; None: too short."""
    if limit <= start:
        return None, False
    if ref.source == "voltage":
        later = ref.crossings[(ref.crossings > start + 0.5 / ref.hz) & (ref.crossings <= limit)]
        if len(later):
            return float(later[-1]), True
    cycles = whole_periods(start, limit, ref.hz)
    return (start + cycles / ref.hz if cycles >= 1 else None), False


def _joined(carry: Mapping[str, Samples], new: Mapping[str, Samples]) -> dict[str, Samples]:
    out = {}
    for name, s in new.items():
        old = carry.get(name)
        if old is None or not len(old.t):
            out[name] = s
        else:
            out[name] = Samples(
                np.concatenate([old.t, s.t]), np.concatenate([old.counts, s.counts])
            )
    return out


class Meter:
    """The daemon's measurement: chunks in, tiled batches and their statistics out.

    The daemon, `corcypower analyze --batches` and `calibrate` all measure through one, so a
    capture analysed batch by batch gives what the daemon stores.
    """

    def __init__(self, channels: Sequence[Channel], max_count: int, mains_hz: float):
        self.channels, self.max_count, self.mains_hz = list(channels), max_count, mains_hz
        self.tiler = Tiler(self.channels, mains_hz)
        self.noise = NoiseFloor()

    def feed(
        self, chunk, volts: Mapping[str, float] | None = None, fallback=()
    ) -> list[tuple[Batch, list[ChannelStats]]]:
        """The batches a chunk completes, analysed; `volts` and `fallback` as the daemon's
        remote voltages: volts by current channel, and which of them are the nominal stand-in."""
        out = []
        for batch in self.tiler.cut(chunk):
            stats = analyze(
                self.channels,
                batch.samples,
                self.max_count,
                self.mains_hz,
                volts,
                batch.window,
                self.noise,
            )
            for s in stats:
                s.flags |= (FLAG_LATE if batch.late else 0) | (
                    FLAG_VOLTAGE_FALLBACK if s.name in fallback else 0
                )
            out.append((batch, stats))
        return out
