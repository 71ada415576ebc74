#!/usr/bin/env python3
"""Acquisition benchmark: CPU per sample, ioctls per sample, and the daemon's memory.

    python bench/acquisition.py [--batches N] [--rss-seconds S]

1. CPU time per sample for reading, decoding and analysing, with 2, 4 and 8 channels:
   block reads (one SPI_IOC_MESSAGE of up to 511 conversions) against a loop that asks
   the emulated chip for one conversion per call, as both original projects did with
   py-spidev's xfer2. Both run in this process, one after the other, so the ratio holds
   on a noisy machine. "driver" excludes the time spent inside the emulated chip itself,
   which stands in for hardware that costs no CPU on a Pi.
2. ioctl calls per sample of the real daemon loop.
3. RSS of `corcypower run` on the emulated chip after --rss-seconds (default 60).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from corcypower import settings  # noqa: E402
from corcypower.acquisition import Acquisition  # noqa: E402
from corcypower.adc.chips import open_transports  # noqa: E402
from corcypower.adc.mcp3xxx import MODELS  # noqa: E402
from corcypower.analysis import Samples, analyze  # noqa: E402
from corcypower.clock import FakeClock  # noqa: E402


def config_for(channels: int, db: Path) -> settings.Config:
    tables = [{"name": "v", "adc_channel": 0, "kind": "voltage", "scale": 0.25}]
    tables += [
        {"name": f"i{k}", "adc_channel": k, "kind": "current", "scale": 0.02, "voltage": "v"}
        for k in range(1, channels)
    ]
    return settings.from_dict(
        {"adc": {"chip": "emulated"}, "store": {"path": str(db)}, "channels": tables}
    )


class TimedIoctl:
    """Wraps the emulated chip's ioctl to count calls and the CPU spent inside it."""

    def __init__(self, ioctl):
        self.ioctl, self.calls, self.cpu = ioctl, 0, 0.0

    def __call__(self, fd, request, arg):
        t0 = time.process_time()
        try:
            return self.ioctl(fd, request, arg)
        finally:
            self.cpu += time.process_time() - t0
            self.calls += 1


def block_path(config: settings.Config, batches: int) -> tuple[float, float, float]:
    """(CPU s per sample, driver-only CPU s per sample, ioctls per sample) of the daemon's way."""
    clock = FakeClock()
    transports = open_transports(config, clock)
    timed = TimedIoctl(transports[0].ioctl)
    transports[0].ioctl = timed
    acq = Acquisition(config, transports, clock)
    model = MODELS[config.chip_model]
    done = 0
    t0 = time.process_time()
    while done < batches:
        for raw in acq.read_once():
            analyze(config.channels, raw.samples, model.max_count, 50.0)
            done += 1
    cpu = time.process_time() - t0
    n = acq.conversions
    return cpu / n, (cpu - timed.cpu) / n, timed.calls / n


def per_call_path(config: settings.Config, batches: int) -> tuple[float, float]:
    """The originals' way: one transfer (one ioctl) per conversion, decoded one by one."""
    clock = FakeClock()
    transports = open_transports(config, clock)
    transport = transports[0]
    timed = TimedIoctl(transport.ioctl)
    transport.ioctl = timed
    model = MODELS[config.chip_model]
    frames = [
        np.frombuffer(model.frame(c.adc_channel), dtype=np.uint8).reshape(1, 3)
        for c in config.channels
    ]
    per_batch = int(config["adc.sample_rate_hz"] * config["adc.batch_seconds"])
    names = [c.name for c in config.channels]
    n = 0
    t0 = time.process_time()
    for _ in range(batches):
        values = {name: [] for name in names}
        times = {name: [] for name in names}
        for _ in range(per_batch):
            for name, frame in zip(names, frames, strict=True):
                block = transport.read(frame)
                values[name].append(model.decode_one(bytes(block.rx[0])))
                times[name].append(block.t0)
                n += 1
        samples = {k: Samples(np.array(times[k]), np.array(values[k])) for k in names}
        analyze(config.channels, samples, model.max_count, 50.0)
    cpu = time.process_time() - t0
    return cpu / n, (cpu - timed.cpu) / n


def daemon_rss(seconds: float, extra: str = "") -> dict[str, int]:
    """Run the daemon on the emulated chip (`extra`: more config, e.g. [[alerts]]); its memory
    (kB) from /proc after `seconds`."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "c.toml"
        cfg.write_text(
            '[adc]\nchip = "emulated"\n[store]\npath = "power.db"\n'
            '[[channels]]\nname = "v"\nadc_channel = 1\nkind = "voltage"\nscale = 0.25\n'
            '[[channels]]\nname = "main"\nadc_channel = 0\nkind = "current"\nscale = 0.02\n' + extra
        )
        proc = subprocess.Popen(
            [sys.executable, str(REPO / "mcp_rms.py"), "--config", str(cfg)],
            cwd=tmp,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(seconds)
            status = Path(f"/proc/{proc.pid}/status").read_text()
            cpu_ticks = sum(
                int(x) for x in Path(f"/proc/{proc.pid}/stat").read_text().split()[13:15]
            )
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    mem = {k: int(v) for k, v in re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.M)}
    mem["cpu_percent"] = round(100 * cpu_ticks / os.sysconf("SC_CLK_TCK") / seconds, 1)
    return mem


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--batches", type=int, default=20, help="batches per measurement")
    parser.add_argument("--rss-seconds", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(
            "channels  block µs/sample (driver)   per-call µs/sample (driver)   ratio (driver)   ioctl/sample"
        )
        for channels in (2, 4, 8):
            config = config_for(channels, Path(tmp) / "x.db")
            block, block_driver, ioctls = block_path(config, args.batches)
            call, call_driver = per_call_path(config, max(2, args.batches // 10))
            print(
                f"{channels:>8}  {block * 1e6:8.2f} ({block_driver * 1e6:6.2f})"
                f"          {call * 1e6:8.2f} ({call_driver * 1e6:6.2f})"
                f"              {call / block:6.1f} ({call_driver / block_driver:6.1f})"
                f"      1/{1 / ioctls:.0f}"
            )
    if args.rss_seconds > 0:
        mem = daemon_rss(args.rss_seconds)
        print(
            f"daemon after {args.rss_seconds:g} s: RSS {mem['VmRSS'] / 1024:.1f} MB, "
            f"peak {mem['VmHWM'] / 1024:.1f} MB, CPU {mem['cpu_percent']} % of one core"
        )


if __name__ == "__main__":
    main()
