#!/usr/bin/env python3
"""Alerts benchmark: what the rules cost per batch, and the daemon's memory with alerts on.

    python bench/alerts.py [--batches N] [--rss-seconds S]

1. CPU per batch of the engine (the only part of alerts in the daemon's loop) with 1, 10 and
   50 rules over 8 channels, against the analysis of the same batch, in this process one
   after the other, so the ratio holds on a noisy machine.
2. RSS of `corcypower run` on the emulated chip after --rss-seconds (default 60), without
   alerts and then with 10 rules notifying the log and a webhook (a local HTTP server).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from acquisition import config_for, daemon_rss  # noqa: E402

from corcypower.acquisition import Acquisition  # noqa: E402
from corcypower.adc.chips import open_transports  # noqa: E402
from corcypower.adc.mcp3xxx import MODELS  # noqa: E402
from corcypower.alerts.engine import Engine  # noqa: E402
from corcypower.alerts.rules import Rule  # noqa: E402
from corcypower.analysis import FLAG_CLIPPED, analyze  # noqa: E402
from corcypower.clock import FakeClock  # noqa: E402


def rules(count: int, currents: list[str]) -> list[Rule]:
    """A mix: power on a channel, on the total, and flags."""
    out = []
    for k in range(count):
        name, kind = f"r{k}", ("power", "total", "flags")[k % 3]
        if kind == "flags":
            out.append(Rule(name, "flags", None, tuple(currents), flags=FLAG_CLIPPED))
        else:
            channels = tuple(currents) if kind == "total" else (currents[k % len(currents)],)
            out.append(Rule(name, "power", kind, channels, above_w=1e5, below_w=-1e5))
    return out


def per_batch(batches: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = config_for(8, Path(tmp) / "x.db")
    clock = FakeClock()
    acq = Acquisition(config, open_transports(config, clock), clock)
    model = MODELS[config.chip_model]
    done = []
    while len(done) < batches:
        done += list(acq.read_once())
    t0 = time.process_time()
    results = [analyze(config.channels, raw.samples, model.max_count, 50.0) for raw in done]
    analysis = (time.process_time() - t0) / batches
    currents = [c.name for c in config.channels if c.kind == "current"]
    print("rules  engine µs/batch   analysis µs/batch   engine / analysis")
    for count in (1, 10, 50):
        engine = Engine(rules(count, currents))
        repeat = 20
        t0 = time.process_time()
        for _ in range(repeat):
            for k, stats in enumerate(results):
                engine.batch(1_000_000 + k * 500, 500, stats)
        cost = (time.process_time() - t0) / (repeat * batches)
        print(f"{count:>5}  {cost * 1e6:15.1f}   {analysis * 1e6:17.0f}   {cost / analysis:17.2%}")


class Sink(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--rss-seconds", type=float, default=60.0)
    args = parser.parse_args()
    per_batch(args.batches)
    if args.rss_seconds <= 0:
        return
    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    # ten rules, some of which fire on the emulated household (main draws more than 100 W)
    alerts = f'[notify.webhook]\nurl = "{url}"\n' + "".join(
        f'[[alerts]]\nname = "a{k}"\nchannel = "main"\nabove_w = {100 * k}\nfor_seconds = 1\n'
        'notify = ["log", "webhook"]\n'
        for k in range(10)
    )
    for label, extra in (("without alerts", ""), ("with 10 alerts", alerts)):
        mem = daemon_rss(args.rss_seconds, extra)
        print(
            f"daemon {label}, after {args.rss_seconds:g} s: RSS {mem['VmRSS'] / 1024:.1f} MB, "
            f"peak {mem['VmHWM'] / 1024:.1f} MB, CPU {mem['cpu_percent']} % of one core"
        )
    server.shutdown()


if __name__ == "__main__":
    main()
