"""HTTP/1.1 messages for the state API: reading a request within limits, writing a JSON answer.

    request line over 8 KiB                          414
    header section over 16 KiB or 100 fields         431
    a body (Content-Length > 0, Transfer-Encoding)   413: no endpoint takes one
    a method other than GET or HEAD                  405 (an unknown one: 501)
    HTTP/2 or later                                  505
    a Host this machine is not (DNS rebinding)       421
    a malformed request line, Host or Content-Length 400

Each is an HTTPError whose text says what was wrong and what was expected.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urlsplit

from corcypower import __version__

MAX_LINE = 8192  # bytes of the request line, and of any one header line
MAX_HEADER_BYTES = 16384
MAX_HEADERS = 100
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


async def read_request(reader: asyncio.StreamReader, hosts: frozenset[str]) -> tuple[Request, bool]:
    """The next request on a connection, and whether to close after answering it.

    HTTPError if it cannot be taken; asyncio.IncompleteReadError if the client stops.
    """
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
    netloc, path, query = _target(target)
    _check_host(headers.get("host", []), netloc, version, hosts)
    _check_no_body(headers)
    connection = ",".join(headers.get("connection", [])).lower()
    close = version == (1, 0) or "close" in connection
    return Request(method, path.rstrip("/") or "/", query), close


def _target(target: str) -> tuple[str, str, str]:
    """(authority, path, query) of a request target: "/path?query" as browsers send it, or
    "http://host/path?query" as proxies do (RFC 9112 3.2)."""
    if target.startswith("/"):  # "//x/y" is a path here, not a host
        path, _, query = target.partition("#")[0].partition("?")
        return "", path, query
    try:
        parts = urlsplit(target)
    except ValueError:  # "http://[::1/" and the like
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise HTTPError(HTTPStatus.BAD_REQUEST, f"{_short(target)}: expected a path")
    return parts.netloc, parts.path, parts.query


def _check_host(
    values: list[str], netloc: str, version: tuple[int, int], hosts: frozenset[str]
) -> None:
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
    if not host_allowed(host, hosts):
        raise HTTPError(
            HTTPStatus.MISDIRECTED_REQUEST,
            f"Host {_short(value)}: this server is not {_short(host)}; "
            "add it to [api] allowed_hosts to reach it by that name",
        )


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


def cut(text: str, most: int = 80) -> str:
    """A client's text in an error message, cut short."""
    return text if len(text) <= most else text[:most] + "..."


def _short(text: str) -> str:
    return repr(cut(text))


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


# --- the Host check (DNS rebinding) ------------------------------------------------------


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
