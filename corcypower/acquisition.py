"""Continuous acquisition: chips are read block after block, and the blocks cut into chunks.

A thread reads every chip in turn, one ioctl per block, and never does anything else, so a
slow commit on an SD card leaves no hole in the sampling. The cutting (batching.py: chunks of
batch_seconds, a hole ends a run) and the tiling on whole cycles (analysis/tiling.py) happen
downstream. SPI faults are logged and retried with backoff; sampling resumes after a hole.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
from dataclasses import dataclass

import numpy as np

from corcypower.adc.mcp3xxx import MODELS, ChipModel
from corcypower.adc.spi import MAX_TRANSFERS, SpiTransport
from corcypower.batching import LATE_GAP_S, Batcher, RawBatch, Scans
from corcypower.clock import Clock
from corcypower.errors import SPIError
from corcypower.settings import Config

log = logging.getLogger(__name__)

__all__ = ["LATE_GAP_S", "Acquisition", "RawBatch", "Scans"]

BACKOFF_S = (0.5, 1, 2, 5, 10, 30)
# The wall clock read against the monotonic one jitters by a millisecond; a change of the
# offset between them beyond this is a step of the wall clock (NTP), and is followed.
WALL_JITTER_MS = 3


@dataclass
class _Chip:
    transport: SpiTransport
    model: ChipModel
    names: list[str]  # channel names in scan order
    tx: np.ndarray  # frames of one block
    scans: int

    def read(self) -> Scans:
        """One block: a single ioctl, decoded."""
        block = self.transport.read(self.tx)
        counts = self.model.decode(block.rx).reshape(self.scans, len(self.names))
        t = block.t0 + np.arange(self.scans) * len(self.names) * block.period
        return Scans(t, counts, block.period)


class Acquisition:
    """Reads every chip in turn, forever, and puts RawBatch chunks on `batches`."""

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
        self.batches: queue.Queue[RawBatch] = queue.Queue(maxsize=queue_size)
        self.chips = [self._chip(cs, t) for cs, t in sorted(transports.items())]
        self.batcher = Batcher([c.names for c in self.chips], config["adc.batch_seconds"])
        self.wall_offset_ms: int | None = None
        self.dropped_batches = 0
        self.spi_errors = 0
        self.crashed: BaseException | None = None

    @property
    def conversions(self) -> int:
        return self.batcher.conversions

    @property
    def late_batches(self) -> int:
        return self.batcher.late_batches

    def _chip(self, cs: int, transport: SpiTransport) -> _Chip:
        names = [c.name for c in self.config.channels if c.cs == cs]
        frames = np.frombuffer(
            b"".join(self.model.frame(self.config.channel(n).adc_channel) for n in names),
            dtype=np.uint8,
        ).reshape(-1, 3)
        most = MAX_TRANSFERS // len(names)  # as many conversions per ioctl as it takes
        if len(self.config.chip_selects()) == 1:
            scans = most
        else:
            # chips take turns; a turn a little longer than a cycle stays whole cycles even when
            # the mains runs up to 3 % slow
            turn = 1.03 / self.config["mains.frequency_hz"]
            scans = max(1, min(most, math.ceil(turn / (transport.frame_s * len(names)))))
        return _Chip(transport, self.model, names, np.tile(frames, (scans, 1)), scans)

    # --- the thread ----------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Read until `stop` is set; SPI faults are logged and retried with backoff."""
        try:
            self._run(stop)
            self.batcher.interrupt(late=False)  # stopping: what was read is a batch too
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
                self._read_all()
            except SPIError as exc:
                self.spi_errors += 1
                delay = BACKOFF_S[min(failures, len(BACKOFF_S) - 1)]
                if failures == 0 or delay == BACKOFF_S[-1]:
                    log.error("%s; retrying in %g s (the monitor keeps running)", exc, delay)
                failures += 1
                self.batcher.interrupt()
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
                    "dropped the batch ending at %.3f s: analysis is not keeping up (%d queued); "
                    "%d dropped so far",
                    batch.end,
                    self.batches.qsize(),
                    self.dropped_batches,
                )

    def read_once(self) -> list[RawBatch]:
        """One round of blocks from every chip, then the chunks that completed (no thread)."""
        self._read_all()
        return self.cut()

    def _read_all(self) -> None:
        for k, chip in enumerate(self.chips):
            self.batcher.add(k, chip.read())

    def cut(self) -> list[RawBatch]:
        self._sync_wall()
        return self.batcher.cut()

    def _sync_wall(self) -> None:
        """The offset that stamps chunks: held steady, so stamps differ by the durations."""
        offset = self.clock.wall_ms() - round(self.clock.monotonic() * 1000)
        if self.wall_offset_ms is None or abs(offset - self.wall_offset_ms) > WALL_JITTER_MS:
            self.wall_offset_ms = offset
        self.batcher.wall_offset_ms = self.wall_offset_ms
