"""Addresses: a remote voltage (another device's state API and a channel on it), and local URLs.

    voltage = "http://garage-pi:8070/api/v1/state#mains_v"
               └ the other device's state API ──┘ └ its channel

A bare "http://garage-pi:8070" means its /api/v1/state. Only the standard library here:
corcypower/settings/config.py uses it to validate a config.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

STATE_PATH = "/api/v1/state"
CHANNEL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
EXAMPLE = "http://HOST:8070/api/v1/state#CHANNEL"


@dataclass(frozen=True)
class RemoteVoltage:
    """A voltage measured by another CorcyPower device, read from its state API."""

    url: str  # the state API to GET
    channel: str  # the voltage channel on that device

    def __str__(self) -> str:
        return f"{self.url}#{self.channel}"


def is_url(text: str) -> bool:
    return text.lower().startswith(("http://", "https://"))


def parse(text: str) -> RemoteVoltage:
    """ "http://host:port/path#channel" → RemoteVoltage; ValueError says what was expected."""
    try:
        parts = urlsplit(text)
        port = parts.port  # raises on a port that is not a number from 0 to 65535
    except ValueError:
        raise ValueError(f"expected a URL like {EXAMPLE} with a port from 1 to 65535") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected a URL like {EXAMPLE} with a host")
    if port == 0:
        raise ValueError(f"expected a URL like {EXAMPLE} with a port from 1 to 65535")
    if not parts.fragment:
        raise ValueError(f"expected the remote voltage channel after '#', as in {EXAMPLE}")
    if not CHANNEL_NAME.match(parts.fragment):
        raise ValueError(
            f"expected a channel name after '#' (1 to 64 letters, digits, _ or -), as in {EXAMPLE}"
        )
    path = parts.path if parts.path not in ("", "/") else STATE_PATH
    query = f"?{parts.query}" if parts.query else ""
    return RemoteVoltage(f"{parts.scheme}://{parts.netloc}{path}{query}", parts.fragment)


def local_url(host: str, port: int, path: str = "/") -> str:
    """Where to reach, from this machine, a server bound to `host`:`port`."""
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://[{host}]:{port}{path}" if ":" in host else f"http://{host}:{port}{path}"
