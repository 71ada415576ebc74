#!/usr/bin/env python3
"""Acquisition benchmark: the daemon's CPU per sample by part, against the originals' loop;
system calls per sample; memory.

    python bench/acquisition.py [--seconds S] [--strace-seconds S] [--rss-seconds S]

1. CPU per sample of the daemon's loop by part (bench/daemon_cpu.py), for 2 and 8 channels at
   the default rate, on the emulated chip: the chip's own share (the emulated SPI controller
   and spidev, hardware and a system call on a Pi) is shown apart and is not the daemon's.
2. The originals' loop for the same samples: one py-spidev xfer2 per conversion in plain
   Python (its C call and ioctl replaced by a stand-in returning a fixed answer, so what is
   measured is the Python around it), decoded one by one, stamped, appended, and the same
   analysis per batch. On a Pi each of those xfer2 calls is also a system call and a wait
   for the bus, not measured here.
3. System calls per sample of the daemon process (strace -c -f), and its SPI ioctls per
   sample (one SPI_IOC_MESSAGE per block; the emulated chip answers them in Python, so they
   are counted, not traced).
4. RSS and CPU of `mcp_rms.py` on the emulated chip after --rss-seconds.
All measurements of 1 and 2 run in this process one after the other, so their ratios hold
on a noisy machine; absolute figures are this machine's, not a Pi's.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.daemon_cpu import PARTS, config_for, cpu_by_part  # noqa: E402
from corcypower.adc.mcp3xxx import MCP3208  # noqa: E402
from corcypower.analysis import Meter, Samples  # noqa: E402
from corcypower.batching import RawBatch  # noqa: E402


class XferStandIn:
    """py-spidev's SpiDev.xfer2 as the originals called it: a fixed 12-bit answer."""

    def xfer2(self, data: list[int]) -> list[int]:
        return [0, 0x07, 0xD2]


def original_loop(channels: int, seconds: float) -> tuple[float, float, int]:
    """(CPU s in the per-conversion loop, CPU s in the analysis, samples) of the originals' way."""
    config = config_for(channels, Path(tempfile.gettempdir()) / "unused.db", None)
    rate = config["adc.sample_rate_hz"]
    names = [c.name for c in config.channels]
    meter = Meter(config.channels, MCP3208.max_count, 50.0)
    spi = XferStandIn()
    per_batch = int(rate * config["adc.batch_seconds"])
    loop = analysis = 0.0
    samples = 0
    for b in range(int(seconds / config["adc.batch_seconds"])):
        t0 = time.process_time()
        values = {n: [] for n in names}
        stamps = {n: [] for n in names}
        for _ in range(per_batch):
            for ch, name in enumerate(names):  # EnergyMonitor's MCP3208 frame, as it sent it
                rx = spi.xfer2([0x06 | ch >> 2, (ch & 3) << 6, 0])
                values[name].append((rx[1] & 0x0F) << 8 | rx[2])
                stamps[name].append(time.monotonic())
        samples += per_batch * len(names)
        t1 = time.process_time()
        # the same analysis on the same numbers: times as the scans spaced them
        start = 1000.0 + b * config["adc.batch_seconds"]
        chunk = {
            n: Samples(start + (np.arange(per_batch) + k / len(names)) / rate, np.array(values[n]))
            for k, n in enumerate(names)
        }
        meter.feed(RawBatch(start, start + config["adc.batch_seconds"], 0, chunk))
        loop += t1 - t0
        analysis += time.process_time() - t1
    return loop, analysis, samples


def daemon_process(config_text: str, seconds: float, strace: bool, warm_s: float = 5.0) -> dict:
    """Run mcp_rms.py on the emulated chip: after `warm_s`, `seconds` of its system calls
    (strace attached to it, so start-up is not counted); then its memory and CPU."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "c.toml"
        cfg.write_text(config_text)
        trace = Path(tmp) / "strace.txt"
        argv = [sys.executable, str(REPO / "mcp_rms.py"), "--config", str(cfg)]
        proc = subprocess.Popen(argv, cwd=tmp, stderr=subprocess.DEVNULL)
        out = {}
        try:
            time.sleep(warm_s)
            if strace:
                tracer = subprocess.Popen(
                    ["strace", "-c", "-f", "-p", str(proc.pid), "-o", str(trace)],
                    stderr=subprocess.DEVNULL,
                )
            time.sleep(seconds)
            if strace:
                tracer.send_signal(signal.SIGINT)  # detaches and writes its summary
                tracer.wait(timeout=60)
                out["syscalls"] = _strace_counts(trace.read_text())
            status = Path(f"/proc/{proc.pid}/status").read_text()
            ticks = sum(int(x) for x in Path(f"/proc/{proc.pid}/stat").read_text().split()[13:15])
        finally:
            proc.terminate()
            proc.wait(timeout=60)
        out |= {k: int(v) for k, v in re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.M)}
        out["cpu_percent"] = round(100 * ticks / os.sysconf("SC_CLK_TCK") / (warm_s + seconds), 1)
    return out


def daemon_rss(seconds: float, extra: str = "") -> dict:
    """The daemon's memory (kB) and CPU after `seconds`; `extra`: more config, e.g. [[alerts]]
    (bench/alerts.py)."""
    return daemon_process(DAEMON_CONFIG + extra, seconds, strace=False, warm_s=0.0)


def _strace_counts(text: str) -> dict[str, int]:
    counts = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[3].isdigit():
            counts[fields[-1]] = int(fields[3])
    return counts


DAEMON_CONFIG = (
    '[adc]\nchip = "emulated"\n[store]\npath = "power.db"\n[api]\nport = 0\n'
    '[[channels]]\nname = "v"\nadc_channel = 1\nkind = "voltage"\nscale = 0.25\n'
    '[[channels]]\nname = "main"\nadc_channel = 0\nkind = "current"\nscale = 0.02\n'
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of signal, in-process")
    parser.add_argument("--strace-seconds", type=float, default=20.0)
    parser.add_argument("--rss-seconds", type=float, default=60.0)
    args = parser.parse_args()
    print("µs of CPU per sample (one conversion), at the default rate for the channels")
    print(
        f"{'channels':>8} {'rate Hz':>8} "
        + " ".join(f"{p:>9}" for p in PARTS)
        + f" {'daemon':>9} {'core %':>7}"
    )
    for channels in (2, 8):
        r = cpu_by_part(channels, None, args.seconds)
        per = {k: v / r["samples"] * 1e6 for k, v in r["cpu"].items()}
        daemon = sum(v for k, v in per.items() if k != "chip")
        core = 100 * (sum(r["cpu"].values()) - r["cpu"]["chip"]) / r["seconds"]
        print(
            f"{channels:>8} {r['rate_hz']:8g} "
            + " ".join(f"{per[p]:9.2f}" for p in PARTS)
            + f" {daemon:9.2f} {core:6.1f}%   (ioctls per sample 1/{r['samples'] / r['ioctls']:.0f})"
        )
    print("\nthe originals' loop: one xfer2 per conversion in Python (the call itself a stand-in)")
    print(f"{'channels':>8} {'loop':>9} {'analysis':>9} {'total':>9}   (µs per sample)")
    for channels in (2, 8):
        loop, analysis, n = original_loop(channels, args.seconds / 4)
        print(
            f"{channels:>8} {loop / n * 1e6:9.2f} {analysis / n * 1e6:9.2f} "
            f"{(loop + analysis) / n * 1e6:9.2f}   (+1 system call per sample on a Pi)"
        )
    if args.strace_seconds > 0 and shutil.which("strace"):
        r = daemon_process(DAEMON_CONFIG, args.strace_seconds, strace=True)
        samples = config_for(2, Path("x.db"), None)["adc.sample_rate_hz"] * 2 * args.strace_seconds
        calls = r["syscalls"]
        total = sum(v for k, v in calls.items() if k != "total")
        top = sorted(((v, k) for k, v in calls.items() if k != "total"), reverse=True)[:5]
        print(
            f"\ndaemon process, 2 channels, {args.strace_seconds:g} s of strace after 5 s: "
            f"{total / samples:.4f} system calls per sample ("
            + ", ".join(f"{k} {v / samples:.4f}" for v, k in top)
            + "), plus 1 SPI ioctl per 255 scans on a Pi"
        )
    if args.rss_seconds > 0:
        mem = daemon_rss(args.rss_seconds)
        print(
            f"\ndaemon process after {args.rss_seconds:g} s: RSS {mem['VmRSS'] / 1024:.1f} MB, "
            f"peak {mem['VmHWM'] / 1024:.1f} MB, CPU {mem['cpu_percent']} % of one core "
            "(the emulated chip included)"
        )


if __name__ == "__main__":
    main()
