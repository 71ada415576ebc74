"""The daemon's CPU by part, in one thread on a FakeClock: shared by bench/acquisition.py and
bench/sample_rate.py.

The daemon's own loop (acquisition → Meter → writer → live ring), run in-process so every part
can be timed with the process's CPU clock (time.process_time, this thread only), over S
seconds of signal from the emulated chip:

- chip: inside the emulated chip's ioctl. On a Pi this is the SPI controller and the kernel's
  spidev driver: hardware and a system call, not Python. Shown apart, never in the daemon's.
- reading: the transport, decoding, cutting into chunks (everything not timed elsewhere)
- analysis: Meter.feed (tiling, offsets, noise, power)
- store: Writer.add and its commits (sqlite, a temp file)
- api: the live ring's JSON encoding and a /live poll's read of it, per batch
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from corcypower import settings
from corcypower.clock import FakeClock
from corcypower.daemon import Daemon
from corcypower.live.ring import Ring

PARTS = ("chip", "reading", "analysis", "store", "api")


def config_for(
    channels: int, db: Path, rate_hz: float | None = None, **sections
) -> settings.Config:
    """One voltage channel and channels − 1 CTs on an emulated MCP3208 (rate None: the
    default for that many channels)."""
    tables = [{"name": "v", "adc_channel": 0, "kind": "voltage", "scale": 0.25}]
    tables += [
        {"name": f"i{k}", "adc_channel": k, "kind": "current", "scale": 0.02, "voltage": "v"}
        for k in range(1, channels)
    ]
    return settings.from_dict(
        {
            "adc": {"chip": "emulated"} | ({"sample_rate_hz": rate_hz} if rate_hz else {}),
            "emulator": {"chip": "mcp3208"},
            "store": {"path": str(db)},
            "channels": tables,
            **sections,
        }
    )


class Timer:
    """Wraps a callable: adds the CPU time spent in it to `spent[part]`."""

    def __init__(self, spent: dict[str, float], part: str, fn):
        self.spent, self.part, self.fn = spent, part, fn

    def __call__(self, *args, **kw):
        t0 = time.process_time()
        try:
            return self.fn(*args, **kw)
        finally:
            self.spent[self.part] += time.process_time() - t0


def cpu_by_part(channels: int, rate_hz: float | None, seconds: float) -> dict:
    """CPU seconds per part for `seconds` of signal; and samples, ioctls, batches."""
    spent = dict.fromkeys(PARTS, 0.0)
    with tempfile.TemporaryDirectory() as tmp:
        config = config_for(channels, Path(tmp) / "bench.db", rate_hz)
        clock = FakeClock()
        daemon = Daemon(config, clock)
        daemon.open_store()
        for transport in daemon.transports.values():
            transport.ioctl = Timer(spent, "chip", transport.ioctl)
        daemon.meter.feed = Timer(spent, "analysis", daemon.meter.feed)
        daemon.writer.add = Timer(spent, "store", daemon.writer.add)
        flush = Timer(spent, "store", daemon.writer.flush)
        ring = Ring(600.0, config["adc.batch_seconds"])

        def poll(ts, duration_ms, stats):  # the dashboard's poller asks for what is new
            ring.add(ts, duration_ms, stats)
            ring.since(ts - 1)

        daemon.listeners.append(Timer(spent, "api", poll))
        t0 = time.process_time()
        start = clock.monotonic()
        while clock.monotonic() - start < seconds:
            for raw in daemon.acquisition.read_once():
                daemon.process(raw)
            if daemon.writer.due():
                flush()
        flush()
        total = time.process_time() - t0
        daemon.db.close()
    spent["reading"] = total - sum(v for k, v in spent.items() if k != "reading")
    ioctls = sum(t.ioctl_calls for t in daemon.transports.values())
    return {
        "cpu": spent,
        "samples": daemon.acquisition.conversions,
        "ioctls": ioctls,
        "batches": daemon.batches,
        "seconds": clock.monotonic() - start,
        "rate_hz": config["adc.sample_rate_hz"],
    }
