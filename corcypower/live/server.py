"""A small HTTP/1.1 server of JSON answers, bounded in every way a client could stretch it.

One thread runs an asyncio loop that holds every connection: an idle, slow or half-open
client costs a socket and a few kB, never a thread. Plain handlers run on a few worker
threads (they may block, e.g. on a database); async handlers run in the loop and may only
wait (a long poll waits for `notify()` with `news()`). Every answer, errors included, is JSON.

What a client can stretch, and what it gets (the request's own limits: messages.py):

    `timeout` seconds to send a request's head, and again to take each answer: else closed
    `max_connections` open: at the cap, the connection that has waited longest for its
    request is closed to make room; when every one is in a request, a new one gets 503
    an error in the request itself (its framing is unsure): the answer, then closed

A client that goes away is forgotten quietly; a handler's bug is logged and answered 500.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import resource
import socket
import threading
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus

from corcypower.live.messages import (
    MAX_LINE,
    BadRequest,
    HTTPError,
    Request,
    cut,
    error_body,
    read_request,
    response,
    this_machine,
)

log = logging.getLogger(__name__)

Answer = tuple[int, bytes]  # (status, JSON body)
Handler = Callable[[Request], Answer] | Callable[[Request], Awaitable[Answer]]
__all__ = ["Answer", "BadRequest", "Handler", "HTTPError", "Request", "Server", "files_for"]

WORKERS = 4  # threads for plain handlers: the server's threads are these and its loop
LINGER_S = 2.0  # after the last answer, how long to read what a client still sends
REFUSALS = 32  # 503s sent at a time over the cap, each for at most LINGER_S
RESERVED_FILES = 64 + REFUSALS  # open files besides the connections: the rest of the process


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
        self._refusing = 0
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
            await self._refuse(reader, writer)
            return
        try:
            while await self._exchange(reader, writer, conn):
                pass
            await self._close(reader, writer)
        except asyncio.IncompleteReadError:  # the client has said all it had to say
            await self._close(reader, writer)
        except OSError as exc:  # it went away (a reset, ENOTCONN), or was too slow (TimeoutError)
            log.debug("%s: connection dropped: %r", self.name, exc)
        except asyncio.CancelledError:
            # the server is stopping (close()). Ended quietly: asyncio's streams (3.11) log a
            # traceback for every connection task that ends cancelled, e.g. a /live long poll.
            pass
        except Exception:  # a bug here: logged, and only this connection is lost
            log.exception("%s: connection failed", self.name)
        finally:
            self.connections.discard(conn)
            await _forget(writer)

    async def _close(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        """Close once the answer is sent. Input left unread would make the close a reset,
        which can destroy the answer before the client reads it: half-close, and read to
        the client's end (for at most LINGER_S)."""
        try:
            if writer.can_write_eof():
                writer.write_eof()
            async with asyncio.timeout(LINGER_S):
                await writer.drain()
                while await reader.read(65536):
                    pass
        except OSError:  # reset meanwhile (ENOTCONN, ECONNRESET), or too slow (TimeoutError)
            pass

    async def _refuse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        """503: every connection is busy. The client's request is read to its end (as in
        _close) by at most REFUSALS refusals at a time, so that they stay bounded too."""
        message = f"too many connections (at most {self.max_connections}); try again"
        writer.write(response(HTTPStatus.SERVICE_UNAVAILABLE, error_body(message), True))
        if self._refusing < REFUSALS:
            self._refusing += 1
            try:
                await self._close(reader, writer)
            finally:
                self._refusing -= 1
        await _forget(writer)

    def _admit(self, writer: asyncio.StreamWriter) -> Connection | None:
        """A place under the cap, made by closing the connection that has waited longest for
        its request; None when every connection is busy."""
        if len(self.connections) >= self.max_connections:
            idle = [c for c in self.connections if not c.busy]
            if not idle:
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
                request, close = await read_request(reader, self.hosts)
            conn.busy = True
            status, body = await self._answer(request)
        except HTTPError as exc:
            status, body, extra = exc.status, error_body(str(exc)), exc.headers
        method = request.method if request else None
        writer.write(response(status, body, close, extra, head=method == "HEAD"))
        async with asyncio.timeout(self.timeout):
            await writer.drain()
        return not close

    async def _answer(self, request: Request) -> Answer:
        handler = self.routes.get(request.path)
        if handler is None:
            known = ", ".join(self.routes)
            raise HTTPError(
                HTTPStatus.NOT_FOUND,
                f"no such endpoint {cut(request.path)}; expected one of {known}",
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


async def _forget(writer: asyncio.StreamWriter) -> None:
    """Close at once (nothing is left to send, or to wait for), and take the reset the
    client may have sent: unretrieved, asyncio would log it as an error."""
    writer.transport.abort()
    try:
        await writer.wait_closed()
    except OSError:
        pass


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
