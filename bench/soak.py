#!/usr/bin/env python3
"""Soak: the daemon on the emulated chip for N minutes, under load and abuse, at once.

    sudo python bench/soak.py [--minutes 30] [--clients 200] [--slow 50] [--kill-every 300]
                              [--full-at 720] [--full-for 60] [--commit 60]

What runs together, for --minutes:
- `python mcp_rms.py` on examples/emulator.toml (an MCP3208, three channels), its database
  on a small tmpfs of its own (mounted here: needs root; without, the full disk is skipped);
- --clients threads polling `GET /api/v1/live?since=MS&wait=5` (the documented long poll),
  each a new connection, as fast as the answers come;
- --slow half-open connections: a request line and one header, then a byte every 10 s and
  never the end of the headers; when the server drops one, another takes its place;
- kill -9 of the daemon every --kill-every seconds, restarted at once (as systemd would);
- a full disk for --full-for seconds from --full-at: a file fills the tmpfs, then goes.

Measured: per kill, the time lost (the kill's wall clock minus the newest batch committed)
against the promise of store.commit_seconds (plus the batch being filled and the queue);
rows stored across the full disk (the gap it left, if any); the daemon's RSS and threads
every 10 s (per life: from its start to its end); API answers, errors and latency; and at
the end, after a SIGTERM, `PRAGMA integrity_check` and every gap of the history with what
caused it. All figures come from one run on this machine, which other work shares.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BATCH_MS = 500


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Disk:
    """A tmpfs of its own for the database, and a filler that makes it full."""

    def __init__(self, where: Path, size_mb: int):
        self.where = where
        where.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(where)],
            capture_output=True,
            text=True,
        )
        self.mounted = done.returncode == 0
        self.why = done.stderr.strip()
        self.filler = where / "filler"

    def fill(self) -> int:
        """Write zeros until the filesystem refuses; the bytes written."""
        written = 0
        with open(self.filler, "wb", buffering=0) as f:
            for block in (b"\0" * (1 << 20), b"\0" * 4096):  # then the last partial megabyte
                with contextlib.suppress(OSError):
                    while n := f.write(block):
                        written += n
        return written

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def unmount(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.where)], check=False)


class Daemon:
    """`python mcp_rms.py --config FILE`, started again and again; its log appended to a file."""

    def __init__(self, config: Path, log: Path):
        self.config, self.log = config, log
        self.proc: subprocess.Popen | None = None
        self.lives: list[dict] = []

    def start(self) -> None:
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(REPO / "mcp_rms.py"), "--config", str(self.config)],
                stderr=log,
                cwd=self.config.parent,
            )
        self.lives.append({"pid": self.proc.pid, "started": time.monotonic(), "samples": []})

    def kill(self, sig: int = signal.SIGKILL) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=60)

    def sample(self) -> None:
        """RSS (kB) and threads of the running daemon, into the current life."""
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if time.monotonic() - self.lives[-1]["started"] < 5:
            return  # still importing: not the daemon yet
        rss = int(fields["VmRSS"].split()[0])
        threads = int(fields["Threads"])
        self.lives[-1]["samples"].append((time.monotonic(), rss, threads))


class Clients:
    """N threads long-polling /api/v1/live; answers, errors by kind, latencies."""

    def __init__(self, url: str, count: int, stop: threading.Event):
        self.url, self.stop = url, stop
        self.lock = threading.Lock()
        self.ok = 0
        self.batches = 0
        self.errors: dict[str, int] = {}
        self.latencies: list[float] = []  # seconds, answers that came at once (no waiting)
        self.threads = [
            threading.Thread(target=self.run, name=f"client{k}", daemon=True) for k in range(count)
        ]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def run(self) -> None:
        since = now_ms()
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                with urllib.request.urlopen(
                    f"{self.url}/api/v1/live?since={since}&wait=5", timeout=30
                ) as answer:
                    doc = json.loads(answer.read())
                batches = doc.get("batches", [])
                if batches:
                    since = max(b["ts"] for b in batches)
                with self.lock:
                    self.ok += 1
                    self.batches += len(batches)
                    self.latencies.append(time.monotonic() - started)
            except urllib.error.HTTPError as exc:
                self.error(f"HTTP {exc.code}")
            except (OSError, ValueError, http.client.HTTPException) as exc:
                self.error(type(getattr(exc, "reason", exc)).__name__)

    def error(self, kind: str) -> None:
        with self.lock:
            self.errors[kind] = self.errors.get(kind, 0) + 1
        self.stop.wait(0.5)  # the daemon is restarting: try again soon


class SlowConnections:
    """M connections that send a request's first line and then dribble, never finishing."""

    def __init__(self, port: int, count: int, stop: threading.Event):
        self.port, self.count, self.stop = port, count, stop
        self.open: list[tuple[socket.socket, float]] = []
        self.lifetimes: list[float] = []  # seconds until the server dropped one
        self.refused = 0
        self.thread = threading.Thread(target=self.run, name="slow", daemon=True)

    def connect(self) -> None:
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            s.sendall(b"GET /api/v1/live?since=0&wait=5 HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            self.open.append((s, time.monotonic()))
        except OSError:
            self.refused += 1

    def run(self) -> None:
        while not self.stop.wait(1.0):
            while len(self.open) < self.count and not self.stop.is_set():
                before = len(self.open)
                self.connect()
                if len(self.open) == before:
                    break  # refused: the daemon is down; try in a second
            alive = []
            for s, since in self.open:
                try:
                    if int(time.monotonic() - since) % 10 == 0:
                        s.sendall(b"X")  # a byte of a header that never ends
                    s.setblocking(False)
                    closed = s.recv(4096) == b""
                except BlockingIOError:
                    closed = False
                except OSError:
                    closed = True
                finally:
                    s.setblocking(True)
                if closed:
                    self.lifetimes.append(time.monotonic() - since)
                    s.close()
                else:
                    alive.append((s, since))
            self.open = alive
        for s, _ in self.open:
            s.close()


def newest_committed(db: Path) -> int | None:
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        return conn.execute("SELECT max(ts) FROM batch").fetchone()[0]


def config_text(db: Path, port: int, commit: float) -> str:
    text = (REPO / "examples" / "emulator.toml").read_text()
    text = text.replace('path = "power-demo.db"', f'path = "{db}"')
    text = text.replace("commit_seconds = 10", f"commit_seconds = {commit:g}")
    return text + f"\n[api]\nport = {port}\n"


def soak(args) -> None:
    work = Path(tempfile.mkdtemp(prefix="soak-"))
    disk = Disk(work / "sd", args.disk_mb)
    if not disk.mounted:
        print(f"no tmpfs ({disk.why}): the database stays in {work}, the full disk is skipped")
    db = disk.where / "power.db"
    port = free_port()
    config = work / "config.toml"
    config.write_text(config_text(db, port, args.commit))
    daemon = Daemon(config, work / "daemon.log")
    stop = threading.Event()
    clients = Clients(f"http://127.0.0.1:{port}", args.clients, stop)
    slow = SlowConnections(port, args.slow, stop)
    kills, full = [], {}
    start = time.monotonic()
    daemon.start()
    clients.start()
    slow.thread.start()
    next_kill = args.kill_every
    next_sample = 0.0
    print(
        f"soak: {args.minutes} min, {args.clients} clients, {args.slow} slow connections, "
        f"kill -9 every {args.kill_every} s, full disk {args.full_for} s from {args.full_at} s, "
        f"commit_seconds {args.commit:g}; work in {work}",
        flush=True,
    )
    try:
        while (elapsed := time.monotonic() - start) < args.minutes * 60:
            if elapsed >= next_sample:
                daemon.sample()
                next_sample += 10
            if elapsed >= next_kill:
                killed = now_ms()
                daemon.kill()
                last = newest_committed(db)
                kills.append({"at_s": elapsed, "killed_ms": killed, "last_ms": last})
                daemon.start()
                next_kill += args.kill_every
                print(f"{elapsed:7.0f} s  kill -9: {(killed - last) / 1000:.1f} s lost", flush=True)
            if disk.mounted and not full and elapsed >= args.full_at:
                full = {"from_ms": now_ms(), "bytes": disk.fill()}
                print(f"{elapsed:7.0f} s  disk full ({full['bytes'] >> 20} MB filler)", flush=True)
            if full and "to_ms" not in full and elapsed >= args.full_at + args.full_for:
                disk.free()
                full["to_ms"] = now_ms()
                print(f"{elapsed:7.0f} s  disk free again", flush=True)
            time.sleep(0.2)
        code = daemon.kill(signal.SIGTERM)
    finally:
        stop.set()
        if daemon.proc and daemon.proc.poll() is None:
            daemon.proc.kill()
        disk.free()
    slow.thread.join(timeout=5)
    report(args, db, daemon, kills, full, clients, slow, code)
    disk.unmount()
    print(f"the daemon's log: {daemon.log}")


def report(args, db, daemon, kills, full, clients, slow, code) -> None:
    log = daemon.log.read_text()
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        # a gap, and whether sampling fell behind right before it (a stall: the batch is late)
        gaps = conn.execute(
            "SELECT g.from_ms, g.to_ms, b.flags & 4 FROM gaps AS g LEFT JOIN batch AS b "
            "ON b.ts = g.from_ms AND b.channel_id = (SELECT id FROM channel WHERE name = 'main') "
            "WHERE g.channel = 'main' ORDER BY g.from_ms"
        ).fetchall()
        rows, late = conn.execute(
            "SELECT count(*), sum(flags & 4 != 0) FROM batch WHERE channel_id = "
            "(SELECT id FROM channel WHERE name = 'main')"
        ).fetchone()
    promise = args.commit * 1000 + 2 * BATCH_MS  # the commit interval, the batch, the queue
    print("\n== results")
    print(f"final SIGTERM: exit {code}; {log.strip().splitlines()[-1]}")
    print(f"integrity_check: {integrity}; {rows} batches of 'main' stored ({late} flagged late)")
    for k in kills:
        lost = k["killed_ms"] - k["last_ms"]
        verdict = "within" if lost <= promise else "BEYOND"
        print(
            f"kill -9 at {k['at_s']:5.0f} s: {lost / 1000:5.1f} s lost "
            f"({lost // BATCH_MS} batches x 3 channels), {verdict} the promise of "
            f"{promise / 1000:g} s"
        )
    if full:
        inside = [g[:2] for g in gaps if g[1] > full["from_ms"] and g[0] < full["to_ms"]]
        failed = log.count("failed (")
        print(
            f"full disk {(full['to_ms'] - full['from_ms']) / 1000:.0f} s: {failed} failed commits "
            f"logged, 'writable again' {log.count('writable again')}x, gaps inside: "
            f"{[(round((b - a) / 1000, 1)) for a, b in inside] or 'none'}"
        )
    explained = []
    for a, b, late in gaps:
        killed = any(abs(k["last_ms"] - a) <= BATCH_MS for k in kills)
        cause = "a kill" if killed else "sampling stalled" if late else "UNEXPLAINED"
        explained.append(f"{(b - a) / 1000:.1f} s ({cause})")
    print(f"gaps of 'main': {', '.join(explained) or 'none'}")
    print("daemon lives (pid: minutes, RSS MB first -> last (max), threads first -> last (max)):")
    for life in daemon.lives:
        s = life["samples"]
        if not s:
            continue
        rss, threads = [x[1] / 1024 for x in s], [x[2] for x in s]
        print(
            f"  {life['pid']}: {(s[-1][0] - s[0][0]) / 60:4.1f} min, RSS {rss[0]:.1f} -> "
            f"{rss[-1]:.1f} ({max(rss):.1f}) MB, threads {threads[0]} -> {threads[-1]} "
            f"({max(threads)})"
        )
    lat = sorted(clients.latencies)
    if lat:
        p50, p99 = statistics.median(lat), lat[int(0.99 * (len(lat) - 1))]
        print(
            f"clients: {clients.ok} answers ({clients.batches} batches), latency p50 "
            f"{p50 * 1000:.0f} ms p99 {p99 * 1000:.0f} ms; errors {clients.errors or 'none'}"
        )
    life = statistics.median(slow.lifetimes) if slow.lifetimes else None
    print(
        f"slow connections: {len(slow.lifetimes)} dropped by the server"
        + (f" after a median {life:.0f} s" if life is not None else "")
        + f", {len(slow.open)} still open at the end, {slow.refused} refused"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--slow", type=int, default=50)
    parser.add_argument("--kill-every", type=float, default=300, help="seconds")
    parser.add_argument("--full-at", type=float, default=720, help="seconds from the start")
    parser.add_argument("--full-for", type=float, default=60, help="seconds")
    parser.add_argument("--commit", type=float, default=60, help="store.commit_seconds")
    parser.add_argument("--disk-mb", type=int, default=64, help="size of the tmpfs")
    soak(parser.parse_args())


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("note: not root, so no tmpfs: the full-disk phase will be skipped")
    main()
