"""How `corcypower doctor` (and calibrate) look at the system: paths, commands, HTTP, TCP.

The defaults look at the real system; tests hand a Probe temporary directories, stand-in
commands and local servers instead.
"""

from __future__ import annotations

import grp
import importlib.util
import pwd
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from corcypower.clock import Clock

SERVICE_USER = "corcypower"
MIN_FREE_BYTES = 256 * 2**20  # a day of raw rows for 8 channels is well under this


def run_command(argv: list[str]) -> tuple[int, str]:
    """(exit code, stdout); 127 when the program is missing."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (FileNotFoundError, PermissionError):
        return 127, ""
    except subprocess.TimeoutExpired:
        return 124, ""
    return done.returncode, done.stdout


def http_get(url: str, timeout: float) -> tuple[int, bytes]:
    """(HTTP status, body); OSError when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except urllib.error.URLError as exc:
        reason = exc.reason
        raise reason if isinstance(reason, OSError) else OSError(str(reason)) from None


def mysql_greeting(host: str, port: int, timeout: float) -> bytes:
    """The first packet a MySQL or MariaDB server sends: its handshake (or an error)."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        head = _recv_exactly(sock, 4)
        return _recv_exactly(sock, int.from_bytes(head[:3], "little"))


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise OSError("the server closed the connection")
        data += chunk
    return data


def describe_greeting(payload: bytes) -> tuple[bool, str]:
    """(is a usable server, what it said): protocol 10 handshake, or an error packet (0xff)."""
    if payload[:1] == b"\x0a":
        return True, payload[1:].split(b"\0", 1)[0].decode(errors="replace")
    if payload[:1] == b"\xff":
        code = int.from_bytes(payload[1:3], "little")
        message = payload[3:]
        if message[:1] == b"#":  # SQL state marker and 5 characters
            message = message[6:]
        return False, f"error {code}: {message.decode(errors='replace')}"
    return False, "not a MySQL/MariaDB server"


def mysql_login(config) -> str:
    """Log in as the exporter would; the server's version. CorcyPowerError says what failed."""
    from corcypower.export.config import from_config
    from corcypower.export.mysql import Central

    central = Central(from_config(config))
    try:
        central.connect()
        return central.version
    finally:
        central.close()


def lookup_user(name: str) -> tuple[int, set[int]] | None:
    """(uid, every gid) of a user, from the system's user database; None if unknown."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None
    gids = {entry.pw_gid} | {g.gr_gid for g in grp.getgrall() if name in g.gr_mem}
    return entry.pw_uid, gids


def group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


@dataclass
class Probe:
    """Where doctor looks: the real system by default; tests point it elsewhere."""

    dev: Path = Path("/dev")
    service_user: str = SERVICE_USER
    unit_dir: Path = Path("/etc/systemd/system")
    timesync_flag: Path = Path("/run/systemd/timesync/synchronized")
    run: Callable[[list[str]], tuple[int, str]] = run_command
    get: Callable[[str, float], tuple[int, bytes]] = http_get
    greeting: Callable[[str, int, float], bytes] = mysql_greeting
    user: Callable[[str], tuple[int, set[int]] | None] = lookup_user
    login: Callable[[object], str] = mysql_login
    wall_ms: Callable[[], int] = field(default_factory=lambda: Clock().wall_ms)
    has_module: Callable[[str], bool] = lambda name: importlib.util.find_spec(name) is not None
    min_free_bytes: int = MIN_FREE_BYTES
    timeout: float = 3.0
    quick: bool = False  # PRAGMA quick_check instead of integrity_check (big files, slow cards)
