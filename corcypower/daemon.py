"""The daemon: acquisition thread → analysis → writer (and listeners such as the live ring).

Wiring only; the math is in analysis, the SQL in store. Acquisition runs in its own thread
so a slow commit on an SD card never leaves a hole in the sampling.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
from collections.abc import Callable, Collection

from corcypower.acquisition import Acquisition, RawBatch
from corcypower.adc.chips import open_transports
from corcypower.adc.mcp3xxx import MODELS
from corcypower.analysis import FLAG_LATE, Batch, ChannelStats, Meter
from corcypower.clock import Clock, Stamper
from corcypower.errors import StoreError
from corcypower.export import start_exporter
from corcypower.settings import Config
from corcypower.store.database import Database
from corcypower.store.lock import WriterLock
from corcypower.store.retention import Retention
from corcypower.store.writer import Writer, last_ts, register_channels
from corcypower.systemd import Notifier, Watchdog

log = logging.getLogger(__name__)

# (ts ms, duration ms, stats) of each batch, as soon as it is analysed
Listener = Callable[[int, int, list[ChannelStats]], None]


class MinuteSummary:
    """A one-line journal summary per minute: what the house did, and what went wrong."""

    def __init__(self, config: Config):
        self.config = config
        self.reset()

    def reset(self) -> None:
        self.batches = self.late = 0
        self.energy_ws: dict[str, float] = {}
        self.volts: dict[str, float] = {}
        self.flags: dict[str, int] = {}

    def add(self, duration_ms: int, stats: list[ChannelStats]) -> None:
        self.batches += 1
        for s in stats:
            self.flags[s.name] = self.flags.get(s.name, 0) | s.flags
            if s.real_power_w is not None:
                self.energy_ws[s.name] = (
                    self.energy_ws.get(s.name, 0.0) + s.real_power_w * duration_ms / 1000
                )
            if s.vrms is not None:
                self.volts[s.name] = s.vrms
        self.late += any(s.flags & FLAG_LATE for s in stats)

    def line(self, seconds: float) -> str:
        from corcypower.analysis import flag_names

        parts = [f"{n} {e / seconds:.0f} W" for n, e in self.energy_ws.items()]
        parts += [f"{n} {v:.1f} V" for n, v in self.volts.items()]
        warnings = [f"{n}: {', '.join(flag_names(f))}" for n, f in self.flags.items() if f]
        text = f"last minute: {', '.join(parts)}; {self.batches} batches, {self.late} late"
        return text + (f"; check {'; '.join(warnings)}" if warnings else "")

    def warnings(self) -> list[str]:
        """One journal warning per flagged channel, saying what to check."""
        from corcypower.analysis import FLAG_NAMES

        out = []
        for name, flags in self.flags.items():
            kind = self.config.channel(name).kind
            for bit, flag in FLAG_NAMES.items():
                advice = ADVICE.get(f"{flag} {kind}") or ADVICE.get(flag)
                if flags & bit and advice:
                    out.append(f"{name} ({kind}) {flag}: {advice}")
        return out


# What to check when a channel is flagged ("flag" or "flag kind"), for the journal. A flat
# current channel gets no warning: a CT on a circuit drawing nothing (solar at night) is flat.
ADVICE = {
    "clipped current": "the CT's signal is larger than the ADC's range: use a smaller burden "
    "resistor (or a CT rated for more amps), then run `corcypower calibrate`",
    "clipped voltage": "the AC adapter's signal is larger than the ADC's range: raise the "
    "divider's top resistor, then run `corcypower calibrate`",
    "flat voltage": "no mains waveform: check the AC-AC adapter is plugged in and wired to this input",
    "no-cycles voltage": "no mains cycles found: check the AC-AC adapter (an AC one, not DC) "
    "and its divider",
    "late": "sampling fell behind: the Pi is overloaded or the SD card is slow (check `top`)",
    "nominal-voltage": "using the nominal mains voltage: the voltage source is not measuring",
    "below-noise voltage": "no mains voltage, only noise: check the AC-AC adapter is plugged in",
    "voltage-clipped": "its voltage channel clips, so its power reads low: see that channel",
    "voltage-below-noise": "its voltage channel sees no mains, so its power is unknown",
    "dead-read": "every count 0 (or full scale): the ADC did not answer; check its power, "
    "its ground and the SPI wiring (MISO)",
}


class Daemon:
    """Samples, analyses and stores until told to stop."""

    def __init__(self, config: Config, clock: Clock | None = None, transports=None):
        self.config = config
        self.clock = clock or Clock()
        self.transports = (
            transports if transports is not None else open_transports(config, self.clock)
        )
        self.acquisition = Acquisition(config, self.transports, self.clock)
        self.max_count = MODELS[config.chip_model].max_count
        # tiles the chunks into batches of whole cycles and analyses them (analysis/tiling.py)
        self.meter = Meter(config.channels, self.max_count, config["mains.frequency_hz"])
        self.listeners: list[Listener] = []
        self.volts: Callable[[], dict[str, float]] = dict  # remote or fallback volts by channel
        # the channels whose volts in the last volts() answer are the nominal stand-in (flagged)
        self.volts_fallback: Callable[[], Collection[str]] = frozenset
        self.stamper = Stamper()
        self.batches = 0
        self.summary = MinuteSummary(config)
        self.lock: WriterLock | None = None
        self.db: Database | None = None
        self.writer: Writer | None = None
        self.exporter = None  # the MySQL export thread while run() runs, if [export.mysql]
        self.notifier = Notifier.from_env()  # systemd Type=notify; a no-op elsewhere

    def open_store(self) -> None:
        """Lock the database (one daemon per file), open it and register the channels."""
        self.lock = WriterLock(self.config.db_path, "corcypower run")
        try:
            self.db, ids = self._open_db()
        except BaseException:
            self.lock.release()
            raise
        self.writer = Writer(
            self.db,
            ids,
            self.config["store.commit_seconds"],
            self.clock,
            Retention.from_config(self.config),
            self.config["store.buffer_rows"],
            reopen=self._reopen,
        )
        self.stamper = Stamper(last_ts(self.db))

    def _open_db(self) -> tuple[Database, dict[str, int]]:
        db = Database(self.config.db_path)
        try:
            ids = register_channels(
                db,
                self.config.channels,
                self.config["adc.chip"],
                self.clock.wall_ms(),
                self.config.grid_channels,
            )
        except BaseException:
            db.close()
            raise
        return db, ids

    def _reopen(self) -> tuple[Database, dict[str, int]]:
        """The writer's way to the file now at the path, after ours was deleted or replaced."""
        if self.lock.lost():  # `rm power.db*` took the lock file too: take it again
            self.lock.take()
        db, ids = self._open_db()
        self.db = db
        return db, ids

    def close_store(self) -> None:
        """Close the database and let another writer have it (what was not flushed is not stored)."""
        self.writer.db.close()
        self.lock.release()

    @property
    def last_ts(self) -> int | None:
        return self.stamper.last_ts

    def timestamp(self, raw: Batch | RawBatch) -> int:
        """The batch's end in ms UTC, always after the previous one (see clock.Stamper)."""
        return self.stamper.stamp(raw.end, raw.end_wall_ms, raw.duration_ms)

    def process(self, raw: RawBatch) -> list[ChannelStats]:
        """Analyse a chunk and store the batches it completes; the last one's statistics.

        A chunk completes one batch as a rule (tiling.py): none when it is too short to hold
        a cycle, two when the one before it was lost.
        """
        out: list[ChannelStats] = []
        for batch, stats in self.meter.feed(raw, self.volts(), self.volts_fallback()):
            self.store(batch, stats)
            out = stats
        return out

    def store(self, batch: Batch, stats: list[ChannelStats]) -> None:
        ts = self.timestamp(batch)
        self.writer.add(ts, batch.duration_ms, stats)
        self.batches += 1
        self.summary.add(batch.duration_ms, stats)
        for listener in self.listeners:
            listener(ts, batch.duration_ms, stats)

    def run(self, stop: threading.Event) -> None:
        """The main loop: until `stop` is set, then flush everything and return."""
        if self.writer is None:
            self.open_store()
        # [export.mysql]: closed minutes go to the central database from a thread of their own
        exporter = self.exporter = start_exporter(self.config, self.clock)
        acq_stop = threading.Event()
        thread = threading.Thread(
            target=self.acquisition.run, args=(acq_stop,), name="acquisition", daemon=True
        )
        thread.start()
        log.info(
            "sampling %d channels on %s at %g Hz each into %s (commit every %g s)",
            len(self.config.channels),
            self.config["adc.chip"],
            self.config["adc.sample_rate_hz"],
            self.config.db_path,
            self.config["store.commit_seconds"],
        )
        minute_start = self.clock.monotonic()
        watchdog = Watchdog(self.notifier, self.clock.monotonic)
        announced = False
        try:
            while not stop.is_set():
                if self.acquisition.crashed is not None:
                    raise RuntimeError("acquisition failed") from self.acquisition.crashed
                try:
                    raw = self.acquisition.batches.get(timeout=0.2)
                except queue.Empty:
                    raw = None
                if raw is not None:
                    self.process(raw)
                    # ready means stored: the first batch is committed at once, not in a minute
                    if not announced and self.writer.flush():
                        announced = True
                        self.notifier.ready(f"sampling {len(self.config.channels)} channels")
                # progress, not just a spinning loop: a hung SPI read stops the pings
                watchdog.tick((self.batches, self.acquisition.spi_errors))
                if self.writer.due():
                    self.writer.flush()
                now = self.clock.monotonic()
                if now - minute_start >= 60:
                    line = self.summary.line(now - minute_start)
                    log.info(line)
                    for warning in self.summary.warnings():
                        log.warning(warning)
                    self.notifier.status(line)  # shown by `systemctl status mcpd`
                    self.summary.reset()
                    minute_start = now
        finally:
            self.notifier.stopping()
            acq_stop.set()
            thread.join(timeout=1.5)
            try:
                self._store_the_rest()
            finally:  # whatever happened above: the file is closed and the exporter stopped
                self.close_store()
                if exporter is not None:
                    exporter.stop()  # what it had not sent waits in power.db for the next start
                log.info(self._final_line())
        if self.writer.pending:
            raise StoreError(
                f"{self.writer.db.path}: {len(self.writer.pending)} rows could not be stored "
                f"({self.writer.last_error})"
            )

    def _store_the_rest(self) -> None:
        """Analyse what was read before the stop and commit it all; errors are logged, not raised."""
        while True:
            try:
                raw = self.acquisition.batches.get_nowait()
            except queue.Empty:
                break
            try:
                self.process(raw)
            except Exception:
                log.exception("a batch read before the stop could not be analysed")
        try:
            self.writer.flush()
        except Exception as exc:  # the database was taken over or replaced by a foreign file
            self.writer.last_error = str(exc)
            log.error("the final commit failed: %s", exc)

    def _final_line(self) -> str:
        """What happened to the rows, as it is: written, already there, lost."""
        w = self.writer
        line = f"stopped after {self.batches} batches; {w.rows_written} rows written"
        if w.rows_skipped:
            line += f"; {w.rows_skipped} rows already stored by another writer"
        if w.rows_dropped:
            line += f"; {w.rows_dropped} rows dropped while the database was unwritable"
        if w.pending:
            line += f"; {len(w.pending)} rows NOT stored ({w.last_error})"
        return line


def install_signal_handlers(stop: threading.Event) -> None:
    """SIGTERM (systemctl stop) and SIGINT (Ctrl-C) only ask the loop to stop."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.set())
