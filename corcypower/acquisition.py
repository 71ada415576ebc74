"""Continuous acquisition: chips are read block after block and cut into batches that tile time.

Batch k covers [T_k, T_k + batch_seconds) of monotonic time, exactly, so consecutive
batches never overlap and never leave a gap between them while sampling runs; energy is
later integrated from these durations. A stall longer than a batch (an SPI fault, say)
ends the tiling: the next batch starts where sampling resumes, and the hole is a gap.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
from dataclasses import dataclass, field

import numpy as np

from corcypower.adc.mcp3xxx import MODELS, ChipModel
from corcypower.adc.spi import MAX_TRANSFERS, SpiTransport
from corcypower.analysis import Samples
from corcypower.clock import Clock
from corcypower.errors import SPIError
from corcypower.settings import Config

log = logging.getLogger(__name__)

LATE_GAP_S = 0.02  # a hole in sampling longer than a mains cycle makes a batch late
BACKOFF_S = (0.5, 1, 2, 5, 10, 30)


@dataclass
class RawBatch:
    """The samples of one batch, before analysis."""

    start: float  # monotonic seconds
    end: float
    end_wall_ms: int  # the wall clock at `end`
    samples: dict[str, Samples]
    late: bool = False
    gap_before: bool = False  # sampling stopped before this batch (fault, start)

    @property
    def duration_ms(self) -> int:
        return round((self.end - self.start) * 1000)


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
class _Chip:
    transport: SpiTransport
    model: ChipModel
    names: list[str]  # channel names in scan order
    tx: np.ndarray  # frames of one block
    scans: int
    chunks: dict[str, list[tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)
    last_t: float = -np.inf  # time of the last sample read

    def read(self) -> Scans:
        """One block: a single ioctl, decoded."""
        block = self.transport.read(self.tx)
        counts = self.model.decode(block.rx).reshape(self.scans, len(self.names))
        t = block.t0 + np.arange(self.scans) * len(self.names) * block.period
        return Scans(t, counts, block.period)


class Acquisition:
    """Reads every chip in turn, forever, and puts RawBatch objects on `batches`."""

    def __init__(
        self,
        config: Config,
        transports: dict[int, SpiTransport],
        clock: Clock | None = None,
        queue_size: int = 240,
    ):
        self.config = config
        self.clock = clock or Clock()
        self.model = MODELS[config.chip_model]
        self.batch_s = config["adc.batch_seconds"]
        self.batches: queue.Queue[RawBatch] = queue.Queue(maxsize=queue_size)
        self.chips = [self._chip(cs, t) for cs, t in sorted(transports.items())]
        self.batch_start: float | None = None
        self.bus_end: float | None = None  # when the last block ended
        self.late = False
        self.gap_before = True
        self.ready: list[RawBatch] = []
        self.late_batches = 0
        self.dropped_batches = 0
        self.spi_errors = 0
        self.conversions = 0
        self.crashed: BaseException | None = None

    def _chip(self, cs: int, transport: SpiTransport) -> _Chip:
        names = [c.name for c in self.config.channels if c.cs == cs]
        frames = np.frombuffer(
            b"".join(self.model.frame(self.config.channel(n).adc_channel) for n in names),
            dtype=np.uint8,
        ).reshape(-1, 3)
        if len(self.config.chip_selects()) == 1:
            scans = MAX_TRANSFERS // len(names)  # as many conversions per ioctl as it takes
        else:
            # chips take turns; a turn a little longer than a cycle stays whole cycles even when
            # the mains runs up to 3 % slow
            turn = 1.03 / self.config["mains.frequency_hz"]
            scans = max(
                1,
                min(
                    MAX_TRANSFERS // len(names), math.ceil(turn / (transport.frame_s * len(names)))
                ),
            )
        tx = np.tile(frames, (scans, 1))
        return _Chip(transport, self.model, names, tx, scans, {n: [] for n in names})

    # --- the thread ----------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Read until `stop` is set; SPI faults are logged and retried with backoff."""
        try:
            self._run(stop)
            self.interrupt(
                late=False
            )  # stopping: what was read since the last batch is a batch too
            self._publish()
        except BaseException as exc:  # anything else is a bug: let the daemon exit and restart
            self.crashed = exc
            log.exception("acquisition stopped by an unexpected error")
        finally:
            for chip in self.chips:
                chip.transport.close()

    def _run(self, stop: threading.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                for chip in self.chips:
                    self.add_block(chip, chip.read())
            except SPIError as exc:
                self.spi_errors += 1
                delay = BACKOFF_S[min(failures, len(BACKOFF_S) - 1)]
                if failures == 0 or delay == BACKOFF_S[-1]:
                    log.error("%s; retrying in %g s (the monitor keeps running)", exc, delay)
                failures += 1
                self.interrupt()
                self._publish()
                self.clock.sleep_until(self.clock.monotonic() + delay, stop)
                continue
            if failures:
                log.warning("SPI reads work again after %d failures", failures)
                failures = 0
            self._publish()

    def _publish(self) -> None:
        for batch in self.cut():
            try:
                self.batches.put_nowait(batch)
            except queue.Full:
                self.dropped_batches += 1
                log.error(
                    "analysis is not keeping up: dropped a batch (%d so far)", self.dropped_batches
                )

    def read_once(self) -> list[RawBatch]:
        """One round of blocks from every chip, then the batches that completed (no thread)."""
        for chip in self.chips:
            self.add_block(chip, chip.read())
        return self.cut()

    # --- blocks in, batches out ----------------------------------------------------

    def add_block(self, chip: _Chip, block: Scans) -> None:
        t0 = float(block.t[0])
        self.conversions += block.counts.size
        if self.bus_end is not None and t0 - self.bus_end > LATE_GAP_S:
            if self.batch_start is not None and t0 >= self.batch_start + self.batch_s:
                self.interrupt()  # the stall outlasted the batch: close it where data ended
            else:
                self.late = True
        if self.batch_start is None:
            self.batch_start = t0
        for pos, name in enumerate(chip.names):
            chip.chunks[name].append((block.t + pos * block.period, block.counts[:, pos]))
        chip.last_t = block.end - block.period
        self.bus_end = block.end

    def cut(self) -> list[RawBatch]:
        """The batches completed so far: every interval every chip has read past."""
        while self.batch_start is not None and all(
            c.last_t >= self.batch_start + self.batch_s for c in self.chips
        ):
            end = self.batch_start + self.batch_s
            self._emit(end)
            self.batch_start = end
        out, self.ready = self.ready, []
        return out

    def interrupt(self, late: bool = True) -> None:
        """Sampling stopped (a fault, or the end): close what was read; the next batch starts afresh."""
        if (
            self.batch_start is not None
            and self.bus_end is not None
            and self.bus_end > self.batch_start
        ):
            self._emit(min(self.bus_end, self.batch_start + self.batch_s), late=late)
        self._restart()

    def _restart(self) -> None:
        self.batch_start = None
        self.bus_end = None
        self.gap_before = True
        self.late = False
        for chip in self.chips:
            chip.last_t = -np.inf
            for name in chip.names:
                chip.chunks[name] = []

    def _emit(self, end: float, late: bool = False) -> None:
        samples = {}
        for chip in self.chips:
            for name in chip.names:
                t = (
                    np.concatenate([c[0] for c in chip.chunks[name]])
                    if chip.chunks[name]
                    else np.empty(0)
                )
                x = (
                    np.concatenate([c[1] for c in chip.chunks[name]])
                    if chip.chunks[name]
                    else np.empty(0, dtype=np.int64)
                )
                k = np.searchsorted(t, end)
                samples[name] = Samples(t[:k], x[:k])
                chip.chunks[name] = [(t[k:], x[k:])] if k < len(t) else []
        now = self.clock.monotonic()
        batch = RawBatch(
            self.batch_start,
            end,
            self.clock.wall_ms() - round((now - end) * 1000),
            samples,
            self.late or late,
            self.gap_before,
        )
        if batch.late:
            self.late_batches += 1
        self.late = False
        self.gap_before = False
        if all(len(s.t) >= 4 for s in samples.values()):  # too few samples to say anything
            self.ready.append(batch)
