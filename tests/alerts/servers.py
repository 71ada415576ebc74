"""Real servers for the notifiers: an HTTP server (webhook, ntfy) and aiosmtpd (e-mail).

The SMTP server speaks STARTTLS or TLS with a certificate made by openssl for the test, and
asks for a password; the HTTP server records every request and can be told to fail.
"""

from __future__ import annotations

import email
import shutil
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.helpers import skip_unless

USER, PASSWORD = "corcy", "s3cret pass"


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes


class Received:
    """What a server received, and a wait for it (never a sleep)."""

    def __init__(self):
        self.received: list = []
        self.arrived: list[float] = []  # time.time() of each
        self.cond = threading.Condition()

    def add(self, item) -> None:
        with self.cond:
            self.received.append(item)
            self.arrived.append(time.time())
            self.cond.notify_all()

    def wait(self, count: int, timeout: float = 30.0) -> list:
        """The first `count` things received, once they have arrived."""
        return self.wait_for(lambda got: len(got) >= count, timeout)[:count]

    def wait_for(self, check, timeout: float = 30.0) -> list:
        """Everything received, once check(it) is true."""
        with self.cond:
            if not self.cond.wait_for(lambda: check(self.received), timeout):
                raise AssertionError(f"not there after {timeout} s: {self.received}")
            return list(self.received)


class HttpSink(Received):
    """An HTTP server on 127.0.0.1 that records POSTs; `fail` answers 500 that many times."""

    def __init__(self):
        super().__init__()
        self.fail = 0
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                failing = sink.fail > 0
                sink.fail -= failing
                if not failing:
                    sink.add(Request(self.path, dict(self.headers), body))
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"no" if failing else b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost (openssl), and its key."""
    skip_unless(shutil.which("openssl") is not None, "openssl is not installed")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox(Received):
    """A real SMTP server (aiosmtpd): STARTTLS required or TLS from the start; login required."""

    def __init__(self, directory: Path, implicit_tls: bool = False):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        self.cert, key = make_certificate(directory)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, key)
        super().__init__()
        self.logins: list[str] = []
        box = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                box.add(email.message_from_bytes(envelope.content))
                return "250 OK"

        def authenticator(server, session, envelope, mechanism, data):
            ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
                USER.encode(),
                PASSWORD.encode(),
            )
            if ok:
                self.logins.append(data.login.decode())
            return AuthResult(success=ok, handled=False)  # aiosmtpd answers 535 itself

        # with TLS from the start the whole session is encrypted, but aiosmtpd only counts
        # STARTTLS as TLS when it decides whether to offer AUTH
        tls = (
            {"ssl_context": context, "auth_require_tls": False}
            if implicit_tls
            else {"tls_context": context, "require_starttls": True}
        )
        self.port = free_port()
        self.controller = Controller(
            Handler(),
            hostname="127.0.0.1",
            port=self.port,
            authenticator=authenticator,
            auth_required=True,
            server_hostname="localhost",
            **tls,
        )
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()
