#!/usr/bin/env python3
"""MQTT benchmark: what publishing costs the daemon, in CPU and in memory.

    python bench/mqtt.py [--seconds 60] [--rss-seconds 60]

A Mosquitto broker is started here (127.0.0.1, a free port, a temporary directory), with a
subscriber on every topic so each message is really delivered.

1. CPU: the daemon, in this process, on the emulated chip with 16 channels (two MCP3208s,
   each a voltage and seven CTs; 2 batches a second), publishing every second (the default
   publish_seconds) with discovery, and its energy every 10 s, for --seconds. Reported: the
   CPU time of the publisher's own thread (utime + stime of its task in /proc), as a share
   of one core, and the messages it sent; the listener's cost per batch in the daemon's
   thread is timed apart. Only the publisher's thread is counted, so the emulated chip's own
   CPU (which hardware does not cost) and the other work of a busy machine do not blur it.
2. Memory: `corcypower run` (a real process) on the emulated chip with [mqtt] on, 2 and 16
   channels, after --rss-seconds: VmRSS and its peak VmHWM, and the same without [mqtt].
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from corcypower import settings  # noqa: E402
from corcypower.daemon import Daemon  # noqa: E402
from corcypower.services import attach  # noqa: E402
from tests.mqtt.broker import Mosquitto, Subscriber  # noqa: E402


def channels_toml(count: int) -> str:
    """`count` channels over two chips: on each, a voltage on input 0 and CTs after it."""
    tables = []
    for k in range(count):
        cs, adc = divmod(k, 8)
        if adc == 0:
            tables.append(
                f'[[channels]]\nname = "v{cs}"\nadc_channel = 0\ncs = {cs}\nkind = "voltage"\nscale = 0.25\n'
            )
        else:
            tables.append(
                f'[[channels]]\nname = "ct{k}"\nadc_channel = {adc}\ncs = {cs}\nkind = "current"\n'
                f'scale = 0.02\nvoltage = "v{cs}"\n'
            )
    return "".join(tables)


def config_text(directory: Path, broker: Mosquitto | None, count: int, **mqtt) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.toml"
    text = (
        f'[adc]\nchip = "emulated"\n[store]\npath = "{directory / "power.db"}"\n[api]\nport = 0\n'
    )
    if broker is not None:
        text += broker.toml(device="bench", **mqtt)
    path.write_text(text + channels_toml(count))
    return path


def thread_cpu_seconds(native_id: int) -> float:
    fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def publishing_cpu(broker: Mosquitto, seconds: float, directory: Path) -> None:
    config = settings.load(config_text(directory, broker, 16, energy_seconds=10))
    daemon = Daemon(config)
    stop = threading.Event()
    listener_s = []
    with Subscriber(broker) as sub, attach(daemon) as services:
        publisher = services.mqtt

        def timed(ts, duration_ms, stats, inner=publisher.listener):
            t0 = time.perf_counter()
            inner(ts, duration_ms, stats)
            listener_s.append(time.perf_counter() - t0)

        daemon.listeners[daemon.listeners.index(publisher.listener)] = timed
        runner = threading.Thread(target=daemon.run, args=(stop,), name="daemon")
        runner.start()
        while not publisher.connected:
            time.sleep(0.05)
        tid = publisher.thread.native_id
        cpu0, wall0, sent0 = thread_cpu_seconds(tid), time.monotonic(), len(sub.messages)
        time.sleep(seconds)
        cpu, wall = thread_cpu_seconds(tid) - cpu0, time.monotonic() - wall0
        sent = len(sub.messages) - sent0
        stop.set()
        runner.join()
    batches = len(listener_s)
    print(
        f"publishing, 16 channels, every 1 s (energy every 10 s), {wall:.0f} s: "
        f"publisher thread {cpu:.2f} s CPU = {100 * cpu / wall:.2f} % of one core; "
        f"{sent} messages received by the subscriber ({sent / wall:.1f}/s); "
        f"listener {1e6 * sum(listener_s) / max(batches, 1):.1f} µs per batch over {batches} batches"
    )


def daemon_memory(config: Path, seconds: float) -> dict[str, float]:
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "mcp_rms.py"), "--config", str(config)],
        cwd=config.parent,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(seconds)
        status = Path(f"/proc/{proc.pid}/status").read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    mem = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.M))
    return {k: int(v) / 1024 for k, v in mem.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rss-seconds", type=float, default=60.0)
    args = parser.parse_args()
    # the emulated chip's 16 channels may fall behind on a busy machine: batches flagged late
    # are still published, and the journal's warnings about it are not the subject here
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp) / "mosquitto").start()
        try:
            if args.seconds > 0:
                publishing_cpu(broker, args.seconds, Path(tmp) / "cpu")
            for count in (2, 16) if args.rss_seconds > 0 else ():
                for label, with_broker in (("with [mqtt]", broker), ("without", None)):
                    directory = Path(tmp) / f"rss-{count}-{label[:4]}"
                    mem = daemon_memory(
                        config_text(directory, with_broker, count), args.rss_seconds
                    )
                    print(
                        f"corcypower run, {count:>2} channels, {label:<11} after "
                        f"{args.rss_seconds:g} s: RSS {mem['VmRSS']:.1f} MB, peak {mem['VmHWM']:.1f} MB"
                    )
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
