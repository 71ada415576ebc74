"""Blocks of scans in, chunks of `adc.batch_seconds` out, cut wherever sampling had a hole.

Chunk k covers [T_k, T_k + batch_seconds) of monotonic time, so consecutive chunks never
overlap and leave no gap between them while sampling runs; analysis/tiling.py then moves each
cut to a whole mains cycle. A hole in the sampling longer than a mains cycle (a block read
late, an SPI fault, the end) closes the chunk in progress where the samples end, marked
`final` (the batch there ends at the hole) and `late` (unless it is the end); the next chunk
starts where sampling resumes, marked `gap_before`. The daemon's blocks and a capture file's
scans go through the same cuts, so `analyze --batches` sees the daemon's batches.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from corcypower.analysis import Samples

log = logging.getLogger(__name__)

LATE_GAP_S = 0.02  # a hole in sampling longer than a mains cycle ends a run of batches
CAPTURE_BLOCK = 255  # scans per block when a capture is cut like the daemon's reads


@dataclass
class Scans:
    """One block, decoded: counts per scan and channel, and when each scan began."""

    t: np.ndarray  # monotonic seconds; the conversion in column k came k * period later
    counts: np.ndarray  # (scans, channels)
    period: float  # between successive conversions

    @property
    def end(self) -> float:
        """When the block's conversions ended (where the next would have begun)."""
        return float(self.t[0]) + self.counts.size * self.period


@dataclass
class RawBatch:
    """The samples of one chunk, before analysis."""

    start: float  # monotonic seconds
    end: float
    end_wall_ms: int  # the wall clock at `end`
    samples: dict[str, Samples]
    late: bool = False  # it ends at a hole in the sampling
    gap_before: bool = False  # sampling stopped before this chunk (fault, start)
    final: bool = False  # sampling stops after it: the batch in progress ends here

    @property
    def duration_ms(self) -> int:
        return round(self.end * 1000) - round(self.start * 1000)


@dataclass
class _Source:
    """The channels one chip reads, in scan order, and what it read since the last cut."""

    names: list[str]
    chunks: dict[str, list[tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)
    last_t: float = -np.inf  # time of the last sample read

    def take(self, end: float) -> dict[str, Samples]:
        """Its samples before `end`; the rest stays for the next chunk."""
        out = {}
        for name in self.names:
            parts = self.chunks.get(name, [])
            t = np.concatenate([p[0] for p in parts]) if parts else np.empty(0)
            x = np.concatenate([p[1] for p in parts]) if parts else np.empty(0, dtype=np.int64)
            k = int(np.searchsorted(t, end))
            out[name] = Samples(t[:k], x[:k])
            self.chunks[name] = [(t[k:], x[k:])] if k < len(t) else []
        return out


class Batcher:
    """Cuts the blocks of one or more chips (taking turns on the bus) into chunks."""

    def __init__(self, sources: Sequence[Sequence[str]], batch_s: float):
        self.sources = [_Source(list(names)) for names in sources]
        self.batch_s = batch_s
        self.wall_offset_ms = 0  # wall-clock ms minus monotonic ms, kept by the acquisition
        self.batch_start: float | None = None
        self.bus_end: float | None = None  # when the last block ended
        self.gap_before = True
        self.ready: list[RawBatch] = []
        self.late_batches = 0
        self.conversions = 0

    def add(self, source: int, block: Scans) -> None:
        """A block read by chip number `source`; a hole before it ends the run."""
        t0 = float(block.t[0])
        self.conversions += block.counts.size
        if self.bus_end is not None and t0 - self.bus_end > LATE_GAP_S:
            self.interrupt()
        if self.batch_start is None:
            self.batch_start = t0
        src = self.sources[source]
        for pos, name in enumerate(src.names):
            src.chunks.setdefault(name, []).append(
                (block.t + pos * block.period, block.counts[:, pos])
            )
        src.last_t = block.end - block.period
        self.bus_end = block.end

    def cut(self) -> list[RawBatch]:
        """The chunks completed so far: every interval every chip has read past."""
        while self.batch_start is not None and all(
            s.last_t >= self.batch_start + self.batch_s for s in self.sources
        ):
            end = self.batch_start + self.batch_s
            self._emit(end)
            self.batch_start = end
        out, self.ready = self.ready, []
        return out

    def interrupt(self, late: bool = True) -> None:
        """Sampling stopped (a hole, a fault, the end): close what was read, start afresh."""
        if (
            self.batch_start is not None
            and self.bus_end is not None
            and self.bus_end > self.batch_start
        ):
            self._emit(self.bus_end, late=late, final=True)
        self.batch_start = None
        self.bus_end = None
        self.gap_before = True
        for src in self.sources:
            src.last_t = -np.inf
            src.chunks = {}

    def _emit(self, end: float, late: bool = False, final: bool = False) -> None:
        samples = {}
        for src in self.sources:
            samples.update(src.take(end))
        if not any(len(s.t) for s in samples.values()):
            log.warning(
                "a batch of %.3f s with no samples at all was not stored", end - self.batch_start
            )
            return
        self.ready.append(
            RawBatch(
                self.batch_start,
                end,
                round(end * 1000) + self.wall_offset_ms,
                samples,
                late,
                self.gap_before,
                final,
            )
        )
        self.late_batches += late
        self.gap_before = False


def capture_chunks(
    t: np.ndarray, counts: np.ndarray, names: Sequence[str], period: float, batch_s: float
) -> Iterator[RawBatch]:
    """A capture's scans (times, (scans, channels) counts) cut as the daemon cuts its reads.

    Scans are fed in blocks of evenly spaced scans, as reads come; a step in `t` longer
    than LATE_GAP_S is a hole, whatever its length.
    """
    batcher = Batcher([names], batch_s)
    breaks = np.flatnonzero(np.diff(t) > 1.5 * len(names) * period) + 1
    for run_t, run_counts in zip(np.split(t, breaks), np.split(counts, breaks), strict=True):
        for lo in range(0, len(run_t), CAPTURE_BLOCK):
            block = Scans(
                run_t[lo : lo + CAPTURE_BLOCK], run_counts[lo : lo + CAPTURE_BLOCK], period
            )
            batcher.add(0, block)
            yield from batcher.cut()
    batcher.interrupt(late=False)
    yield from batcher.cut()
