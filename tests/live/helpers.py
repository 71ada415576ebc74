"""What the live tests share: a config, analysed batches, a GET that returns errors too."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

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
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
