"""What the live tests share: a config, analysed batches, a GET that returns errors too, raw HTTP."""

from __future__ import annotations

import json
import resource
import socket
import threading
import urllib.error
import urllib.request

import pytest

from corcypower import settings
from corcypower.analysis import FLAG_CLIPPED, ChannelStats

CHANNELS = [
    {"name": "mains_v", "adc_channel": 1, "kind": "voltage", "scale": 0.25},
    {"name": "main", "adc_channel": 0, "kind": "current", "scale": 0.02, "voltage": "mains_v"},
]


def config(**sections):
    """A validated config: the two channels above, the API on any free port of 127.0.0.1."""
    data = {"api": {"port": 0}, "channels": CHANNELS} | sections
    return settings.from_dict(data)


def stats(watts: float = 200.0, volts: float = 230.0, flags: int = 0) -> list[ChannelStats]:
    return [
        ChannelStats("mains_v", "voltage", 1000, 2048.0, 700, 3390, 920.0, volts, 50.0),
        ChannelStats(
            "main",
            "current",
            1000,
            2047.5,
            2000,
            2100,
            30.0,
            irms=abs(watts) / volts / 0.9,
            real_power_w=watts,
            apparent_power_va=abs(watts) / 0.9,
            power_factor=0.9,
            flags=flags,
        ),
    ]


CLIPPED = FLAG_CLIPPED


def get(url: str, method: str = "GET") -> tuple[int, dict]:
    """(status, JSON body) of a request, error statuses included."""
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def raw(address, data: bytes, timeout: float = 30.0) -> list[tuple[int, dict, bytes]]:
    """Send raw bytes on a new connection, half-close it, and read every answer until the
    server closes: [(status, headers with lowercase names, body)]."""
    with socket.create_connection(address, timeout=timeout) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:  # the server answered early and closed: its answer is still there
            pass
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
    return parse_answers(received)


def parse_answers(data: bytes) -> list[tuple[int, dict, bytes]]:
    answers = []
    while data:
        head, _, data = data.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        version, status, _ = status_line.split(" ", 2)
        assert version == "HTTP/1.1", status_line
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
        length = int(headers["content-length"])
        if data.startswith(b"HTTP/1.1 "):  # the answer to a HEAD: its length, but no body
            length = 0  # (every body here is a JSON object, so it starts with "{")
        body, data = data[:length], data[length:]
        answers.append((int(status), headers, body))
    return answers


def request(
    path: str = "/", method: str = "GET", host: str = "127.0.0.1", extra: str = ""
) -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode()


def raise_open_files(needed: int) -> None:
    """Let this process (and the daemons it starts) hold `needed` open files."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"needs {needed} open files, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


class HostilePeer:
    """A TCP server that answers every connection with `answer` bytes, `pace` s between them."""

    def __init__(self, answer: bytes, pace: float = 0.0):
        self.answer, self.pace = answer, pace
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/api/v1/state"
        self.stop = threading.Event()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                try:
                    conn.recv(65536)
                    if self.pace:
                        for byte in self.answer:
                            if self.stop.wait(self.pace):
                                return
                            conn.sendall(bytes([byte]))
                    else:
                        conn.sendall(self.answer)
                except OSError:
                    pass

    def close(self):
        self.stop.set()
        self.sock.close()
