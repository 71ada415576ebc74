"""A real Mosquitto broker started by the tests, and a real subscriber (mosquitto_sub).

    broker = Mosquitto(tmp_dir).start()         # 127.0.0.1, a free port, its own config file
    broker = Mosquitto(tmp_dir, users={"corcy": "pw"}, tls=True).start()   # password file, TLS
    broker.stop(); broker.start()               # the same port again (a restart)
    with Subscriber(broker, "corcypower/#") as sub:
        sub.wait_for(lambda m: m.topic.endswith("/status"))

Retained messages live in memory only (persistence false): after a restart the broker holds
nothing, so whatever a subscriber finds then was published again. Nothing of the machine's
own Mosquitto (if any) is read or touched.
"""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tests.export.mariadb import free_port

SBIN = "/usr/sbin:/usr/local/sbin:/usr/bin:/bin"


def find(program: str) -> str | None:
    return shutil.which(program) or shutil.which(program, path=SBIN)


def available() -> bool:
    return all(find(p) for p in ("mosquitto", "mosquitto_sub", "mosquitto_passwd", "openssl"))


def make_certs(directory: Path) -> dict[str, Path]:
    """A test CA (openssl) and a certificate it signs for 127.0.0.1 and localhost."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, cert = (
        directory / n for n in ("ca.key", "ca.crt", "b.key", "b.csr", "b.crt")
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run = lambda *args: subprocess.run([find("openssl"), *args], check=True, capture_output=True)  # noqa: E731
    run(
        "req",
        "-x509",
        *ec,
        "-keyout",
        ca_key,
        "-out",
        ca,
        "-days",
        "2",
        "-subj",
        "/CN=CorcyPower test CA",
    )
    run("req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=localhost")
    san = directory / "san.ext"
    san.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
        "-days", "2", "-extfile", san)  # fmt: skip
    return {"ca": ca, "cert": cert, "key": key}


class Mosquitto:
    """mosquitto with its own config, port and log; stop() and start() again keep the port."""

    def __init__(self, base: Path, users: dict[str, str] | None = None, tls: bool = False):
        self.base = Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        self.host = "127.0.0.1"
        self.port = free_port()
        self.users = users or {}
        self.certs = make_certs(self.base / "certs") if tls else None
        self.log = self.base / "mosquitto.log"
        self.conf = self.base / "mosquitto.conf"
        self.process: subprocess.Popen | None = None
        self._write_config()

    def _write_config(self) -> None:
        lines = [
            f"listener {self.port} {self.host}",
            "persistence false",
            f"log_dest file {self.log}",
            "log_type all",
            f"user {getpass.getuser()}",  # as root, mosquitto would become "mosquitto"
        ]
        if self.users:
            passwd = self.base / "passwd"
            passwd.write_text("")
            for user, password in self.users.items():
                subprocess.run([find("mosquitto_passwd"), "-b", passwd, user, password], check=True)
            passwd.chmod(0o600)
            lines += ["allow_anonymous false", f"password_file {passwd}"]
        else:
            lines.append("allow_anonymous true")
        if self.certs:
            c = self.certs
            lines += [f"cafile {c['ca']}", f"certfile {c['cert']}", f"keyfile {c['key']}"]
        self.conf.write_text("\n".join(lines) + "\n")

    def start(self, timeout: float = 15.0) -> Mosquitto:
        self.process = subprocess.Popen(
            [find("mosquitto"), "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection((self.host, self.port), timeout=0.5).close()
                return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = self.log.read_text()[-2000:] if self.log.exists() else ""
                    self.stop()
                    raise RuntimeError(f"mosquitto did not start:\n{log}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def client_args(self, user: str | None = None) -> list[str]:
        """mosquitto_sub/_pub options to reach this broker (as `user` when it has users)."""
        args = ["-h", "localhost" if self.certs else self.host, "-p", str(self.port)]
        if self.certs:
            args += ["--cafile", str(self.certs["ca"])]
        if self.users:
            user = user or next(iter(self.users))
            args += ["-u", user, "-P", self.users[user]]
        return args

    def toml(self, **extra) -> str:
        """The [mqtt] section of a config that publishes to this broker."""
        values = {"host": "localhost" if self.certs else self.host, "port": self.port}
        if self.certs:
            values |= {"tls": True, "ca_file": str(self.certs["ca"])}
        values |= extra
        body = "".join(f"{k} = {_toml(v)}\n" for k, v in values.items())
        return f"[mqtt]\n{body}"

    def publish(self, topic: str, payload: str, retain: bool = False) -> None:
        """A message from someone else on the broker (Home Assistant's birth message, say)."""
        cmd = [find("mosquitto_pub"), *self.client_args(), "-t", topic, "-m", payload]
        subprocess.run(cmd + (["-r"] if retain else []), check=True, timeout=10)


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


@dataclass(frozen=True)
class Message:
    topic: str
    payload: str
    retained: bool
    at: float  # time.monotonic() when it arrived

    def json(self):
        import json

        return json.loads(self.payload)


class Subscriber:
    """mosquitto_sub on `topic`, collecting every message (with its retain flag) in a thread."""

    def __init__(self, broker: Mosquitto, topic: str = "#", user: str | None = None):
        self.messages: list[Message] = []
        self._cond = threading.Condition()
        self.process = subprocess.Popen(
            [find("mosquitto_sub"), *broker.client_args(user), "-t", topic, "-F", "%r %t %p"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            flag, topic, payload = (line.rstrip("\n").split(" ", 2) + [""])[:3]
            with self._cond:
                self.messages.append(Message(topic, payload, flag == "1", time.monotonic()))
                self._cond.notify_all()

    def __enter__(self) -> Subscriber:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def wait_for(self, match, timeout: float = 30.0, after: float = 0.0) -> Message:
        """The first message (arrived after `after`, a time.monotonic()) for which match(m)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for m in self.messages:
                    if m.at >= after and match(m):
                        return m
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    err = self.process.stderr.read() if self.process.poll() is not None else ""
                    seen = "\n".join(
                        f"  {m.retained:d} {m.topic} {m.payload[:80]}" for m in self.messages[-15:]
                    )
                    raise AssertionError(
                        f"no such message within {timeout} s {err}; the last ones:\n{seen}"
                    )
                self._cond.wait(min(left, 0.5))

    def on(self, topic: str, timeout: float = 30.0, after: float = 0.0) -> Message:
        return self.wait_for(lambda m: m.topic == topic, timeout, after)

    def latest(self) -> dict[str, Message]:
        """The newest message of every topic seen so far."""
        with self._cond:
            return {m.topic: m for m in self.messages}

    def of(self, topic: str) -> list[Message]:
        with self._cond:
            return [m for m in self.messages if m.topic == topic]


def retained(broker: Mosquitto, topic: str = "#") -> dict[str, Message]:
    """What the broker holds retained under `topic` now, as a new subscriber receives it.

    The broker sends a subscriber the retained messages as it subscribes, before anything
    published later: once a marker published meanwhile arrives, they have all arrived.
    """
    marker = f"test/marker/{time.monotonic_ns()}"
    with Subscriber(broker, "#") as sub:
        deadline = time.monotonic() + 30
        while not sub.of(marker):
            assert time.monotonic() < deadline, "the subscriber never received the marker"
            broker.publish(marker, "x")
            time.sleep(0.1)
        return {m.topic: m for m in sub.messages if m.retained and mqtt_match(topic, m.topic)}


def mqtt_match(pattern: str, topic: str) -> bool:
    """MQTT's topic filter: + one level, # the rest."""
    p, t = pattern.split("/"), topic.split("/")
    for i, level in enumerate(p):
        if level == "#":
            return True
        if i >= len(t) or (level != "+" and level != t[i]):
            return False
    return len(p) == len(t)
