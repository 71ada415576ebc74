"""The bounded HTTP server and its messages over real sockets: limits, errors as JSON, Host,
timeouts, the cap."""

from __future__ import annotations

import gc
import json
import logging
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time

import pytest

from corcypower.live.messages import MAX_LINE, this_machine
from corcypower.live.server import WORKERS, Server
from tests.helpers import REPO
from tests.live.helpers import raise_open_files, raw, request


class Echo:
    """A server whose routes answer what they were asked, fail, or wait for notify()."""

    def __init__(self, **limits):
        self.released = False
        routes = {"/echo": self.echo, "/boom": self.boom, "/wait": self.wait, "/big": self.big}
        self.server = Server("127.0.0.1", 0, routes, **limits)

    def echo(self, request):
        return 200, json.dumps({"method": request.method, "query": request.query}).encode()

    def boom(self, request):
        raise ZeroDivisionError("a bug")

    async def wait(self, request):
        await self.server.news(lambda: self.released, 30)
        return 200, b'{"released": true}'

    def big(self, request):
        return 200, b'{"x": "' + b"x" * 4_000_000 + b'"}'

    def release(self):
        self.released = True
        self.server.notify()


@pytest.fixture
def echo():
    made = []

    def make(**limits) -> Server:
        made.append(Echo(**limits))
        made[-1].server.start()
        return made[-1]

    yield make
    for e in made:
        e.server.close()


def one(address, data: bytes) -> tuple[int, dict, dict]:
    """The single answer to `data`: (status, headers, JSON body)."""
    [(status, headers, body)] = raw(address, data)
    assert headers["content-type"] == "application/json"
    return status, headers, json.loads(body)


def connect(address) -> socket.socket:
    return socket.create_connection(address, timeout=10)


def closed_by_server(sock: socket.socket, seconds: float = 10.0) -> bool:
    sock.settimeout(seconds)
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True


# --- methods, sizes, bodies: every refusal is JSON ------------------------------------


@pytest.mark.parametrize(
    "method", ["TRACE", "CONNECT", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
)
def test_every_method_but_get_and_head_is_a_json_405(echo, method):
    status, headers, doc = one(echo().server.address, request("/echo", method))
    assert status == 405 and headers["allow"] == "GET, HEAD"
    assert doc["error"] == f"{method} is not allowed: this API is read-only; use GET"


def test_an_unknown_method_is_a_json_501(echo):
    status, _, doc = one(echo().server.address, request("/echo", "FOO"))
    assert status == 501 and doc["error"] == "unknown method FOO; use GET"


@pytest.mark.parametrize(
    "data, status, expected",
    [
        (request("/echo?" + "x" * MAX_LINE), 414, "request line longer than 8192 bytes"),
        (request("/echo", extra="X-Big: " + "y" * MAX_LINE + "\r\n"), 431, "a header line longer"),
        (request("/echo", extra="X-A: b\r\n" * 101), 431, "headers larger than 16384 bytes or 100"),
        (request("/echo", extra=("X-A: " + "b" * 8000 + "\r\n") * 3), 431, "headers larger"),
        (request("/echo", extra="Content-Length: 5\r\n") + b"hello", 413, "a request body is not"),
        (request("/echo", extra="Transfer-Encoding: chunked\r\n") + b"0\r\n\r\n", 413, "a request"),
        (request("/echo", extra="Content-Length: x\r\n"), 400, "Content-Length: expected one"),
        (request("/echo", extra="Content-Length: 1\r\nContent-Length: 2\r\n"), 400, "Content-Len"),
        (b"GET /echo\r\n\r\n", 400, "request line 'GET /echo': expected METHOD /path HTTP/1.1"),
        (b"GET /echo HTTP/1.1 x\r\n\r\n", 400, "expected METHOD /path HTTP/1.1"),
        (b"G(T /echo HTTP/1.1\r\n\r\n", 400, "expected METHOD /path HTTP/1.1"),
        (b"GET /echo HTTQ/1.1\r\n\r\n", 400, "'HTTQ/1.1': expected HTTP/1.1"),
        (b"GET /echo HTTP/2.0\r\nHost: a\r\n\r\n", 505, "HTTP/2.0 is not served; use HTTP/1.1"),
        (b"GET echo HTTP/1.1\r\nHost: a\r\n\r\n", 400, "'echo': expected a path"),
        (b"GET http://[::1/echo HTTP/1.1\r\nHost: a\r\n\r\n", 400, "'http://[::1/echo': expected"),
        (b"GET ftp://localhost/echo HTTP/1.1\r\nHost: a\r\n\r\n", 400, "expected a path"),
        (request("//[/echo"), 404, "no such endpoint //[/echo"),
        (b"GET /\xe9 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "the path: expected printable ASCII"),
        (request("/echo", extra="NoColon\r\n"), 400, "header 'NoColon': expected Name: value"),
        (request("/echo", extra="X-A: b\r\n folded\r\n"), 400, "expected Name: value"),
        (request("/nowhere"), 404, "no such endpoint /nowhere; expected one of /echo, /boom"),
    ],
)
def test_a_request_the_server_cannot_take_is_a_json_error(echo, data, status, expected):
    got, headers, doc = one(echo().server.address, data)
    assert got == status and expected in doc["error"], doc


def test_after_an_error_in_the_request_itself_the_connection_closes(echo):
    answers = raw(echo().server.address, request("/echo", "POST") + request("/echo"))
    assert [(s, h.get("connection")) for s, h, _ in answers] == [(405, "close")]


def test_the_client_reads_the_error_even_with_a_body_left_unsent(echo):
    """The server reads what is left before closing, or the close would reset the answer."""
    server = echo().server
    with connect(server.address) as sock:
        sock.sendall(request("/echo", "POST", extra="Content-Length: 10000000\r\n"))
        sock.sendall(b"x" * 1_000_000)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 405 Method Not Allowed\r\n")


# --- Host: this machine, its addresses and the allow list (DNS rebinding) -------------


HOSTNAME = sorted(this_machine() - {"localhost"})


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:8070",
        "localhost:8070",
        "LOCALHOST",
        "[::1]:8070",
        "192.168.1.20",
        "house-pi.lan:8070",
        "House-Pi.Lan.",
        *HOSTNAME,
    ],
)
def test_a_request_to_this_machine_or_an_allowed_host_is_answered(echo, host):
    status, _, doc = one(
        echo(allowed_hosts=["house-pi.lan"]).server.address, request("/echo", host=host)
    )
    assert status == 200 and doc["method"] == "GET"


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8070", "127.0.0.1.nip.io", "localhost.evil.example"]
)
def test_a_request_naming_another_host_is_refused_421(echo, host):
    """A web page whose name is made to resolve to this machine sends its own name."""
    status, _, doc = one(echo().server.address, request("/echo", host=host))
    assert status == 421
    assert doc["error"].startswith(f"Host '{host}': this server is not")
    assert "[api] allowed_hosts" in doc["error"]


def test_star_allows_any_host(echo):
    status, _, _ = one(echo(allowed_hosts=["*"]).server.address, request("/echo", host="x.y"))
    assert status == 200


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"GET /echo HTTP/1.1\r\n\r\n", "no Host header: HTTP/1.1 requires one"),
        (request("/echo", extra="Host: b\r\n"), "Host is given more than once"),
        (request("/echo", host="a b"), "Host 'a b': expected host[:port]"),
        (
            request("/echo", host="user@evil.example"),
            "Host 'user@evil.example': expected host[:port]",
        ),
    ],
)
def test_a_missing_or_malformed_host_is_400(echo, data, expected):
    status, _, doc = one(echo().server.address, data)
    assert status == 400 and doc["error"] == expected


def test_http_1_0_without_host_and_absolute_urls_are_answered(echo):
    address = echo().server.address
    assert one(address, b"GET /echo?a=1 HTTP/1.0\r\n\r\n")[2] == {"method": "GET", "query": "a=1"}
    assert one(address, b"GET http://localhost:1/echo HTTP/1.1\r\nHost: x\r\n\r\n")[0] == 200
    assert one(address, b"GET http://evil.example/echo HTTP/1.1\r\nHost: x\r\n\r\n")[0] == 421
    assert one(address, request("//evil.example/echo?a=1#b"))[0] == 404  # a path, not a host


# --- answers ---------------------------------------------------------------------------


def test_requests_on_one_connection_are_answered_in_turn_until_close(echo):
    address = echo().server.address
    answers = raw(address, request("/echo?n=1") + b"\r\n" + request("/echo?n=2"))
    assert [json.loads(b)["query"] for _, _, b in answers] == ["n=1", "n=2"]
    closing = request("/echo?n=1", extra="Connection: close\r\n") + request("/echo?n=2")
    [(_, headers, _)] = raw(address, closing)
    assert headers["connection"] == "close"


def test_head_gives_the_length_without_the_body(echo):
    [(status, headers, body)] = raw(echo().server.address, request("/echo", "HEAD"))
    assert status == 200 and body == b""
    assert headers["content-length"] == str(len(b'{"method": "HEAD", "query": ""}'))


def test_a_handler_bug_is_logged_and_answered_500(echo, caplog):
    address = echo().server.address
    with caplog.at_level(logging.ERROR):
        answers = raw(address, request("/boom") + request("/echo"))
    assert [s for s, _, _ in answers] == [500, 200]
    assert json.loads(answers[0][2]) == {"error": "internal error (logged)"}
    assert "GET /boom failed" in caplog.text and "ZeroDivisionError: a bug" in caplog.text


# --- timeouts, the cap, the backlog -----------------------------------------------------


def test_a_client_that_sends_no_whole_request_in_time_is_disconnected(echo):
    server = echo(timeout=0.5).server
    with connect(server.address) as silent, connect(server.address) as slow:
        slow.sendall(b"GET /echo HTTP/1.1\r\n")  # and nothing more
        started = time.monotonic()
        assert closed_by_server(silent) and closed_by_server(slow)
        assert time.monotonic() - started < 8  # not the 10 s that recv waits at most


def test_at_the_cap_the_longest_waiting_connection_makes_room(echo):
    server = echo(max_connections=8).server
    idle = [connect(server.address) for _ in range(8)]
    try:
        idle[0].sendall(b"GET /echo HTT")  # a part of a request is no request
        for _ in range(3):
            assert one(server.address, request("/echo"))[0] == 200
        assert closed_by_server(idle[0])  # the oldest: room for one, enough for these
        idle[1].settimeout(0.2)
        with pytest.raises(TimeoutError):
            idle[1].recv(1)
        assert len(server.connections) <= 8
    finally:
        for sock in idle:
            sock.close()


def test_over_the_cap_with_every_connection_busy_a_new_one_gets_503(echo):
    e = echo(max_connections=8)
    waiting = [connect(e.server.address) for _ in range(8)]
    for sock in waiting:
        sock.sendall(request("/wait"))
    deadline = time.monotonic() + 60
    while sum(c.busy for c in list(e.server.connections)) < 8:  # every one in its request
        assert time.monotonic() < deadline
        time.sleep(0.01)
    status, headers, doc = one(e.server.address, request("/echo"))
    assert status == 503 and headers["connection"] == "close"
    assert doc["error"] == "too many connections (at most 8); try again"
    e.release()
    for sock in waiting:
        with sock:
            answer = b""
            while b"\r\n\r\n" not in answer and (chunk := sock.recv(65536)):
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200 OK\r\n")


def test_the_listen_backlog_holds_a_burst_of_connections():
    """Connections queue in the kernel while the loop is busy: up to the cap, not 5."""
    server = Server("127.0.0.1", 0, {}, max_connections=300)  # listening, never accepting
    try:
        burst = [socket.create_connection(server.address, timeout=2) for _ in range(250)]
        for sock in burst:
            sock.close()
        out = subprocess.run(
            ["ss", "-ltnH", f"sport = :{server.address[1]}"], capture_output=True, text=True
        ).stdout
        if out:  # Send-Q of a listening socket is its backlog
            assert out.split()[2] == str(min(300, socket.SOMAXCONN))
    finally:
        server.close()


def test_a_lower_open_files_limit_lowers_the_cap_with_a_warning():
    code = (
        "import logging, resource\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (200, 200))\n"
        "logging.basicConfig(format='%(message)s')\n"
        "from corcypower.live.server import files_for\n"
        "print(files_for(512), files_for(100))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.stdout.split() == ["104", "100"]
    assert "max_connections = 512 needs 608 open files, but the limit is 200" in out.stderr


# --- many clients: half-open, gone away -------------------------------------------------


def test_a_thousand_half_open_connections_do_not_stop_requests(echo):
    raise_open_files(4000)
    threads_before = threading.active_count()
    server = echo().server  # the default cap, 512
    assert one(server.address, request("/echo"))[0] == 200  # its workers have started
    half_open = []
    try:
        for i in range(1000):
            sock = socket.create_connection(server.address, timeout=60)
            if i % 2:
                sock.sendall(b"GET /echo HTTP/1.1\r\nHost: 127.0")  # and never the rest
            half_open.append(sock)
        took = []
        for _ in range(20):
            started = time.monotonic()
            [(status, _, _)] = raw(server.address, request("/echo"), timeout=60)
            assert status == 200
            took.append(time.monotonic() - started)
        # every one answered, most at once (the machine may be loaded: generous bounds)
        assert statistics.median(took) < 1.0 and max(took) < 30, took
        assert threading.active_count() <= threads_before + 1 + WORKERS
        assert len(server.connections) <= 512
    finally:
        for sock in half_open:
            sock.close()


def test_clients_that_go_away_are_forgotten_quietly(echo, caplog, capfd):
    server = echo().server
    ways = [
        request("/big"),  # an answer that meets a closed socket
        b"GET /big HTTP/1.1\r\nHo",  # half a request
        b"",  # nothing
    ]
    with caplog.at_level(logging.DEBUG, logger="corcypower"):
        for i in range(150):
            sock = connect(server.address)
            sock.sendall(ways[i % 3])
            if i % 2:
                sock.shutdown(socket.SHUT_WR)  # a FIN first, then the reset
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()  # at once, with a reset
        assert one(server.address, request("/echo"))[0] == 200
        gc.collect()  # asyncio logs a reset nobody retrieved when its future is collected
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert capfd.readouterr().err == ""


def test_a_stop_with_clients_waiting_is_quiet(echo, caplog, capfd):
    """Before: at a SIGTERM, each /live long poll still waiting logged a CancelledError
    traceback (asyncio's streams log a connection task that ends cancelled)."""
    server = echo().server
    waiting = [connect(server.address) for _ in range(20)]
    for sock in waiting:
        sock.sendall(request("/wait"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (
        len(server.connections) == 20 and all(c.busy for c in server.connections)
    ):
        time.sleep(0.01)
    assert len(server.connections) == 20  # every one waits in /wait
    with caplog.at_level(logging.DEBUG):
        server.close()
        gc.collect()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "Traceback" not in capfd.readouterr().err
    for sock in waiting:
        sock.close()
