"""A small HTTP/1.1 server of JSON answers, bounded in every way a client could stretch it.

One thread runs an asyncio loop that holds every connection: an idle, slow or half-open
client costs a socket and a few kB, never a thread. Plain handlers run on a few worker
threads (they may block, e.g. on a database); async handlers run in the loop and may only
wait (a long poll waits for `notify()` with `news()`). Every answer, errors included, is JSON.

What a client can stretch, and what it gets:

    request line over 8 KiB                          414, closed
    header section over 16 KiB or 100 fields         431, closed
    a body (Content-Length > 0, Transfer-Encoding)   413, closed: no endpoint takes one
    a method other than GET or HEAD                  405 (an unknown one: 501), closed
    HTTP/2 or later                                  505, closed
    a Host this server is not (DNS rebinding)        421
    a malformed request line, Host or Content-Length 400, closed
    `timeout` seconds to send a request's head, and again to take each answer: else closed
    `max_connections` open: at the cap, the connection that has waited longest for its
    request is closed to make room; when every one is in a request, a new one gets 503

A client that goes away is forgotten quietly; a handler's bug is logged and answered 500.
"""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import json
import logging
import re
import resource
import socket
import threading
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urlsplit

from corcypower import __version__

log = logging.getLogger(__name__)

MAX_LINE = 8192  # bytes of the request line, and of any one header line
MAX_HEADER_BYTES = 16384
MAX_HEADERS = 100
WORKERS = 4  # threads for plain handlers: the server's threads are these and its loop
LINGER_S = 2.0  # after the last answer, how long to read what a client still sends
RESERVED_FILES = 64  # open files the rest of the process needs besides the connections
METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT")
TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
HOST = re.compile(r"(\[[0-9A-Za-z:.%]+\]|[^\s:\[\]/@?#]+)(?::\d{0,5})?")
VERSION = re.compile(r"HTTP/(\d)\.(\d)")


@dataclass(frozen=True)
class Request:
    """What a handler is given: the method (GET or HEAD), the path and the raw query string."""

    method: str
    path: str
    query: str


Answer = tuple[int, bytes]  # (status, JSON body)
Handler = Callable[[Request], Answer] | Callable[[Request], Awaitable[Answer]]


class HTTPError(Exception):
    """An answer other than the handler's: its status, its message, extra headers."""

    def __init__(self, status: int, message: str, headers: Iterable = ()):
        super().__init__(message)
        self.status, self.headers = status, tuple(headers)


class BadRequest(HTTPError, ValueError):
    """A query the endpoint cannot answer (400); the text says what was expected."""

    def __init__(self, message: str):
        super().__init__(HTTPStatus.BAD_REQUEST, message)


def error_body(message: str) -> bytes:
    return json.dumps({"error": message}).encode()


class Connection:
    """One client's socket, as the cap sees it."""

    __slots__ = ("writer", "task", "busy", "waiting_since")

    def __init__(self, writer: asyncio.StreamWriter, now: float):
        self.writer = writer
        self.task = asyncio.current_task()
        self.busy = False  # a request is being answered: never closed to make room
        self.waiting_since = now


class Server:
    """Listens on (bind, port) from construction; start() serves `routes` from its own thread."""

    def __init__(
        self,
        bind: str,
        port: int,
        routes: dict[str, Handler],
        *,
        max_connections: int = 512,
        timeout: float = 10.0,
        allowed_hosts: Iterable[str] = (),
        name: str = "http",
    ):
        self.routes = routes
        self.timeout = timeout
        self.name = name
        self.max_connections = files_for(max_connections)
        self.hosts = frozenset(allowed_hosts) | this_machine()
        family = socket.AF_INET6 if ":" in bind else socket.AF_INET
        # the backlog holds connections until the loop accepts them: as many as the cap
        self.sock = socket.create_server((bind, port), family=family, backlog=self.backlog)
        self.sock.setblocking(False)
        self.address: tuple[str, int] = self.sock.getsockname()[:2]
        self.connections: set[Connection] = set()
        self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix=f"{name}-worker")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._news: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def backlog(self) -> int:
        return min(self.max_connections, socket.SOMAXCONN)

    # --- from other threads -----------------------------------------------------------

    def start(self) -> Server:
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),), name=self.name)
        self._thread.daemon = True
        self._thread.start()
        self._started.wait(10)
        return self

    def close(self) -> None:
        """Stop serving: close every connection, then the socket."""
        if self._thread is not None and self._loop is not None:
            try:
                self._loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:  # the loop has ended already
                pass
            self._thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.sock.close()

    def notify(self) -> None:
        """Something handlers may be waiting for has happened (thread-safe; cheap)."""
        loop = self._loop
        if loop is not None:
            try:
                loop.call_soon_threadsafe(self._wake)
            except RuntimeError:  # the loop is closed: nobody waits any more
                pass

    # --- in the loop ------------------------------------------------------------------

    async def news(self, ready: Callable[[], bool], timeout: float) -> None:
        """Wait until ready() (checked at each notify()), or `timeout` seconds."""
        try:
            async with asyncio.timeout(timeout):
                while not ready():
                    await self._news.wait()
        except TimeoutError:
            pass

    def _wake(self) -> None:
        self._news.set()
        self._news = asyncio.Event()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._news, self._stop = asyncio.Event(), asyncio.Event()
        server = await asyncio.start_server(
            self._connection, sock=self.sock, backlog=self.backlog, limit=MAX_LINE
        )
        self._started.set()
        try:
            await self._stop.wait()
        finally:
            server.close()
            for conn in list(self.connections):
                conn.task.cancel()
            await asyncio.gather(*(c.task for c in self.connections), return_exceptions=True)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        conn = self._admit(writer)
        if conn is None:
            return
        try:
            while await self._exchange(reader, writer, conn):
                pass
            await self._close(reader, writer)
        except asyncio.IncompleteReadError:  # the client has said all it had to say
            await self._close(reader, writer)
        except (ConnectionError, TimeoutError) as exc:  # it went away, or was too slow
            log.debug("%s: connection dropped: %r", self.name, exc)
        except Exception:  # a bug here: logged, and only this connection is lost
            log.exception("%s: connection failed", self.name)
        finally:
            self.connections.discard(conn)
            writer.transport.abort()  # nothing left to send, or nothing more to wait for

    async def _close(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        """Close once the answer is sent. Input left unread would make the close a reset,
        which can destroy the answer before the client reads it: half-close, and read to
        the client's end (for at most LINGER_S)."""
        if writer.can_write_eof():
            writer.write_eof()
        try:
            async with asyncio.timeout(LINGER_S):
                await writer.drain()
                while await reader.read(65536):
                    pass
        except (ConnectionError, TimeoutError):
            pass

    def _admit(self, writer: asyncio.StreamWriter) -> Connection | None:
        """Make room under the cap, or refuse with 503 when every connection is busy."""
        if len(self.connections) >= self.max_connections:
            idle = [c for c in self.connections if not c.busy]
            if not idle:
                message = f"too many connections (at most {self.max_connections}); try again"
                writer.write(response(HTTPStatus.SERVICE_UNAVAILABLE, error_body(message), True))
                writer.write_eof()
                writer.close()
                return None
            oldest = min(idle, key=lambda c: c.waiting_since)
            self.connections.discard(oldest)
            oldest.writer.transport.abort()
        conn = Connection(writer, self._loop.time())
        self.connections.add(conn)
        return conn

    async def _exchange(self, reader, writer, conn: Connection) -> bool:
        """Read one request and send its answer; whether the connection stays open.

        After an error in the request itself its framing is unsure: the connection closes.
        """
        conn.busy, conn.waiting_since = False, self._loop.time()
        request, close, extra = None, True, ()
        try:
            async with asyncio.timeout(self.timeout):
                request, close = await self._read(reader)
            conn.busy = True
            status, body = await self._answer(request)
        except HTTPError as exc:
            status, body, extra = exc.status, error_body(str(exc)), exc.headers
        method = request.method if request else None
        writer.write(response(status, body, close, extra, head=method == "HEAD"))
        async with asyncio.timeout(self.timeout):
            await writer.drain()
        return not close

    async def _read(self, reader: asyncio.StreamReader) -> tuple[Request, bool]:
        """The next request on the connection, and whether to close after answering it."""
        line = b""
        for _ in range(4):  # a client may send empty lines between requests (RFC 9112 2.2)
            line = await _line(reader, HTTPStatus.REQUEST_URI_TOO_LONG, "request line")
            if line.strip():
                break
        method, target, version = _request_line(line)
        headers = await _headers(reader)
        if method not in METHODS:
            raise HTTPError(HTTPStatus.NOT_IMPLEMENTED, f"unknown method {method}; use GET")
        if method not in ("GET", "HEAD"):
            raise HTTPError(
                HTTPStatus.METHOD_NOT_ALLOWED,
                f"{method} is not allowed: this API is read-only; use GET",
                headers=[("Allow", "GET, HEAD")],
            )
        parts = urlsplit(target)
        if not target.startswith("/") and not (parts.scheme in ("http", "https") and parts.netloc):
            raise HTTPError(HTTPStatus.BAD_REQUEST, f"{_short(target)}: expected a path")
        self._check_host(headers.get("host", []), parts.netloc, version)
        _check_no_body(headers)
        connection = ",".join(headers.get("connection", [])).lower()
        close = version == (1, 0) or "close" in connection
        path = parts.path.rstrip("/") or "/"
        return Request(method, path, parts.query), close

    def _check_host(self, values: list[str], netloc: str, version: tuple[int, int]) -> None:
        if len(values) > 1:
            raise HTTPError(HTTPStatus.BAD_REQUEST, "Host is given more than once")
        value = netloc or (values[0] if values else "")
        if not value:
            if version >= (1, 1):
                raise HTTPError(HTTPStatus.BAD_REQUEST, "no Host header: HTTP/1.1 requires one")
            return
        match = HOST.fullmatch(value)
        if match is None:
            raise HTTPError(HTTPStatus.BAD_REQUEST, f"Host {_short(value)}: expected host[:port]")
        host = match[1].strip("[]").lower().rstrip(".")
        if not host_allowed(host, self.hosts):
            raise HTTPError(
                HTTPStatus.MISDIRECTED_REQUEST,
                f"Host {_short(value)}: this server is not {_short(host)}; "
                "add it to [api] allowed_hosts to reach it by that name",
            )

    async def _answer(self, request: Request) -> Answer:
        handler = self.routes.get(request.path)
        if handler is None:
            known = ", ".join(self.routes)
            raise HTTPError(
                HTTPStatus.NOT_FOUND,
                f"no such endpoint {_cut(request.path)}; expected one of {known}",
            )
        try:
            if inspect.iscoroutinefunction(handler):
                return await handler(request)
            return await self._loop.run_in_executor(self._pool, handler, request)
        except HTTPError:
            raise
        except Exception:  # a bug: say so in the log, and answer
            log.exception("%s: %s %s failed", self.name, request.method, request.path)
            raise HTTPError(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error (logged)") from None


# --- reading a request ----------------------------------------------------------------


async def _line(reader: asyncio.StreamReader, too_long: int, what: str) -> bytes:
    try:
        return await reader.readuntil(b"\n")
    except asyncio.LimitOverrunError:
        raise HTTPError(too_long, f"{what} longer than {MAX_LINE} bytes") from None


def _request_line(line: bytes) -> tuple[str, str, tuple[int, int]]:
    words = line.decode("latin-1").split()
    if len(words) != 3 or not TOKEN.fullmatch(words[0]):
        raise HTTPError(
            HTTPStatus.BAD_REQUEST,
            f"request line {_short(line.decode('latin-1').strip())}: expected METHOD /path HTTP/1.1",
        )
    method, target, version_text = words
    version = VERSION.fullmatch(version_text)
    if version is None:
        raise HTTPError(HTTPStatus.BAD_REQUEST, f"{_short(version_text)}: expected HTTP/1.1")
    major, minor = int(version[1]), int(version[2])
    if major != 1:
        raise HTTPError(
            HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, f"{version_text} is not served; use HTTP/1.1"
        )
    if not target.isascii() or not target.isprintable():
        raise HTTPError(HTTPStatus.BAD_REQUEST, "the path: expected printable ASCII")
    return method, target, (major, minor)


async def _headers(reader: asyncio.StreamReader) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    size = count = 0
    while True:
        line = await _line(reader, HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "a header line")
        size, count = size + len(line), count + 1
        if size > MAX_HEADER_BYTES or count > MAX_HEADERS:
            raise HTTPError(
                HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                f"headers larger than {MAX_HEADER_BYTES} bytes or {MAX_HEADERS} fields",
            )
        text = line.decode("latin-1").rstrip("\r\n")
        if not text:
            return headers
        name, colon, value = text.partition(":")
        if not colon or not TOKEN.fullmatch(name):  # also a folded line (obsolete): refused
            raise HTTPError(HTTPStatus.BAD_REQUEST, f"header {_short(text)}: expected Name: value")
        headers.setdefault(name.lower(), []).append(value.strip())


def _check_no_body(headers: dict[str, list[str]]) -> None:
    lengths = set(headers.get("content-length", []))
    if len(lengths) > 1 or not all(v.isascii() and v.isdigit() for v in lengths):
        raise HTTPError(HTTPStatus.BAD_REQUEST, "Content-Length: expected one whole number")
    if "transfer-encoding" in headers or any(int(v) > 0 for v in lengths):
        raise HTTPError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "a request body is not accepted here")


def _cut(text: str, most: int = 80) -> str:
    """A client's text in an error message, cut short."""
    return text if len(text) <= most else text[:most] + "..."


def _short(text: str) -> str:
    return repr(_cut(text))


# --- answering --------------------------------------------------------------------------


def response(
    status: int, body: bytes, close: bool, extra: Iterable = (), head: bool = False
) -> bytes:
    """An HTTP/1.1 answer with a JSON body (left out, with its length kept, for HEAD)."""
    lines = [
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
        f"Server: corcypower/{__version__}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Cache-Control: no-store",
        "X-Content-Type-Options: nosniff",
        *(f"{name}: {value}" for name, value in extra),
    ]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (b"" if head else body)


# --- the Host check (DNS rebinding) and open files --------------------------------------


def this_machine() -> frozenset[str]:
    """The names this machine answers to without configuration: localhost, its host name."""
    name = socket.gethostname().lower().rstrip(".")
    short = name.split(".")[0]
    return frozenset({"localhost", name, short, f"{short}.local"})


def host_allowed(host: str, names: frozenset[str]) -> bool:
    """An IP address is always allowed: a page that rebinds its DNS name sends that name."""
    if "*" in names or host in names:
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def files_for(connections: int) -> int:
    """Raise the soft limit of open files to hold `connections`; the cap that fits."""
    need = connections + RESERVED_FILES
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= need:
        return connections
    try:
        raised = need if hard == resource.RLIM_INFINITY else min(need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
        soft = raised
    except (ValueError, OSError):
        pass
    if soft >= need:
        return connections
    cap = max(1, soft - RESERVED_FILES)
    log.warning(
        "max_connections = %d needs %d open files, but the limit is %d (LimitNOFILE): "
        "at most %d connections",
        connections,
        need,
        soft,
        cap,
    )
    return cap
