#!/usr/bin/env python3
"""State API benchmark: the daemon's threads, memory and answer times under half-open clients.

    python bench/api.py [--half-open N] [--requests R]

Starts `corcypower run` with examples/emulator.toml (its state API on a free port), then, once
with no other client and once with N connections held open that never finish a request
(half of them send part of one), measures: GET /api/v1/state answer times (R requests, one
after the other, p50/p95/max), the daemon's threads and RSS (/proc). Last, every held
connection is reset at once and R clients leave before their answer: the daemon's output
must hold no traceback. Both rounds run in one process, one after the other, so that the
comparison holds on a noisy machine.
"""

from __future__ import annotations

import argparse
import re
import resource
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def proc_status(pid: int, field: str) -> int:
    return int(re.search(rf"^{field}:\s+(\d+)", Path(f"/proc/{pid}/status").read_text(), re.M)[1])


def answer_times(url: str, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 (http only)
            answer.read()
        times.append(time.perf_counter() - started)
    return times


def row(label: str, times: list[float], pid: int) -> str:
    ms = sorted(t * 1000 for t in times)
    p95 = ms[int(0.95 * (len(ms) - 1))]
    return (
        f"| {label} | {statistics.median(ms):.1f} | {p95:.1f} | {ms[-1]:.1f} | "
        f"{proc_status(pid, 'Threads')} | {proc_status(pid, 'VmRSS') / 1024:.1f} |"
    )


def reset(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half-open", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.half_open * 2 + 1000), hard))

    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"  # `make run`'s, its database and API in tmp
        config.write_text((REPO / "examples" / "emulator.toml").read_text() + "[api]\nport = 0\n")
        daemon = subprocess.Popen(
            [sys.executable, str(REPO / "mcp_rms.py"), "--config", str(config)],
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp,
        )
        output = []
        while not (m := re.search(r"state API on (http://\S+)", "".join(output))):
            line = daemon.stderr.readline()
            if not line:
                sys.exit("the daemon exited:\n" + "".join(output))
            output.append(line)
        url = m[1]
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        while True:
            try:
                answer_times(url, 1)
                break
            except OSError:  # 503 before the first batch
                time.sleep(0.2)

        print("| clients held open | p50 ms | p95 ms | max ms | threads | RSS MB |")
        print("|---|---|---|---|---|---|")
        print(row("none", answer_times(url, args.requests), daemon.pid))
        held = []
        for i in range(args.half_open):
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            if i % 2:
                sock.sendall(b"GET /api/v1/state HTTP/1.1\r\nHost: 127.0")
            held.append(sock)
        print(row(f"{args.half_open} half-open", answer_times(url, args.requests), daemon.pid))
        for sock in held:
            reset(sock)
        for _ in range(args.requests):
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            sock.sendall(b"GET /api/v1/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            reset(sock)
        answer_times(url, 1)
        daemon.terminate()
        try:
            output.append(daemon.communicate(timeout=30)[1])
        except subprocess.TimeoutExpired:
            daemon.kill()
            output.append(daemon.communicate()[1])
            print("the daemon did not stop within 30 s of SIGTERM: killed")
    text = "".join(output)
    print(f"tracebacks in the daemon's output: {text.count('Traceback')}")
    print(f"lines at WARNING or above: {len(re.findall(r'^(WARNING|ERROR|CRITICAL)', text, re.M))}")


if __name__ == "__main__":
    main()
